"""The per-box bounds of the moment models: any activation's Gaussian cells, and the bounder
of a resolved model (:func:`bounder_for`).

Kept apart from :mod:`snn_theory.certify.search.bounders` (the protocol and SELU's closed
forms) so that a search with the closed forms imports no Gaussian engine.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, ClassVar

from flint import arb

from snn_theory.certify import activation_cells
from snn_theory.certify.search.bounders import (
    BoxBound,
    BoxBounder,
    ClosedFormBounder,
    Constants,
    Interval,
)
from snn_theory.derive import activations
from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError
from snn_theory.evaluate.model import ClosedFormModel, GaussianModel
from snn_theory.precision import working_precision


@lru_cache(maxsize=16)
def _activation(record: str) -> Activation:
    """The activation a record defines, re-derived (memoised per record text)."""
    return activations.from_json(json.loads(record))


@lru_cache(maxsize=16)
def _cells(record: str, bits: int) -> activation_cells.CellCache:
    """This process's cache of (m, v)-cell enclosures for one activation and precision: a
    memo of a pure function of (record, bits, cell) — every cell is computed in this
    process, nothing is read from disk."""
    return activation_cells.CellCache(_activation(record), bits)


@dataclass(frozen=True)
class GaussianBounder:
    """Any activation by its exact definition (the record :meth:`Activation.to_json`, as
    sorted JSON text so that the bounder pickles and hashes): the (m, v)-cell bound of
    :func:`snn_theory.certify.activation_cells.box_bound`, split scores |∂ᵢq|·wᵢ on the box."""

    record: str

    map_field: ClassVar[str] = "activation"
    default_max_boxes: ClassVar[int] = 20_000
    cheap_points: ClassVar[bool] = False

    @classmethod
    def of(cls, act: Activation) -> GaussianBounder:
        return cls(json.dumps(act.to_json(), sort_keys=True))

    @property
    def activation(self) -> Activation:
        return _activation(self.record)

    def map_record(self) -> dict[str, Any]:
        return json.loads(self.record)

    def json_fields(self) -> dict[str, Any]:
        return {"activation": self.map_record()}

    def describe(self) -> str:
        return self.activation.label()

    def claim_suffix(self) -> str:
        """``[label]``, the label spelt in the claim names' alphabet: other characters
        become ``_`` and then a short hash of the definition keeps labels apart."""
        label = self.activation.label()
        safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-=,:/+") else "_"
                       for ch in label)
        if safe != label:
            safe += "." + hashlib.sha256(self.record.encode()).hexdigest()[:6]
        return f"[{safe}]"

    def prepare(self, quantities: Sequence[str]) -> None:
        self.activation  # noqa: B018 - the record re-derived here first: bad input fails now

    def bound(self, quantity: str, box: Sequence[Interval], side: int, bits: int,
              decides: Callable[[Fraction], bool] | None = None) -> BoxBound:
        cache = _cells(self.record, bits)
        with working_precision(bits=bits):
            result, face, spread = activation_cells.box_bound(cache, quantity, box, side)
        if result is None:
            raise ArithmeticError("the cell enclosure is not finite")
        scores = spread if all(math.isfinite(s) for s in spread) else None
        return BoxBound(result, [tuple(iv) for iv in face], scores)  # type: ignore[misc]

    def point(self, quantity: str, point: Sequence[Fraction], bits: int) -> arb:
        with working_precision(bits=bits):
            return activation_cells.point_enclosure(self.activation, quantity, point)

    def split_scores(self, quantity: str, box: Sequence[Interval], face: Sequence[Interval],
                     bits: int) -> list[float] | None:
        return None  # the bound's own scores (or the widest coordinate)


def bounder_for(model: Any, constants: Constants | None = None) -> BoxBounder:
    """The bounder of a moment model (:func:`snn_theory.evaluate.model.resolve`): SELU's
    closed forms (with ``constants``, default λ01, α01) or any activation's Gaussian cells.
    ``constants`` other than the closed forms belong to SELU only (:class:`InputError`)."""
    if isinstance(model, ClosedFormModel):
        return ClosedFormBounder(constants or Constants())
    if constants is not None and not constants.closed_form:
        raise InputError("lam and alpha are SELU's parameters; not with another activation")
    if isinstance(model, GaussianModel):
        return GaussianBounder.of(model.activation)
    raise InputError(f"no per-box bound for {model!r}")


__all__ = ["GaussianBounder", "bounder_for"]
