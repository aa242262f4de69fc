"""The local kernel quantities of a shaped activation ψ(x) = γ·(φ(α·x + β) + δ), certified.

For an activation φ = c·g + d (:mod:`snn_theory.derive.activations`) and reals α ≠ 0, β, γ,
δ, let z ~ N(0, 1) and x = α·z + β ~ N(m, v) with m = β, v = α².  Write A = E[φ(x)],
B = E[φ(x)²], D₁ = E[φ′(x)²], D₂ = E[φ″(x)²] and a prime-free ∂ⁿ for ∂ⁿ/∂mⁿ.  Gaussian
integration by parts (E[h(x)·Heₙ(z)] = sⁿ·∂ⁿ_m E[h(x)], s = |α|; the engine of
:mod:`snn_theory.evaluate.gaussian`) gives every quantity DKS and TAT use from 1-D
expectations:

    E[ψ]   = γ·(A + δ)
    Q(1)   = E[ψ(z)²]                = γ²·N,          N = B + 2δ·A + δ²
    Q′(1)  = d/dq E[ψ(√q·z)²] at q = 1 = ½·E[ψ(z)²·He₂(z)] = ½·γ²·α²·(∂²B + 2δ·∂²A)
    C′(1)  = E[ψ′(z)²]/Q(1)         = α²·D₁/N
    C″(1)  = E[ψ″(z)²]/Q(1)         = α⁴·D₂/N
    C(0)   = E[ψ]²/Q(1)             = (A + δ)²/N

(Q′(1) = E[ψ·ψ′·z] when ψ is continuous; the He₂ form holds for any ψ, from the derivative
of the Gaussian density in q.)  Each of A, B, ∂²A, ∂²B, D₁, D₂ is a function F(m, v), and

    ∂F/∂β = ∂F,     ∂F/∂α = 2α·∂F/∂v = α·∂²F,

so the partial derivatives in (α, β) that the Krawczyk test needs are higher Hermite moments
of the same integrals (orders ≤ 4 for A, B and ≤ 2 for D₁, D₂); :func:`shaped_quantities`
returns them through the forward-mode duals of :mod:`snn_theory.evaluate.dual` when given
:class:`~snn_theory.evaluate.dual.Dual` parameters.  All enclosures hold for every (α, β) in
the balls given.

**Kinks.**  φ′ and φ″ are the pieces differentiated by sympy.  Where φ jumps at a kink, ψ′
carries a Dirac mass and C′(1) = ∞; where φ′ jumps (ReLU, leaky ReLU, SELU), ψ″ does and
C″(1) = ∞.  :func:`smoothness` decides continuity exactly (sympy) and the quantities refuse
(:class:`InputError`) what would be infinite.  The derivatives' growth bounds (for the
Gaussian tails) come from :func:`snn_theory.certify.propagation.derivative_growth` for φ′
and from :data:`SECOND_DERIVATIVE_GROWTH` or the activation parser for φ″.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy as sp
from flint import arb, ctx

from snn_theory.certify import propagation
from snn_theory.derive import activations
from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError
from snn_theory.evaluate import gaussian_moments
from snn_theory.evaluate.dual import Dual
from snn_theory.evaluate.gaussian import fraction_ball
from snn_theory.precision import working_precision

#: Bounds |g″(x)| ≤ P(|x|) of built-ins whose second derivative the parser cannot bound
#: (σ = 1/(1 + e^{−x}) ∈ (0, 1), σ′ = σ(1 − σ) ≤ ¼, |tanh|, sech² ≤ 1, u = softplus x):
#:
#: * elu: g″ = eˣ (x < 0), 0 (x > 0): ≤ 1.      * softplus: g″ = σ(1 − σ) ≤ ¼ ≤ 1.
#: * silu: g″ = σ(1 − σ)·(2 + x(1 − 2σ)), |·| ≤ (2 + |x|)/4 ≤ 1 + |x|.
#: * mish: g″ = 2·sech²(u)·σ + x·sech²(u)·σ·(1 − σ − 2·tanh(u)·σ), |·| ≤ 2 + 3|x|.
#: * selu: g″ = λα·eˣ (x < 0), 0 (x > 0): ≤ λα < 176/100.
SECOND_DERIVATIVE_GROWTH: dict[str, tuple[Fraction, ...]] = {
    "elu": (Fraction(1),),
    "softplus": (Fraction(1),),
    "silu": (Fraction(1), Fraction(1)),
    "mish": (Fraction(2), Fraction(3)),
    "selu": (Fraction(176, 100),),
}


def _base(act: Activation) -> Activation:
    return act if act.scale == 1 and act.shift == 0 else act.with_affine(Fraction(1), Fraction(0))


# ----------------------------------------------------------------------------- smoothness
def _jump_free(act: Activation, order: int) -> bool:
    """sympy proves g⁽ᵒʳᵈᵉʳ⁾ continuous at every kink (False when it cannot decide)."""
    subs = dict(act.parameters)
    x = activations.x
    for left, right in zip(act.pieces[:-1], act.pieces[1:]):
        k = sp.Rational(left.hi.numerator, left.hi.denominator)  # type: ignore[union-attr]
        lo = sp.diff(left.expr, x, order).subs(subs).subs(x, k)
        hi = sp.diff(right.expr, x, order).subs(subs).subs(x, k)
        try:
            if sp.simplify(lo - hi) != 0:
                return False
        except (TypeError, ValueError, NotImplementedError):
            return False
    return True


@dataclass(frozen=True)
class Smoothness:
    """Whether φ (``continuous``) and φ′ (``c1``) are proven continuous at every kink."""

    continuous: bool
    c1: bool


@functools.cache
def smoothness(act: Activation) -> Smoothness:
    """Continuity of φ and φ′ across the kinks, decided exactly by sympy."""
    cont = _jump_free(act, 0)
    return Smoothness(cont, cont and _jump_free(act, 1))


# ----------------------------------------------------------------------------- derivatives
@functools.cache
def first_derivative(act: Activation) -> Activation:
    """g′ piece by piece with a growth bound (:func:`propagation.derivative_activation`)."""
    return propagation.derivative_activation(_base(act))


def _constant_bound(expr: sp.Expr) -> tuple[Fraction, ...]:
    value = sp.Abs(expr)
    if value.is_Rational:  # exact (a float of it may round below |c|)
        q = Fraction(int(value.p), int(value.q))
    else:  # a 30-digit evaluation, inflated by a relative 10^-20
        q = Fraction(str(sp.N(value, 30))) * (1 + Fraction(1, 10**20))
    return (Fraction(math.ceil(q)) + 1,)  # an integer above |c|


@functools.cache
def second_derivative(act: Activation) -> Activation:
    """g″ piece by piece, with :data:`SECOND_DERIVATIVE_GROWTH` or the parser's bound;
    :class:`InputError` where neither bounds it."""
    base = _base(act)
    x = activations.x
    pieces = tuple(activations.Piece(p.lo, p.hi, sp.diff(p.expr, x, 2)) for p in base.pieces)
    growth = SECOND_DERIVATIVE_GROWTH.get(base.definition)
    if growth is None:
        total: tuple[Fraction, ...] = ()
        for piece in pieces:
            expr = piece.expr.subs(dict(base.parameters))
            if not expr.has(x):
                bound = _constant_bound(expr)
            else:
                try:
                    bound = activations.parse_expression(str(expr)).growth
                except InputError as exc:
                    raise InputError(f"C''(1) needs a growth bound of f''; none derived for "
                                     f"{expr} ({exc})") from None
            total = tuple(max(a, b) for a, b in
                          zip(total + (Fraction(0),) * len(bound), bound + (Fraction(0),) *
                              len(total)))
        growth = total
    return Activation(base.name + "''", base.definition + "''", pieces, growth,
                      base.parameters, description="second derivative of " + base.definition)


# ----------------------------------------------------------------------------- moments
@dataclass(frozen=True)
class ShapeMoments:
    """∂ⁿ_m of A = E[φ(x)], B = E[φ(x)²] (n ≤ 4), D₁ = E[φ′(x)²], D₂ = E[φ″(x)²] (n ≤ 2;
    ``D2`` None when not asked) for x ~ N(β, α²), enclosed for all (α, β) in the balls."""

    alpha: arb
    beta: arb
    A: tuple[arb, ...]
    B: tuple[arb, ...]
    D1: tuple[arb, ...]
    D2: tuple[arb, ...] | None


def _square(alpha: arb) -> arb:
    # exact for a point α (so the integrator sees a point and checks its accuracy)
    with working_precision(bits=2 * ctx.prec + 64):
        return alpha * alpha


def shape_moments(act: Activation, alpha: arb, beta: arb, curvature: bool = False
                  ) -> ShapeMoments:
    """The moments of :class:`ShapeMoments` at the current precision.  Raises
    :class:`InputError` where C′(1) (or, with ``curvature``, C″(1)) is infinite (a jump of
    φ, of φ′), :class:`ArithmeticError` where an integral is not certified."""
    if 0 in alpha:
        raise ArithmeticError("the input scale ball contains 0")
    smooth = smoothness(_base(act))
    if not smooth.continuous:
        raise InputError(f"{act.label()} is not proven continuous at its kinks, so psi' has a "
                         "Dirac mass and C'(1) is infinite")
    if curvature and not smooth.c1:
        raise InputError(f"the derivative of {act.label()} jumps at a kink (or sympy cannot "
                         "prove it continuous), so psi'' has a Dirac mass and C''(1) is "
                         "infinite; for ReLU and leaky ReLU use the leaky-ReLU form of TAT")
    c, d = fraction_ball(act.scale), fraction_ball(act.shift)
    v = _square(alpha)
    raw = gaussian_moments.raw_partials(_base(act), beta, v, order=4)
    P = gaussian_moments.combine(raw, 4, c, d)
    raw1 = gaussian_moments.raw_partials(first_derivative(act), beta, v, order=2)
    D1 = tuple(c * c * raw1[(2, n)] for n in range(3))
    D2 = None
    if curvature:
        raw2 = gaussian_moments.raw_partials(second_derivative(act), beta, v, order=2)
        D2 = tuple(c * c * raw2[(2, n)] for n in range(3))
    return ShapeMoments(alpha, beta, P.A, P.B, D1, D2)


# ----------------------------------------------------------------------------- quantities
@dataclass(frozen=True)
class LocalQuantities:
    """E[ψ], Q(1), Q′(1), C′(1), C″(1) (None when not asked) and C(0) of one layer; each an
    arb ball (or a :class:`Dual` carrying the gradient in the solver's variables)."""

    mean: Any
    q_value: Any
    q_slope: Any
    c_slope: Any
    c_curvature: Any
    c_zero: Any


def moment(values: tuple[arb, ...], n: int, alpha: Any, beta: Any) -> Any:
    """∂ⁿF as a ball, or as a Dual with ∂/∂α = α·∂ⁿ⁺²F, ∂/∂β = ∂ⁿ⁺¹F."""
    if not isinstance(alpha, Dual):
        return values[n]
    da, db = alpha.value * values[n + 2], values[n + 1]
    return Dual(values[n], [a * da + b * db for a, b in zip(alpha.grad, beta.grad)])


def shaped_quantities(M: ShapeMoments, alpha: Any, beta: Any, gamma: Any, delta: Any
                      ) -> LocalQuantities:
    """The formulas of the module docstring from the moments ``M`` (taken at the balls of
    ``alpha``, ``beta``).  Parameters are arb balls, or Duals over common variables (then
    ``alpha`` and ``beta`` must be Duals; ``gamma``, ``delta`` may depend on them)."""
    A, B = moment(M.A, 0, alpha, beta), moment(M.B, 0, alpha, beta)
    A2, B2 = moment(M.A, 2, alpha, beta), moment(M.B, 2, alpha, beta)
    D1 = moment(M.D1, 0, alpha, beta)
    a2 = alpha * alpha
    n = B + 2 * delta * A + delta * delta
    centred = A + delta
    q = gamma * gamma * n
    curvature = None
    if M.D2 is not None:
        curvature = a2 * a2 * moment(M.D2, 0, alpha, beta) / n
    return LocalQuantities(gamma * centred, q, gamma * gamma * a2 * (B2 + 2 * delta * A2) / 2,
                           a2 * D1 / n, curvature, centred * centred / n)


def local_quantities(act: Activation, alpha: arb, beta: arb, gamma: arb, delta: arb,
                     curvature: bool = False) -> LocalQuantities:
    """Certified E[ψ], Q(1), Q′(1), C′(1), C(0) (and C″(1) with ``curvature``) of
    ψ(x) = γ·(φ(α·x + β) + δ), for all parameters in the balls, at the current precision."""
    M = shape_moments(act, alpha, beta, curvature)
    return shaped_quantities(M, alpha, beta, gamma, delta)


__all__ = ["LocalQuantities", "SECOND_DERIVATIVE_GROWTH", "ShapeMoments", "Smoothness",
           "first_derivative", "local_quantities", "moment", "second_derivative", "shape_moments",
           "shaped_quantities", "smoothness"]
