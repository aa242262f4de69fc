"""Kernel shaping beyond chains: a network's C′(1), C″(1) and C(0) derived from its description.

The network is written in the syntax of :mod:`snn_theory.derive.network` with the shaped
activation as the placeholder ``psi`` (``8*residual(0.5, dense(psi))``).  Under the shaping
conditions Q(1) = 1 every unit keeps variance 1 (weights of variance 1/fan-in, zero mean), so
each block acts on the correlation c alone, with C(1) = 1:

    dense(psi)          c ↦ C_ψ(c)                         (the local C-map of ψ)
    residual(W, B, …)   c ↦ (1 − W²)·c + W²·C_branch(c)     (variance (1 − W²) + W² = 1)
    N*BLOCK             N copies;  blocks in a row compose

so the maximal slope function and the curvature of the network at c = 1 follow from the local
s = C_ψ′(1), k = C_ψ″(1) by the chain rule, written once (:func:`slope_curvature`): for maps
f, g with f(1) = g(1) = 1, (f∘g)′(1) = f′(1)·g′(1) and (f∘g)″(1) = f″(1)·g′(1)² + f′(1)·g″(1);
a residual block gives (1 − W²) + W²·s_B and W²·k_B.  Both are polynomials in (s, k) with
coefficients ≥ 0 (products and positive combinations), so

* **DKS**: the network's C′(1) = P(s) is a polynomial in s with P(1) = 1 and coefficients
  ≥ 0; when it depends on s it is strictly increasing on s > 0, so P(s) = ζ > 1 has exactly
  one root s > 1 — enclosed by a bracket and a one-dimensional Krawczyk test
  (:func:`local_slope`); a chain of D blocks gives ζ^{1/D} in closed form.
* **TAT** (smooth): with s = 1 every block has slope 1, so the network's C′(1) = 1 exactly and
  its C″(1) = m·k with m = Σ over the ``dense(psi)`` blocks of the product of W² of the
  residual blocks around them — an exact rational (:func:`curvature_multiplier`); k = τ/m.
* C(0): every block maps 0 to 0 when C_ψ(0) = 0 (DKS: exact); otherwise the composition of
  certified C-maps (:func:`network_value`).

Only ``dense(psi)`` (zero-mean weights of variance 1: no omega, tau = 1) and residual blocks
and repetitions of them are accepted; anything else is refused with :class:`InputError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from flint import arb, ctx

from snn_theory.derive.network import (
    Act,
    Block,
    Dense,
    Network,
    Placeholder,
    Repeat,
    Residual,
    count_blocks,
    parse_network,
)
from snn_theory.errors import InputError
from snn_theory.evaluate.dual import Dual
from snn_theory.evaluate.gaussian import fraction_ball
from snn_theory.evaluate.krawczyk import krawczyk_1d

#: The name of the shaped activation in a network description.
PLACEHOLDER = "psi"


@dataclass(frozen=True)
class ShapedNetwork:
    """A network of ``dense(psi)`` and residual blocks: ``layers`` counts the ``dense(psi)``
    blocks (after repetition); ``chain`` says it is ``layers`` of them in a row."""

    network: Network
    layers: int
    chain: bool

    def spelling(self) -> str:
        return self.network.spelling()


def _check(blocks: tuple[Block, ...]) -> None:
    for block in blocks:
        if isinstance(block, Repeat):
            _check((block.block,))
        elif isinstance(block, Residual):
            _check(block.branch)
        elif isinstance(block, Dense) and isinstance(block.act, Placeholder):
            if block.omega not in (None, 0) or block.tau not in (None, 1):
                raise InputError(f"{block.spelling()}: shaping assumes zero-mean weights of "
                                 "variance 1/fan-in (omega = 0, tau = 1)")
        elif isinstance(block, Dense):
            raise InputError(f"{block.spelling()}: a shaped network's dense blocks hold the "
                             f"shaped activation, written dense({PLACEHOLDER})")
        elif isinstance(block, Act):
            raise InputError(f"{block.spelling()}: {PLACEHOLDER} cannot go into act(...) (no "
                             "weight layer: its input is not Gaussian, so its C-map is not "
                             f"{PLACEHOLDER}'s); use dense({PLACEHOLDER})")
        else:
            raise InputError(f"{block.spelling()}: a shaped network is built of "
                             f"dense({PLACEHOLDER}), residual(W, ...) and N*BLOCK only")


def _layers(blocks: tuple[Block, ...]) -> int:
    total = 0
    for block in blocks:
        if isinstance(block, Repeat):
            total += block.count * _layers((block.block,))
        elif isinstance(block, Residual):
            total += _layers(block.branch)
        else:
            total += 1
    return total


def shaped_network(text: str | Network) -> ShapedNetwork:
    """The network ``text`` (with ``psi``) checked for shaping; :class:`InputError` (one line)
    for a network without ``psi``, a block ``psi`` cannot go into, or bad syntax."""
    network = parse_network(text, PLACEHOLDER)
    _check(network.blocks)
    layers = _layers(network.blocks)
    if layers == 0:
        raise InputError(f"the network has no dense({PLACEHOLDER}) block to shape")
    if curvature_multiplier(network) == 0:
        raise InputError(f"the network's C-map does not depend on {PLACEHOLDER} (every "
                         f"dense({PLACEHOLDER}) lies in a residual branch of weight 0)")
    return ShapedNetwork(network, layers, count_blocks(network.blocks) == layers)


def slope_curvature(blocks: tuple[Block, ...], s: Any, k: Any,
                    lift: Callable[[Fraction], Any] = lambda q: q) -> tuple[Any, Any]:
    """(C′(1), C″(1)) of the blocks' C-map from ψ's local (``s``, ``k``), any number type
    (Fraction, arb, Dual); ``lift`` turns an exact W² into that type."""
    slope: Any = 1
    curv: Any = 0
    for block in blocks:
        if isinstance(block, Repeat):
            bs, bk = slope_curvature((block.block,), s, k, lift)
            for _ in range(block.count):
                slope, curv = bs * slope, bk * slope * slope + bs * curv
            continue
        if isinstance(block, Residual):
            w2 = lift(block.w * block.w)
            inner_s, inner_k = slope_curvature(block.branch, s, k, lift)
            bs, bk = (1 - w2) + w2 * inner_s, w2 * inner_k
        else:
            bs, bk = s, k
        slope, curv = bs * slope, bk * slope * slope + bs * curv
    return slope, curv


def curvature_multiplier(network: Network) -> Fraction:
    """m with the network's C″(1) = m·k when s = 1 (exact)."""
    return Fraction(slope_curvature(network.blocks, Fraction(1), Fraction(1))[1])


