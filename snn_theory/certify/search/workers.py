"""The per-box work of the branch-and-bound verifier, run in worker processes (docs/mathematics.md §7).

Every task is a top-level function of a :class:`WorkerState` — the quantity, the side of the
claim, the constants λ, α, the base precision, the domain's widths and the claim — and of one
box; the state travels with the task (a :func:`functools.partial`), nothing is read from or
written to module state, so a task computes the same thing in this process, in a local worker
process or on a Dask worker (:mod:`snn_theory.certify.search.executors`).

* :func:`evaluate_box` bounds the quantity rigorously over a box with
  :func:`snn_theory.certify.enclosure.bound` (at the base precision; a small box whose enclosure is
  not finite is retried at doubled precisions) and evaluates the ball value at the centre of
  the face the monotonicity reduction led to;
* :func:`sharpen_point` re-evaluates a point ball that straddles the claim's threshold at
  doubled precisions;
* :func:`split_coordinate` chooses where to bisect a box: argmax |∂_i q(face)|·w_i.

Every arb evaluation runs inside :func:`snn_theory.precision.working_precision` at the
precision it is recorded with, so no process needs its precision set beforehand and the
caller's precision is never changed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from flint import arb

from snn_theory.certify import enclosure
from snn_theory.certify.claims import Claim
from snn_theory.certify.network_enclosure import box_quantity
from snn_theory.errors import InputError
from snn_theory.evaluate import backends
from snn_theory.exact import decimal_text, format_fraction, parse_exact
from snn_theory.precision import working_precision

#: Working precision (bits) of the search; boxes that need more store their own.
DEFAULT_PRECISION = 64
#: A box whose every side is below this fraction of the domain side may raise its precision
#: on a non-finite enclosure (wider boxes are split instead).
_SMALL_BOX = Fraction(1, 2**12)
_MAX_PRECISION_FACTOR = 8

Interval = tuple[Fraction, Fraction]
Box = list[Interval]

# ------------------------------------------------------------------------------ constants
@dataclass(frozen=True)
class Constants:
    """λ, α: the closed forms λ01, α01 (``lam is None``), or exact intervals given by the user."""

    lam: Interval | None = None
    alpha: Interval | None = None

    @property
    def closed_form(self) -> bool:
        return self.lam is None

    def balls(self, bits: int) -> tuple[arb, arb]:
        """Balls containing λ and α, computed at ``bits`` of precision.

        Closed forms: enclosures of λ01, α01 evaluated from docs/mathematics.md §3 (never decimal
        literals).  User values: balls containing the exact intervals.
        """
        with working_precision(bits=bits):
            if self.closed_form:
                return backends.constants_function("arb")()
            return enclosure.interval_ball(*self.lam), enclosure.interval_ball(*self.alpha)

    def describe(self, bits: int = 128) -> dict[str, Any]:
        """The constants as printed: source, and λ, α intervals rounded outward to 17
        digits (the closed forms' balls at ``bits``; user intervals exactly under
        ``"exact"``)."""
        if self.closed_form:
            lam, alpha = self.balls(bits)
            lam_iv = (enclosure.lower(lam), enclosure.upper(lam))
            alpha_iv = (enclosure.lower(alpha), enclosure.upper(alpha))
        else:
            lam_iv, alpha_iv = self.lam, self.alpha
        out: dict[str, Any] = {
            "source": "closed-form" if self.closed_form else "user",
            "lam": [decimal_text(lam_iv[0], -1), decimal_text(lam_iv[1], 1)],
            "alpha": [decimal_text(alpha_iv[0], -1), decimal_text(alpha_iv[1], 1)]}
        if not self.closed_form:
            out["exact"] = {"lam": [format_fraction(x) for x in self.lam],
                            "alpha": [format_fraction(x) for x in self.alpha]}
        return out

    def to_json(self) -> dict[str, Any]:
        if self.closed_form:
            return {"source": "closed-form"}
        return {"source": "user",
                "lam": [format_fraction(x) for x in self.lam],
                "alpha": [format_fraction(x) for x in self.alpha]}

    @classmethod
    def parse(cls, lam: str | None, alpha: str | None) -> Constants:
        """From ``--lam``/``--alpha`` strings: an exact decimal, or an interval ``a:b``.

        Neither given: the closed forms.  Only one given: the other is the exact dyadic
        interval of its closed form's ball at 128 bits (which contains λ01 resp. α01).
        """
        if lam is None and alpha is None:
            return cls()
        with working_precision(bits=128):
            lam01, alpha01 = backends.constants_function("arb")()
            lam_iv = (_parse_interval(lam, "--lam") if lam is not None
                      else (enclosure.lower(lam01), enclosure.upper(lam01)))
            alpha_iv = (_parse_interval(alpha, "--alpha") if alpha is not None
                        else (enclosure.lower(alpha01), enclosure.upper(alpha01)))
        return cls(lam_iv, alpha_iv)


def _parse_interval(text: str, what: str) -> Interval:
    parts = str(text).split(":")
    if len(parts) == 1:
        x = parse_exact(parts[0], what)
        lo = hi = x
    elif len(parts) == 2:
        lo, hi = parse_exact(parts[0], what), parse_exact(parts[1], what)
    else:
        raise InputError(f"{what}: {text!r} is not a number or an interval a:b")
    if lo > hi:
        raise InputError(f"{what}: interval {text!r} is reversed")
    if lo <= 0:
        raise InputError(f"{what}: must be > 0 (got {text!r})")
    return lo, hi


# ------------------------------------------------------------------------------ results
@dataclass
class Evaluated:
    """One evaluated box: its rigorous bound (None: enclosure not finite), the face the
    monotonicity reduction led to, the precision used, and the ball value at the face centre."""

    box: Box
    bound: Fraction | None
    face: Box
    bits: int
    depth: int
    point: list[Fraction]
    point_lo: Fraction | None
    point_hi: Fraction | None
    #: precision of the point value (raised where it could not decide the claim)
    point_bits: int | None = None

    def __post_init__(self) -> None:
        if self.point_bits is None:
            self.point_bits = self.bits

    def to_json(self) -> list:
        f = str  # exact "p/q" (faster than format_fraction; this is only the resume state)
        return [[[f(a), f(b)] for a, b in self.box],
                None if self.bound is None else f(self.bound),
                [[f(a), f(b)] for a, b in self.face], self.bits, self.depth,
                [f(x) for x in self.point],
                None if self.point_lo is None else [f(self.point_lo), f(self.point_hi)],
                self.point_bits]

    @classmethod
    def from_json(cls, data: list) -> Evaluated:
        F = Fraction
        box = [(F(a), F(b)) for a, b in data[0]]
        return cls(box, None if data[1] is None else F(data[1]),
                   [(F(a), F(b)) for a, b in data[2]], int(data[3]), int(data[4]),
                   [F(x) for x in data[5]],
                   None if data[6] is None else F(data[6][0]),
                   None if data[6] is None else F(data[6][1]),
                   int(data[7]) if len(data) > 7 else None)



# ------------------------------------------------------------------------------ worker state
@dataclass(frozen=True)
class WorkerState:
    """Everything a per-box task needs, handed to each task explicitly (picklable).

    ``claim``: boxes evaluated with ``early=True`` stop at the first bound that decides it.
    ``network``: the canonical spelling of the network whose composed map the claim is about
    (None: one SELU layer with ``constants``).
    """

    quantity: str
    side: int  # +1: the claim bounds a maximum, -1: a minimum
    constants: Constants
    precision: int
    widths: tuple[Fraction, ...]  # the domain's side lengths
    claim: Claim | None = None
    network: str | None = None

    @classmethod
    def for_claim(cls, claim: Claim, constants: Constants, precision: int,
                  network: str | None = None) -> WorkerState:
        return cls(claim.quantity, 1 if claim.kind == "max" else -1, constants, precision,
                   tuple(hi - lo for lo, hi in claim.domain.bounds), claim, network)

    def box_quantity(self, bits: int) -> enclosure.BoxQuantity:
        """The per-box bound of the claim's quantity at ``bits`` (one layer's formulas or
        the network's map, :func:`snn_theory.certify.network_enclosure.box_quantity`)."""
        lam, alpha = constant_balls(self.constants, bits)
        return box_quantity(self.network, self.quantity, lam, alpha)


