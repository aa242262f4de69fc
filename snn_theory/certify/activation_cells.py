"""The per-box bound of any activation's claims: (m, v) cells and their enclosures.

**Per-box bound.**  The moments and their (m, v)-partials depend on (μ, ω, ν, τ) only through
m = μω and v = ντ, so their enclosures live in the (m, v) plane: a dyadic grid of cells
[i·2⁻ᵏ, (i+1)·2⁻ᵏ] × [j·2⁻ˡ, (j+1)·2⁻ˡ] whose enclosures (rigorous Gaussian integrals over the
cell, :func:`snn_theory.evaluate.gaussian_moments.raw_partials`) are computed once and cached.  For a 4-D box,
its (m, v) rectangle (exact: μω is bilinear, so its range is spanned by the corner products)
is covered by at most 2 × 2 cells at the level matching its size; the union of their
enclosures contains the partials at every point of the box; the quantity is then evaluated in
arb from those balls and the box's ω, τ, ν balls (:func:`snn_theory.evaluate.gaussian_moments.quantities`).
The cache is an optimisation only: every cell is computed in this run (and the checker
recomputes its own); nothing cached is read from disk.
"""

from __future__ import annotations

import json
import math
import multiprocessing
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache, partial

from flint import arb, ctx, fmpq

from snn_theory.derive import activations
from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError
from snn_theory.evaluate import gaussian_moments
from snn_theory.exact import (
    to_fraction,
)
from snn_theory.precision import working_precision

#: Order of the m-partials a quantity's value and gradient need (the moments: 2; the
#: Jacobian entries and S: 4).
MOMENT_QUANTITIES = ("mean", "second_moment", "variance", "variance_change")


def cell_order(quantity: str) -> int:
    return 2 if quantity in MOMENT_QUANTITIES else 4

Box = list[tuple[Fraction, Fraction]]
CellKey = tuple[int, int, int, int]


# ----------------------------------------------------------------------------- (m, v) cells
def _q(x: Fraction) -> arb:
    return arb(fmpq(x.numerator, x.denominator))


def _ball(lo: Fraction, hi: Fraction) -> arb:
    a = _q(lo)
    return a if lo == hi else a.union(_q(hi))


def _pack(x: arb) -> tuple[tuple[int, int], tuple[int, int]]:
    m, e = x.mid().man_exp()
    rm, re = x.rad().man_exp()
    return (int(m), int(e)), (int(rm), int(re))


def _unpack(t: tuple[tuple[int, int], tuple[int, int]]) -> arb:
    (m, e), (rm, re) = t
    return arb((m, e), (rm, re))


def mv_range(box: Sequence[tuple[Fraction, Fraction]]) -> tuple[Fraction, Fraction, Fraction,
                                                                 Fraction]:
    """Exact (m_lo, m_hi, v_lo, v_hi) of m = μω, v = ντ over the box (ν, τ > 0)."""
    (a, b), (c, d), (e, f), (g, h) = box
    products = [a * c, a * d, b * c, b * d]
    return min(products), max(products), e * g, f * h


def _level(width: Fraction) -> int:
    if width <= 0:
        return 60
    return max(-8, min(60, math.floor(-math.log2(width)) if width < 1 else
                       -math.ceil(math.log2(width))))


def cover(m_lo: Fraction, m_hi: Fraction, v_lo: Fraction, v_hi: Fraction) -> list[CellKey]:
    """Dyadic cells covering [m_lo, m_hi] × [v_lo, v_hi], each cell about as wide as the
    rectangle (so at most 2 per axis), none touching v = 0."""
    km = _level(m_hi - m_lo)
    kv = _level(v_hi - v_lo)
    while True:
        w = Fraction(2) ** -kv
        j0, j1 = math.floor(v_lo / w), math.ceil(v_hi / w) - 1
        if j0 >= 1:
            break
        kv += 1
        if kv > 60:
            raise InputError("the variance range reaches 0")
    wm = Fraction(2) ** -km
    i0, i1 = math.floor(m_lo / wm), max(math.floor(m_lo / wm), math.ceil(m_hi / wm) - 1)
    j1 = max(j0, j1)
    return [(km, i, kv, j) for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)]


