"""Fixed points of the correlation map in [−1, 1] (Krawczyk at c* = 0, bisection exclusion,
the Mehler expansion at the ends), the phase, and :func:`propagate`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp
from flint import arb

from snn_theory.certify.propagation.integrals import correlation_map, correlation_slope
from snn_theory.certify.propagation.point import PropagationPoint, propagation_point
from snn_theory.derive import activations
from snn_theory.errors import InputError
from snn_theory.evaluate.krawczyk import krawczyk_1d
from snn_theory.evaluate.model import ModelSpec
from snn_theory.precision import working_precision

#: ``progress(stage, done, total)``.
ProgressCallback = Callable[[str, int, int], None]

#: Default working precision of :func:`propagate` (bits).
DEFAULT_PREC = 128
#: The ``how`` of a piece of [−1, 1] where other fixed points are not excluded.
NOT_EXCLUDED = "not excluded"
#: Bisection budget of the exclusion of other c-map fixed points (intervals examined).
MAX_INTERVALS = 400


# ============================================================================ results
@dataclass(frozen=True)
class CorrelationFixedPoint:
    """A fixed point c* of the c-map: ``value`` (ball), ``slope`` χ_c(c*) (ball), ``stable``
    (True/False, None if the ball of χ_c straddles 1), ``depth_scale`` ξ_c = −1/ln χ_c(c*)
    — a depth scale only where 0 < χ_c < 1 is proven (perturbations of c* decay by e every
    ξ_c layers); ``None`` otherwise (an unstable or undecided fixed point has none), ``how``
    (the certificate)."""

    value: arb
    slope: arb
    stable: bool | None
    depth_scale: arb | None
    how: str

    @classmethod
    def at(cls, value: arb, slope: arb, how: str) -> CorrelationFixedPoint:
        """The fixed point ``value`` with slope ``slope``; its stability and depth scale
        follow from the slope (evaluated at the current precision)."""
        stable = True if slope < 1 else False if slope > 1 else None
        return cls(value, slope, stable, log_scale(slope), how)


@dataclass(frozen=True)
class Exclusion:
    """A piece of [−1, 1] proved free of c-map fixed points, and how."""

    low: float
    high: float
    how: str


@dataclass(frozen=True)
class Phase:
    """``phase``: "chaotic" / "ordered" / "undecided"; ``rate``: enclosure of the growth rate
    ρ = max(χ₁, ω²E[f′]²) of the squared gradient norm; ``certificate``: the statement proven."""

    phase: str
    rate: arb
    certificate: str


@dataclass(frozen=True)
class PropagationResult:
    """Everything :func:`propagate` certifies at one (ω, τ, λ, α)."""

    point: PropagationPoint
    fixed_points: tuple[CorrelationFixedPoint, ...]
    exclusions: tuple[Exclusion, ...]
    phase: Phase
    depth_scale_q: arb | None
    prec: int

    @property
    def complete(self) -> bool:
        """True if every part of [−1, 1] is either a certified fixed point or excluded."""
        return bool(self.exclusions) and all(e.how != NOT_EXCLUDED for e in self.exclusions)


def log_scale(chi: arb) -> arb | None:
    """The depth scale −1/ln χ where 0 < χ < 1 is proven (a ball); ``None`` otherwise: for
    χ ≥ 1 perturbations do not decay, and −1/ln χ is no depth scale."""
    if not (chi > 0 and chi < 1):
        return None
    return -1 / chi.log()


def zero_slope(point: PropagationPoint, tol: arb, at0: arb | None = None) -> arb:
    """χ_c(0) = v·E[f′(z)]²/ν̃: the closed form, intersected for SELU (closed-form inner
    expectations) with the pair integral at c = 0 (``at0`` if already computed): two
    enclosures of one number.  Any other activation: the rigorous 1-D integral alone."""
    if point.activation.polynomial_growth is not None:
        return point.chi_c0
    if at0 is None:
        at0 = correlation_slope(point, arb(0), tol)
    return at0.intersection(point.chi_c0) if at0.overlaps(point.chi_c0) else at0


def phase_of(point: PropagationPoint) -> Phase:
    """The phase from a certified enclosure of ρ = max(χ₁, ω²E[f′(z)]²)."""
    a, b = point.chi1, point.chi_mean
    lo = a.lower() if a.lower() > b.lower() else b.lower()
    hi = a.upper() if a.upper() > b.upper() else b.upper()
    rate = arb(lo).union(arb(hi))  # max(χ₁, χ_mean) over the balls
    text = (
        f"rho = max(chi1, omega^2 E[f'(z)]^2) is in {rate.str(12, radius=True)} "
        f"for every point of the certified fixed-point ball"
    )
    if rate > 1:
        return Phase(
            "chaotic",
            rate,
            text + ", so rho > 1: the squared gradient norm grows by a factor > 1 per layer",
        )
    if rate < 1:
        return Phase(
            "ordered",
            rate,
            text + ", so rho < 1: the squared gradient norm shrinks by a factor < 1 per layer",
        )
    return Phase("undecided", rate, text + ", which contains 1: the phase is not decided")


def check_phase_claim(result: PropagationResult, claim: str) -> tuple[bool | None, str]:
    """Whether the claim "ordered" / "chaotic" holds: True (proven), False (refuted by the
    certified enclosure of ρ), None (undecided)."""
    if claim not in ("ordered", "chaotic"):
        raise InputError(f"a phase claim is 'ordered' or 'chaotic' (got {claim!r})")
    ph = result.phase
    if ph.phase == "undecided":
        return None, ph.certificate
    return ph.phase == claim, ph.certificate


def _g(point: PropagationPoint, c: arb, tol: arb | None) -> arb:
    return correlation_map(point, c, tol) - c


class _Slopes:
    """Enclosures of χ_c over an interval [a, b] ⊂ [−1, 1] from point enclosures, by the
    Mehler expansion χ_c(c) = Σ_{k≥1} k·b_k·c^{k−1} with b_k ≥ 0 (docs/propagation.md):
    for 0 ≤ a ≤ b, χ_c([a, b]) ⊂ [χ_c(a), χ_c(b)] (non-decreasing); for |c| ≤ B,
    χ_c(c) ∈ [2χ_c(0) − χ_c(B), χ_c(B)].  Point values are cached."""

    def __init__(self, point: PropagationPoint, tol: arb) -> None:
        self.point, self.tol, self.cache = point, tol, {}

    def at(self, c: float) -> arb:
        if c not in self.cache:
            self.cache[c] = correlation_slope(self.point, arb(c), self.tol)
        return self.cache[c]

    def over(self, a: float, b: float) -> arb:
        if a >= 0:
            return self.at(a).union(self.at(b))
        big = max(abs(a), abs(b))
        top = self.at(big)
        return (2 * self.at(0.0) - top).union(top)


def _certify_zero(
    point: PropagationPoint, slopes: _Slopes, tol: arb
) -> tuple[CorrelationFixedPoint, float]:
    """Krawczyk on g(c) = c̃(c) − c around 0 (radius δ shrinking until the test passes),
    g′ over the ball from :class:`_Slopes`."""
    for delta in (0.125, 0.0625, 0.03125, 0.015625, 0.0078125):
        box = arb(0, delta)

        def derivative(x: arb, delta: float = delta) -> arb:
            if x.rad() == 0:
                return slopes.at(float(x.mid())) - 1
            return slopes.over(-delta, delta) - 1

        result = krawczyk_1d(lambda x: _g(point, x, tol), derivative, box)
        if result.proved:
            slope = zero_slope(point, tol, slopes.at(0.0))
            how = (
                f"Krawczyk: the only root of c~(c) - c in [-{delta}, {delta}] "
                f"(enclosure {result.enclosure.str(6, radius=True)}); c~(0) = 0 exactly "
                f"(independent inputs); slope = v E[f'(z)]^2/nu~ (closed form and integral)"
            )
            return CorrelationFixedPoint.at(arb(0), slope, how), delta
    raise ArithmeticError("the Krawczyk test for the c-map fixed point c* = 0 failed")


def _exclude(
    point: PropagationPoint,
    slopes: _Slopes,
    lo: float,
    hi: float,
    tol: arb,
    budget: list[int],
    progress: ProgressCallback | None,
) -> list[Exclusion]:
    """Bisection of [lo, hi] until the centred form g(x₀) + (χ_c(X) − 1)(X − x₀) excludes 0
    on every piece (χ_c(X) from :class:`_Slopes`)."""
    out: list[Exclusion] = []
    stack = [(lo, hi)]
    while stack:
        a, b = stack.pop()
        budget[0] -= 1
        if budget[0] < 0:
            raise ArithmeticError(
                f"the exclusion of other c-map fixed points did not finish "
                f"within {MAX_INTERVALS} intervals (left: [{a}, {b}])"
            )
        x0 = arb((a + b) / 2)
        X = arb((a + b) / 2, (b - a) / 2)
        value = _g(point, x0, tol) + (slopes.over(a, b) - 1) * (X - x0)
        if progress is not None:
            progress("exclusion", MAX_INTERVALS - budget[0], MAX_INTERVALS)
        if not value.contains(0):
            out.append(
                Exclusion(
                    a, b, f"centred form: c~(c) - c {'< 0' if value < 0 else '> 0'} on the interval"
                )
            )
        else:
            mid = (a + b) / 2
            stack.extend([(mid, b), (a, mid)])
    return sorted(out, key=lambda e: e.low)


def propagate(
    omega: Any = 0,
    tau: Any = 1,
    lam: Any = None,
    alpha: Any = None,
    *,
    prec: int = DEFAULT_PREC,
    exclusion: bool = True,
    progress: ProgressCallback | None = None,
    activation: ModelSpec | None = None,
) -> PropagationResult:
    """Certify the propagation quantities at the fixed point of (ω, τ) (module docstring).

    ``activation`` (name, expression, Activation or model; default SELU), other than SELU: the
    c-map's fixed points by :func:`_mehler_fixed_points` (1-D integrals, Mehler expansion).

    Raises :class:`InputError` for bad input and :class:`ArithmeticError` when a certificate
    cannot be obtained (no certified fixed point, an integral that does not converge, an
    exclusion that does not finish).
    """
    with working_precision(bits=int(prec)):
        point = propagation_point(omega, tau, lam, alpha, activation=activation)
        tol = arb(2) ** (-(prec // 2))
        if point.activation.polynomial_growth is not None:
            if progress is not None:
                progress("fixed points", 0, 1)
            fps, excl = _mehler_fixed_points(point, tol)
            return PropagationResult(
                point, fps, excl, phase_of(point), log_scale(abs(point.H22)), int(prec)
            )
        if progress is not None:
            progress("fixed points", 0, 1)
        slopes = _Slopes(point, tol)
        zero, delta = _certify_zero(point, slopes, tol)
        one_slope = point.chi_c1
        one = CorrelationFixedPoint.at(
            arb(1),
            one_slope,
            "c~(1) = (E[f(z)^2] - mu~^2)/nu~ = 1 identically; slope = "
            "v E[f'(z)^2]/nu~ (closed form; = chi1 at the fixed point)",
        )
        exclusions: list[Exclusion] = []
        if exclusion:
            exclusions = _exclusions(point, slopes, delta, tol, progress)
        fixed_points = (zero, one)
        depth_q = log_scale(abs(point.H22))
        return PropagationResult(
            point, fixed_points, tuple(exclusions), phase_of(point), depth_q, int(prec)
        )


def is_odd(act: activations.Activation) -> bool:
    """sympy proves f(−x) = −f(x) identically (False also when it cannot decide)."""
    if act.shift != 0:
        return False
    f = act.sympy_expression()
    try:
        return sp.simplify(f.subs(activations.x, -activations.x) + f) == 0
    except (TypeError, ValueError, NotImplementedError):
        return False


def _mehler_fixed_points(
    point: PropagationPoint, tol: arb
) -> tuple[tuple[CorrelationFixedPoint, ...], tuple[Exclusion, ...]]:
    """All fixed points of the c-map in [−1, 1], for any activation, from 1-D integrals.

    Mehler: c̃(c) = Σ_{k≥1} b_k·c^k with b_k = E[f(u)·He_k((u − m)/√v)]²/(k!·ν̃) ≥ 0 and
    Σ b_k = c̃(1) = 1, b_1 = χ_c(0) = v·E[f′]²/ν̃ (Stein).  If b_1 < 1 is certified, some b_k,
    k ≥ 2, is > 0, so on 0 < |c| < 1: |c̃(c)| ≤ Σ b_k|c|^k < |c| — no fixed point in (−1, 0)
    ∪ (0, 1).  c̃(0) = 0 (independent inputs) and c̃(1) = 1 exactly; c = −1 is a fixed point
    iff c̃(−1) = −1: proven by symmetry when m = 0 and sympy proves f odd (then χ_c(−1) =
    χ_c(1), f′ being even), excluded when the 1-D enclosure of c̃(−1) (u₂ = 2m − u₁) is > −1."""
    b1 = point.chi_c0
    zero = CorrelationFixedPoint.at(
        arb(0),
        b1,
        "c~(0) = 0 exactly (independent inputs: E[f(u1) f(u2)] = mu~^2); slope "
        "chi_c(0) = v E[f'(z)]^2/nu~ (rigorous 1-D integral)",
    )
    s1 = point.chi_c1
    one = CorrelationFixedPoint.at(
        arb(1),
        s1,
        "c~(1) = 1 identically; slope v E[f'(z)^2]/nu~ (rigorous 1-D integral; = chi1 at "
        "the fixed point)",
    )
    if not b1 < 1:
        return (zero, one), (Exclusion(-1, 1, NOT_EXCLUDED),)
    mehler = (
        f"Mehler: c~(c) = sum_k b_k c^k, b_k >= 0, sum b_k = 1, b_1 = chi_c(0) in "
        f"{b1.str(8, radius=True)} < 1, so |c~(c)| < |c|"
    )
    middle = [Exclusion(-1, 0, mehler + " on (-1, 0)"), Exclusion(0, 1, mehler + " on (0, 1)")]
    source = point.activation.source[0]
    if point.m == 0 and is_odd(source):
        minus = CorrelationFixedPoint.at(
            arb(-1),
            s1,
            "c~(-1) = -1: m = 0 and f is odd (sympy: f(-x) + f(x) = 0), so u2 = -u1 and "
            "E[f(u1) f(-u1)] = -E[f(u1)^2], mu~ = 0; slope chi_c(-1) = chi_c(1) (f' even)",
        )
        return (minus, zero, one), tuple(middle)
    at_minus = correlation_map(point, arb(-1), tol)
    if at_minus > -1:
        end = Exclusion(
            -1, -1, f"c~(-1) in {at_minus.str(8, radius=True)} > -1 (rigorous 1-D integral)"
        )
        return (zero, one), (end, *middle)
    return (zero, one), (*middle, Exclusion(-1, -1, NOT_EXCLUDED))


def _exclusions(
    point: PropagationPoint,
    slopes: _Slopes,
    delta: float,
    tol: arb,
    progress: ProgressCallback | None,
) -> list[Exclusion]:
    """Prove [−1, −δ] ∪ [δ, 1) free of fixed points (see the module docstring)."""
    chi1_hi = point.chi_c1
    budget = [MAX_INTERVALS]
    out: list[Exclusion] = []
    # the end near 1: χ_c increasing on [0, 1] and ≤ χ_c(1) (Mehler), g(1) = 0
    eps = 1 / 64
    end_hi = None
    for _ in range(8):
        if chi1_hi < 1:
            end_hi = Exclusion(
                1 - eps,
                1,
                "Mehler: chi_c <= chi_c(1) < 1 on [0, 1], so c~(c) - c > 0 on [1 - eps, 1)",
            )
            break
        slope = slopes.at(1 - eps)
        if slope > 1:
            end_hi = Exclusion(
                1 - eps,
                1,
                f"Mehler: chi_c increasing on [0, 1] and "
                f"chi_c({1 - eps}) > 1, so c~(c) - c < 0 on "
                f"[{1 - eps}, 1)",
            )
            break
        eps /= 4
    if end_hi is None:
        raise ArithmeticError("could not exclude fixed points of the c-map near c = 1")
    # the end near −1: |χ_c| ≤ χ_c(1) on [−1, 1] (Mehler)
    eps_lo = 1 / 64
    end_lo = None
    for _ in range(8):
        g = _g(point, arb(-1 + eps_lo), tol)
        if abs(g) > (1 + chi1_hi) * eps_lo:
            end_lo = Exclusion(
                -1,
                -1 + eps_lo,
                f"Mehler: |chi_c| <= chi_c(1) on [-1, 1] and "
                f"|c~(c) - c| > (1 + chi_c(1)) eps at c = "
                f"{-1 + eps_lo}",
            )
            break
        eps_lo /= 4
    if end_lo is None:
        raise ArithmeticError("could not exclude fixed points of the c-map near c = -1")
    out.append(end_lo)
    out += _exclude(point, slopes, -1 + eps_lo, -delta, tol, budget, progress)
    out += _exclude(point, slopes, delta, 1 - eps, tol, budget, progress)
    out.append(end_hi)
    return out
