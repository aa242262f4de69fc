"""The independent certificate checker: re-derive every fact a certificate states.

This is deliberately a second, independent implementation, one for every moment map: it
shares no code with the search (:mod:`snn_theory.certify.search`) except the documented
per-box primitives — the closed forms' bound :func:`snn_theory.certify.enclosure.bound` and any
activation's (m, v)-cell enclosure :func:`snn_theory.certify.activation_cells.box_bound` —,
which are what a reader has to audit.  The map is re-derived from the certificate's own
record by :mod:`.maps`; the tiling check (:mod:`.tiling`) and the file format (:mod:`.io`)
are written without any code from the search, and the checker's own process pool and
per-box loop are its own.  Keep it so.

:func:`check_certificate` trusts nothing in the file.  It re-derives every fact from the
formulas, in this order:

1. the file parses with no duplicate key, has exactly the documented fields with their JSON
   types (no unknown key), spells rationals in ASCII, and its SHA-256 checksum matches
   (:func:`snn_theory.certify.certificate.io.read_certificate`);
2. the map is re-derived from its record (:mod:`.maps`): closed-form constant enclosures
   are exactly those recomputed from the closed forms; an activation's formula and growth
   bound follow from its definition; the claim is identified by its *statement*: it is a
   built-in claim exactly when quantity, relation, threshold and domain are a built-in
   claim's and the map is SELU with λ01, α01; a name that normalises to a built-in name
   while stating something else is rejected; names use a plain ASCII alphabet;
3. the leaf boxes tile the domain with no gap and no overlap: the checker recursively finds
   a cut that no box straddles (a *guillotine* tiling, which is what grid + bisection
   produces) until each region is exactly one box — exact integer arithmetic throughout;
4. a fresh bound of every box by the map's primitive gives exactly the stored bound, and
   every stored bound proves the claim;
5. the extremum enclosure: its decided end is exactly the worst fresh bound, its other end
   exactly the attained end of the ball at the witness point; for ``refuted``, the
   counterexample's ball value violates the claim.

Whatever the checker prints (:meth:`CheckReport.line`, ``--json``) is derived by it: the
full statement, the constants, the recomputed extremum, rounded outward.  Every arb
evaluation runs in :func:`snn_theory.precision.working_precision` at the precision the
certificate records, so results do not depend on the caller's arb precision (nor change it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

from flint import arb

from snn_theory.certify.certificate.io import (
    CertificateError,
    bits_field,
    interval_field,
    point_field,
    rational_field,
    read_certificate,
    schema,
)
from snn_theory.certify.certificate.maps import MapEvaluator, NetworkEvaluator, read_map
from snn_theory.certify.certificate.tiling import tiling_error
from snn_theory.certify.claims import Claim, builtin_claim_for
from snn_theory.certify.enclosure import lower, upper
from snn_theory.certify.network_enclosure import check_network_label
from snn_theory.derive.formulas import VARIABLE_NAMES
from snn_theory.errors import InputError
from snn_theory.exact import decimal_interval, decimal_text, format_fraction

#: Certificates with fewer leaf boxes are re-checked in one process whatever --jobs says.
PARALLEL_ABOVE = 15_000


@dataclass
class CheckReport:
    """Outcome of checking one certificate file.

    Everything here is derived by the checker (the statement is the file's, validated;
    ``extremum`` is recomputed from the fresh box bounds and the fresh witness value), so
    it is what a reviewer may quote: ``statement`` holds (or is false) exactly as printed.
    """

    path: str
    valid: bool
    message: str
    claim: str | None = None
    verdict: str | None = None
    boxes: int = 0
    #: The extremum enclosure the checker recomputed: kind, lower and upper rounded outward
    #: to 17 digits, exact [lower, upper]; set only for a valid ``holds`` certificate.
    extremum: dict[str, Any] | None = None
    #: The counterexample the checker re-evaluated: its coordinates and the value ball rounded
    #: outward; set only for a valid ``refuted`` certificate.
    counterexample: dict[str, Any] | None = None
    #: quantity, relation, threshold, domain {var: [lo, hi]}, the map (constants {source,
    #: lam, alpha} or activation {label, definition, scale, shift, formula, growth}),
    #: builtin (the built-in claim it is, by statement, or None); empty when unreadable.
    statement: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "valid": self.valid, "message": self.message,
                "claim": self.claim, "verdict": self.verdict, "boxes": self.boxes,
                "statement": self.statement or None,
                "extremum": self.extremum, "counterexample": self.counterexample}

    def line(self) -> str:
        """One line: verdict (and the activation, for a map other than SELU's closed
        forms), statement, domain, constants, box count (or the reason)."""
        head = f"{'VALID' if self.valid else 'INVALID'} {self.path}"
        if not self.statement:
            return f"{head}: {self.message}"
        st = self.statement
        domain = ", ".join(f"{n} ∈ [{a}, {b}]" for n, (a, b) in st["domain"].items())

        def iv(pair: list[str]) -> str:  # outward to 17 digits (exact ends: --json)
            return (f"[{decimal_text(Fraction(pair[0]), -1)}, "
                    f"{decimal_text(Fraction(pair[1]), 1)}]")
        parts = []
        if "constants" in st:
            c = st["constants"]
            parts.append(f"constants {c['source']}: lam ∈ {iv(c['lam'])}, "
                         f"alpha ∈ {iv(c['alpha'])}")
        if not st.get("builtin"):
            kind = f"user claim {self.claim}"
        elif st["builtin"] == self.claim:
            kind = f"built-in {self.claim}"
        else:
            kind = f"built-in {st['builtin']} (named {self.claim})"
        what = {"holds": "HOLDS", "refuted": "FALSE"}.get(self.verdict or "", "?")
        if "activation" in st:
            what += f" for {st['activation']['label']}"
        if "network" in st:
            what += f" for the network {st['network']}"
        body = " | ".join([f"{what}: {st['quantity']} {st['relation']} {st['threshold']} on "
                           f"{domain}", *parts, kind, f"{self.boxes} boxes"])
        if self.valid and self.extremum:
            e = self.extremum
            body += f" | {e['kind']} ∈ [{e['lower']}, {e['upper']}]"
        if self.valid and self.counterexample:
            ce = self.counterexample
            body += " | counterexample " + ", ".join(f"{n}={ce[n]}" for n in VARIABLE_NAMES)
            body += f", value ∈ [{ce['value'][0]}, {ce['value'][1]}]"
        return f"{head}: {body}" + ("" if self.valid else f" | REJECTED: {self.message}")


@dataclass(frozen=True)
class RecheckState:
    """What re-checking a box needs, handed to every chunk explicitly (picklable): the
    quantity, the map re-derived from the certificate, the side, and the claim the bounds
    must decide (for a map's early-stopping mode)."""

    quantity: str
    evaluator: MapEvaluator
    side: int
    claim: Claim


def _check_chunk(state: RecheckState, chunk: list[tuple[int, list, Fraction, int]]
                 ) -> list[tuple[int, Fraction | None, str]]:
    """Recompute the bound of each (index, box, stored bound, precision), in this process or
    in a worker.

    A map's bound is deterministic and may have two modes (the closed forms'
    :func:`snn_theory.certify.enclosure.bound`: with ``decides`` it may stop at the cheap
    whole-box enclosure once that proves the claim — what a search that only decides stores —,
    without it it always adds the centred form — what a search refining the extremum
    stores).  The fresh bound is the mode that reproduces the stored one exactly; if neither
    does, the full bound is returned and the box fails.
    """
    out = []
    for index, box, stored, bits in chunk:
        try:
            early, full = state.evaluator.bound_modes(state.quantity, box, state.side, bits,
                                                      state.claim.satisfied_by)
            out.append((index, early if early == stored else full, ""))
        except ArithmeticError as exc:
            out.append((index, None, str(exc)))
    return out


def _parse_boxes(raw: Any, default_bits: int) -> list[tuple[list, Fraction, int]]:
    if not isinstance(raw, list) or not raw:
        raise CertificateError("no leaf boxes")
    boxes = []
    for k, entry in enumerate(raw):
        if not isinstance(entry, list) or len(entry) not in (5, 6):
            raise CertificateError(f"box {k}: expected 4 intervals, a bound and an optional precision")
        box = [interval_field(entry[d], f"box {k}") for d in range(4)]
        bits = bits_field(entry[5], f"box {k}") if len(entry) == 6 else default_bits
        boxes.append((box, rational_field(entry[4], f"box {k} bound"), bits))
    return boxes


def _statement_json(claim: Claim, evaluator: MapEvaluator, builtin: Claim | None) -> dict:
    return {"quantity": claim.quantity, "relation": claim.relation,
            "threshold": format_fraction(claim.threshold), "domain": claim.domain.to_json(),
            **evaluator.statement(), "builtin": None if builtin is None else builtin.name}


def check_certificate(path: Path | str, jobs: int = 1,
                      progress: Callable[[int, int], None] | None = None) -> CheckReport:
    """Re-verify one certificate file independently (see the module docstring for what is
    re-derived); never raises for a bad certificate.

    Args:
        path: a certificate written by ``verify-contraction`` (plain or gzip JSON).
        jobs: processes for re-evaluating the boxes (only certificates of at least
            :data:`PARALLEL_ABOVE` boxes are checked in parallel).
        progress: called as ``progress(done, total)`` while boxes are re-evaluated.

    Returns:
        A :class:`CheckReport`: ``valid`` and, when valid, the statement, the box count and
        the extremum enclosure (or the counterexample) recomputed by the checker; when
        invalid, ``message`` says why in one line.  The result does not depend on the
        caller's arb precision (each step sets its own).

    Example:
        >>> import tempfile
        >>> from snn_theory.certify.certificate.io import write_certificate
        >>> from snn_theory.certify.search.loop import verify_claim
        >>> from snn_theory.certify.search.settings import Settings
        >>> from snn_theory.certify.claims import Claim, Domain
        >>> claim = Claim.parse("spectral_norm<5", Domain.parse(
        ...     "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1"))
        >>> result = verify_claim(claim, Settings(jobs=1))
        >>> path = write_certificate(tempfile.mkdtemp(), result.certificate_data())
        >>> report = check_certificate(path)
        >>> report.valid, report.message
        (True, 'valid: 16 boxes re-verified')
    """
    report = CheckReport(str(path), False, "")
    return _reported(report, lambda: _check(Path(path), jobs, progress, report))


def _reported(report: CheckReport, run: Callable[[], CheckReport]) -> CheckReport:
    """``run()``, with every rejection (or malformed input) turned into an invalid
    ``report``."""
    try:
        return run()
    except (CertificateError, InputError) as exc:
        report.message = str(exc)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        report.message = f"malformed certificate ({type(exc).__name__}: {exc})"
    report.valid = False
    return report


def _fresh_point(claim: Claim, point: list[Fraction], evaluator: MapEvaluator,
                 bits: int) -> arb:
    return evaluator.point(claim.quantity, point, bits)


def check_content(content: dict[str, Any], report: CheckReport, jobs: int = 1,
                  progress: Callable[[int, int], None] | None = None) -> CheckReport:
    """Check one claim's certificate already in memory (the parsed file's dict, checksum
    aside: the caller vouches for nothing, the schema and all the facts are re-checked);
    never raises for a bad certificate.  Used for the claims embedded in a paving
    certificate (:mod:`snn_theory.certify.domains`)."""
    def run() -> CheckReport:
        schema(content)
        return _check_parsed(content, jobs, progress, report)

    return _reported(report, run)


def _check(path: Path, jobs: int, progress: Callable[[int, int], None] | None,
           report: CheckReport) -> CheckReport:
    return _check_parsed(read_certificate(path), jobs, progress, report)


def _check_parsed(content: dict[str, Any], jobs: int,
                  progress: Callable[[int, int], None] | None,
                  report: CheckReport) -> CheckReport:
    rational_field(content["claim"]["threshold"], "claim.threshold")  # spelt as a certificate
    for n in VARIABLE_NAMES:                                     # spells rationals
        interval_field(content["claim"]["domain"][n], f"claim.domain.{n}")
    claim = Claim.from_json(content["claim"])
    report.claim, report.verdict = claim.name, content["verdict"]
    bits = bits_field(content["precision_bits"], "precision_bits")
    # the map re-derived from its record (closed forms: evaluated with the freshly
    # recomputed enclosures of λ01, α01, what the search used)
    used = read_map(content, bits)
    builtin = builtin_claim_for(claim, used.paper_constants())
    check_network_label(claim.name, used.spelling if isinstance(used, NetworkEvaluator)
                        else None)
    report.statement = _statement_json(claim, used, builtin)
    verdict = content["verdict"]
    side = 1 if claim.kind == "max" else -1
    if verdict == "refuted":
        ce = content["counterexample"]
        point = point_field(ce["point"], claim, "counterexample")
        ce_bits = bits_field(ce.get("precision_bits", bits), "counterexample.precision_bits")
        value = _fresh_point(claim, point, used, ce_bits)
        # the claim fails at `point` iff the value is on the wrong side of the threshold
        violated = (not claim.satisfied_by(lower(value)) if side > 0
                    else not claim.satisfied_by(upper(value)))
        if not violated:
            raise CertificateError("counterexample does not violate the claim under a fresh "
                                   "ball evaluation")
        report.counterexample = dict(
            {n: format_fraction(x) for n, x in zip(VARIABLE_NAMES, point)},
            value=decimal_interval(lower(value), upper(value), exclude=claim.threshold))
        report.valid, report.message = True, "valid: counterexample re-verified, claim is false"
        return report
    boxes = _parse_boxes(content["boxes"], bits)
    for k, (_, stored, _) in enumerate(boxes):
        if not claim.satisfied_by(stored):
            raise CertificateError(f"box {k}: stored bound {format_fraction(stored)} does "
                                   f"not prove {claim.quantity} {claim.relation} "
                                   f"{format_fraction(claim.threshold)}")
    problem = tiling_error(claim.domain.bounds, [b for b, _, _ in boxes])
    if problem:
        raise CertificateError(f"leaf boxes do not tile the domain: {problem}")
    extremum = content["extremum"]
    ext_lo = rational_field(extremum["lower"], "extremum.lower")
    ext_hi = rational_field(extremum["upper"], "extremum.upper")
    if extremum["kind"] != claim.kind or ext_lo > ext_hi:
        raise CertificateError("extremum: wrong kind or reversed enclosure")
    decided = ext_hi if side > 0 else ext_lo
    for k, (_, stored, _) in enumerate(boxes):
        if (stored > decided) if side > 0 else (stored < decided):
            raise CertificateError(f"extremum: box {k} bound {format_fraction(stored)} lies "
                                   "outside the stated enclosure")
    witness = content["witness"]
    witness_point = point_field(witness["point"], claim, "witness")
    w_bits = bits_field(witness.get("precision_bits", bits), "witness.precision_bits")
    wv = _fresh_point(claim, witness_point, used, w_bits)
    attained = lower(wv) if side > 0 else upper(wv)
    if attained != (ext_lo if side > 0 else ext_hi):
        raise CertificateError("extremum: the witness point does not attain the stated "
                               "end of the enclosure (fresh value "
                               f"{decimal_text(attained, -side)})")
    fresh, failures = _recheck_boxes(claim, boxes, used, side, jobs, progress)
    if failures:
        k, why = failures[0]
        raise CertificateError(f"box {k}: {why} ({len(failures)} box(es) fail)")
    worst = max(fresh) if side > 0 else min(fresh)
    if worst != decided:
        raise CertificateError("extremum: the decided end is not the worst fresh box bound")
    report.boxes = len(boxes)
    lo, hi = (attained, worst) if side > 0 else (worst, attained)
    report.extremum = {"kind": claim.kind, "lower": decimal_text(lo, -1),
                                  "upper": decimal_text(hi, 1),
                                  "exact": [format_fraction(lo), format_fraction(hi)]}
    report.valid, report.message = True, f"valid: {len(boxes)} boxes re-verified"
    return report


def _chunks(items: list, n: int) -> Iterable[list]:
    size = max(1, min(256, math.ceil(len(items) / max(1, n * 4))))
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _recheck_boxes(claim: Claim, boxes: list, used: MapEvaluator, side: int, jobs: int,
                   progress: Callable[[int, int], None] | None
                   ) -> tuple[list[Fraction], list[tuple[int, str]]]:
    """(fresh bounds, failures): a box fails unless its fresh bound is exactly the stored
    one (the certificate is a transcript of the computation; a weaker stored bound would be
    true, but it is not what was computed, and nothing in the file is taken on trust)."""
    tasks = [(k, box, stored, bits) for k, (box, stored, bits) in enumerate(boxes)]
    state = RecheckState(claim.quantity, used, side, claim)
    stored_of = {k: stored for k, (_, stored, _) in enumerate(boxes)}
    failures: list[tuple[int, str]] = []
    fresh: list[Fraction] = []
    done = 0

    def consume(results: list[tuple[int, Fraction | None, str]]) -> None:
        nonlocal done
        for k, b, err in results:
            if b is None:
                failures.append((k, f"fresh enclosure failed ({err})"))
                continue
            fresh.append(b)
            if (b > stored_of[k]) if side > 0 else (b < stored_of[k]):
                failures.append((k, f"stored bound {format_fraction(stored_of[k])} is not proven "
                                    f"(fresh bound {decimal_text(b, side, 12)})"))
            elif b != stored_of[k]:
                failures.append((k, f"stored bound {format_fraction(stored_of[k])} is not the "
                                    f"fresh bound {format_fraction(b)}"))
        done += len(results)
        if progress:
            progress(done, len(tasks))

    # Worker start-up (spawn, import, compile the gradient of S: ~4 s each) outweighs the
    # work below ~15k boxes (~0.8 ms each), so such certificates are checked in-process.
    if jobs <= 1 or len(tasks) < PARALLEL_ABOVE:
        for chunk in _chunks(tasks, 1):
            consume(_check_chunk(state, chunk))
    else:
        import multiprocessing

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for results in pool.map(partial(_check_chunk, state), _chunks(tasks, jobs)):
                consume(results)
    failures.sort()
    return fresh, failures