def network_slope(shaped: ShapedNetwork, s: Any) -> Any:
    """The network's C′(1) as a function of the local s (arb or Dual)."""
    if shaped.chain:
        return s ** shaped.layers
    return slope_curvature(shaped.network.blocks, s, 0 * s, fraction_ball)[0]


def local_slope(shaped: ShapedNetwork, zeta: Fraction) -> tuple[arb, str]:
    """The unique s > 1 with the network's C′(1) = ζ (ζ > 1), as a ball, and how it was
    proven; :class:`ArithmeticError` when the proof fails at this precision."""
    z = fraction_ball(zeta)
    if shaped.chain:
        return (z.log() / fraction_ball(Fraction(shaped.layers))).exp(), \
            f"s = zeta^(1/{shaped.layers})"

    def g(x: arb) -> arb:
        return network_slope(shaped, x) - z

    def dg(x: arb) -> arb:
        return network_slope(shaped, Dual(x, [arb(1)])).grad[0]

    # P(1) = 1 < ζ; double until P(hi) > ζ (P increasing, unbounded); the bracket and the
    # steps are arb midpoints (a heuristic start: the Krawczyk test below is the proof)
    lo, hi = arb(1), arb(2)
    while not g(hi) > 0:
        lo, hi = hi, 2 * hi
        if hi > 2 ** 60:
            raise ArithmeticError("no local slope s reaches the network's C'(1) = zeta")
    bits = ctx.prec
    for _ in range(60):  # bisection, then Newton
        x = arb(((lo + hi) / 2).mid())
        lo, hi = (lo, x) if g(x) > 0 else (x, hi)
    x = arb(((lo + hi) / 2).mid())
    for _ in range(20):
        step = arb((g(x) / dg(x)).mid())
        x = arb((x - step).mid())
        if abs(step) <= arb(2) ** (8 - bits) * x:
            break
    for radius in (2.0 ** -(0.8 * bits), 2.0 ** -(0.5 * bits), 1e-8):
        box = arb(x.mid(), radius)
        if not box > 0:
            continue
        proof = krawczyk_1d(g, dg, box)
        if proof.proved:
            return proof.enclosure, ("s the unique root of P(s) = zeta (Krawczyk test; P "
                                     "increasing with P(1) = 1)")
    raise ArithmeticError("the Krawczyk test did not prove the local slope s")


def network_value(shaped: ShapedNetwork, local_map: Callable[[arb], arb], c: arb) -> arb:
    """C(c) of the network from the certified local C-map ``local_map``."""
    return _value(shaped.network.blocks, local_map, c)


def _value(blocks: tuple[Block, ...], local_map: Callable[[arb], arb], c: arb) -> arb:
    for block in blocks:
        if isinstance(block, Repeat):
            for _ in range(block.count):
                c = _value((block.block,), local_map, c)
        elif isinstance(block, Residual):
            w2 = fraction_ball(block.w * block.w)
            c = (1 - w2) * c + w2 * _value(block.branch, local_map, c)
        else:
            c = local_map(c)
    return c


__all__ = ["PLACEHOLDER", "ShapedNetwork", "curvature_multiplier", "local_slope",
           "network_slope", "network_value", "shaped_network", "slope_curvature"]
