"""What a search answers for one claim: :class:`ClaimResult`, its verdict, extremum enclosure,
witness, leaves and certificate data."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from snn_theory.certify.claims import BUILTIN_CLAIMS, EXPECTED_FALSE, Claim
from snn_theory.certify.search.bounders import BoxBounder, ClosedFormBounder
from snn_theory.certify.search.workers import Evaluated
from snn_theory.derive.formulas import VARIABLE_NAMES
from snn_theory.exact import MAX_MAGNITUDE, decimal_interval, decimal_text, format_fraction


@dataclass
class ClaimResult:
    """Outcome of one claim, for any moment map (``bounder``: its per-box bound, which also
    says how the map is defined).  ``extremum`` = (lower, upper) exact rationals: a
    certified enclosure of the max (kind "max") or min of the quantity over the domain."""

    claim: Claim
    verdict: str  # holds | refuted | undecided
    extremum: tuple[Fraction, Fraction] | None
    witness: tuple[list[Fraction], tuple[Fraction, Fraction]] | None
    counterexample: tuple[list[Fraction], tuple[Fraction, Fraction]] | None
    leaves: list[Evaluated]
    seconds: float
    max_depth: int
    precision: int
    bounder: BoxBounder
    reason: str = ""
    certificate: str | None = None
    #: precisions the witness / counterexample values were computed at
    witness_bits: int | None = None
    counterexample_bits: int | None = None
    #: The tolerance asked for (None: decide only) and whether the enclosure met it.
    tolerance: Fraction | None = None
    tolerance_met: bool | None = None
    #: What happened to ``--resume``: "resumed" (saved boxes re-proven), "no state" (none
    #: saved for this claim), "unusable state" (saved for other settings, or damaged), or
    #: "" (no resume asked).
    resume: str = ""
    #: Leaf boxes decided by their bound when the search stopped, and the others.
    decided: int = 0

    @property
    def holds(self) -> bool | None:
        return {"holds": True, "refuted": False}.get(self.verdict)

    @property
    def erratum(self) -> str | None:
        """Why the paper's statement is false, when this is the refutation of a built-in
        claim (its very statement, λ01 and α01) that :data:`EXPECTED_FALSE` lists as a known
        erratum of the paper; None otherwise."""
        name = self.claim.name
        if (self.verdict != "refuted" or name not in EXPECTED_FALSE
                or BUILTIN_CLAIMS.get(name) != self.claim or self.bounder != ClosedFormBounder()):
            return None
        return EXPECTED_FALSE[name]

    def certificate_data(self) -> dict[str, Any]:
        """The dict :func:`snn_theory.certify.certificate.io.write_certificate` takes.

        ArithmeticError when a number to record lies outside the format's range (nonzero
        magnitudes in [1e-50, 1e50]): its checker would reject the file, so none is written."""
        self._require_in_range()
        f = format_fraction
        boxes = []
        for leaf in self.leaves:
            entry: list = [[f(a), f(b)] for a, b in leaf.box]
            entry.append(None if leaf.bound is None else f(leaf.bound))
            if leaf.bits != self.precision:
                entry.append(leaf.bits)
            boxes.append(entry)
        def point(p: tuple | None, bits: int | None) -> dict | None:
            if p is None:
                return None
            entry: dict[str, Any] = {"point": [f(x) for x in p[0]]}
            if bits is not None and bits != self.precision:
                entry["precision_bits"] = bits
            return entry

        data: dict[str, Any] = {
            "claim": self.claim.to_json(),
            "verdict": self.verdict,
            self.bounder.map_field: self.bounder.map_record(),
            "precision_bits": self.precision,
        }
        if self.verdict == "refuted":
            data["counterexample"] = point(self.counterexample, self.counterexample_bits)
        else:
            data["extremum"] = None if self.extremum is None else {
                "kind": self.claim.kind, "lower": f(self.extremum[0]),
                "upper": f(self.extremum[1])}
            data["witness"] = point(self.witness, self.witness_bits)
            data["boxes"] = boxes
        return data

    def _require_in_range(self) -> None:
        numbers: list[tuple[str, Fraction]] = []
        if self.verdict == "refuted" and self.counterexample is not None:
            numbers += [("counterexample coordinate", x) for x in self.counterexample[0]]
        elif self.verdict == "holds":
            for leaf in self.leaves:
                numbers += [("box edge", x) for iv in leaf.box for x in iv]
                numbers += [("box bound", leaf.bound)] if leaf.bound is not None else []
            numbers += [("extremum end", x) for x in self.extremum or ()]
            numbers += [("witness coordinate", x) for x in (self.witness or ((),))[0]]
        for what, x in numbers:
            if x != 0 and not 1 / MAX_MAGNITUDE <= abs(x) <= MAX_MAGNITUDE:
                raise ArithmeticError(
                    f"no certificate for {self.claim.name}: a {what}, "
                    f"{decimal_text(x, 1)}, lies outside the certificate format's range "
                    "(nonzero magnitudes in [1e-50, 1e50]); its checker would reject it")

    def json_entry(self) -> dict[str, Any]:
        """The ``--json`` entry (extremum ends rounded outward to 17 digits)."""
        ce = None
        if self.counterexample is not None:
            point, (lo, hi) = self.counterexample
            ce = {n: format_fraction(x) for n, x in zip(VARIABLE_NAMES, point)}
            ce["value"] = decimal_interval(lo, hi, exclude=self.claim.threshold)
        ext = None
        if self.extremum is not None:
            ext = {"kind": self.claim.kind, "lower": decimal_text(self.extremum[0], -1),
                   "upper": decimal_text(self.extremum[1], 1)}
        return {"name": self.claim.name, "statement": self.claim.statement, "holds": self.holds,
                "proof": "interval" if self.verdict == "holds" else None,
                **self.bounder.json_fields(),
                "extremum": ext, "counterexample": ce, "boxes": len(self.leaves),
                "boxes_decided": self.decided,
                "tolerance": None if self.tolerance is None else format_fraction(self.tolerance),
                "tolerance_met": self.tolerance_met, "reason": self.reason or None,
                "erratum": self.erratum,
                "seconds": round(self.seconds, 3), "certificate": self.certificate}
