"""A fast certified C-map from the Hermite (Mehler) coefficients of ψ.

For ψ(x) = γ·(φ(α·x + β) + δ) (:mod:`snn_theory.certify.shaped`) and standard normal (u, v)
with correlation c, Mehler's formula gives

    E[ψ(u)ψ(v)] = Σ_{k≥0} a_k²·c^k,   a_k = E[ψ(z)·He_k(z)]/√k!,   Σ_k a_k² = Q(1) = E[ψ²],

so the C-map C(c) = E[ψ(u)ψ(v)]/Q(1) = Σ_k b_k c^k has coefficients b_k = a_k²/Q(1) ≥ 0 with
Σ b_k = 1.  With b_0..b_K enclosed (rigorous 1-D integrals of
:func:`snn_theory.evaluate.gaussian.expectations`, z = (x − β)/α) and
T = 1 − Σ_{k≤K} b_k (≥ 0, enclosed from the same integrals and a separate Q(1)):

    C(c) ∈ P_K(c) + [−T·r^{K+1}, T·r^{K+1}]   for |c| ≤ r ≤ 1,   P_K(c) = Σ_{k≤K} b_k c^k

(Σ_{k>K} b_k|c|^k ≤ r^{K+1}·Σ_{k>K} b_k), and, given C′(1) = Σ k·b_k
(:func:`snn_theory.certify.shaped.local_quantities`), C′(c) ∈ P_K′(c) ± T′·r^K with
T′ = C′(1) − Σ_{k≤K} k·b_k.  A network of D identical layers
is C^{∘D}: each step encloses P_K by the mean-value form over the incoming ball and adds
[−T, T], intersected with [−1, 1] (C maps [−1, 1] into itself).  After the one-time
coefficient integrals a point costs D polynomial evaluations instead of D nested 2-D
integrals.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from flint import arb

from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError
from snn_theory.evaluate import gaussian
from snn_theory.evaluate.gaussian import fraction_ball

#: Largest accepted truncation order K.
MAX_TERMS = gaussian.MAX_EXPECTATION_ORDER


def _horner(coefficients: tuple[arb, ...], c: arb) -> arb:
    out = arb(0)
    for b in reversed(coefficients):
        out = out * c + b
    return out


@dataclass(frozen=True)
class HermiteCMap:
    """C(c) = Σ_{k≤K} b_k c^k + R(c), |R| ≤ ``tail`` on [−1, 1]; |R′| ≤ ``slope_tail`` (None
    when C′(1) was not given).  ``q_value`` encloses Q(1)."""

    coefficients: tuple[arb, ...]
    tail: arb
    slope_tail: arb | None
    q_value: arb

    @functools.cached_property
    def derivative_coefficients(self) -> tuple[arb, ...]:
        return tuple(k * b for k, b in enumerate(self.coefficients))[1:]

    def polynomial(self, c: arb) -> arb:
        """P_K over the ball c by the mean-value form P(ĉ) + P′(c)·(c − ĉ)."""
        mid = arb(c.mid())
        value = _horner(self.coefficients, mid)
        if c.rad() == 0:
            return value
        return value + _horner(self.derivative_coefficients, c) * (c - mid)

    def __call__(self, c: Any) -> arb:
        """An enclosure of C(c) for every c in the ball ∩ [−1, 1] (the ball must meet it)."""
        c = c if isinstance(c, arb) else arb(c)
        if c.lower() > 1 or c.upper() < -1:
            raise InputError("the C-map is defined for correlations in [-1, 1]")
        out = self.polynomial(c) + arb(0, (self.tail * self._radius(c) ** len(
            self.coefficients)).upper())
        return out.intersection(arb(0, 1))

    @staticmethod
    def _radius(c: arb) -> arb:
        """r = min(1, max |c|) over the ball, an exact upper bound."""
        r = arb(abs(c).upper())
        return r if r < 1 else arb(1)

    def slope(self, c: Any) -> arb:
        """An enclosure of C′(c) over the ball c ⊂ [−1, 1] (needs ``slope_tail``)."""
        if self.slope_tail is None:
            raise ValueError("C'(1) was not given, so C' has no remainder bound")
        c = c if isinstance(c, arb) else arb(c)
        r = self._radius(c) ** (len(self.coefficients) - 1)
        return _horner(self.derivative_coefficients, c) + arb(0, (self.slope_tail * r).upper())

    def network(self, c: Any, depth: int) -> arb:
        """An enclosure of C^{∘depth}(c)."""
        out = c if isinstance(c, arb) else arb(c)
        for _ in range(depth):
            out = self(out)
        return out


def hermite_cmap(act: Activation, alpha: arb, beta: arb, gamma: arb, delta: arb,
                 terms: int, c_slope: arb | None = None) -> HermiteCMap:
    """The certified Mehler expansion of ψ(x) = γ·(φ(α·x + β) + δ) to order ``terms`` (all
    parameters balls; the enclosures hold for every parameter in them), at the current
    precision.  ``c_slope``: an enclosure of C′(1), for the slope remainder."""
    if not 1 <= terms <= MAX_TERMS:
        raise InputError(f"the number of Hermite terms must be in 1..{MAX_TERMS}")
    if 0 in alpha:
        raise ArithmeticError("the input scale ball contains 0")
    base = act.with_affine(Fraction(1), Fraction(0))
    c, d = fraction_ball(act.scale), fraction_ball(act.shift)
    e = gaussian.expectations(base, beta, alpha * alpha, order=terms, powers=(1, 2))
    a = []
    for k in range(terms + 1):
        moment = c * e.values[(1, k)] + (d + delta if k == 0 else 0)
        a.append(gamma * moment / arb(math.factorial(k)).sqrt())
    # Q(1) = γ²·E[(φ + δ)²] from the same integrals
    q = gamma * gamma * (c * c * e.values[(2, 0)] + 2 * c * (d + delta) * e.values[(1, 0)]
                         + (d + delta) ** 2)
    if not q > 0:
        raise ArithmeticError("Q(1) is not proven > 0")
    b = tuple(x * x / q for x in a)
    tail = 1 - sum(b, arb(0))
    if not tail.upper() >= 0:
        raise ArithmeticError("the Hermite coefficients exceed Q(1): an enclosure is wrong")
    slope_tail = None
    if c_slope is not None:
        slope_tail = c_slope - sum((k * x for k, x in enumerate(b)), arb(0))
        slope_tail = arb(max(slope_tail.upper(), arb(0)))
    return HermiteCMap(b, arb(max(tail.upper(), arb(0))), slope_tail, q)


__all__ = ["HermiteCMap", "MAX_TERMS", "hermite_cmap"]
