"""The paper's own proof of contraction, redone, and its verdict.

Klambauer et al. (2017) proved Theorem 1's contraction (and the wider-τ version of the
appendix) by evaluating the spectral norm S of the Jacobian H (docs/mathematics.md §2) on a
uniform grid of about 3·10⁹ points and bounding S *between* grid points with the mean value
theorem, using hand-derived bounds on the partial derivatives of S and a few-ulp argument for
the floating-point error (docs/mathematics.md §5).  :func:`run_paper_method` redoes that
computation:

1. **Grid maximum** (float64, JAX; :mod:`snn_theory.certify.paper.grid`): max S over a
   uniform grid of the domain and its location, bit-identical for every chunk size and
   device count.
2. **Derivative bounds** (rigorous; :mod:`snn_theory.certify.paper.bounds`): proven upper
   bounds on ``sup |∂S/∂x_i|`` over the domain, from arb centred forms on an adaptive tiling;
   they replace the paper's hand-derived bounds, which are reported beside them.
3. **Mean value theorem.**  Every point x of the domain lies within Δ_i/2 of a grid point g
   in every coordinate; moving one coordinate at a time (inside the box),
   ``S(x) ≤ S(g) + Σ_i sup|∂S/∂x_i|·Δ_i/2``.  (S is differentiable on the whole domain:
   finite enclosures of its partials on every leaf box mean that neither square root's
   argument reaches 0 there — the dual of √ at 0 is unbounded.)
4. **Floating-point allowance** (stated, *not* rigorous; :func:`float_error_check`).  The
   float64 grid values are compared with arb enclosures at a sample of grid points (the
   argmax, the 16 corners and random points); the allowance is
   ``max(1e-10, 1000 × observed max error)``.  The kernel's errors come from a few dozen
   float64 operations and the library erf/erfcx approximations, which have a relative
   accuracy of a few ulps (≈ 1e-15 for S ≈ 1), so observed errors are of that order; the
   factor 1000 and the floor cover points not sampled (and the ≤ 1 ulp uncertainty of the
   grid coordinates and of λ01, α01 rounded to float64).  This is the step that makes the
   paper's method weaker than the interval method: the verdict is "holds (grid + rigorous
   derivative bounds + stated (unproven) float allowance)", marked
   ``"proof": "grid+allowance"`` in JSON, never "verified".

Conclusion: ``grid max + Σ_i bound_i·Δ_i/2 + allowance < 1`` ⇒ S < 1 on the domain by the
paper's method (``holds: true``).  If S evaluated in arb at the grid maximum's point is
provably > 1, the claim is false (``holds: false``, rigorous counterexample).  Otherwise
the grid is too coarse for the bounds: inconclusive (``holds: null``).

The extremum enclosure reported is ``[lower, upper]`` with ``lower`` = the arb lower bound of
S at the grid argmax (a rigorous lower bound of max S) and ``upper`` = grid max + MVT term
+ allowance.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from flint import arb

from snn_theory.certify.paper.bounds import (
    DERIVATIVE_MAX_BOXES,
    PAPER_DERIVATIVE_BOUNDS,
    cached_derivative_bounds,
    float_down,
    float_up,
)
from snn_theory.certify.paper.grid import (
    CLAIM_NAMES,
    DOMAIN_DECIMALS,
    GRID_POINTS,
    PAPER_SPACINGS,
    GridSpec,
    grid_spec,
    grid_values,
    scan_grid,
)
from snn_theory.derive.formulas import VARIABLE_NAMES
from snn_theory.errors import InputError
from snn_theory.evaluate import backends
from snn_theory.files import json_value, writable_directory
from snn_theory.precision import working_precision

#: Floating-point allowance: max(FLOAT_ALLOWANCE_FLOOR, FLOAT_ALLOWANCE_FACTOR × observed).
FLOAT_ALLOWANCE_FLOOR = 1e-10
FLOAT_ALLOWANCE_FACTOR = 1000.0

DEFAULT_STATE_DIR = Path("proofs") / ".state"
#: The verdict when the paper's inequality is met: *not* an interval proof (the float
#: allowance is stated, not proven), and worded so wherever it appears.
VERDICT_HOLDS = "holds (grid + rigorous derivative bounds + stated (unproven) float allowance)"
#: ``"proof"`` marker of a paper-method result in JSON (an interval proof says "interval").
PROOF_MARKER = "grid+allowance"

#: ``progress(stage, done, total)``: stage "derivative bounds" (boxes evaluated of the box
#: budget; not called when the tiling comes from the cache) or "grid" (points scanned).
ProgressCallback = Callable[[str, int, int], None]


# ----------------------------------------------------------------------- float allowance
def arb_spectral_norm(point: Sequence[Any], digits: int = 30) -> arb:
    """Rigorous enclosure of S at a point (floats are exact binary numbers; decimal strings
    are enclosed in balls), with λ01, α01 enclosed from their closed forms."""
    with working_precision(digits=digits):
        lam, alpha = backends.constants_function("arb")()
        return backends.evaluator("arb", ("spectral_norm",))(*[arb(x) for x in point],
                                                            lam, alpha)[0]


def clamp_to_decimal_box(point: Sequence[float], box: Sequence[tuple[str, str]]) -> list[Any]:
    """The point with each coordinate that lies outside the exact decimal interval replaced
    by the nearer decimal endpoint (as a string, for an arb ball): a point of the box."""
    out: list[Any] = []
    for x, (lo, hi) in zip(point, box):
        if not arb(x) >= arb(lo):
            out.append(lo)
        elif not arb(x) <= arb(hi):
            out.append(hi)
        else:
            out.append(x)
    return out


@dataclass(frozen=True)
class FloatCheck:
    """Observed float64 error of the grid kernel at sample points, and the stated allowance
    ``max(FLOAT_ALLOWANCE_FLOOR, FLOAT_ALLOWANCE_FACTOR × observed_max_error)``."""

    observed_max_error: float
    sample_points: int
    allowance: float
    rule: str


def float_error_check(spec: GridSpec, extra_indices: Sequence[int] = (), samples: int = 64,
                      seed: int = 0) -> FloatCheck:
    """Observed |float64 kernel − exact S| at sample grid points, and the allowance.

    Samples: ``extra_indices`` (e.g. the argmax), the 16 corners of the grid, and
    ``samples`` random grid points.  The error at each point is bounded using the arb
    enclosure (``|f − mid| + rad``).  Allowance = max(FLOAT_ALLOWANCE_FLOOR,
    FLOAT_ALLOWANCE_FACTOR × max observed error): a stated allowance, not a proof.
    """
    rng = np.random.default_rng(seed)
    corners = []
    for bits in range(16):
        k = 0
        for d, n in enumerate(spec.points):
            k = k * n + ((n - 1) if bits >> (3 - d) & 1 else 0)
        corners.append(k)
    idx = list(extra_indices) + corners + [int(x) for x in rng.integers(0, spec.total, samples)]
    values = grid_values(spec, idx)
    worst = 0.0
    for k, value in zip(idx, values):
        exact = arb_spectral_norm(spec.point(k))
        err = abs(arb(float(value)) - exact)
        worst = max(worst, float_up(err))
    return FloatCheck(
        observed_max_error=worst,
        sample_points=len(idx),
        allowance=max(FLOAT_ALLOWANCE_FLOOR, FLOAT_ALLOWANCE_FACTOR * worst),
        rule=f"max({FLOAT_ALLOWANCE_FLOOR:g}, {FLOAT_ALLOWANCE_FACTOR:g} x observed max "
             "|float64 - arb| at the sample points)",
    )


# ----------------------------------------------------------------------- the typed result
@dataclass(frozen=True)
class DerivativeBound:
    """A rigorous bound on ``sup |∂S/∂variable|`` over the domain, a rigorous lower bound of
    that supremum, and the paper's hand-derived bound."""

    variable: str
    bound: float
    sup_lower: float
    paper_bound: float

    @property
    def paper_bound_proven_valid(self) -> bool:
        """The paper's bound is at least the proven bound (so it is a valid bound)."""
        return bool(self.bound <= self.paper_bound)

    @property
    def paper_bound_proven_wrong(self) -> bool:
        """The supremum provably exceeds the paper's bound."""
        return bool(self.sup_lower > self.paper_bound)


