"""The per-box bound of a network's claim quantities: the network's map over a 4-D box.

A claim about a network (:class:`snn_theory.derive.network.Network`) names one of the
quantities of :data:`snn_theory.derive.formulas.QUANTITIES`, read for the network's composed
map G: (μ, ν) ↦ (mean, variance) with the weights (ω, τ) of every dense block that does not
name its own:

* ``mean``, ``variance``, ``second_moment`` = variance + mean², ``variance_change`` =
  variance − ν;
* ``H11`` … ``H22``: the composed Jacobian ∂(mean, variance)/∂(μ, ν); ``J11`` … ``J22`` the
  Jacobian of (mean, second moment) (J1j = H1j, J2j = H2j + 2·mean·H1j, as for one layer);
* ``spectral_norm``: S, the largest singular value of the composed Jacobian.

:class:`NetworkQuantity` is the network's implementation of the per-box bound protocol
:class:`snn_theory.certify.enclosure.BoxQuantity` of the centred-form bound (the search's
``NetworkBounder`` and the checker's ``NetworkEvaluator`` both call it):

* the whole-box enclosure: the composed map evaluated on the box's balls (every block's
  evaluator is an interval extension, :mod:`snn_theory.evaluate.network_map`); for S also
  ‖M‖_F/√2 ≤ S ≤ ‖M‖_F of the composed matrix M;
* the gradient over the box (networks of SELU blocks): the composed map evaluated on
  forward-mode duals seeded over the box, each SELU layer's map and H with the compact
  gradient forms of the single-layer verifier, the weightless blocks and S by the generated
  code of their formulas — the chain rule on enclosures.  Networks with other activations
  have no gradient here: their bound is the whole-box enclosure alone (looser; more boxes);
* the value at an exact point: the map in arb at that point.

A network of exactly one ``dense(selu)`` block (with the domain's ω, τ) *is* the single
layer: its quantity is the single layer's (:class:`snn_theory.certify.enclosure.FormulaQuantity`,
the same code), so its proofs are the single-layer proofs box for box.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

from flint import arb

from snn_theory.certify.enclosure import (
    BoxQuantity,
    FormulaQuantity,
    global_enclosure,
    interval_ball,
)
from snn_theory.derive import activations
from snn_theory.derive.formulas import QUANTITIES
from snn_theory.derive.network import Dense, Network, parse_network
from snn_theory.errors import InputError
from snn_theory.evaluate.dual import Dual
from snn_theory.evaluate.model import resolve
from snn_theory.evaluate.network_map import BOX_BACKEND, NetworkMap, evaluate_network


def is_single_layer(network: Network) -> bool:
    """Whether ``network`` is one ``dense(selu)`` block with the domain's ω, τ: the single
    layer of the paper."""
    if len(network.blocks) != 1:
        return False
    block = network.blocks[0]
    return (isinstance(block, Dense) and block.omega is None and block.tau is None
            and block.act == activations.get("selu"))


def differentiable(network: Network) -> bool:
    """Whether the map over a box comes with a gradient (every activation is SELU)."""
    try:
        return all(resolve(act).closed_form for act in _activations(network.blocks))
    except InputError:
        return False


def _activations(blocks: Sequence) -> list:
    out = []
    for block in blocks:
        if hasattr(block, "act"):
            out.append(block.act)
        if hasattr(block, "block"):
            out += _activations((block.block,))
        if hasattr(block, "branch"):
            out += _activations(block.branch)
    return out


def claim_values(result: NetworkMap, nu: object) -> dict[str, object]:
    """Every claim quantity of the network's map ``result`` at input variance ``nu`` (numbers
    of one system: balls, duals)."""
    (h11, h12), (h21, h22) = result.jacobian
    mean, variance = result.mean, result.variance
    return {"mean": mean, "second_moment": variance + mean * mean, "variance": variance,
            "variance_change": variance - nu, "H11": h11, "H12": h12, "H21": h21, "H22": h22,
            "J11": h11, "J12": h12, "J21": h21 + 2 * mean * h11, "J22": h22 + 2 * mean * h12,
            "spectral_norm": result.spectral_norm}


class NetworkQuantity:
    """The claim quantity ``quantity`` of ``network``'s composed map over boxes in
    (μ, ω, ν, τ): the :class:`snn_theory.certify.enclosure.BoxQuantity` of a network."""

    def __init__(self, network: Network | str, quantity: str) -> None:
        self.network = parse_network(network)
        if quantity not in QUANTITIES:
            raise InputError(f"claim: unknown quantity {quantity!r}; choose one of "
                             f"{', '.join(QUANTITIES)}")
        self.quantity = quantity
        self.has_gradient = differentiable(self.network)

    def _evaluate(self, mu: object, omega: object, nu: object, tau: object,
                  backend: str) -> dict[str, object]:
        try:
            result = evaluate_network(self.network, mu, nu, omega=omega, tau=tau,
                                      backend=backend)
        except InputError as exc:  # e.g. the map leaves ν > 0 on a wide box: no enclosure
            raise ArithmeticError(str(exc)) from None
        return claim_values(result, nu)

    def value_and_gradient(self, balls: Sequence[arb]) -> tuple[arb, Sequence[arb] | None]:
        if not self.has_gradient:
            value = self._evaluate(balls[0], balls[1], balls[2], balls[3], "arb")
            self._last = value
            return value[self.quantity], None  # type: ignore[return-value]
        mu, omega, nu, tau = Dual.variables(balls)
        values = self._evaluate(mu, omega, nu, tau, BOX_BACKEND)
        self._last = {k: (v.value if isinstance(v, Dual) else v) for k, v in values.items()}
        q = values[self.quantity]
        if not isinstance(q, Dual):  # a constant (layer_norm's outputs): gradient 0
            return q, [arb(0)] * 4  # type: ignore[return-value]
        return q.value, q.grad

    def cheap(self, balls: Sequence[arb], value: arb) -> arb:
        if self.quantity != "spectral_norm":
            return value
        return matrix_sandwich([self._last[k] for k in ("H11", "H12", "H21", "H22")],
                               value)  # type: ignore[arg-type]

    def point_value(self, point: Sequence[Fraction]) -> arb:
        balls = [interval_ball(x, x) for x in point]
        return self._evaluate(balls[0], balls[1], balls[2], balls[3], "arb")[
            self.quantity]  # type: ignore[return-value]


def matrix_sandwich(entries: Sequence[arb], direct: arb) -> arb:
    """``direct`` intersected with ‖M‖_F/√2 ≤ S ≤ ‖M‖_F for the 2×2 matrix of ``entries``
    (:func:`snn_theory.certify.enclosure.global_enclosure`'s sandwich for any matrix)."""
    return global_enclosure("spectral_norm", [], arb(0), arb(0), direct, entries=entries)


@lru_cache(maxsize=64)
def _network_quantity(network_spelling: str, quantity: str) -> NetworkQuantity | None:
    network = parse_network(network_spelling)
    return None if is_single_layer(network) else NetworkQuantity(network, quantity)


def box_quantity(network_spelling: str | None, quantity: str, lam: arb,
                 alpha: arb) -> BoxQuantity:
    """The per-box bound of ``quantity``: of the network spelt ``network_spelling`` (its
    canonical text), or of one layer with the λ, α balls when it is None or the single
    layer (whose λ, α are then λ01, α01: the caller's balls of them)."""
    if network_spelling is not None:
        found = _network_quantity(network_spelling, quantity)
        if found is not None:
            return found
    return FormulaQuantity(quantity, lam, alpha)


def network_label(network: Network | str) -> str:
    """``net-`` and 12 hex digits of the SHA-256 of the network's canonical spelling: what the
    names of a network's built-in claims gain (``theorem1_analogue.contraction[net-…]``), so
    that the claims (and certificate files) of two networks never share a name."""
    import hashlib

    spelling = parse_network(network).spelling()
    return "net-" + hashlib.sha256(spelling.encode()).hexdigest()[:12]


def check_network_label(name: str, spelling: str | None) -> None:
    """InputError when the claim name ``name`` carries a network's label ``[net-…]``
    (compared as normalised names are: case folded, invisible characters removed) other than
    that of the network spelt ``spelling`` (None: a claim about no network), so that a claim
    of one network never passes under another network's name."""
    import re

    from snn_theory.certify.claims import normalise_name

    own = None if spelling is None else network_label(spelling)
    for found in re.findall(r"\[(net-[^\]]*)\]", normalise_name(name)):
        if found != own:
            raise InputError(f"claim {name!r} carries the label [{found}] of a network, but "
                             "states " + ("no network's claim" if own is None else
                                          f"one of {spelling} ([{own}])"))


__all__ = ["NetworkQuantity", "box_quantity", "check_network_label", "claim_values",
           "differentiable", "is_single_layer", "matrix_sandwich", "network_label"]
