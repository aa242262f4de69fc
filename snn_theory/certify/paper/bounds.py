"""Rigorous derivative bounds of the paper's method (step 2 of :mod:`snn_theory.certify.paper.verdict`).

``sup |∂S/∂x_i|`` over the domain is enclosed on sub-boxes that tile the domain by a centred
form of each partial: ∂_iS at the box centre in arb plus the Hessian row enclosed over the
box by forward-mode differentiation in ball arithmetic (:mod:`snn_theory.evaluate.dual`) of the
compact partials of S; boxes are bisected adaptively until the bound is within a relative
tolerance of a rigorous lower bound (the derivative at box centres) or a box budget is
spent.  The maximum over all leaf boxes of the gradient enclosure's magnitude is a proven
upper bound; it replaces the paper's hand-derived bounds (:data:`PAPER_DERIVATIVE_BOUNDS`),
which are reported beside it.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flint import arb

from snn_theory.certify.paper.grid import STATE_VERSION
from snn_theory.evaluate import backends
from snn_theory.files import atomic_write
from snn_theory.precision import working_precision

#: The paper's hand-derived bounds on |∂S/∂μ|, |∂S/∂ω|, |∂S/∂ν|, |∂S/∂τ| (docs/mathematics.md §5).
PAPER_DERIVATIVE_BOUNDS: tuple[float, ...] = (0.32112, 2.63690, 2.28242, 2.98610)

#: Relative tolerance of the derivative bounds (upper ≤ (1 + tol) × rigorous lower bound).
DERIVATIVE_TOLERANCE = 0.05
#: Leaf-box budget of the derivative bounds (they stay rigorous when it runs out; looser).
DERIVATIVE_MAX_BOXES = 4000

#: Bisection prefers the side with the largest width/scale: the gradient enclosures are far
#: more sensitive to the ν and τ widths than to μ and ω (measured with first-order
#: enclosures: 2·2·32·32 boxes on the appendix domain bound the gradient ~4× tighter than
#: 4·4·16·16; kept for the centred form).  A heuristic only; the bounds are rigorous for
#: any tiling.
SPLIT_SCALES: tuple[float, ...] = (0.1, 0.1, 0.022, 0.014)

#: Each refinement round splits the leaves whose bound exceeds SHAVE × the current global
#: bound in some component (the others cannot lower the maximum yet).
SHAVE = 0.8

#: How the boxes are bounded (recorded in results and cache files).
METHOD = "centred form: arb point gradient + dual Hessian enclosure over the box"

#: ``progress(boxes evaluated, box budget)``.
BoundsProgress = Callable[[int, int], None]

FloatBox = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class DerivativeBounds:
    """Bounds on ``sup |∂S/∂x_i|`` over a domain, x = (μ, ω, ν, τ).

    ``upper[i]`` bounds |∂S/∂x_i| at every point of the domain (a proof: the maximum over the
    ``leaves``, which tile the domain widened by one ulp, of each leaf's enclosure);
    ``lower[i]`` is a rigorous lower bound of the supremum (arb at box centres).
    ``converged``: every leaf met the tolerance before the box budget ran out (the bounds
    are rigorous either way).  ``cached``: the leaf tiling was read from a cache file (the
    bounds on it were re-derived; ``seconds`` is then the time of that re-derivation).
    """

    leaves: tuple[FloatBox, ...]
    upper: tuple[float, ...]
    lower: tuple[float, ...]
    evaluations: int
    converged: bool
    tolerance: float
    seconds: float
    symbolic_seconds: float
    method: str = METHOD
    cached: bool = False

    @property
    def boxes(self) -> int:
        """Number of leaf boxes."""
        return len(self.leaves)


def float_up(x: arb) -> float:
    """The smallest float64 ≥ every point of the ball ``x`` (inf if unbounded)."""
    if not x.is_finite():
        return math.inf
    upper = arb(x.upper())
    f = float(upper.mid())
    while not arb(f) >= upper:
        f = math.nextafter(f, math.inf)
    return f


def float_down(x: arb) -> float:
    """The largest float64 ≤ every point of the ball ``x`` (−inf if unbounded)."""
    return -float_up(-x)


def _box_balls(box: Sequence[tuple[float, float]]) -> list[arb]:
    """Balls containing the intervals [lo, hi] (floats are exact binary numbers)."""
    return [arb(lo).union(arb(hi)) for lo, hi in box]


def _formulas_fingerprint() -> str:
    """Hash of the formula, code-generator and generated S-gradient sources: cached
    derivative bounds are reused only while all are unchanged."""
    from snn_theory.derive import codegen, formulas, s_gradient

    h = hashlib.sha256()
    for module in (formulas, codegen, s_gradient):
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()[:16]


def gradient_functions() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(dual, arb) evaluators of ∇S = (∂S/∂μ, ∂S/∂ω, ∂S/∂ν, ∂S/∂τ) in the compact form of
    :func:`snn_theory.derive.formulas.compact_gradient` (the chain rule through the moments'
    compact partials; equal to sympy's derivative of S, which the tests check): the
    gradient part of :func:`snn_theory.evaluate.backends.value_and_gradient` ``(…, "spectral_norm")``.

    The dual evaluator gives, over a box, enclosures of ∂_iS (``.value``) and of the Hessian
    row ∂_j∂_iS (``.grad``).
    """
    with_value = {b: backends.value_and_gradient(b, "spectral_norm") for b in ("dual", "arb")}

    def dual(*args: Any) -> tuple[Any, ...]:
        return with_value["dual"](*args)[1:]

    def ball(*args: Any) -> tuple[Any, ...]:
        return with_value["arb"](*args)[1:]

    return dual, ball


def box_gradient_bounds(box: Sequence[tuple[float, float]], lam: arb, alpha: arb,
                        functions: tuple[Callable[..., Any], Callable[..., Any]]
                        ) -> tuple[list[float], list[float]]:
    """(upper bounds of |∂_iS| over the box, rigorous lower bounds of |∂_iS| at its centre).

    Centred (mean-value) form of each partial (docs/mathematics.md §7), second-order accurate:
    ∂_iS(x) ∈ ∂_iS(c) + Σ_j [∂_j∂_iS](box)·(x_j − c_j), intersected with the direct
    enclosure of ∂_iS over the box; c is the float midpoint (a point of the box),
    ∂_iS(c) a point evaluation in arb, the Hessian enclosure from the dual.  A finite
    Hessian enclosure also shows that S is smooth on the box (the square roots' arguments
    stay away from 0, where the dual would return an unbounded ball).
    """
    from snn_theory.evaluate.dual import Dual

    dual_fn, arb_fn = functions
    balls = _box_balls(box)
    centre = [(lo + hi) / 2 for lo, hi in box]
    at_centre = arb_fn(*[arb(x) for x in centre], lam, alpha)
    over_box = dual_fn(*Dual.variables(balls), lam, alpha)
    offsets = [ball - arb(c) for ball, c in zip(balls, centre)]
    upper, lower = [], []
    for g_c, d in zip(at_centre, over_box):
        enclosure = g_c
        for h, off in zip(d.grad, offsets):
            enclosure = enclosure + h * off
        if d.value.is_finite() and enclosure.is_finite() and enclosure.overlaps(d.value):
            enclosure = enclosure.intersection(d.value)
        elif d.value.is_finite() and not enclosure.is_finite():
            enclosure = d.value
        upper.append(float_up(arb(enclosure.abs_upper())) if enclosure.is_finite() else math.inf)
        lower.append(max(0.0, float_down(arb(g_c.abs_lower()))) if g_c.is_finite() else 0.0)
    return upper, lower


def _widened(domain: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """One ulp outward: the tiling then contains the exact decimal box the floats round."""
    return [(math.nextafter(lo, -math.inf), math.nextafter(hi, math.inf)) for lo, hi in domain]


def derivative_bounds(
    domain: Sequence[tuple[float, float]],
    tolerance: float = DERIVATIVE_TOLERANCE,
    max_boxes: int = DERIVATIVE_MAX_BOXES,
    initial: Sequence[int] = (1, 1, 4, 4),
    progress: BoundsProgress | None = None,
) -> DerivativeBounds:
    """Rigorous bounds on ``sup |∂S/∂x_i|`` over ``domain`` for x = (μ, ω, ν, τ).

    The domain (widened by one ulp outward) is tiled by leaf boxes; on each,
    :func:`box_gradient_bounds` encloses every partial of S for every point of the box, so
    ``upper[i]`` = max over leaves bounds ``|∂S/∂x_i|`` on the whole domain (a proof, with
    λ01, α01 enclosed from their closed forms).  ``lower[i]`` = max over box centres of the
    arb lower bound of |∂S/∂x_i| there: a rigorous lower bound of the supremum.  Rounds of
    bisection split the leaves whose bound exceeds both ``(1 + tolerance)·lower`` and
    ``SHAVE`` × the current global bound (or is unbounded), along the side with the largest
    width / ``SPLIT_SCALES``, until no leaf is open or ``max_boxes`` would be exceeded; the
    bounds are rigorous either way (just looser).  ``progress(evaluated, max_boxes)`` is
    called every 64 box evaluations.
    """
    t0 = time.perf_counter()
    functions = gradient_functions()
    t_gen = time.perf_counter() - t0
    with working_precision(bits=64):
        lam, alpha = backends.constants_function("arb")()

        def split_even(lo: float, hi: float, n: int) -> list[tuple[float, float]]:
            cuts = [lo + (hi - lo) * k / n for k in range(n)] + [hi]
            return list(zip(cuts[:-1], cuts[1:]))

        boxes: list[FloatBox] = [()]
        for (lo, hi), n in zip(_widened(domain), initial):
            boxes = [b + (piece,) for b in boxes for piece in split_even(lo, hi, n)]
        lower = [0.0] * 4
        leaves: list[tuple[FloatBox, list[float]]] = []
        work = list(boxes)
        evaluations = 0
        while True:
            for box in work:
                ub, lb = box_gradient_bounds(box, lam, alpha, functions)
                lower = [max(a, b) for a, b in zip(lower, lb)]
                leaves.append((box, ub))
                evaluations += 1
                if progress is not None and evaluations % 64 == 0:
                    progress(min(evaluations, max_boxes), max_boxes)
            # only boxes near the current global bound can lower it: split those
            upper_now = [max(ub[i] for _, ub in leaves) for i in range(4)]
            targets = [max(x * (1 + tolerance), SHAVE * u) for x, u in zip(lower, upper_now)]
            open_, done = [], []
            for box, ub in leaves:
                is_open = any(u > t or u == math.inf for u, t in zip(ub, targets))
                (open_ if is_open else done).append((box, ub))
            if not open_ or len(leaves) + len(open_) > max_boxes:
                break
            work = []
            for box, _ub in open_:
                j = max(range(4), key=lambda i: (box[i][1] - box[i][0]) / SPLIT_SCALES[i])
                lo, hi = box[j]
                mid = (lo + hi) / 2
                for piece in ((lo, mid), (mid, hi)):
                    work.append(box[:j] + (piece,) + box[j + 1:])
            leaves = done
        upper = [max(ub[i] for _, ub in leaves) for i in range(4)]
    return DerivativeBounds(
        leaves=tuple(box for box, _ in leaves), upper=tuple(upper), lower=tuple(lower),
        evaluations=evaluations, converged=not open_, tolerance=tolerance,
        seconds=time.perf_counter() - t0, symbolic_seconds=t_gen)


def _bounds_cache_key(domain: Sequence[tuple[float, float]], tolerance: float,
                      max_boxes: int) -> str:
    text = json.dumps({"domain": list(domain), "tolerance": tolerance, "max_boxes": max_boxes,
                       "scales": SPLIT_SCALES, "shave": SHAVE, "version": STATE_VERSION,
                       "method": "centred-v2", "formulas": _formulas_fingerprint()})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _reprove_leaves(domain: Sequence[tuple[float, float]], leaves: Any
                    ) -> tuple[tuple[FloatBox, ...], list[float], list[float], float] | None:
    """(leaves, upper, lower, seconds) re-derived from a cached tiling: None unless
    ``leaves`` (boxes of float.hex strings) tile the domain widened by one ulp exactly; then
    every leaf is bounded afresh (:func:`box_gradient_bounds`), so nothing but the *choice*
    of boxes comes from the cache."""
    from fractions import Fraction

    from snn_theory.certify.certificate.tiling import tiling_error

    try:
        boxes = tuple(tuple((float.fromhex(a), float.fromhex(b)) for a, b in box)
                      for box in leaves)
    except (TypeError, ValueError):
        return None
    if not boxes or any(len(b) != 4 or not all(math.isfinite(x) for iv in b for x in iv)
                        for b in boxes):
        return None
    exact = [[(Fraction(a), Fraction(b)) for a, b in box] for box in boxes]
    if tiling_error([(Fraction(a), Fraction(b)) for a, b in _widened(domain)], exact) is not None:
        return None
    t0 = time.perf_counter()
    functions = gradient_functions()
    upper, lower = [0.0] * 4, [0.0] * 4
    with working_precision(bits=64):
        lam, alpha = backends.constants_function("arb")()
        for box in boxes:
            ub, lb = box_gradient_bounds(box, lam, alpha, functions)
            upper = [max(a, b) for a, b in zip(upper, ub)]
            lower = [max(a, b) for a, b in zip(lower, lb)]
    return boxes, upper, lower, time.perf_counter() - t0


def cached_derivative_bounds(domain: Sequence[tuple[float, float]], state_dir: Path,
                             max_boxes: int = DERIVATIVE_MAX_BOXES,
                             tolerance: float = DERIVATIVE_TOLERANCE,
                             progress: BoundsProgress | None = None) -> DerivativeBounds:
    """:func:`derivative_bounds`, with its leaf tiling cached as json in ``state_dir``.

    A cache is never evidence: only the leaf boxes (the outcome of the adaptive
    bisection) are read from it; they must tile the domain exactly, and every bound is
    re-derived on them (one pass, instead of the bisection rounds).  An edited bound in the
    file therefore changes nothing; an edited box that breaks the tiling makes the cache
    be ignored and the bounds recomputed from scratch.
    """
    key = _bounds_cache_key(domain, tolerance, max_boxes)
    path = Path(state_dir) / f"paper-derivative-bounds-{key}.json"
    if path.exists():
        try:
            data = json.loads(path.read_text())
            fresh = _reprove_leaves(domain, data["leaves"])
        except (OSError, ValueError, KeyError, TypeError):
            fresh = None  # a damaged cache is recomputed
        if fresh is not None:
            leaves, upper, lower, seconds = fresh
            return DerivativeBounds(
                leaves=leaves, upper=tuple(upper), lower=tuple(lower), evaluations=len(leaves),
                converged=bool(data.get("converged")), tolerance=data.get("tolerance"),
                seconds=seconds, symbolic_seconds=data.get("symbolic_seconds"),
                method=data.get("method"), cached=True)
    result = derivative_bounds(domain, tolerance=tolerance, max_boxes=max_boxes,
                               progress=progress)
    atomic_write(path, json.dumps({
        # the bounds are written for a reader's information only: a later run re-derives them
        "upper": [float(x).hex() for x in result.upper],
        "lower": [float(x).hex() for x in result.lower],
        "boxes": result.boxes,
        "evaluations": result.evaluations,
        "converged": result.converged,
        "tolerance": result.tolerance,
        "method": result.method,
        "seconds": result.seconds,
        "symbolic_seconds": result.symbolic_seconds,
        "leaves": [[[float(a).hex(), float(b).hex()] for a, b in box] for box in result.leaves],
    }, indent=1))
    return result
