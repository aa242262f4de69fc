"""The checker's side of a certificate's map: re-derive the map from its record, then bound
boxes and points with the audited per-box primitives.

A certificate records how its (μ, ω, ν, τ) ↦ quantity map is defined in exactly one field
(:data:`snn_theory.certify.certificate.io.MAP_FIELDS`); :data:`MAP_READERS` turns that
record into a :class:`MapEvaluator`, strictly (exact keys, exact types, rationals spelt in
ASCII, every derived field re-derived), or raises
:class:`~snn_theory.certify.certificate.io.CertificateError`:

* ``constants`` — SELU's closed forms with λ, α: λ01, α01 (their stored enclosures must be
  exactly those recomputed from the closed forms at the certificate's precision) or user
  intervals; boxes bounded by :func:`snn_theory.certify.enclosure.bound` (both of its modes,
  :func:`snn_theory.certify.enclosure.bound_modes`);
* ``activation`` — any activation by its exact definition (built-in name or expression,
  scale, shift; its formula and growth bound must follow from the definition); boxes bounded
  by the (m, v)-cell enclosure :func:`snn_theory.certify.activation_cells.box_bound`, with this
  checker's own cell cache;
* ``network`` — a network's composed map by its canonical spelling (parsed again, and
  canonical); boxes bounded by :func:`snn_theory.certify.enclosure.bound_modes_of` with the
  network's per-box quantity :func:`snn_theory.certify.network_enclosure.box_quantity`.

Nothing here comes from the search (:mod:`snn_theory.certify.search`): the per-box
primitives named above are all the checker shares with it, and they are what a reader must
audit.  A new map is one more evaluator class and one entry in :data:`MAP_READERS` (and its
field name in ``io.MAP_FIELDS``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, ClassVar, Protocol

from flint import arb

from snn_theory.certify import activation_cells
from snn_theory.certify.certificate.io import (
    CertificateError,
    closed_form_constants,
    interval_field,
    rational_field,
)
from snn_theory.certify.enclosure import (
    BoxQuantity,
    bound_modes,
    bound_modes_of,
    interval_ball,
    lower,
    point_value,
    upper,
)
from snn_theory.certify.network_enclosure import box_quantity
from snn_theory.derive import activations
from snn_theory.derive.activations import Activation
from snn_theory.derive.network import parse_network
from snn_theory.errors import InputError
from snn_theory.exact import format_fraction
from snn_theory.precision import working_precision

Interval = tuple[Fraction, Fraction]


class MapEvaluator(Protocol):
    """A map re-derived from a certificate record (picklable: it travels to the checker's
    worker processes)."""

    #: The certificate field it was read from.
    field: ClassVar[str]

    def bound_modes(self, quantity: str, box: Sequence[Interval], side: int, bits: int,
                    decides: Callable[[Fraction], bool]) -> tuple[Fraction, Fraction]:
        """(early, full): the bound a search that stopped as soon as ``decides`` passed
        would store, and the full bound (equal when the map has one mode only).  Raises
        :class:`ArithmeticError` when no finite enclosure is found."""
        ...

    def point(self, quantity: str, point: Sequence[Fraction], bits: int) -> arb:
        """A ball containing ``quantity`` at the exact ``point``."""
        ...

    def statement(self) -> dict[str, Any]:
        """What the checker's report says about the map (part of its statement)."""
        ...

    def paper_constants(self) -> bool:
        """Whether the map is SELU with λ01, α01 (only then a claim may be a built-in
        theorem of the paper)."""
        ...


