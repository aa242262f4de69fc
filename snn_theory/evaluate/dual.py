"""Interval forward-mode differentiation over arb balls.

A :class:`Dual` carries a ball ``value`` and a tuple of balls ``grad``.  Seeded with
``Dual(X_i, e_i)`` for the interval coordinates X_i of a box, every arithmetic operation and
every function of the namespace propagates *enclosures*: after evaluating f,

    value ⊇ { f(x) : x ∈ box },   grad[i] ⊇ { ∂f/∂x_i (x) : x ∈ box }.

This is the rule of each operation applied in ball arithmetic (the chain rule holds pointwise,
and every ball operation encloses its exact result for all points of its inputs).  The
gradient enclosure is what the centred (mean-value) form, the monotonicity test and the
paper-method derivative bounds need (docs/mathematics.md §7).

The ball enclosures of the primitives that arb lacks or gets wrong on balls (erfcx, the
stable exp(a)·erfc(x), even powers and square roots of balls that touch 0) live here, below
:mod:`snn_theory.evaluate.backends`, whose arb backend uses them as they are and whose dual backend is
this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flint import arb, fmpq


def _two_over_sqrt_pi() -> arb:
    return 2 / arb.pi().sqrt()


def _as_arb(x: Any) -> arb:
    return x if isinstance(x, arb) else arb(x)


# ------------------------------------------------- arb enclosures (the arb backend's too)
def arb_erfcx(x: arb) -> arb:
    """Enclosure of erfcx(t) = exp(t²)·erfc(t) for every t in the ball ``x``.

    Arb has no erfcx.  For a point-like ball the product exp(t²)·erfc(t) is evaluated
    directly (both factors have small relative error at any magnitude, since arb exponents
    are unbounded).  For a wide ball the monotonicity of erfcx (strictly decreasing on ℝ)
    gives the enclosure [erfcx(upper), erfcx(lower)] from the two endpoint values.
    """
    x = _as_arb(x)
    direct = arb_pow(x, 2).exp() * x.erfc()
    if x.rad() == 0 or not x.is_finite():
        return direct
    hi = arb(x.upper())
    lo = arb(x.lower())
    at_hi = (hi * hi).exp() * hi.erfc()  # smallest value
    at_lo = (lo * lo).exp() * lo.erfc()  # largest value
    monotone = at_hi.union(at_lo)
    return monotone.intersection(direct) if monotone.overlaps(direct) else monotone


def arb_exp_erfc(a: Any, x: Any, q: Any) -> arb:
    """Enclosure of exp(α)·erfc(t) over the balls, given that q ∋ α − t² (docs/mathematics.md §1).

    Returns the intersection of the direct product exp(a)·erfc(x) (tight for narrow balls)
    and, where x can be ≥ 0, the stable form exp(q)·erfcx(x), whose factors do not grow
    together (much tighter over boxes, where a and x vary together).  Each is a rigorous
    enclosure of the same quantity, so their intersection is one too.
    """
    a, x, q = _as_arb(a), _as_arb(x), _as_arb(q)
    direct = a.exp() * x.erfc()
    if (x.rad() == 0 and a.rad() == 0) or x.upper() < 0:
        return direct
    stable = q.exp() * arb_erfcx(x)
    if direct.overlaps(stable):
        return direct.intersection(stable)
    return stable


def arb_pow(x: Any, n: int) -> arb:
    """Enclosure of t**n for all t in the ball ``x`` (n ≥ 0 an integer).

    Even powers use the bounds on |t| so that e.g. [0 ± 1]² = [0, 1] (not [−1, 1]); arb's own
    power returns NaN for a ball that contains 0.
    """
    x = _as_arb(x)
    if n == 1:
        return x
    if n % 2 == 0 and x.rad() > 0 and x.contains(0):
        # min |t| = 0 on the ball, max |t| = abs_upper
        return arb_pow(arb(x.abs_upper()), n).union(arb(0))
    result = x
    for _ in range(n - 1):
        result = result * x
    return result


def arb_sqrt(x: Any) -> arb:
    """Enclosure of √t for t in the ball ``x`` ∩ [0, ∞).

    Every square root in the formulas has an argument that is mathematically ≥ 0 (ν·τ > 0,
    sums of squares, constants), so only the part of the ball at or above 0 can hold true
    values; a midpoint-radius ball of e.g. [0, b] necessarily pokes below 0, where arb's
    plain sqrt would return NaN.
    """
    x = _as_arb(x)
    return x.sqrt() if x.lower() >= 0 else x.nonnegative_part().sqrt()


# --------------------------------------------------------------------------- Dual
class Dual:
    """A ball value with a ball gradient (forward-mode AD over arb)."""

    __slots__ = ("value", "grad")

    def __init__(self, value: Any, grad: Sequence[arb]):
        self.value = _as_arb(value)
        self.grad = tuple(grad)

    @staticmethod
    def variables(balls: Sequence[arb]) -> list[Dual]:
        """Independent variables: the i-th has gradient e_i."""
        n = len(balls)
        zero, one = arb(0), arb(1)
        return [Dual(b, [one if j == i else zero for j in range(n)]) for i, b in enumerate(balls)]

    def __repr__(self) -> str:
        return f"Dual({self.value}, {list(self.grad)})"

    def _lift(self, other: Any) -> Dual:
        if isinstance(other, Dual):
            return other
        zero = arb(0)
        return Dual(_as_arb(other), [zero] * len(self.grad))

    def __add__(self, other: Any) -> Dual:
        if isinstance(other, Dual):
            return Dual(self.value + other.value, [a + b for a, b in zip(self.grad, other.grad)])
        return Dual(self.value + other, self.grad)

    __radd__ = __add__

    def __neg__(self) -> Dual:
        return Dual(-self.value, [-a for a in self.grad])

    def __pos__(self) -> Dual:
        return self

    def __sub__(self, other: Any) -> Dual:
        if isinstance(other, Dual):
            return Dual(self.value - other.value, [a - b for a, b in zip(self.grad, other.grad)])
        return Dual(self.value - other, self.grad)

    def __rsub__(self, other: Any) -> Dual:
        return Dual(other - self.value, [-a for a in self.grad])

    def __mul__(self, other: Any) -> Dual:
        if isinstance(other, Dual):
            u, v = self.value, other.value
            return Dual(u * v, [a * v + u * b for a, b in zip(self.grad, other.grad)])
        return Dual(self.value * other, [a * other for a in self.grad])

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Dual:
        if isinstance(other, Dual):
            return self * other._reciprocal()
        return Dual(self.value / other, [a / other for a in self.grad])

    def __rtruediv__(self, other: Any) -> Dual:
        return self._reciprocal() * other

    def _reciprocal(self) -> Dual:
        inv = 1 / self.value
        d = -(inv * inv)
        return Dual(inv, [a * d for a in self.grad])

    def __pow__(self, p: Any) -> Dual:
        if isinstance(p, int) and p >= 0:
            return pow_int(self, p)
        # real exponent: x**p = exp(p log x), x > 0
        p = _as_arb(p)
        return self._chain(self.value**p, p * self.value ** (p - 1))

    def _chain(self, value: arb, derivative: arb) -> Dual:
        return Dual(value, [a * derivative for a in self.grad])


def pow_int(x: Any, n: int) -> Any:
    """x**n for an integer n ≥ 0 (even powers tight over balls containing 0)."""
    if not isinstance(x, Dual):
        return arb_pow(x, n)
    if n == 0:
        return x._lift(1)
    return x._chain(arb_pow(x.value, n), n * arb_pow(x.value, n - 1))


def exp(x: Any) -> Any:
    if not isinstance(x, Dual):
        return _as_arb(x).exp()
    e = x.value.exp()
    return x._chain(e, e)


def sqrt(x: Any) -> Any:
    if not isinstance(x, Dual):
        return arb_sqrt(x)
    s = arb_sqrt(x.value)
    return x._chain(s, 1 / (2 * s))


def erf(x: Any) -> Any:
    if not isinstance(x, Dual):
        return _as_arb(x).erf()
    return x._chain(x.value.erf(), _two_over_sqrt_pi() * (-arb_pow(x.value, 2)).exp())


def erfc(x: Any) -> Any:
    if not isinstance(x, Dual):
        return _as_arb(x).erfc()
    return x._chain(x.value.erfc(), -_two_over_sqrt_pi() * (-arb_pow(x.value, 2)).exp())


def exp_erfc(a: Any, x: Any, q: Any) -> Any:
    """ExpErfc(a, x, q) = exp(a)·erfc(x) with q = a − x²; ∂/∂a = itself, ∂/∂x = −2/√π·e^q."""
    duals = [z for z in (a, x) if isinstance(z, Dual)]
    qv = q.value if isinstance(q, Dual) else _as_arb(q)
    if not duals:
        return arb_exp_erfc(a, x, qv)
    av = a.value if isinstance(a, Dual) else _as_arb(a)
    xv = x.value if isinstance(x, Dual) else _as_arb(x)
    value = arb_exp_erfc(av, xv, qv)
    dx = -_two_over_sqrt_pi() * qv.exp()
    zero = [arb(0)] * len(duals[0].grad)
    ga = a.grad if isinstance(a, Dual) else zero
    gx = x.grad if isinstance(x, Dual) else zero
    return Dual(value, [value * p + dx * t for p, t in zip(ga, gx)])


DUAL_NAMESPACE: dict[str, Any] = {
    "exp": exp,
    "sqrt": sqrt,
    "erf": erf,
    "erfc": erfc,
    "ExpErfc": exp_erfc,
    "POW": pow_int,
    "Q": lambda p, q: arb(fmpq(p, q)),
    "PI": arb.pi,
    "E": arb.const_e,
}
