"""The activation table: does c·f + d self-normalize like SELU, on the paper's domain?

For each built-in activation f: the parameters that make (0, 1) the fixed point at ω = 0,
τ = 1 (SELU: λ01, α01 from their closed forms; the others: c > 0, d of c·f + d, certified
by :func:`snn_theory.evaluate.activation_map.solve_affine`), S(H) at that fixed point, and the
Theorem 1 analogue on the paper's domain μ, ω ∈ [−0.1, 0.1], ν ∈ [0.8, 1.5],
τ ∈ [0.95, 1.1] (:func:`snn_theory.certify.activation_claims.theorem1_analogue`: S < 1 and g maps
[−0.1, 0.1] × [0.8, 1.5] into itself), each claim proven (certificate), refuted (checked
counterexample) or undecided within the stated budget.

The claims are verified for c, d rounded to ``PARAMETER_DIGITS`` decimals (exact rationals,
recorded in the certificates): that activation's fixed point at ω = 0, τ = 1 is (0, 1) to
within about 10^−PARAMETER_DIGITS.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from flint import arb

from snn_theory.certify import activation_claims
from snn_theory.certify.certificate.io import write_certificate
from snn_theory.certify.search.executors import Executor
from snn_theory.certify.search.loop import verify_claim
from snn_theory.certify.search.model_bounders import GaussianBounder, bounder_for
from snn_theory.certify.search.result import ClaimResult
from snn_theory.certify.search.settings import Settings
from snn_theory.certify.search.workers import DEFAULT_PRECISION
from snn_theory.derive import activations
from snn_theory.derive.activations import Activation
from snn_theory.evaluate import activation_map
from snn_theory.evaluate.model import resolve
from snn_theory.exact import ball_text, format_fraction, interval_text
from snn_theory.precision import working_precision

PARAMETER_DIGITS = 20


@dataclass
class TableRow:
    name: str
    activation: Activation  # the member of the affine family that was verified
    parameters: str
    spectral_norm: arb
    results: list[ClaimResult]
    seconds: float

    @property
    def verdict(self) -> str:
        verdicts = [r.verdict for r in self.results]
        if "refuted" in verdicts:
            return "refuted"
        return "undecided" if "undecided" in verdicts else "proven"


def _rounded(x: arb, digits: int) -> Fraction:
    return Fraction(round(Fraction(x.mid().str(digits + 10, radius=False)) * 10**digits),
                    10**digits)


def normalized(name: str) -> tuple[Activation, str]:
    """The activation with parameters for the fixed point (0, 1) at ω = 0, τ = 1."""
    base = activations.get(name)
    if base.is_selu:
        return base, "λ01, α01 (closed forms)"
    with working_precision(digits=PARAMETER_DIGITS + 10):
        result = activation_map.solve_affine(base, Fraction(0), Fraction(1), Fraction(0),
                                             Fraction(1))
    if not result.certified:
        raise ArithmeticError(f"{name}: {result.method}")
    c = _rounded(result.scale, PARAMETER_DIGITS)
    d = _rounded(result.shift, PARAMETER_DIGITS)
    return base.with_affine(c, d), f"c = {format_fraction(c)}, d = {format_fraction(d)}"


def table(names: tuple[str, ...] = activations.NAMES, *, time_limit: float = 60.0,
          max_boxes: int = GaussianBounder.default_max_boxes, jobs: int = 1,
          certificate_dir: Path | None = None,
          progress: Callable[[str], None] | None = None) -> list[TableRow]:
    rows = []
    for name in names:
        started = time.monotonic()
        act, params = normalized(name)
        with working_precision(digits=20):
            s = activation_map.gaussian_quantities(act, 0, 0, 1, 1,
                                                   ("spectral_norm",))["spectral_norm"]
        bounder = bounder_for(resolve(act))
        settings = Settings(max_boxes=max_boxes, time_limit=time_limit, bounder=bounder)
        results = []
        with Executor(jobs) as executor:
            for claim in activation_claims.theorem1_analogue():
                # the claim's name carries the activation: one certificate file per function
                claim = dataclasses.replace(claim, name=claim.name + bounder.claim_suffix())
                if progress:
                    progress(f"{name}: {claim.name}")
                r = verify_claim(claim, settings, executor)
                if certificate_dir is not None:
                    path = write_certificate(certificate_dir, r.certificate_data())
                    r.certificate = None if path is None else str(path)
                results.append(r)
        rows.append(TableRow(name, act, params, s, results, time.monotonic() - started))
    return rows


def claim_cell(r: ClaimResult) -> str:
    """One claim's verdict in a table cell: proven, refuted at a point (with the value
    there) or undecided."""
    short = r.claim.name.split(".")[1].split("[")[0]
    if r.verdict == "holds":
        return f"{short}: proven"
    if r.verdict == "refuted":
        point = ", ".join(format_fraction(x) for x in r.counterexample[0])  # exact
        lo, hi = r.counterexample[1]  # rounded outward, excluding the threshold as it does
        return (f"{short}: FALSE at ({point}), value ∈ "
                f"{interval_text(lo, hi, 6, exclude=r.claim.threshold)}")
    return f"{short}: undecided ({r.reason})"


#: The columns of the table (:func:`cells`).
COLUMNS = ("activation", "parameters for (0, 1) at ω = 0, τ = 1", "S at (0, 1)",
           "Theorem 1 analogue", "claims", "seconds")


def cells(row: TableRow) -> tuple[str, ...]:
    """The table's cells of one row, as text (S enclosed, rounded outward)."""
    return (row.name, row.parameters, ball_text(row.spectral_norm, 8), row.verdict,
            "; ".join(claim_cell(r) for r in row.results), f"{row.seconds:.1f}")


def footer(time_limit: float, max_boxes: int) -> str:
    """What the table's numbers are (printed under it)."""
    return (f"Budget per claim: {time_limit:g} s or {max_boxes} boxes; precision "
            f"{DEFAULT_PRECISION} bits; c, d rounded to {PARAMETER_DIGITS} "
            "decimals (exact in the certificates).")


def markdown(rows: list[TableRow], time_limit: float, max_boxes: int) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        c = list(cells(row))
        c[3] = f"**{c[3]}**"
        lines.append("| " + " | ".join(c) + " |")
    lines.append("")
    lines.append(footer(time_limit, max_boxes))
    return "\n".join(lines)