@lru_cache(maxsize=256)
def constant_balls(constants: Constants, bits: int) -> tuple[arb, arb]:
    """:meth:`Constants.balls` memoised per (constants, bits): a pure function of its
    arguments (arb balls are immutable), so the memo holds no state that changes a result."""
    return constants.balls(bits)


def _is_small(state: WorkerState, box: Box) -> bool:
    return all((hi - lo) <= w * _SMALL_BOX for (lo, hi), w in zip(box, state.widths))


def evaluate_box(state: WorkerState, box: Box, depth: int, early: bool = False) -> Evaluated:
    """Bound ``box`` rigorously (raising the precision where a small box needs it) and
    evaluate the quantity at the centre of the reduced face.  ``early``: stop at the cheap
    whole-box bound when it already decides the claim (:func:`enclosure.bound`)."""
    side, base = state.side, state.precision
    decides = state.claim.satisfied_by if early and state.claim is not None else None
    bits = base
    small = _is_small(state, box)
    result = face = None
    while True:
        try:
            with working_precision(bits=bits):
                result, face = enclosure.bound_of(state.box_quantity(bits), box, side, decides)
            break
        except ArithmeticError:
            if not small or bits >= base * _MAX_PRECISION_FACTOR:
                bits = base
                face = list(box)
                break
            bits *= 2
    point = [(lo + hi) / 2 for lo, hi in face]
    p_lo = p_hi = None
    try:
        with working_precision(bits=bits):
            value = state.box_quantity(bits).point_value(point)
            p_lo, p_hi = enclosure.lower(value), enclosure.upper(value)
    except ArithmeticError:
        pass
    return Evaluated(list(box), result, [tuple(iv) for iv in face],
                     bits if result is not None else base, depth, point, p_lo, p_hi,
                     point_bits=bits)


