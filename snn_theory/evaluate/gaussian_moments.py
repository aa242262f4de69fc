"""From Gaussian expectations to the moment map of any activation: E[fᵖ] and their partials
over (m, v) boxes, and the quantities of g (docs/mathematics.md §2, §8).

:mod:`snn_theory.evaluate.gaussian` encloses E[gᵖ(x)·Heₙ(z)], x ~ N(m, v), z = (x − m)/√v,
for the base function g of an activation f = c·g + d.  Here

* :func:`raw_partials` turns them into ∂ⁿ_m E[gᵖ] = E[gᵖ·Heₙ]/sⁿ (∂_v = ½∂²_m), over a
  box by a centred (mean-value) form intersected with the direct enclosure;
* :func:`combine` gives the partials of E[fᵖ] for f = c·g + d by the binomial theorem,
  E[fᵖ] = Σ_j C(p, j)·cʲ·d^{p−j}·E[gʲ] (:class:`MomentPartials`, any powers p);
* :func:`quantities` and :func:`activation_value_and_gradient` give the map's quantities
  (μ̃, ξ̃, J, H, S, …, :data:`snn_theory.derive.formulas.DERIVED`) from E[f], E[f²]: the
  moments depend on (μ, ω, ν, τ) only through (m, v) = (μω, ντ), and the (ω, τ) factors of
  the Jacobian are added here.

Every value is an arb ball that contains the exact value for every point of the input balls.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp
from flint import arb

from snn_theory.derive import formulas
from snn_theory.derive.activations import Activation
from snn_theory.derive.codegen import compile_function
from snn_theory.evaluate.backends import namespace
from snn_theory.evaluate.gaussian import expectations, fraction_ball, has_closed_pieces


@dataclass(frozen=True)
class MomentPartials:
    """∂ⁿ/∂mⁿ of E[f(x)ᵖ], n = 0..order, for each power p of ``moments`` (p → the tuple over
    n), over the (m, v) balls; ∂ᵢ_m∂ʲ_v = ∂^{i+2j}_m / 2ʲ.  f = c·g + d with c, d balls.
    ``A`` and ``B`` are those of E[f] and E[f²] (the moment map's)."""

    moments: dict[int, tuple[arb, ...]]

    @property
    def A(self) -> tuple[arb, ...]:
        return self.moments[1]

    @property
    def B(self) -> tuple[arb, ...]:
        return self.moments[2]

    def partial(self, p: int, i: int, j: int = 0) -> arb:
        """∂ⁱ_m ∂ʲ_v E[fᵖ]."""
        return self.moments[p][i + 2 * j] / 2**j

    def a(self, i: int, j: int = 0) -> arb:
        return self.partial(1, i, j)

    def b(self, i: int, j: int = 0) -> arb:
        return self.partial(2, i, j)


# ----------------------------------------------------------------------------- E[gᵖ] over boxes
def _normalized(act: Activation, m: arb, v: arb, order: int, closed_form: bool = True,
                min_order: int = 0, powers: tuple[int, ...] = (1, 2)
                ) -> dict[tuple[int, int], arb]:
    """∂ⁿ_m E[gᵖ] = E[gᵖ·Heₙ(z)]/sⁿ, p in ``powers``, n = min_order..order, enclosed directly
    over the balls."""
    e = expectations(act, m, v, order=order, powers=powers, closed_form=closed_form,
                     min_order=min_order)
    s = v.sqrt()
    return {(p, n): e.values[(p, n)] / s**n for p in powers
            for n in range(min_order, order + 1)}


def raw_partials(act: Activation, m: arb, v: arb, order: int = 2, closed_form: bool = True,
                 powers: Sequence[int] = (1, 2)) -> dict[tuple[int, int], arb]:
    """∂ⁿ_m E[gᵖ] (p in ``powers``; n = 0..order) for all (m, v) in the balls, g the base
    function; keyed (p, n).

    At a point: the integrals directly.  Over a box: the centred (mean-value) form

        ∂ⁿF(B) ⊆ ∂ⁿF(c) + ∂ⁿ⁺¹F(B)·(m − c_m) + ½·∂ⁿ⁺²F(B)·(v − c_v)

    (∂_v = ½∂²_m), intersected with the direct enclosure: the direct one alone overestimates
    by a factor that grows with the box, because the Gaussian weight is enclosed pointwise.
    The form is applied from order ``order + 2`` down to 0, each order using the already
    tightened enclosures of the two above it (only the top two stay direct).

    With closed-form pieces (and ``closed_form``) the centre values and the direct box
    enclosures are closed form, and the top two orders are also enclosed by numerical
    integration over the box (the closed form's Hermite expansion over a box is much wider
    than the integrator's pointwise enclosure at high orders) and intersected."""
    powers = tuple(sorted(set(powers)))
    if m.rad() == 0 and v.rad() == 0:
        return _normalized(act, m, v, order, closed_form, powers=powers)
    top = order + 4
    cm, cv = arb(m.mid()), arb(v.mid())
    centre = _normalized(act, cm, cv, top - 2, closed_form, powers=powers)
    dm, dv = m - cm, v - cv

    def tighten(direct: dict[tuple[int, int], arb]) -> dict[tuple[int, int], arb]:
        tight = dict(direct)
        # from the top down: each order is tightened with the already tightened higher ones
        for n in range(top - 2, -1, -1):
            for p in powers:
                centred = centre[(p, n)] + tight[(p, n + 1)] * dm + tight[(p, n + 2)] / 2 * dv
                d = direct.get((p, n))
                if d is None:
                    tight[(p, n)] = centred
                elif centred.is_finite():
                    tight[(p, n)] = centred.intersection(d) if centred.overlaps(d) else centred
        return tight

    if closed_form and has_closed_pieces(act):
        direct = _normalized(act, m, v, top, closed_form=True, powers=powers)
        for key, x in _normalized(act, m, v, top, closed_form=False,
                                  min_order=top - 1, powers=powers).items():
            d = direct[key]
            direct[key] = x.intersection(d) if x.overlaps(d) and d.is_finite() else x
        tight = tighten(direct)
        if all(x.is_finite() for x in tight.values()):
            return {k: x for k, x in tight.items() if k[1] <= order}
    tight = tighten(_normalized(act, m, v, top, closed_form, powers=powers))
    return {k: x for k, x in tight.items() if k[1] <= order}


# ----------------------------------------------------------------------------- f = c·g + d
def combine(raw: dict[tuple[int, int], arb], order: int, scale: arb, shift: arb,
            powers: Sequence[int] = (1, 2)) -> MomentPartials:
    """Partials of E[fᵖ] (p in ``powers``) for f = c·g + d from those of E[gʲ], j ≤ p
    (``raw`` keyed (j, n)): ∂ⁿE[fᵖ] = Σ_j C(p, j)·cʲ·d^{p−j}·∂ⁿE[gʲ], the j = 0 term only
    for n = 0.  Where d is exactly 0 the terms j < p vanish and need not be in ``raw``."""
    c, d = scale, shift
    zero_shift = d.is_exact() and d == 0
    moments = {}
    for p in powers:
        out = []
        for n in range(order + 1):
            total = None
            for j in range(p, -1, -1):
                if (j == 0 and n > 0) or (j < p and zero_shift and (j, n) not in raw):
                    continue
                factors = [c] * j + [d] * (p - j)
                k = math.comb(p, j)
                term = factors[0] if k == 1 else k * factors[0]
                for x in factors[1:]:
                    term = term * x
                if j > 0:
                    term = term * raw[(j, n)]
                total = term if total is None else total + term
            out.append(total)
        moments[p] = tuple(out)
    return MomentPartials(moments)


def moment_partials(act: Activation, m: arb, v: arb, order: int = 2,
                    scale: arb | None = None, shift: arb | None = None,
                    powers: Sequence[int] = (1, 2)) -> MomentPartials:
    """Enclosures of ∂ⁿ_m E[fᵖ], p in ``powers`` (default E[f], E[f²]), n = 0..order, for all
    (m, v) in the balls; ``scale``/``shift`` override the activation's c, d (balls, e.g.
    while solving for them)."""
    c = fraction_ball(act.scale) if scale is None else scale
    d = fraction_ball(act.shift) if shift is None else shift
    powers = tuple(sorted(set(powers)))
    needed = powers if d.is_exact() and d == 0 else tuple(range(1, max(powers) + 1))
    return combine(raw_partials(act, m, v, order, powers=needed), order, c, d, powers)


# ----------------------------------------------------------------------------- the map's quantities
@functools.cache
def _derived_function(names: tuple[str, ...]) -> Any:
    """The quantities of :data:`snn_theory.derive.formulas.DERIVED` from the base ones and ν (arb)."""
    args = (*formulas.BASE_SYMBOLS, formulas.nu)
    return compile_function(args, [formulas.DERIVED[n] for n in names],
                            namespace("arb"), name="generic_" + "_".join(names))


@functools.cache
def _derived_gradient_function(name: str) -> Any:
    """(∂q/∂b_k for each base quantity b_k, ∂q/∂ν explicit) as arb code."""
    args = (*formulas.BASE_SYMBOLS, formulas.nu)
    expr = formulas.DERIVED[name]
    parts = [sp.diff(expr, b) for b in formulas.BASE_SYMBOLS] + [sp.diff(expr, formulas.nu)]
    return compile_function(args, parts, namespace("arb"), name=f"generic_grad_{name}")


def base_values(P: MomentPartials, omega: arb, tau: arb) -> tuple[arb, ...]:
    """(μ̃, ξ̃, J11, J12, J21, J22) from the (m, v) partials (docs/mathematics.md §2)."""
    return (P.a(0), P.b(0), omega * P.a(1), tau * P.a(0, 1), omega * P.b(1), tau * P.b(0, 1))


def base_gradients(P: MomentPartials, mu: arb, omega: arb, nu: arb, tau: arb
                   ) -> tuple[tuple[arb, arb, arb, arb], ...]:
    """Gradients in (μ, ω, ν, τ) of the base quantities, by the chain rule through (m, v)
    (needs ``P`` of order 4)."""
    def chain(fm: arb, fv: arb) -> tuple[arb, arb, arb, arb]:
        return (omega * fm, mu * fm, tau * fv, nu * fv)

    grads = []
    for F in (P.a, P.b):
        grads.append(chain(F(1), F(0, 1)))
    if len(P.A) < 5:  # order 2: the Jacobian entries' gradients are not available
        return (grads[0], grads[1], None, None, None, None)
    for F in (P.a, P.b):
        # J_1 = ω·F_m ;  J_2 = τ·F_v
        g_m = chain(F(2), F(1, 1))
        j1 = tuple(omega * g for g in g_m)
        j1 = (j1[0], j1[1] + F(1), j1[2], j1[3])
        g_v = chain(F(1, 1), F(0, 2))
        j2 = tuple(tau * g for g in g_v)
        j2 = (j2[0], j2[1], j2[2], j2[3] + F(0, 1))
        grads.append((j1, j2))
    mean_g, second_g, (j11, j12), (j21, j22) = grads
    return (mean_g, second_g, j11, j12, j21, j22)


def quantities(act: Activation, mu: arb, omega: arb, nu: arb, tau: arb,
               names: Sequence[str] = formulas.QUANTITIES,
               partials: MomentPartials | None = None) -> dict[str, arb]:
    """Every quantity of the SELU pipeline (mean, second_moment, variance, variance_change,
    J, H, spectral_norm) for activation ``act``, enclosed for all points of the balls.
    ``partials`` may be given (e.g. enclosures over a larger (m, v) box, from a cache)."""
    if partials is None:
        partials = moment_partials(act, mu * omega, nu * tau, order=2)
    base = base_values(partials, omega, tau)
    names = tuple(names)
    return dict(zip(names, _derived_function(names)(*base, nu)))


def activation_value_and_gradient(act: Activation, name: str, mu: arb, omega: arb, nu: arb,
                                  tau: arb, partials: MomentPartials | None = None
                                  ) -> tuple[arb, ...]:
    """(q, ∂q/∂μ, ∂q/∂ω, ∂q/∂ν, ∂q/∂τ) for quantity ``name`` over the balls."""
    if partials is None:
        partials = moment_partials(act, mu * omega, nu * tau, order=4)
    base = base_values(partials, omega, tau)
    grads = base_gradients(partials, mu, omega, nu, tau)
    value = _derived_function((name,))(*base, nu)[0]
    outer = _derived_gradient_function(name)(*base, nu)
    result = []
    for i in range(4):
        total = outer[-1] if i == 2 else arb(0)
        for k in range(len(base)):
            if grads[k] is None:
                if outer[k] != 0:
                    raise ValueError(f"{name} needs partials of order 4")
                continue
            total += outer[k] * grads[k][i]
        result.append(total)
    return (value, *result)
