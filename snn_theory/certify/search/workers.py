"""The per-box work of the branch-and-bound verifier, run in worker processes (docs/mathematics.md §7).

Every task is a top-level function of a :class:`WorkerState` — the quantity, the side of the
claim, the moment map's per-box bound (a :class:`~snn_theory.certify.search.bounders.BoxBounder`),
the base precision, the domain's widths and the claim — and of one box; the state travels with the task (a :func:`functools.partial`), nothing is read from or
written to module state, so a task computes the same thing in this process, in a local worker
process or on a Dask worker (:mod:`snn_theory.certify.search.executors`).

* :func:`evaluate_box` bounds the quantity rigorously over a box with
  :meth:`BoxBounder.bound` (at the base precision; a small box whose enclosure is not finite
  is retried at doubled precisions) and evaluates the ball value at the centre of the face
  the monotonicity reduction led to (every box where points are cheap, else where it may
  matter);
* :func:`sharpen_point` re-evaluates a point ball that straddles the claim's threshold at
  doubled precisions;
* :func:`split_coordinate` chooses where to bisect a box: the bounder's scores (closed
  forms: argmax |∂_i q(face)|·w_i), else the widest coordinate.

Every arb evaluation runs (in the bounder) inside
:func:`snn_theory.precision.working_precision` at the precision it is recorded with, so no process needs its precision set beforehand and the
caller's precision is never changed.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction

from snn_theory.certify import enclosure
from snn_theory.certify.claims import Claim
from snn_theory.certify.search.bounders import Box, BoxBounder
from snn_theory.exact import MAX_MAGNITUDE

#: Working precision (bits) of the search; boxes that need more store their own.
DEFAULT_PRECISION = 64
#: A box whose every side is below this fraction of the domain side may raise its precision
#: on a non-finite enclosure (wider boxes are split instead).
_SMALL_BOX = Fraction(1, 2**12)
_MAX_PRECISION_FACTOR = 8

# ------------------------------------------------------------------------------ results
def _in_range(x: Fraction) -> bool:
    """Whether ``x`` is 0 or of a magnitude the certificate format holds."""
    return x == 0 or 1 / MAX_MAGNITUDE <= abs(x) <= MAX_MAGNITUDE


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
    #: the bounder's split scores, where its bound gave them (not saved: re-derived)
    scores: list[float] | None = None

    def __post_init__(self) -> None:
        if self.point_bits is None:
            self.point_bits = self.bits

    def to_json(self) -> list:
        f = str  # exact "p/q" (faster than format_fraction; this is only the resume state)
        # a resumed run re-derives bounds and values (only boxes and depths are taken), so
        # one beyond the format's range is saved as None rather than as thousands of digits
        bound = None if self.bound is None or not _in_range(self.bound) else f(self.bound)
        values = None if self.point_lo is None or not (
            _in_range(self.point_lo) and _in_range(self.point_hi)) else [
            f(self.point_lo), f(self.point_hi)]
        return [[[f(a), f(b)] for a, b in self.box], bound,
                [[f(a), f(b)] for a, b in self.face], self.bits, self.depth,
                [f(x) for x in self.point], values, self.point_bits]

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

    ``bounder``: the per-box bound of the moment map (:mod:`snn_theory.certify.search.bounders`);
    ``claim``: boxes evaluated with ``early=True`` stop at the first bound that decides it.
    """

    quantity: str
    side: int  # +1: the claim bounds a maximum, -1: a minimum
    bounder: BoxBounder
    precision: int
    widths: tuple[Fraction, ...]  # the domain's side lengths
    claim: Claim | None = None

    @classmethod
    def for_claim(cls, claim: Claim, bounder: BoxBounder, precision: int) -> WorkerState:
        return cls(claim.quantity, 1 if claim.kind == "max" else -1, bounder, precision,
                   tuple(hi - lo for lo, hi in claim.domain.bounds), claim)


def _is_small(state: WorkerState, box: Box) -> bool:
    return all((hi - lo) <= w * _SMALL_BOX for (lo, hi), w in zip(box, state.widths))


def _wants_point(state: WorkerState, box: Box, depth: int, bound: Fraction | None,
                 face: Box, early: bool) -> bool:
    """Whether to spend a point evaluation on ``box``: always where points are cheap;
    otherwise on the initial grid (the enclosure's witness), while refining (``early``
    false), and where a counterexample is plausible: a box whose bound does not prove the
    claim and that is small (≤ 1/16 of the domain's side) or whose face fixes ≥ 2
    coordinates (where the box's extremum lies)."""
    if state.bounder.cheap_points or depth == 0 or not early or state.claim is None:
        return True
    if bound is not None and state.claim.satisfied_by(bound):
        return False
    if bound is None:
        return True
    rel = max((hi - lo) / w for (lo, hi), w in zip(box, state.widths))
    return rel <= Fraction(1, 16) or sum(1 for lo, hi in face if lo == hi) >= 2


def evaluate_box(state: WorkerState, box: Box, depth: int, early: bool = False) -> Evaluated:
    """Bound ``box`` rigorously (raising the precision where a small box needs it) and
    evaluate the quantity at the centre of the reduced face (where :func:`_wants_point`
    says).  ``early``: stop at a cheap bound when it already decides the claim."""
    quantity, side, base, bounder = state.quantity, state.side, state.precision, state.bounder
    decides = state.claim.satisfied_by if early and state.claim is not None else None
    bits = base
    small = _is_small(state, box)
    result = face = scores = None
    while True:
        try:
            result, face, scores = bounder.bound(quantity, box, side, bits, decides)
            break
        except ArithmeticError:
            if not small or bits >= base * _MAX_PRECISION_FACTOR:
                bits = base
                face = list(box)
                break
            bits *= 2
    point = [(lo + hi) / 2 for lo, hi in face]
    p_lo = p_hi = None
    if _wants_point(state, box, depth, result, face, early):
        try:
            value = bounder.point(quantity, point, bits)
            p_lo, p_hi = enclosure.lower(value), enclosure.upper(value)
        except ArithmeticError:
            pass
    return Evaluated(list(box), result, [tuple(iv) for iv in face],
                     bits if result is not None else base, depth, point, p_lo, p_hi,
                     point_bits=bits, scores=scores)


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
            value = state.bounder.point(state.quantity, item.point, bits)
            lo, hi = enclosure.lower(value), enclosure.upper(value)
        except ArithmeticError:
            continue
        if claim.satisfied_by(lo) == claim.satisfied_by(hi):
            break
    return dataclasses.replace(item, point_lo=lo, point_hi=hi, point_bits=bits)


def split_coordinate(state: WorkerState, item: Evaluated) -> int:
    """The coordinate to bisect: the first argmax of the bounder's scores (those of the
    bound, else :meth:`BoxBounder.split_scores` on the reduced face); without finite
    positive scores, the widest coordinate relative to the domain."""
    box = item.box
    scores = item.scores
    if scores is None and item.bound is not None:
        scores = state.bounder.split_scores(state.quantity, box, item.face, item.bits)
    if scores and max(scores) > 0 and all(math.isfinite(s) for s in scores):
        return max(range(len(box)), key=lambda i: scores[i])
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