@dataclass(frozen=True)
class GridReport:
    """How the verdict was reached: the grid, its maximum, the derivative bounds, the mean
    value theorem term and the float allowance.  Tuples run over
    :data:`snn_theory.certify.claims.VARIABLE_NAMES` (μ, ω, ν, τ)."""

    name: str
    domain: tuple[tuple[float, float], ...]
    points_per_dimension: tuple[int, ...]
    points: int
    spacings: tuple[float, ...]
    #: float64 max of S over the grid (NaN: a non-finite S, or nothing scanned)
    max: float
    argmax: tuple[float, ...] | None
    #: [lower, upper] of the arb enclosure of S at the argmax (clamped into the decimal box)
    arb_at_argmax: tuple[float, float] | None
    derivative_bounds: tuple[DerivativeBound, ...]
    derivative_boxes: int
    derivative_bounds_converged: bool
    derivative_seconds: float
    #: Σ_i bound_i·Δ_i/2, rounded up
    mvt_term: float
    float_allowance: float
    float_observed_max_error: float
    float_allowance_rule: str
    devices: int
    chunk_size: int
    scan_seconds: float
    compile_seconds: float
    points_per_second: float
    resumed_from: int | None

    @property
    def paper_mvt_term(self) -> float:
        """The paper's own error term: its bounds times its spacings (for comparison)."""
        return sum(b * d / 2 for b, d in zip(PAPER_DERIVATIVE_BOUNDS, PAPER_SPACINGS))

    def to_json(self) -> dict[str, Any]:
        v = VARIABLE_NAMES
        return {
            "name": self.name,
            "domain": {name: list(iv) for name, iv in zip(v, self.domain)},
            "points_per_dimension": dict(zip(v, self.points_per_dimension)),
            "points": self.points,
            "spacings": dict(zip(v, self.spacings)),
            "paper_spacings": dict(zip(v, PAPER_SPACINGS)),
            "max": self.max,
            "argmax": dict(zip(v, self.argmax)) if self.argmax else None,
            "arb_at_argmax": list(self.arb_at_argmax) if self.arb_at_argmax else None,
            "derivative_bounds": [
                {"variable": d.variable, "bound": d.bound, "sup_lower": d.sup_lower,
                 "paper_bound": d.paper_bound,
                 "paper_bound_proven_valid": d.paper_bound_proven_valid,
                 "paper_bound_proven_wrong": d.paper_bound_proven_wrong}
                for d in self.derivative_bounds],
            "derivative_boxes": self.derivative_boxes,
            "derivative_bounds_converged": self.derivative_bounds_converged,
            "derivative_seconds": self.derivative_seconds,
            "mvt_term": self.mvt_term,
            "paper_mvt_term": self.paper_mvt_term,
            "float_allowance": self.float_allowance,
            "float_observed_max_error": self.float_observed_max_error,
            "float_allowance_rule": self.float_allowance_rule,
            "devices": self.devices,
            "chunk_size": self.chunk_size,
            "scan_seconds": self.scan_seconds,
            "compile_seconds": self.compile_seconds,
            "points_per_second": self.points_per_second,
            "resumed_from": self.resumed_from,
        }