def sharpen_point(state: WorkerState, item: Evaluated, claim: Claim) -> Evaluated:
    """``item`` with its point value re-evaluated at doubled precisions (up to
    :data:`_MAX_PRECISION_FACTOR` × the base) while the ball straddles the claim's threshold.

    A point whose ball contains the threshold neither refutes the claim nor is harmless; at
    the base precision such a point (a claim false by 3e-18, say) would stay undecided however
    finely the boxes are split, because splitting does not shrink a *point* ball — only
    precision does.
    """
    lo, hi = item.point_lo, item.point_hi
    if lo is None or claim.satisfied_by(lo) == claim.satisfied_by(hi):
        return item
    bits = max(item.point_bits or item.bits, state.precision)
    while bits < state.precision * _MAX_PRECISION_FACTOR:
        bits *= 2
        try:
            with working_precision(bits=bits):
                value = state.box_quantity(bits).point_value(item.point)
                lo, hi = enclosure.lower(value), enclosure.upper(value)
        except ArithmeticError:
            continue
        if claim.satisfied_by(lo) == claim.satisfied_by(hi):
            break
    return dataclasses.replace(item, point_lo=lo, point_hi=hi, point_bits=bits)


def _gradient(state: WorkerState, balls: list[arb], bits: int) -> Sequence[arb]:
    """Gradient enclosure over the box, by the same means as :func:`enclosure.bound` (for one
    layer the compact gradient forms of :func:`snn_theory.derive.formulas.compact_gradient`)."""
    grad = state.box_quantity(bits).value_and_gradient(balls)[1]
    if grad is None:
        raise ArithmeticError("no gradient enclosure")
    return grad


def split_coordinate(state: WorkerState, item: Evaluated) -> int:
    """The coordinate to bisect: argmax |∂_i q(face)|·w_i (gradient enclosure on the reduced
    face times the box width; coordinates fixed by the reduction score 0); without a finite
    gradient, the widest coordinate relative to the domain."""
    box, face = item.box, item.face
    try:
        if item.bound is not None:
            with working_precision(bits=item.bits):
                balls = [enclosure.interval_ball(lo, hi) for lo, hi in face]
                grad = _gradient(state, balls, item.bits)
                scores = []
                for i, (lo, hi) in enumerate(box):
                    if face[i][0] == face[i][1] or lo == hi:
                        scores.append(0.0)
                        continue
                    g = grad[i]
                    if not g.is_finite():
                        raise ArithmeticError
                    scores.append(float(abs(g).upper()) * float(hi - lo) / 1.0)
            if max(scores) > 0 and all(math.isfinite(s) for s in scores):
                return max(range(len(box)), key=lambda i: scores[i])
    except (ArithmeticError, ValueError, ZeroDivisionError):
        pass
    return max(range(len(box)), key=lambda i: (box[i][1] - box[i][0]) / state.widths[i])


def bisect(box: Box, i: int) -> tuple[Box, Box]:
    """The two halves of ``box`` cut at the exact midpoint of coordinate ``i``."""
    lo, hi = box[i]
    mid = (lo + hi) / 2
    left, right = list(box), list(box)
    left[i] = (lo, mid)
    right[i] = (mid, hi)
    return left, right


def eval_task(state: WorkerState, task: tuple[Box, int, bool]) -> Evaluated:
    """Task: evaluate one (box, depth, early) (:func:`evaluate_box`)."""
    box, depth, early = task
    return evaluate_box(state, box, depth, early)


def split_task(state: WorkerState, task: tuple[Evaluated, bool]) -> list[Evaluated]:
    """Task: bisect one evaluated box where :func:`split_coordinate` says and evaluate both
    halves."""
    item, early = task
    i = split_coordinate(state, item)
    return [evaluate_box(state, child, item.depth + 1, early) for child in bisect(item.box, i)]
