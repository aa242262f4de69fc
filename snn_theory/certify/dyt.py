"""Dynamic Tanh after a dense layer: for which α is (0, 1) an attracting fixed point?

DyT(x) = γ·tanh(αx) + β (Zhu et al. 2025) replaces a normalisation layer.  After a dense
layer at infinite width its input is z ~ N(ωμ, τν), so the layer's (μ, ν) map is the moment
map g of the activation f = γ·tanh(α·x) + β (docs/networks.md: ``dense(f)``, equivalently
``dense(x), act(f)`` since a pre-activation is Gaussian).  For each α:

* γ > 0, β: certified so that (0, 1) is a fixed point of g at (ω, τ) = (0, 1) — the
  Krawczyk-certified solution of ``solve-constants --activation "tanh(α*x)"``
  (:func:`snn_theory.evaluate.activation_map.solve_affine`); tanh is odd, so β = 0 (its ball
  contains 0);
* S, the largest singular value of the Jacobian H of g at (μ, ω, ν, τ) = (0, 0, 1, 1),
  enclosed by the rigorous Gaussian integrals of :mod:`snn_theory.evaluate.gaussian` with γ,
  β *balls* (every γ, β in the certified balls, the exact ones among them);
* **attracting** when the ball of S lies below 1: ‖H‖₂ < 1 at the fixed point, so the
  spectral radius is < 1 and (0, 1) attracts nearby (μ, ν) (a local statement; over a
  domain it is ``verify-contraction``'s business).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from flint import arb

from snn_theory.derive import activations
from snn_theory.errors import InputError
from snn_theory.evaluate import gaussian_moments
from snn_theory.evaluate.activation_map import solve_affine
from snn_theory.exact import format_fraction, parse_exact
from snn_theory.precision import working_precision

#: The working precision of the table (bits).
DYT_BITS = 128


@dataclass(frozen=True)
class DytRow:
    """One α: the certified γ, β balls, S at (0, 1) and whether S < 1 is proven."""

    alpha: Fraction
    gamma: arb
    beta: arb
    spectral_norm: arb
    attracting: bool | None  # True: S < 1 proven; False: S ≥ 1 proven; None: undecided


def dyt_row(alpha: Fraction | str, bits: int = DYT_BITS) -> DytRow:
    """The row of ``alpha`` (> 0, exact).  Raises :class:`InputError` for α ≤ 0 and
    :class:`ArithmeticError` when γ, β cannot be certified."""
    a = parse_exact(alpha, "alpha", positive=True)
    act = activations.get(f"tanh({format_fraction(a)}*x)")
    zero, one = Fraction(0), Fraction(1)
    with working_precision(bits=bits):
        affine = solve_affine(act, zero, one, zero, one)
        if not affine.certified:
            raise ArithmeticError(f"gamma, beta not certified for alpha = {alpha}: "
                                  f"{affine.method}")
        partials = gaussian_moments.moment_partials(act, arb(0), arb(1), order=2,
                                                    scale=affine.scale, shift=affine.shift)
        s = gaussian_moments.quantities(act, arb(0), arb(0), arb(1), arb(1), ("spectral_norm",),
                                        partials=partials)["spectral_norm"]
    attracting = True if s < 1 else False if s >= 1 else None
    return DytRow(a, affine.scale, affine.shift, s, attracting)


def dyt_table(alphas: list[Fraction | str], bits: int = DYT_BITS) -> list[DytRow]:
    """:func:`dyt_row` for each α (at least one)."""
    if not alphas:
        raise InputError("give at least one alpha")
    return [dyt_row(a, bits) for a in alphas]


__all__ = ["DYT_BITS", "DytRow", "dyt_row", "dyt_table"]