def cell_bounds(key: CellKey) -> tuple[Fraction, Fraction, Fraction, Fraction]:
    km, i, kv, j = key
    wm, wv = Fraction(2) ** -km, Fraction(2) ** -kv
    return i * wm, (i + 1) * wm, j * wv, (j + 1) * wv


@dataclass(frozen=True)
class CellState:
    """What a cell task needs besides its cell: the activation (its JSON record, as text, so
    the state pickles to spawned processes and hashes) and the working precision in bits.

    It travels with every task (:func:`functools.partial`), so a task computes the same
    thing in this process and in a worker process; nothing is read from module state."""

    record: str
    bits: int

    @classmethod
    def of(cls, act: Activation, bits: int) -> CellState:
        return cls(json.dumps(act.to_json(), sort_keys=True), int(bits))

    def activation(self) -> Activation:
        return _activation_of(self.record)


@lru_cache(maxsize=16)
def _activation_of(record: str) -> Activation:
    """:func:`activations.from_json` memoised per record: a pure function of the text (the
    record is re-derived and checked once per process)."""
    return activations.from_json(json.loads(record))


def _compute_cell(state: CellState, task: tuple[int, CellKey]
                  ) -> tuple[tuple[int, CellKey], dict | None]:
    """The partials of one cell, at the state's precision (the caller's is restored)."""
    order, key = task
    m_lo, m_hi, v_lo, v_hi = cell_bounds(key)
    act = state.activation()
    with working_precision(bits=state.bits):
        try:
            raw = gaussian_moments.raw_partials(act, _ball(m_lo, m_hi), _ball(v_lo, v_hi),
                                        order=order)
        except ArithmeticError:
            return task, None
        if not all(x.is_finite() for x in raw.values()):
            return task, None
        return task, {k: _pack(x) for k, x in raw.items()}


class CellCache:
    """Enclosures of the (m, v)-partials of E[g], E[g²] on dyadic cells, computed on demand
    (in ``jobs`` processes when > 1)."""

    def __init__(self, act: Activation, bits: int, jobs: int = 1):
        self.act, self.bits, self.jobs = act, bits, jobs
        self.cells: dict[tuple[int, CellKey], dict | None] = {}
        self.pool = None
        self.state = CellState.of(act, bits)
        self.state.activation()  # the record re-derived here first: bad input fails now
        if jobs > 1:
            self.pool = multiprocessing.get_context("spawn").Pool(jobs)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None

    def ensure(self, keys: Sequence[CellKey], order: int = 4) -> None:
        missing = sorted({(order, k) for k in keys if (order, k) not in self.cells})
        if not missing:
            return
        if self.pool is not None and len(missing) > 1:
            results = self.pool.map(partial(_compute_cell, self.state), missing, chunksize=1)
        else:
            results = [_compute_cell(self.state, k) for k in missing]
        self.cells.update(results)

    def partials(self, keys: Sequence[CellKey], order: int = 4
                 ) -> gaussian_moments.MomentPartials | None:
        """Union over the cells, combined with the activation's scale and shift."""
        union: dict[tuple[int, int], arb] = {}
        for k in keys:
            cell = self.cells[(order, k)]
            if cell is None:
                return None
            for key, packed in cell.items():
                x = _unpack(packed)
                union[key] = x if key not in union else union[key].union(x)
        return gaussian_moments.combine(union, order, _q(self.act.scale), _q(self.act.shift))