@dataclass(frozen=True)
class PaperExtremum:
    """``[lower, upper]`` around max S: ``lower`` is rigorous (arb at a domain point; None
    when no point was scanned), ``upper`` is NOT certified — grid max + MVT term + the
    stated, unproven float allowance (inf when the scan had a non-finite value)."""

    lower: float | None
    upper: float
    kind = "max"
    certified = False
    upper_rests_on = "float allowance (unproven)"


@dataclass(frozen=True)
class PaperResult:
    """The paper's method on one domain: the verdict and how it was reached.

    ``holds``: True when grid max + Σ bound_i·Δ_i/2 + allowance < 1 (S < 1 *by the paper's
    method*: a float64 grid maximum plus rigorous derivative bounds plus a stated,
    non-rigorous float allowance); False only when the arb enclosure of S at the grid argmax
    is > 1 (``counterexample``: that point, as decimal strings or float reprs, over
    :data:`~snn_theory.certify.claims.VARIABLE_NAMES`); None otherwise.  ``boxes``: leaf boxes of the
    derivative bounds.  :meth:`to_json` gives the interval method's claim shape.
    """

    name: str
    statement: str
    holds: bool | None
    verdict_text: str
    extremum: PaperExtremum
    counterexample: tuple[str, ...] | None
    boxes: int
    seconds: float
    grid: GridReport
    method = "paper"
    #: the paper's method writes no certificate
    certificate = None

    @property
    def proof(self) -> str | None:
        """:data:`PROOF_MARKER` when the claim holds (its verdict rests on the unproven
        float allowance: the data says so), else None."""
        return PROOF_MARKER if self.holds else None

    def to_json(self) -> dict[str, Any]:
        """The claims entry of ``verify-contraction --method paper --json`` (strict JSON:
        non-finite floats become null)."""
        e = self.extremum
        return json_value({
            "name": self.name,
            "statement": self.statement,
            "holds": self.holds,
            "proof": self.proof,
            "extremum": {"kind": e.kind, "lower": e.lower, "upper": e.upper,
                         "certified": e.certified, "upper_rests_on": e.upper_rests_on},
            "counterexample": (dict(zip(VARIABLE_NAMES, self.counterexample))
                               if self.counterexample is not None else None),
            "boxes": self.boxes,
            "seconds": self.seconds,
            "certificate": self.certificate,
            "method": self.method,
            "verdict_text": self.verdict_text,
            "grid": self.grid.to_json(),
        })


