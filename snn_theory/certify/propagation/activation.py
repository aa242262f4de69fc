"""The activation as the propagation integrals need it: pieces between kinks, inner
Gaussian expectations with a complex mean, and growth bounds (SELU in closed form, any
activation of :mod:`snn_theory.derive.activations` by rigorous integrals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flint import acb, arb, ctx

from snn_theory.derive import activations
from snn_theory.derive.derivatives import (
    DERIVATIVE_GROWTH,
    derivative_activation,
    derivative_growth,
)
from snn_theory.errors import InputError
from snn_theory.evaluate import activation_functions, backends, gaussian
from snn_theory.evaluate.moment_map import default_constants, to_number


# ============================================================================ the activation
@dataclass(frozen=True)
class PropagationActivation:
    """What the integrals need to know about an activation f (one home per activation).

    ``kinks``: exact points where f is not analytic (split points of every integral);
    ``piece(t, k, derivative)``: the analytic continuation of f (or f′) on the k-th piece
    (k = number of kinks below the piece); ``conditional(a, w, derivative)``: E[f(a + √w·Y)]
    (or E[f′(…)]), Y ~ N(0, 1), analytic in a; ``growth``: (A, B, C) with |f(x)| ≤ A + B|x|
    and |f′(x)| ≤ C for all x (used for the rigorous tail bounds); ``propagation(m, v)``:
    arb enclosures of μ̃, ν̃, E[f′(z)], E[f′(z)²] for z ~ N(m, v).
    """

    name: str
    kinks: tuple[arb, ...]
    piece: Callable[[acb, int, bool], acb]
    conditional: Callable[[acb, arb, bool, bool], acb]
    growth: tuple[arb, arb, arb]
    parameters: dict[str, arb] = field(default_factory=dict)
    #: For activations of :mod:`snn_theory.derive.activations`: bounds |f(x)| ≤ P(|x|) and
    #: |f′(x)| ≤ P′(|x|) (polynomial coefficients, constant first) — the pair integrals' tails
    #: are then bounded by Cauchy–Schwarz (:func:`pair_expectation`) — and the source.
    polynomial_growth: tuple[tuple[arb, ...], tuple[arb, ...]] | None = None
    source: Any = None


def selu_activation(lam: Any = None, alpha: Any = None) -> PropagationActivation:
    """SELU with (λ, α) (default λ01, α01 from their closed forms), as an :class:`PropagationActivation`.

    f(x) = λx (x > 0), λα(eˣ − 1) (x ≤ 0); |f(x)| ≤ λα + λ|x|, |f′(x)| ≤ λ·max(1, α).
    """
    dl, da = default_constants("arb")
    lam_b = dl if lam is None else to_number(lam, "arb")
    alpha_b = da if alpha is None else to_number(alpha, "arb")
    if not (lam_b > 0 and alpha_b > 0):
        raise InputError(f"lam and alpha must be > 0 (got {lam_b}, {alpha_b})")
    mean_fn = backends.conditional_function("acb", "mean")
    slope_fn = backends.conditional_function("acb", "slope")

    def piece(t: acb, k: int, derivative: bool) -> acb:
        if k == 0:  # x < 0
            return lam_b * alpha_b * t.exp() if derivative else lam_b * alpha_b * (t.exp() - 1)
        return acb(lam_b) if derivative else lam_b * t

    def conditional(a: acb, w: arb, derivative: bool, tight: bool = True) -> acb:
        return (slope_fn if derivative else mean_fn)(a, w, lam_b, alpha_b)[0]

    c_bound = lam_b * (alpha_b if alpha_b > 1 else arb(1))
    if not (alpha_b > 1 or alpha_b < 1):  # α's ball straddles 1
        c_bound = lam_b * (alpha_b + 1)
    return PropagationActivation(
        "selu",
        (arb(0),),
        piece,
        conditional,
        (lam_b * alpha_b, lam_b, c_bound),
        {"lam": lam_b, "alpha": alpha_b},
    )


# ============================================================================ any activation
# (f′ as an activation, with its growth bound: :mod:`snn_theory.derive.derivatives`)


def _complex_mean_expectation(base: activations.Activation, a: acb, w: arb, tight: bool) -> acb:
    """E[g(a + √w·Y)], Y ~ N(0, 1), for a complex ball ``a`` (entire in a):

    ∫ g(x)·exp(−(x − a)²/(2w)) dx/√(2πw) over [Re a − L√w, Re a + L√w] by ``acb.integral``
    split at the kinks of g, plus the tails bounded by |exp(−(x − a)²/(2w))| =
    exp((Im a)²/(2w))·exp(−(x − Re a)²/(2w)) and the growth bound of g.  ``tight``: the
    working tolerance (at quadrature nodes); otherwise a coarse one with a small work limit
    (the enclosure is rigorous either way; it is only wider — used where the outer
    integrator bounds its error on a complex neighbourhood)."""
    prec = ctx.prec
    s_hi = arb(w.sqrt().upper())
    L = arb(gaussian.range_multiplier(prec))
    re = a.real
    lo = gaussian.dyadic_cut(arb(re.lower()) - L * s_hi, -1)
    hi = gaussian.dyadic_cut(arb(re.upper()) + L * s_hi, +1)
    splits = [lo] + [k for k in base.kinks if lo < k < hi] + [hi]
    fns = activation_functions.piece_functions(base, "acb")
    params = tuple(acb(q) for q in activation_functions.parameter_values(base, "arb"))
    inv = 1 / (2 * w)
    tol = arb(2) ** (-prec) if tight else arb(2) ** -12
    total = acb(0)
    for x0, x1 in zip(splits[:-1], splits[1:]):
        fn = fns[gaussian.piece_index(base, x0, x1)]

        def integrand(t: acb, analytic: bool, fn: Any = fn) -> acb:
            activation_functions.Analytic.flag = bool(analytic)
            g = fn(t, *params)[0]
            g = g if isinstance(g, acb) else acb(g)
            d = t - a
            return g * (-(d * d) * inv).exp()

        total += acb.integral(
            integrand,
            gaussian.fraction_ball(x0),
            gaussian.fraction_ball(x1),
            rel_tol=tol,
            abs_tol=tol,
            eval_limit=None if tight else 1000,
        )
    total *= 1 / (2 * arb.pi() * w).sqrt()
    growth = activation_functions.growth_balls(base)
    abs_m = arb(abs(re).upper())
    t_r = arb(((gaussian.fraction_ball(hi) - arb(re.upper())) / s_hi).lower())
    t_l = arb(((arb(re.lower()) - gaussian.fraction_ball(lo)) / s_hi).lower())
    im = arb(abs(a.imag).upper())
    tail = ((im * im) * inv).exp() * (
        gaussian.tail_bound(growth, 1, 0, abs_m, s_hi, t_r)
        + gaussian.tail_bound(growth, 1, 0, abs_m, s_hi, t_l)
    )
    r = arb(0, arb(tail.upper()))
    return total + acb(r, r)


def generic_activation(act: activations.Activation) -> PropagationActivation:
    """An activation of :mod:`snn_theory.derive.activations` (f = c·g + d) as the integrals need it:
    pieces of f and f′ = c·g′ (sympy derivative of each piece), the inner expectations
    E[f(a + √w·Y)] and E[f′(a + √w·Y)] as rigorous integrals with a complex mean (nested in
    the outer integral), and the growth polynomials of f and f′."""
    dact = derivative_activation(act)
    c, d = gaussian.fraction_ball(act.scale), gaussian.fraction_ball(act.shift)
    value_fns = activation_functions.piece_functions(act, "acb")
    slope_fns = activation_functions.piece_functions(dact, "acb")
    params = tuple(acb(q) for q in activation_functions.parameter_values(act, "arb"))

    def piece(t: acb, k: int, derivative: bool) -> acb:
        fn = (slope_fns if derivative else value_fns)[k]
        g = fn(t, *params)[0]
        g = g if isinstance(g, acb) else acb(g)
        return c * g if derivative else c * g + d

    def conditional(a: acb, w: arb, derivative: bool, tight: bool = True) -> acb:
        g = _complex_mean_expectation(dact if derivative else act, a, w, tight)
        return c * g if derivative else c * g + d

    value_growth = tuple(abs(c) * a for a in activation_functions.growth_balls(act))
    value_growth = (value_growth[0] + abs(d), *value_growth[1:]) if value_growth else (abs(d),)
    slope_growth = tuple(abs(c) * a for a in activation_functions.growth_balls(dact))
    return PropagationActivation(
        act.label(),
        tuple(gaussian.fraction_ball(k) for k in act.kinks),
        piece,
        conditional,
        (arb(0), arb(0), arb(0)),
        {},
        (value_growth, slope_growth),
        (act, dact),
    )


__all__ = ["DERIVATIVE_GROWTH", "PropagationActivation", "derivative_activation",
           "derivative_growth", "generic_activation", "selu_activation"]
