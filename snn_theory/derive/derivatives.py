"""The derivative of an activation as data: g′ piece by piece with a growth bound.

χ₁ = τ·E[f′(z)²] and the correlation slopes need f′ as an activation of its own (its pieces
are sympy's derivatives of f's pieces, its kinks f's kinks) and a bound |g′(x)| ≤ P′(|x|)
for the rigorous Gaussian tails; the moment model (:mod:`snn_theory.evaluate.model`) and the
propagation integrals (:mod:`snn_theory.certify.propagation`) both take it from here.
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp

from snn_theory.derive import activation_parser, activations
from snn_theory.errors import InputError

#: Bounds |g′(x)| ≤ Σ a_k |x|^k of the built-in activations' base functions g (proofs):
#:
#: * selu: λ (x > 0), λαeˣ ≤ λα (x ≤ 0): ≤ λ01·α01 < 1.76.   elu: 1 or eˣ ≤ 1.
#: * relu, leaky_relu: 0, 1/100 or 1.   tanh: 1 − tanh² ≤ 1.   softplus: σ(x) ≤ 1.
#: * gelu: Φ(x) + x·φ(x), |x·φ(x)| ≤ φ(1) < 1/4: ≤ 5/4.
#: * silu: σ(x) + x·σ(x)(1 − σ(x)), σ(1 − σ) ≤ 1/4: ≤ 1 + |x|/4.
#: * mish: tanh(s) + x·sech²(s)·σ(x), s = softplus(x), all three factors in [0, 1]: ≤ 1 + |x|.
DERIVATIVE_GROWTH: dict[str, tuple[Fraction, ...]] = {
    "selu": (Fraction(176, 100),),
    "elu": (Fraction(1),),
    "relu": (Fraction(1),),
    "leaky_relu": (Fraction(1),),
    "tanh": (Fraction(1),),
    "softplus": (Fraction(1),),
    "gelu": (Fraction(5, 4),),
    "silu": (Fraction(1), Fraction(1, 4)),
    "mish": (Fraction(1), Fraction(1)),
}


def derivative_growth(act: activations.Activation) -> tuple[Fraction, ...]:
    """A bound |g′(x)| ≤ P′(|x|) for the base function g of ``act`` (between kinks).

    Built-ins: :data:`DERIVATIVE_GROWTH`.  User expressions: each piece's derivative (sympy)
    is read back by the activation parser, which derives its growth bound structurally; the
    bounds of the pieces are added.  Raises :class:`InputError` where the parser cannot
    bound a derivative (e.g. it divides by a non-constant)."""
    if act.definition in DERIVATIVE_GROWTH:
        return DERIVATIVE_GROWTH[act.definition]
    total: tuple[Fraction, ...] = ()
    for piece in act.pieces:
        d = sp.diff(piece.expr, activations.x)
        if not d.has(activations.x):
            bound: tuple[Fraction, ...] = (activation_parser.constant_upper(d),)
        else:
            try:
                bound = activations.parse_expression(str(d)).growth
            except InputError as exc:
                raise InputError(
                    f"chi1 and the slopes need a growth bound of f'; none derived for "
                    f"the derivative {d} of {act.definition!r} ({exc})"
                ) from None
        total = activation_parser.poly_add(total, bound) if total else bound
    return total


def derivative_activation(act: activations.Activation) -> activations.Activation:
    """g′ piece by piece (same kinks, same parameters), with :func:`derivative_growth`;
    ``act``'s scale c is applied by the caller (f′ = c·g′)."""
    pieces = tuple(
        activations.Piece(p.lo, p.hi, sp.diff(p.expr, activations.x)) for p in act.pieces
    )
    return activations.Activation(
        act.name + "'",
        act.definition + "'",
        pieces,
        derivative_growth(act),
        act.parameters,
        description="derivative of " + act.definition,
    )


__all__ = ["DERIVATIVE_GROWTH", "derivative_activation", "derivative_growth"]
