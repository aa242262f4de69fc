"""The per-box bound of a network's composed (μ, ν) map: the search's third bounder.

:class:`NetworkBounder` implements :class:`snn_theory.certify.search.bounders.BoxBounder` for
a network (:class:`snn_theory.derive.network.Network`, recorded by its canonical spelling)
with :func:`snn_theory.certify.enclosure.bound_of` and the network's per-box quantity
(:mod:`snn_theory.certify.network_enclosure`); the checker's side is
:class:`snn_theory.certify.certificate.maps.NetworkEvaluator`.  It lives apart from the closed
forms' bounder because a network may hold any activation (its evaluator imports the Gaussian
engine, which the closed forms' search does not).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from flint import arb

from snn_theory.certify import enclosure, network_enclosure
from snn_theory.certify.search.bounders import (
    BoxBound,
    Constants,
    Interval,
    compile_arb,
    constant_balls,
)
from snn_theory.precision import working_precision


@dataclass(frozen=True)
class NetworkBounder:
    """A network's composed (μ, ν) map (``spelling``: its canonical text,
    :meth:`snn_theory.derive.network.Network.spelling`), SELU blocks with λ01, α01: the bound
    of :func:`snn_theory.certify.enclosure.bound_of` with the network's per-box quantity
    (:func:`snn_theory.certify.network_enclosure.box_quantity`: the composed map on balls and
    on forward-mode duals; one ``dense(selu)`` block is the single layer's formulas), split
    scores |∂ᵢq(face)|·wᵢ; certificate field ``network``."""

    spelling: str

    map_field: ClassVar[str] = "network"
    default_max_boxes: ClassVar[int] = 400_000
    cheap_points: ClassVar[bool] = True

    @classmethod
    def of(cls, network: Any) -> NetworkBounder:
        """The bounder of a network (a :class:`Network` or its text; InputError if bad)."""
        from snn_theory.derive.network import parse_network

        return cls(parse_network(network).spelling())

    def _quantity(self, quantity: str, bits: int) -> enclosure.BoxQuantity:
        lam, alpha = constant_balls(Constants(), bits)
        return network_enclosure.box_quantity(self.spelling, quantity, lam, alpha)

    def map_record(self) -> dict[str, Any]:
        return {"spelling": self.spelling}

    def json_fields(self) -> dict[str, Any]:
        return {"network": self.spelling}

    def describe(self) -> str:
        return f"network {self.spelling} (λ01, α01)"

    def claim_suffix(self) -> str:
        return f"[{network_enclosure.network_label(self.spelling)}]"

    def prepare(self, quantities: Sequence[str]) -> None:
        compile_arb(quantities)

    def bound(self, quantity: str, box: Sequence[Interval], side: int, bits: int,
              decides: Callable[[Fraction], bool] | None = None) -> BoxBound:
        q = self._quantity(quantity, bits)
        with working_precision(bits=bits):
            result, face = enclosure.bound_of(q, box, side, decides)
        return BoxBound(result, face)

    def point(self, quantity: str, point: Sequence[Fraction], bits: int) -> arb:
        q = self._quantity(quantity, bits)
        with working_precision(bits=bits):
            return q.point_value(point)

    def split_scores(self, quantity: str, box: Sequence[Interval], face: Sequence[Interval],
                     bits: int) -> list[float] | None:
        """|∂ᵢq(face)|·wᵢ from the quantity's gradient enclosure on the reduced face; None
        without a finite one (networks with activations other than SELU)."""
        q = self._quantity(quantity, bits)
        try:
            with working_precision(bits=bits):
                _, grad = q.value_and_gradient([enclosure.interval_ball(lo, hi)
                                                for lo, hi in face])
            if grad is None:
                return None
            scores = []
            for i, (lo, hi) in enumerate(box):
                if face[i][0] == face[i][1] or lo == hi:
                    scores.append(0.0)
                elif not grad[i].is_finite():
                    return None
                else:
                    scores.append(float(abs(grad[i]).upper()) * float(hi - lo))
        except (ArithmeticError, ValueError, ZeroDivisionError):
            return None
        return scores


__all__ = ["NetworkBounder"]