# ------------------------------------------------------------------------------ closed forms
@dataclass(frozen=True)
class ClosedFormEvaluator:
    """SELU's closed forms: ``lam``/``alpha`` the user's exact intervals, or None for λ01,
    α01 recomputed from their closed forms at each box's precision."""

    source: str
    lam: Interval
    alpha: Interval

    field: ClassVar[str] = "constants"

    def balls(self, bits: int) -> tuple[arb, arb]:
        """The balls the bounds are computed with: closed-form enclosures at ``bits``, or
        balls around the exact user intervals built at ``bits``."""
        # Deliberately not the search's constant_balls: the checker builds the constants
        # from the certificate's own record, independently of the search.
        if self.source == "closed-form":
            return closed_form_constants(bits)
        with working_precision(bits=bits):
            return interval_ball(*self.lam), interval_ball(*self.alpha)

    def bound_modes(self, quantity: str, box: Sequence[Interval], side: int, bits: int,
                    decides: Callable[[Fraction], bool]) -> tuple[Fraction, Fraction]:
        lam, alpha = self.balls(bits)
        with working_precision(bits=bits):
            return bound_modes(quantity, box, lam, alpha, side, decides)

    def point(self, quantity: str, point: Sequence[Fraction], bits: int) -> arb:
        lam, alpha = self.balls(bits)
        with working_precision(bits=bits):
            return point_value(quantity, point, lam, alpha)

    def statement(self) -> dict[str, Any]:
        return {"constants": {"source": self.source,
                              "lam": [format_fraction(x) for x in self.lam],
                              "alpha": [format_fraction(x) for x in self.alpha]}}

    def paper_constants(self) -> bool:
        return self.source == "closed-form"