# ----------------------------------------------------------------------- the method
def run_paper_method(
    theorem: str = "1",
    grid: str | Sequence[int] = "coarse",
    resume: bool = False,
    state_dir: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    *,
    chunk_size: int | None = None,
    derivative_boxes: int = DERIVATIVE_MAX_BOXES,
    on_chunk: Callable[[int], None] | None = None,
    domain: Sequence[tuple[str, str]] | None = None,
    device_count: int | None = None,
) -> PaperResult:
    """The paper's method on ``theorem``'s domain ("1" or "appendix": the domain of the
    built-in claim :data:`~snn_theory.certify.paper.grid.CLAIM_NAMES` names).

    ``grid``: "coarse" | "fine" | "paper" or points per dimension.  The scan's state and the
    derivative bounds' leaf tiling are kept in ``state_dir`` (default proofs/.state);
    KeyboardInterrupt propagates after the scan state was saved, ``resume=True`` continues.
    ``progress(stage, done, total)``: see :data:`ProgressCallback`.  ``chunk_size``,
    ``device_count`` and ``on_chunk`` are passed to
    :func:`~snn_theory.certify.paper.grid.scan_grid`; ``derivative_boxes`` is the box
    budget of the derivative bounds.  ``domain`` (library only): a box of exact decimal
    strings instead of the theorem's.
    """
    t0 = time.perf_counter()
    if domain is None:
        spec = grid_spec(str(theorem), grid)
        decimals, name, label = DOMAIN_DECIMALS[str(theorem)], CLAIM_NAMES[str(theorem)], theorem
    else:  # a user box (exact decimal strings), e.g. to see the method fail or refute
        decimals = tuple((str(lo), str(hi)) for lo, hi in domain)
        points = GRID_POINTS.get(grid) if isinstance(grid, str) else tuple(grid)
        if points is None:
            raise InputError("a custom domain takes grid coarse, fine or points per dimension")
        try:
            floats = tuple((float(lo), float(hi)) for lo, hi in decimals)
        except ValueError as exc:
            raise InputError(f"bad domain: {exc}") from exc
        if floats[2][0] <= 0 or floats[3][0] <= 0:
            raise InputError("nu and tau must stay above 0")
        spec = GridSpec(floats, tuple(int(n) for n in points),
                        grid if isinstance(grid, str) else "custom")
        name = "custom.contraction"
        label = "custom-" + hashlib.sha256(repr(decimals).encode()).hexdigest()[:8]
    state = Path(state_dir) if state_dir is not None else DEFAULT_STATE_DIR
    writable_directory(state, "state directory")
    grid_label = spec.name if spec.name != "custom" else "x".join(map(str, spec.points))
    state_file = state / f"paper-{label}-{grid_label}.json"

    def stage(what: str) -> Callable[[int, int], None] | None:
        return None if progress is None else (lambda done, total: progress(what, done, total))

    bounds = cached_derivative_bounds(spec.domain, state, max_boxes=derivative_boxes,
                                      progress=stage("derivative bounds"))
    scan = scan_grid(spec, chunk_size=chunk_size, device_count=device_count,
                     state_path=state_file, resume=resume, progress=stage("grid"),
                     on_chunk=on_chunk)
    spacings = spec.spacings

    # MVT term and the upper end, in arb then rounded up (the sum itself is exact-ish)
    mvt = arb(0)
    for b, d in zip(bounds.upper, spacings):
        mvt += arb(b) * arb(d) / 2
    mvt_up = float_up(mvt)
    floats = float_error_check(spec, extra_indices=[scan.argmax] if scan.argmax >= 0 else [])
    allowance = floats.allowance
    grid_max = scan.max
    ok_scan = math.isfinite(grid_max)
    upper = float_up(arb(grid_max) + arb(mvt_up) + arb(allowance)) if ok_scan else math.inf

    lower, counterexample, exact_at_max = None, None, None
    if scan.point is not None:
        at = clamp_to_decimal_box(scan.point, decimals)
        s_at = arb_spectral_norm(at)
        lower = float_down(s_at)
        exact_at_max = (float_down(s_at), float_up(s_at))
    if lower is not None and lower > 1:  # arb proves S > 1 at a domain point
        holds: bool | None = False
        counterexample = tuple(x if isinstance(x, str) else repr(x) for x in at)
        verdict = "false (arb: S > 1 at the grid maximum)"
    elif ok_scan and upper < 1:
        holds, verdict = True, VERDICT_HOLDS
    else:
        holds = None
        verdict = ("inconclusive (S is NaN/inf at a grid point)" if not ok_scan else
                   "inconclusive (grid max + MVT term + float allowance >= 1: grid too coarse "
                   "for the derivative bounds)")

    derivatives = tuple(
        DerivativeBound(variable=var, bound=ub, sup_lower=lb, paper_bound=paper)
        for var, ub, lb, paper in zip(VARIABLE_NAMES, bounds.upper, bounds.lower,
                                      PAPER_DERIVATIVE_BOUNDS))
    report = GridReport(
        name=spec.name, domain=spec.domain, points_per_dimension=spec.points,
        points=spec.total, spacings=spacings, max=grid_max, argmax=scan.point,
        arb_at_argmax=exact_at_max, derivative_bounds=derivatives,
        derivative_boxes=bounds.boxes, derivative_bounds_converged=bounds.converged,
        derivative_seconds=bounds.seconds, mvt_term=mvt_up, float_allowance=allowance,
        float_observed_max_error=floats.observed_max_error,
        float_allowance_rule=floats.rule, devices=scan.devices, chunk_size=scan.chunk_size,
        scan_seconds=scan.seconds, compile_seconds=scan.compile_seconds,
        points_per_second=scan.points_per_second, resumed_from=scan.resumed_from)
    return PaperResult(
        name=name, statement="spectral_norm < 1", holds=holds, verdict_text=verdict,
        extremum=PaperExtremum(lower=lower, upper=upper), counterexample=counterexample,
        boxes=bounds.boxes, seconds=time.perf_counter() - t0, grid=report)