def box_bound(cache: CellCache, quantity: str, box: Sequence[tuple[Fraction, Fraction]],
              side: int, centred: bool = False) -> tuple[Fraction | None, Box, list[float]]:
    """Rigorous upper (side +1) or lower (−1) bound of ``quantity`` over ``box``, and the face
    it was taken on.

    Monotonicity reduction (as :func:`snn_theory.certify.enclosure.bound`): where the enclosure of
    ∂q/∂x_i over the box (:func:`snn_theory.evaluate.gaussian_moments.activation_value_and_gradient` from the cells'
    partials) excludes 0, the extremum lies on the face x_i = the corresponding end; the box
    is replaced by that face (its (m, v) rectangle shrinks, often to a segment) and the test
    repeated.  On the final face the direct enclosure is intersected with the centred form
    q(c) + Σ ∂ᵢq(face)·(xᵢ − cᵢ) (q(c) by direct integration at the exact centre) and with
    the enclosure on the whole box."""
    current: Box = [tuple(iv) for iv in box]  # type: ignore[misc]
    first = None
    spread = [0.0] * 4  # |∂_i q|·width_i on the box (where to split)
    order = cell_order(quantity)
    for _ in range(5):
        keys = cover(*mv_range(current))
        cache.ensure(keys, order)
        P = cache.partials(keys, order)
        if P is None:
            return None, current, spread
        balls = [_ball(lo, hi) for lo, hi in current]
        value, *grad = gaussian_moments.activation_value_and_gradient(cache.act, quantity, *balls, partials=P)
        if not value.is_finite():
            return None, current, spread
        if first is None:
            first = value
            spread = [float(g.abs_upper()) * float(hi - lo) if g.is_finite() else math.inf
                      for g, (lo, hi) in zip(grad, current)]
        reduced = False
        for i, (lo, hi) in enumerate(current):
            if lo != hi and (grad[i] > 0 or grad[i] < 0):
                end = hi if bool(grad[i] > 0) == (side > 0) else lo
                current[i] = (end, end)
                reduced = True
        if not reduced:
            break
    enclosure = value
    free = [i for i, (lo, hi) in enumerate(current) if lo != hi]
    if centred and free:
        # centred (mean-value) form on the face: q(c) + Σ ∂_i q(face)·(x_i − c_i)
        centre = [(lo + hi) / 2 for lo, hi in current]
        try:
            centred_value = point_enclosure(cache.act, quantity, centre)
        except ArithmeticError:
            centred_value = None
        if centred_value is not None:
            for i in free:
                lo, hi = current[i]
                centred_value = centred_value + grad[i] * _ball(lo - centre[i], hi - centre[i])
            if centred_value.is_finite() and centred_value.overlaps(enclosure):
                enclosure = centred_value.intersection(enclosure)
    bound = ball_end(enclosure, side)
    if first is not None:
        bound = min(bound, ball_end(first, side)) if side > 0 else max(bound, ball_end(first, side))
    return bound, current, spread


#: Bits below the working precision to which a point enclosure's ends are rounded outward.
POINT_ROUNDING_BITS = 8


def point_enclosure(act: Activation, quantity: str, point: Sequence[Fraction]) -> arb:
    """Ball containing ``quantity`` at an exact point (direct integrals, no cache), its ends
    rounded outward to :data:`POINT_ROUNDING_BITS` bits below the working precision.

    The rounding keeps the enclosure rigorous (it only widens it) and makes it reproducible:
    the last bits of arb's integrals depend on what the process integrated before (flint
    keeps its quadrature nodes between calls), so without it a checker re-evaluating a
    point in a fresh process could get a ball that differs from the search's in its last
    bits, and a certificate's witness would not be reproduced exactly."""
    balls = [_q(x) for x in point]
    mu, omega, nu, tau = balls
    value = gaussian_moments.quantities(act, mu, omega, nu, tau, names=(quantity,))[quantity]
    if not value.is_finite():
        return value
    lo, hi = ball_end(value, -1), ball_end(value, 1)
    magnitude = max(abs(lo), abs(hi))
    if magnitude == 0:
        return value
    # 2^exponent > magnitude (exact integer arithmetic)
    exponent = magnitude.numerator.bit_length() - magnitude.denominator.bit_length() + 1
    grid = Fraction(2) ** (exponent - (ctx.prec - POINT_ROUNDING_BITS))
    return _ball(math.floor(lo / grid) * grid, math.ceil(hi / grid) * grid)


def ball_end(x: arb, side: int) -> Fraction:
    """The exact upper (side +1) or lower (−1) end mid ± rad of the ball (independent of
    the working precision: ``arb(x.upper())`` would round it to the current one)."""
    return to_fraction(x.mid()) + side * to_fraction(x.rad())