def _fields(obj: Any, what: str, keys: Sequence[str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise CertificateError(f"{what}: expected an object")
    unknown = sorted(set(obj) - set(keys))
    if unknown:
        raise CertificateError(f"{what}: unknown key {unknown[0]!r}")
    missing = sorted(set(keys) - set(obj))
    if missing:
        raise CertificateError(f"{what}: missing key {missing[0]!r}")
    return obj


def _pair(x: Any, what: str) -> None:
    if not isinstance(x, list) or len(x) != 2 or not all(isinstance(v, str) for v in x):
        raise CertificateError(f"{what}: expected [lower, upper] as two strings")


def read_constants(record: Any, bits: int) -> ClosedFormEvaluator:
    """The ``constants`` record: source "closed-form" (the stored enclosures must be exactly
    those of λ01, α01 recomputed at ``bits``) or "user" (exact positive intervals)."""
    constants = _fields(record, "constants", ["source", "lam", "alpha"])
    if not isinstance(constants["source"], str):
        raise CertificateError("constants.source: expected a string")
    _pair(constants["lam"], "constants.lam")
    _pair(constants["alpha"], "constants.alpha")
    source = constants["source"]
    if source not in ("closed-form", "user"):
        raise CertificateError(f"constants: unknown source {source!r}")
    lam_iv = interval_field(constants["lam"], "constants.lam")
    alpha_iv = interval_field(constants["alpha"], "constants.alpha")
    if lam_iv[0] <= 0 or alpha_iv[0] <= 0:
        raise CertificateError("constants must be positive")
    if source == "closed-form":
        lam01, alpha01 = closed_form_constants(bits)
        if (lower(lam01), upper(lam01)) != lam_iv or (lower(alpha01), upper(alpha01)) != alpha_iv:
            if not (interval_ball(*lam_iv).contains(lam01)
                    and interval_ball(*alpha_iv).contains(alpha01)):
                raise CertificateError("constants: the stored enclosures do not contain λ01, "
                                       "α01 recomputed from their closed forms")
            raise CertificateError("constants: the stored enclosures are not those of λ01, α01 "
                                   f"recomputed from their closed forms at {bits} bits")
    return ClosedFormEvaluator(source, lam_iv, alpha_iv)


# ------------------------------------------------------------------------------ any activation
#: The keys of an activation record, exactly.
ACTIVATION_KEYS = ("definition", "scale", "shift", "formula", "growth")


@lru_cache(maxsize=16)
def _activation(record: str) -> Activation:
    data = json.loads(record)
    return activations.get(data["definition"], Fraction(data["scale"]), Fraction(data["shift"]))


@lru_cache(maxsize=16)
def _cells(record: str, bits: int) -> activation_cells.CellCache:
    """The checker's own cache of (m, v)-cell enclosures in this process (every cell is
    computed here)."""
    return activation_cells.CellCache(_activation(record), bits)


@dataclass(frozen=True)
class GaussianEvaluator:
    """Any activation, re-derived from its definition (``record``: the validated record as
    sorted JSON text)."""

    record: str

    field: ClassVar[str] = "activation"

    @property
    def activation(self) -> Activation:
        return _activation(self.record)

    def bound_modes(self, quantity: str, box: Sequence[Interval], side: int, bits: int,
                    decides: Callable[[Fraction], bool]) -> tuple[Fraction, Fraction]:
        with working_precision(bits=bits):
            bound, _, _ = activation_cells.box_bound(_cells(self.record, bits), quantity,
                                                     box, side)
        if bound is None:
            raise ArithmeticError("the cell enclosure is not finite")
        return bound, bound

    def point(self, quantity: str, point: Sequence[Fraction], bits: int) -> arb:
        with working_precision(bits=bits):
            return activation_cells.point_enclosure(self.activation, quantity, point)

    def statement(self) -> dict[str, Any]:
        act = self.activation
        return {"activation": {"label": act.label(), **act.to_json()}}

    def paper_constants(self) -> bool:
        return False


def read_activation(record: Any, bits: int) -> GaussianEvaluator:
    """The ``activation`` record: its definition re-derived, and every recorded field what
    the definition gives (numbers may be spelt differently, the definition may not)."""
    record = _fields(record, "activation", ACTIVATION_KEYS)
    for key in ("definition", "formula"):
        if not isinstance(record[key], str):
            raise CertificateError(f"activation.{key}: expected a string")
    if not isinstance(record["growth"], list):
        raise CertificateError("activation.growth: expected a list")
    scale = rational_field(record["scale"], "activation.scale")
    shift = rational_field(record["shift"], "activation.shift")
    growth = tuple(rational_field(a, "activation.growth") for a in record["growth"])
    try:
        act = activations.get(record["definition"], scale, shift)
    except InputError as exc:
        raise CertificateError(f"activation: {exc}") from None
    derived = act.to_json()
    if act.definition != record["definition"] or derived["formula"] != record["formula"] \
            or growth != act.growth:
        raise CertificateError("the recorded activation formula or growth bound does not "
                               "follow from its definition (edited?)")
    return GaussianEvaluator(json.dumps(derived, sort_keys=True))


# ------------------------------------------------------------------------------ a network
@dataclass(frozen=True)
class NetworkEvaluator:
    """A network's composed map, re-derived from its canonical spelling; SELU blocks with
    λ01, α01 recomputed from their closed forms at each box's precision."""

    spelling: str

    field: ClassVar[str] = "network"

    def _quantity(self, quantity: str, bits: int) -> BoxQuantity:
        lam, alpha = closed_form_constants(bits)
        return box_quantity(self.spelling, quantity, lam, alpha)

    def bound_modes(self, quantity: str, box: Sequence[Interval], side: int, bits: int,
                    decides: Callable[[Fraction], bool]) -> tuple[Fraction, Fraction]:
        q = self._quantity(quantity, bits)
        with working_precision(bits=bits):
            return bound_modes_of(q, box, side, decides)

    def point(self, quantity: str, point: Sequence[Fraction], bits: int) -> arb:
        q = self._quantity(quantity, bits)
        with working_precision(bits=bits):
            return q.point_value(point)

    def statement(self) -> dict[str, Any]:
        return {"network": self.spelling}

    def paper_constants(self) -> bool:
        return False


def read_network(record: Any, bits: int) -> NetworkEvaluator:
    """The ``network`` record ``{"spelling": TEXT}``: the network parsed again, and TEXT its
    canonical spelling (another spelling of the same network is refused: the record is what
    the checker prints)."""
    record = _fields(record, "network", ["spelling"])
    text = record["spelling"]
    if not isinstance(text, str):
        raise CertificateError("network.spelling: expected a string")
    try:
        network = parse_network(text)
    except InputError as exc:
        raise CertificateError(f"network: {exc}") from None
    if network.spelling() != text:
        raise CertificateError(f"network: {text!r} is not the canonical spelling "
                               f"{network.spelling()!r}")
    return NetworkEvaluator(text)


#: How each map field of a certificate is read (record, precision bits) → evaluator.
MAP_READERS: dict[str, Callable[[Any, int], MapEvaluator]] = {
    "constants": read_constants,
    "activation": read_activation,
    "network": read_network,
}


def read_map(content: dict[str, Any], bits: int) -> MapEvaluator:
    """The evaluator of the one map field a certificate holds (the schema has made sure it
    holds exactly one)."""
    (name,) = [k for k in MAP_READERS if k in content]
    return MAP_READERS[name](content[name], bits)


__all__ = ["ACTIVATION_KEYS", "MAP_READERS", "ClosedFormEvaluator", "GaussianEvaluator",
           "MapEvaluator", "NetworkEvaluator", "read_activation", "read_constants", "read_map",
           "read_network"]
