"""The correlation integrals: E[g(u₁, u₂)] for correlated Gaussians as 1-D ``acb.integral``s
of closed-form inner expectations, with closed-form tail bounds; the c-map and its slope."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from flint import acb, arb, ctx

from snn_theory.certify.propagation.activation import PropagationActivation
from snn_theory.certify.propagation.point import PropagationPoint
from snn_theory.errors import InputError
from snn_theory.evaluate import activation_functions, gaussian
from snn_theory.evaluate.moment_map import to_number


# ============================================================================ the integrals
def _gaussian_tail(T: arb, v: arb, D: arb, B: arb) -> arb:
    """Upper bound of ∫_{|s| ≥ T} (D + B|s|)² φ_v(s) ds (φ_v the N(0, v) density), T > 0:

    2·[D²·Q(y) + 2DB√v·φ(y) + B²v·(y·φ(y) + Q(y))], y = T/√v, φ the standard normal density,
    Q(y) = erfc(y/√2)/2 (exact Gaussian moments of the tail)."""
    y = T / v.sqrt()
    phi = (-(y * y) / 2).exp() / (2 * arb.pi()).sqrt()
    Q = (y / arb(2).sqrt()).erfc() / 2
    bound = 2 * (D * D * Q + 2 * D * B * v.sqrt() * phi + B * B * v * (y * phi + Q))
    return arb(0, arb(bound.upper()))


def _cauchy_schwarz_tail(
    act: PropagationActivation, m: arb, v: arb, left: arb, right: arb, derivative: bool
) -> arb:
    """|E[F(u₁)F(u₂); u₁ ∉ [left, right]]| ≤ √(E[F(u₁)²; u₁ ∉ [left, right]]·E[F(u₂)²])
    (Cauchy–Schwarz), both factors bounded with the growth polynomial P of F
    (|F(x)| ≤ P(|x|), so |F(m + √v·z)| ≤ P(|m| + √v·|z|)) and exact Gaussian tail moments."""
    growth = act.polynomial_growth[1 if derivative else 0]
    s_hi = arb(v.sqrt().upper())
    abs_m = arb(abs(m).upper())
    t_r = arb(((right - arb(m.upper())) / s_hi).lower())
    t_l = arb(((arb(m.lower()) - left) / s_hi).lower())
    tail = gaussian.tail_bound(growth, 2, 0, abs_m, s_hi, t_r) + gaussian.tail_bound(
        growth, 2, 0, abs_m, s_hi, t_l
    )
    full = 2 * gaussian.tail_bound(growth, 2, 0, abs_m, s_hi, arb(0))
    return arb(0, arb((tail * full).sqrt().upper()))


def _exact(x: float) -> arb:
    return arb(float(x))  # the exact binary value


def pair_expectation(
    point: PropagationPoint, c: arb, derivative: bool = False, tolerance: arb | None = None
) -> arb:
    """Enclosure of E[F(u₁)F(u₂)] (F = f, or f′ with ``derivative``), (u₁, u₂) bivariate normal
    with means m, variances v, correlation c (a ball in (−1, 1), or exactly ±1).

    E[F(u₁)F(u₂)] = ∫ F(t)·G(m + c(t − m), (1 − c²)v)·φ_v(t − m) dt with G the closed-form
    inner expectation; ∫ over [L, R] ⊇ m ± K√v by ``acb.integral`` split at the kinks of f
    (and where the inner mean's argument vanishes), plus a closed-form bound of the two tails.
    ``tolerance``: for point arguments, raise :class:`ArithmeticError` if the result's radius
    exceeds it (Arb does not report non-convergence; we check the radius ourselves).
    """
    act, m, v = point.activation, point.m, point.v
    c = to_number(c, "arb")
    prec = ctx.prec
    A, B, C = act.growth
    minus_one = c == -1
    if not minus_one and not (c > -1 and c < 1) and not c == 1:
        raise InputError(f"the correlation must lie in (-1, 1) or be exactly -1 or 1 (got {c})")
    if c == 1:
        raise InputError("c = 1 is the closed-form second moment; use correlation_map")
    generic = act.polynomial_growth is not None
    # Cauchy–Schwarz halves the tail's exponent: twice the range exponent for it
    K = math.sqrt(2 * math.log(2) * ((2 * prec if generic else prec) + 30)) + 2
    m_f, sd_f = float(m.mid()), math.sqrt(float(v.mid()))
    L, R = math.floor(m_f - K * sd_f) - 1, math.ceil(m_f + K * sd_f) + 1
    w = arb(0) if minus_one else (1 - c * c) * v
    splits = {float(k.mid()) for k in act.kinks}
    # the kinks of t ↦ F(t)·F(2m − t) (c = −1) or of F(t): balls, as floats for the cuts
    true_kinks = list(act.kinks) + ([2 * m - k for k in act.kinks] if minus_one else [])
    if minus_one:
        splits |= {float((2 * m - k).mid()) for k in act.kinks}
    elif float(c.mid()) != 0:  # where a = m + c(t − m) = 0 the inner mean is nearly kinked
        splits.add(float((m * (c - 1) / c).mid()))
    cuts = [_exact(L)] + [_exact(s) for s in sorted(splits) if L < s < R] + [_exact(R)]
    kink_mids = [float(k.mid()) for k in act.kinks]
    inv_2v = 1 / (2 * v)
    norm = 1 / (2 * arb.pi() * v).sqrt()

    def make(k: int, k2: int) -> Callable[[acb, bool], acb]:
        def integrand(t: acb, analytic: bool) -> acb:
            s = t - m
            activation_functions.Analytic.flag = bool(analytic)  # branch cuts of user pieces
            outer = act.piece(t, k, derivative)
            if minus_one:
                activation_functions.Analytic.flag = bool(analytic)
                inner = act.piece(2 * m - t, k2, derivative)
            else:
                inner = act.conditional(m + c * s, w, derivative, not analytic)
            return outer * inner * (-(s * s) * inv_2v).exp() * norm

        return integrand

    total = acb(0)
    pieces = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        mid_f = (float(lo) + float(hi)) / 2
        k = sum(1 for km in kink_mids if km < mid_f)
        k2 = sum(1 for km in kink_mids if km < 2 * m_f - mid_f)
        pieces.append(make(k, k2))
        total += acb.integral(
            pieces[-1],
            lo,
            hi,
            rel_tol=arb(2) ** (-prec),
            abs_tol=arb(2) ** (-prec),
            eval_limit=200_000,
        )
    # A cut that is not exactly its kink (a non-dyadic kink, or 2m − κ with m a ball) leaves
    # a sliver between them integrated with the neighbouring piece's continuation: enclose
    # the difference of the two pieces' integrands over the sliver times its width.
    for i in range(1, len(cuts) - 1):
        for kink in true_kinks:
            if float(kink.mid()) == float(cuts[i]) and not kink == cuts[i]:
                X = arb(cuts[i]).union(kink)
                gap = abs(pieces[i - 1](acb(X), False) - pieces[i](acb(X), False))
                width = arb(2 * X.rad())
                bound = arb((gap * width).upper())
                total += acb(arb(0, bound), arb(0, bound))
    T = arb(min((m - cuts[0]).lower(), (cuts[-1] - m).lower()))
    if generic:
        tail = _cauchy_schwarz_tail(act, m, v, cuts[0], cuts[-1], derivative)
    elif derivative:
        tail = _gaussian_tail(T, v, C, arb(0))
    else:
        D = A + B * abs(m) + B * w.sqrt() if not minus_one else A + B * abs(m)
        tail = _gaussian_tail(T, v, D, B)
    result = total.real + tail
    if not total.imag.contains(0) or not result.is_finite():
        raise ArithmeticError("the pair integral did not give a finite real enclosure")
    if tolerance is not None and c.rad() == 0 and result.rad() > tolerance:
        raise ArithmeticError(
            f"the pair integral did not converge (radius {result.rad()} > {tolerance})"
        )
    return result


def correlation_map(point: PropagationPoint, c: Any, tolerance: arb | None = None) -> arb:
    """c̃(c) = (E[f(u₁)f(u₂)] − μ̃²)/ν̃, enclosed (c = 1 gives exactly 1)."""
    c = to_number(c, "arb")
    if c == 1:
        return arb(1)
    return (pair_expectation(point, c, False, tolerance) - point.mean**2) / point.variance


def correlation_slope(point: PropagationPoint, c: Any, tolerance: arb | None = None) -> arb:
    """χ_c(c) = ∂c̃/∂c = v·E[f′(u₁)f′(u₂)]/ν̃ (Price's theorem), enclosed; closed form at c = 1."""
    c = to_number(c, "arb")
    if c == 1:
        return point.chi_c1
    return point.v * pair_expectation(point, c, True, tolerance) / point.variance
