"""Claims about any activation, proven or refuted in ball arithmetic, with certificates.

A claim is ``quantity relation threshold`` on a box in (μ, ω, ν, τ)
(:class:`snn_theory.certify.claims.Claim`); the activation is any
:class:`snn_theory.derive.activations.Activation`.  SELU keeps its closed-form verifier
(:mod:`snn_theory.certify.search`); this is the generic one.

**Per-box bound.**  The moments and their (m, v)-partials depend on (μ, ω, ν, τ) only through
m = μω and v = ντ, so their enclosures live in the (m, v) plane: a dyadic grid of cells
[i·2⁻ᵏ, (i+1)·2⁻ᵏ] × [j·2⁻ˡ, (j+1)·2⁻ˡ] whose enclosures (rigorous Gaussian integrals over the
cell, :func:`snn_theory.evaluate.gaussian.raw_partials`) are computed once and cached.  For a 4-D box,
its (m, v) rectangle (exact: μω is bilinear, so its range is spanned by the corner products)
is covered by at most 2 × 2 cells at the level matching its size; the union of their
enclosures contains the partials at every point of the box; the quantity is then evaluated in
arb from those balls and the box's ω, τ, ν balls (:func:`snn_theory.evaluate.gaussian.quantities`).
The cache is an optimisation only: every cell is computed in this run (and the checker
recomputes its own); nothing cached is read from disk.

**Search.**  Boxes whose bound satisfies the claim are decided; the others are bisected
(widest coordinate relative to the domain), until every box is decided (**holds**), a box
centre is rigorously on the wrong side of the threshold (**refuted**, the counterexample is
re-evaluated by the checker), or the budget (boxes, seconds) runs out (**undecided**).

**Refining and resuming** (as the SELU verifier): with a tolerance, a proven claim's
extremum enclosure [best point value, worst leaf bound] is narrowed by Moore–Skelboe (a leaf
is replaced by its halves only where both still prove the claim and are no worse).  A run
that stops undecided, or is interrupted, saves the boxes of its partition (decided and
open, together a tiling of the domain) in a state file; a resumed run checks that they tile
the domain exactly and re-bounds every one — bounds, verdicts and points are never read
from the file, and an unusable state (another activation, claim or precision, damaged,
not a tiling) is reported and ignored.

**Certificates** record the activation's definition (:meth:`Activation.to_json`), the claim,
the precision and every leaf box with its bound; :func:`check_certificate_file` re-derives
the activation from its definition (an edited formula or growth bound is rejected), checks
that the leaves tile the domain exactly, and recomputes every bound from scratch; it is as
strict as the SELU checker (duplicate or unknown keys, wrong types, non-ASCII or padded
numbers, a statement that is not the claim's, a recorded bound or counterexample value that
is not the recomputed one: rejected), and what it prints is recomputed.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import math
import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from flint import arb, fmpq

from snn_theory.certify.claims import (
    BUILTIN_CLAIMS,
    THEOREM_DOMAINS,
    THEOREM_GROUPS,
    Claim,
)
from snn_theory.derive import activations
from snn_theory.derive.activations import Activation
from snn_theory.derive.formulas import VARIABLE_NAMES
from snn_theory.errors import InputError, Interrupted
from snn_theory.evaluate import gaussian
from snn_theory.exact import (
    decimal_interval,
    decimal_text,
    format_fraction,
    parse_exact,
    to_fraction,
)
from snn_theory.files import StateFile, atomic_write
from snn_theory.precision import working_precision

FORMAT = "snn-theory-activation-certificate"
VERSION = 1
#: Working precision of the search and the checker (bits).
DEFAULT_BITS = 64
DEFAULT_MAX_BOXES = 20_000
#: Order of the m-partials a quantity's value and gradient need (the moments: 2; the
#: Jacobian entries and S: 4).
MOMENT_QUANTITIES = ("mean", "second_moment", "variance", "variance_change")


def cell_order(quantity: str) -> int:
    return 2 if quantity in MOMENT_QUANTITIES else 4

Box = list[tuple[Fraction, Fraction]]
CellKey = tuple[int, int, int, int]
ProgressFn = Callable[[Claim, int, int], None]


# ----------------------------------------------------------------------------- claims
def theorem1_analogue(name_prefix: str = "theorem1_analogue") -> list[Claim]:
    """Theorem 1's statement for any activation on the paper's domain: S(H) < 1, and g maps
    the (μ, ν) box [−0.1, 0.1] × [0.8, 1.5] into itself (μ̃ ∈ [−0.1, 0.1], ν̃ ∈ [0.8, 1.5])."""
    d = THEOREM_DOMAINS["theorem1"]
    texts = (("contraction", "spectral_norm<1"), ("mean_lower", "mean>=-0.1"),
             ("mean_upper", "mean<=0.1"), ("variance_lower", "variance>=0.8"),
             ("variance_upper", "variance<=1.5"))
    return [Claim.parse(t, d, name=f"{name_prefix}.{n}") for n, t in texts]


def builtin_claims(theorem: str) -> list[Claim]:
    """The built-in claim groups for a non-SELU activation: Theorem 1's SELU-specific bounds
    on μ̃, ν̃ become "g maps the box into itself"; the other claims apply as they are."""
    out: list[Claim] = []
    groups = ["1", "appendix", "2", "3"] if theorem == "all" else [theorem]
    for group in groups:
        if group == "1":
            out += theorem1_analogue()
        else:
            out += [BUILTIN_CLAIMS[n] for n in THEOREM_GROUPS[group]]
    return out


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
            raw = gaussian.raw_partials(act, _ball(m_lo, m_hi), _ball(v_lo, v_hi),
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
                 ) -> gaussian.MomentPartials | None:
        """Union over the cells, combined with the activation's scale and shift."""
        union: dict[tuple[int, int], arb] = {}
        for k in keys:
            cell = self.cells[(order, k)]
            if cell is None:
                return None
            for key, packed in cell.items():
                x = _unpack(packed)
                union[key] = x if key not in union else union[key].union(x)
        return gaussian.combine(union, order, _q(self.act.scale), _q(self.act.shift))


def box_enclosure(cache: CellCache, quantity: str, box: Sequence[tuple[Fraction, Fraction]]
                  ) -> arb | None:
    """Ball containing ``quantity`` at every point of ``box`` (None: an integral failed)."""
    keys = cover(*mv_range(box))
    order = cell_order(quantity)
    cache.ensure(keys, order)
    P = cache.partials(keys, order)
    if P is None:
        return None
    balls = [_ball(lo, hi) for lo, hi in box]
    value = gaussian.quantities(cache.act, *balls, names=(quantity,), partials=P)[quantity]
    return value if value.is_finite() else None


def box_bound(cache: CellCache, quantity: str, box: Sequence[tuple[Fraction, Fraction]],
              side: int, centred: bool = False) -> tuple[Fraction | None, Box, list[float]]:
    """Rigorous upper (side +1) or lower (−1) bound of ``quantity`` over ``box``, and the face
    it was taken on.

    Monotonicity reduction (as :func:`snn_theory.certify.enclosure.bound`): where the enclosure of
    ∂q/∂x_i over the box (:func:`snn_theory.evaluate.gaussian.activation_value_and_gradient` from the cells'
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
        value, *grad = gaussian.activation_value_and_gradient(cache.act, quantity, *balls, partials=P)
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
    bound = _end(enclosure, side)
    if first is not None:
        bound = min(bound, _end(first, side)) if side > 0 else max(bound, _end(first, side))
    return bound, current, spread


def point_enclosure(act: Activation, quantity: str, point: Sequence[Fraction]) -> arb:
    """Ball containing ``quantity`` at an exact point (direct integrals, no cache)."""
    balls = [_q(x) for x in point]
    mu, omega, nu, tau = balls
    return gaussian.quantities(act, mu, omega, nu, tau, names=(quantity,))[quantity]


def _end(x: arb, side: int) -> Fraction:
    """The exact upper (side +1) or lower (−1) end mid ± rad of the ball (independent of
    the working precision: ``arb(x.upper())`` would round it to the current one)."""
    return to_fraction(x.mid()) + side * to_fraction(x.rad())


# ----------------------------------------------------------------------------- search
@dataclass
class ActivationClaimResult:
    """Verdict ``holds`` (every leaf's bound satisfies the claim), ``refuted`` (a point whose
    enclosure violates it) or ``undecided`` (budget); ``extremum`` = (lower, upper) bounds of
    the deciding extremum where known."""

    activation: Activation
    claim: Claim
    verdict: str
    leaves: list[tuple[Box, Fraction]]
    counterexample: tuple[list[Fraction], tuple[Fraction, Fraction]] | None
    extremum: tuple[Fraction | None, Fraction | None]
    boxes: int
    cells: int
    seconds: float
    bits: int
    reason: str = ""
    certificate: str | None = None
    open_boxes: list[Box] = field(default_factory=list)
    #: The tolerance asked for (None: decide only) and whether the extremum enclosure met it.
    tolerance: Fraction | None = None
    tolerance_met: bool | None = None
    #: What happened to ``resume``: "resumed" (the saved boxes re-bounded), "no state",
    #: "unusable state" (for another claim/activation/precision, damaged or not tiling the
    #: domain: ignored), or "" (no resume asked).
    resume: str = ""

    @property
    def holds(self) -> bool | None:
        return {"holds": True, "refuted": False}.get(self.verdict)

    def certificate_data(self) -> dict[str, Any]:
        f = format_fraction
        data: dict[str, Any] = {
            "format": FORMAT, "version": VERSION,
            "activation": self.activation.to_json(), "claim": self.claim.to_json(),
            "statement": self.claim.statement, "verdict": self.verdict,
            "precision_bits": self.bits,
            "leaves": [[[[f(a), f(b)] for a, b in box], f(bound)] for box, bound in self.leaves]
            if self.verdict == "holds" else [],
            "counterexample": None if self.counterexample is None else {
                "point": [f(x) for x in self.counterexample[0]],
                "value": [f(self.counterexample[1][0]), f(self.counterexample[1][1])]},
        }
        data["checksum"] = certificate_checksum(data)
        return data

    def json_entry(self) -> dict[str, Any]:
        """The ``--json`` entry: the extremum's ends rounded outward to 17 significant digits,
        the counterexample's point exact and its value rounded outward (with the digits it
        takes to exclude the threshold), all as decimal strings."""
        lo, hi = self.extremum
        return {"name": self.claim.name, "activation": self.activation.to_json(),
                "statement": self.claim.statement, "holds": self.holds, "verdict": self.verdict,
                "extremum": {"kind": self.claim.kind,
                             "lower": None if lo is None else decimal_text(lo, -1),
                             "upper": None if hi is None else decimal_text(hi, 1)},
                "counterexample": None if self.counterexample is None else {
                    "point": [format_fraction(x) for x in self.counterexample[0]],
                    "value": decimal_interval(*self.counterexample[1],
                                              exclude=self.claim.threshold)},
                "boxes": self.boxes, "cells": self.cells, "seconds": round(self.seconds, 3),
                "reason": self.reason, "certificate": self.certificate,
                "tolerance": None if self.tolerance is None else format_fraction(self.tolerance),
                "tolerance_met": self.tolerance_met, "resume": self.resume or None}


def certificate_checksum(data: dict[str, Any]) -> str:
    """SHA-256 of a certificate's content without its ``checksum`` field (sorted JSON)."""
    content = {k: v for k, v in data.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _split(box: Box, widths: Sequence[Fraction], spread: Sequence[float] | None = None
           ) -> tuple[Box, Box]:
    """Bisect where the quantity varies most over the box (|∂_i q|·width_i), falling back to
    the widest coordinate relative to the domain."""
    if spread and any(x > 0 for x in spread):
        i = max(range(4), key=lambda k: (spread[k], (box[k][1] - box[k][0]) / widths[k]))
    else:
        i = max(range(4), key=lambda k: (box[k][1] - box[k][0]) / widths[k])
    lo, hi = box[i]
    mid = (lo + hi) / 2
    left, right = list(box), list(box)
    left[i], right[i] = (lo, mid), (mid, hi)
    return left, right


STATE_FORMAT = "snn-theory-activation-search-state"


def state_key(act: Activation, claim: Claim, bits: int) -> dict[str, Any]:
    """What a saved search state must match to be resumed."""
    return {"format": STATE_FORMAT, "version": VERSION, "activation": act.to_json(),
            "claim": claim.to_json(), "precision_bits": bits}


def activation_state_path(directory: Path | str, act: Activation, claim: Claim) -> Path:
    """The resume state of (activation, claim) in ``directory`` (one file per pair)."""
    ident = hashlib.sha256(json.dumps([act.to_json(), claim.to_json()],
                                      sort_keys=True).encode()).hexdigest()[:10]
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in claim.name)
    return Path(directory) / f"{safe}.{ident}.activation-state.json"


#: The kind of the activation search's state files (:class:`snn_theory.files.StateFile`).
ACTIVATION_STATE = "activation-search"


def save_activation_state(path: Path, act: Activation, claim: Claim, bits: int,
                          boxes: Sequence[Box], elapsed: float) -> Path:
    """Write the boxes of the current partition (decided and open: together they tile the
    domain) atomically.  Only boxes are saved: bounds are re-derived on resume."""
    f = format_fraction
    return StateFile(path, ACTIVATION_STATE).save(state_key(act, claim, bits), {
        "elapsed": elapsed, "boxes": [[[f(a), f(b)] for a, b in box] for box in boxes]})


def load_activation_state(path: Path, act: Activation, claim: Claim,
                          bits: int) -> list[Box] | None:
    """The saved boxes, or None when the state is unusable: another key (activation,
    claim, precision), damaged JSON, a box outside the domain, or boxes that do not tile
    the domain exactly.  A state file is a cache, never evidence: every box is re-bounded.
    Raises :class:`InputError` when the file is not an activation search state (it is
    never touched)."""
    from snn_theory.certify.certificate.tiling import tiling_error

    loaded = StateFile(path, ACTIVATION_STATE).load(state_key(act, claim, bits))
    if loaded.status != "ok":
        return None
    try:
        boxes = [[(parse_exact(a, "box"), parse_exact(b, "box")) for a, b in box]
                 for box in loaded.data["boxes"]]
    except (ValueError, KeyError, TypeError, InputError):
        return None
    if not boxes or any(len(box) != 4 or any(not a <= lo <= hi <= b for (lo, hi), (a, b)
                                             in zip(box, claim.domain.bounds))
                        for box in boxes):
        return None
    if tiling_error(claim.domain.bounds, boxes) is not None:
        return None
    return boxes


def discard_state(path: Path) -> None:
    """Delete a decided claim's state (and the state directory once it is empty); a file
    there that is not such a state is left alone."""
    StateFile(path, ACTIVATION_STATE).remove()
    try:
        path.parent.rmdir()  # once no other claim's state is left
    except OSError:
        pass


def verify(act: Activation, claim: Claim, *, max_boxes: int = DEFAULT_MAX_BOXES,
           time_limit: float | None = None, bits: int = DEFAULT_BITS, jobs: int = 1,
           progress: ProgressFn | None = None, cache: CellCache | None = None,
           tolerance: Fraction | None = None, state: Path | None = None,
           resume: bool = False, keep_finished: bool = False) -> ActivationClaimResult:
    """Branch-and-bound for one claim (see the module docstring for the guarantees).

    ``tolerance``: once the claim holds, refine the enclosure of its deciding extremum
    (Moore–Skelboe: split the leaf with the worst bound, keep the split when both halves
    still prove the claim) until it is narrower than ``tolerance`` or the budget is spent.
    ``state``: the resume file: saved when the search stops undecided (or is
    interrupted), removed once the claim is decided; with ``resume`` its boxes (checked to
    tile the domain; nothing else is read from it) replace the initial grid, each
    re-bounded from scratch.  ``keep_finished``: a claim that holds keeps its state (its
    final leaves) for a resumed run of several claims, which removes it when through.
    Ctrl-C raises :class:`snn_theory.errors.Interrupted` naming the boxes saved."""
    if state is not None:
        StateFile(state, ACTIVATION_STATE).check_target()  # a file that is not a state: untouched
    started = time.monotonic()
    side = 1 if claim.kind == "max" else -1
    own = cache is None
    cache = cache or CellCache(act, bits, jobs)
    domain = [tuple(iv) for iv in claim.domain.bounds]
    widths = [b - a for a, b in domain]
    counter = itertools.count()
    resume_note = ""
    try:
        with working_precision(bits=bits):
            frontier: list[Box] = []
            if resume:
                loaded = None if state is None else load_activation_state(state, act, claim, bits)
                if loaded is not None:
                    frontier, resume_note = loaded, "resumed"
                else:
                    resume_note = ("unusable state" if state is not None and state.exists()
                                   else "no state")
            if not frontier:  # start with 2 cells per dimension
                frontier = [[]]
                for lo, hi in domain:
                    mid = (lo + hi) / 2
                    frontier = [b + [iv] for b in frontier for iv in ((lo, mid), (mid, hi))]
            leaves: list[tuple[Box, Fraction]] = []
            heap: list = []
            best: Fraction | None = None  # best rigorous point value end (inner bound)
            evaluated = 0
            counterexample = None
            reason = ""

            def probe(point: list[Fraction]) -> bool:
                """Evaluate the quantity at ``point``: keep the best inner end, and record a
                rigorous violation as the counterexample (returns whether it is one)."""
                nonlocal best, counterexample
                value = point_enclosure(act, claim.quantity, point)
                inner = _end(value, -side)
                best = inner if best is None or side * (inner - best) > 0 else best
                if _violates(claim, value):
                    counterexample = (point, (_end(value, -1), _end(value, 1)))
                    return True
                return False

            def out_of_budget() -> str:
                if evaluated >= max_boxes:
                    return f"box budget {max_boxes} exhausted"
                if time_limit is not None and time.monotonic() - started > time_limit:
                    return f"time limit {time_limit:g} s reached"
                return ""

            # candidates first: the domain's centre and its 16 corners (where the extrema of
            # the moments often are); a rigorous violation there refutes the claim at once
            pending: list[Box] = []  # boxes of the batch in hand not yet decided
            candidates = [[(a + b) / 2 for a, b in domain]]
            candidates += [list(c) for c in itertools.product(*domain)]
            try:
                for point in candidates:
                    if probe(point):
                        break
                while frontier and counterexample is None:
                    reason = out_of_budget()
                    if reason:
                        break
                    batch, frontier = frontier[:max(8, 4 * jobs)], frontier[max(8, 4 * jobs):]
                    pending = batch  # put back on Ctrl-C (the state must tile the domain)
                    cache.ensure([k for b in batch for k in cover(*mv_range(b))],
                                 cell_order(claim.quantity))
                    for k, box in enumerate(batch):
                        pending = batch[k:]
                        evaluated += 1
                        bound, face, spread = box_bound(cache, claim.quantity, box, side)
                        if bound is not None and claim.satisfied_by(bound):
                            leaves.append((box, bound))
                            continue
                        # undecided: is the face centre a counterexample?  (checked where the
                        # bound is on the wrong side by more than the box's share of the margin)
                        if bound is None or _suspicious(claim, bound, box, face, widths):
                            if probe([(a + b) / 2 for a, b in face]):
                                break
                        heapq.heappush(heap, (next(counter), box))
                        frontier.extend(_split(box, widths, spread))
                    pending = []
                    if progress is not None:
                        progress(claim, evaluated, len(cache.cells))
            except KeyboardInterrupt:
                if state is None or counterexample is not None:
                    raise Interrupted() from None
                boxes = [b for b, _ in leaves] + pending + frontier
                saved = save_activation_state(state, act, claim, bits, boxes, time.monotonic() - started)
                raise Interrupted((saved,), f"{len(boxes)} boxes of {claim.name} in {saved}",
                                  "rerun with --resume: saved boxes are re-bounded, never "
                                  "trusted") from None
            if counterexample is not None:
                verdict = "refuted"
            elif not frontier:
                verdict = "holds"
            else:
                verdict = "undecided"
            met = None
            if verdict == "holds" and tolerance is not None:
                deadline = None if time_limit is None else started + time_limit
                leaves, used, met, why = _refine(cache, claim, leaves, probe, lambda: best, side,
                                                 widths, tolerance, max(0, max_boxes - evaluated),
                                                 deadline)
                evaluated += used
                reason = reason or ("" if met else f"enclosure tolerance not met: {why}")
            elif tolerance is not None:
                reason = reason or f"not refined ({verdict})"
            decided = None
            if verdict == "holds" and leaves:
                ends = [b for _, b in leaves]
                decided = max(ends) if side > 0 else min(ends)
            lo, hi = (best, decided) if side > 0 else (decided, best)
            if state is not None:
                if verdict == "undecided":
                    save_activation_state(state, act, claim, bits, [b for b, _ in leaves] + frontier,
                               time.monotonic() - started)
                elif verdict == "holds" and keep_finished:  # its leaves tile the domain
                    save_activation_state(state, act, claim, bits, [b for b, _ in leaves],
                               time.monotonic() - started)
                else:
                    discard_state(state)
            return ActivationClaimResult(act, claim, verdict, leaves, counterexample, (lo, hi),
                                         evaluated, len(cache.cells), time.monotonic() - started,
                                         bits, reason, open_boxes=frontier[:10],
                                         tolerance=tolerance, tolerance_met=met,
                                         resume=resume_note)
    finally:
        if own:
            cache.close()


def _refine(cache: CellCache, claim: Claim, leaves: list[tuple[Box, Fraction]],
            probe: Callable[[list[Fraction]], bool], best: Callable[[], Fraction | None],
            side: int, widths: Sequence[Fraction], tolerance: Fraction, box_budget: int,
            deadline: float | None) -> tuple[list[tuple[Box, Fraction]], int, bool, str]:
    """Moore–Skelboe on the decided leaves until the extremum enclosure [best point value,
    worst leaf bound] (for a max; mirrored for a min) is narrower than ``tolerance``.  A
    leaf is replaced by its halves only when both halves' bounds still prove the claim and
    are no worse than its own, so the leaves stay a certificate.  Returns (leaves, boxes evaluated,
    met, why not)."""
    heap = [(-side * b, next(_TIE), box, b) for box, b in leaves]
    heapq.heapify(heap)
    final: list[tuple[Box, Fraction]] = []  # leaves whose halves did not improve them
    used = 0
    why = ""
    while heap:
        worst = heap[0][3]
        if final:
            stuck = max(b for _, b in final) if side > 0 else min(b for _, b in final)
            if side * (stuck - worst) >= 0:
                why = "the worst leaf is not improved by splitting"
                break
        point_end = best()
        if point_end is not None and side * (worst - point_end) <= tolerance:
            break
        if used >= box_budget:
            why = "box budget exhausted"
            break
        if deadline is not None and time.monotonic() > deadline:
            why = "time limit reached"
            break
        _, _, box, bound = heapq.heappop(heap)
        probe([(a + b) / 2 for a, b in box])
        halves = _split(box, widths)
        bounds = [box_bound(cache, claim.quantity, h, side)[0] for h in halves]
        used += 2
        if all(b is not None and claim.satisfied_by(b) and side * (b - bound) <= 0
               for b in bounds):
            for h, b in zip(halves, bounds):
                heapq.heappush(heap, (-side * b, next(_TIE), h, b))
        else:
            final.append((box, bound))
    leaves = final + [(box, b) for _, _, box, b in heap]
    ends = [b for _, b in leaves]
    worst = max(ends) if side > 0 else min(ends)
    point_end = best()
    met = point_end is not None and side * (worst - point_end) <= tolerance
    return leaves, used, met, "" if met else (why or "no leaf left to split")


_TIE = itertools.count()


def _suspicious(claim: Claim, bound: Fraction, box: Box, face: Box,
                widths: Sequence[Fraction]) -> bool:
    """Heuristic for when to spend a point evaluation on a counterexample: small boxes, or
    a monotonicity face of dimension ≤ 2 (where the extremum of the box lies)."""
    rel = max((b - a) / w for (a, b), w in zip(box, widths))
    fixed = sum(1 for a, b in face if a == b)
    return rel <= Fraction(1, 16) or fixed >= 2


def _violates(claim: Claim, value: arb) -> bool:
    """The whole ball is on the wrong side of the threshold (so the claim is false)."""
    t = claim.threshold
    lo, hi = _end(value, -1), _end(value, 1)
    return {"<": lo >= t, "<=": lo > t, ">": hi <= t, ">=": hi < t}[claim.relation]


# ----------------------------------------------------------------------------- certificates
def activation_certificate_path(directory: Path | str, result: ActivationClaimResult) -> Path:
    """Where :func:`write_activation_certificate` writes ``result``'s certificate."""
    # one file per (activation, statement): a claim never overwrites another claim's file
    ident = hashlib.sha256(json.dumps([result.activation.to_json(), result.claim.to_json()],
                                      sort_keys=True).encode())
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in result.claim.name)
    name = "".join(ch if ch.isalnum() else "_" for ch in result.activation.name)[:24]
    return Path(directory) / f"{safe}.{name}-{ident.hexdigest()[:10]}.activation.json"


def write_activation_certificate(directory: Path | str,
                                 result: ActivationClaimResult) -> Path | None:
    """Write the certificate (for proven and refuted claims; None for undecided ones)."""
    if result.verdict == "undecided":
        return None
    path = activation_certificate_path(directory, result)
    atomic_write(path, json.dumps(result.certificate_data()))
    return path


def is_activation_certificate(path: Path | str) -> bool:
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(4096)
    except (OSError, UnicodeDecodeError):  # e.g. a gzip-compressed certificate: not one
        return False
    return f'"format": "{FORMAT}"' in head


@dataclass
class ActivationCheckReport:
    """What the checker found; ``extremum`` the recomputed deciding end (holds) and
    ``value`` the recomputed counterexample enclosure (refuted), as exact text;
    ``statement`` the claim (name, quantity, relation, threshold, domain, activation) once the
    file's claim is read, ``point`` the counterexample's exact coordinates."""

    path: str
    valid: bool
    message: str
    claim: str = ""
    verdict: str = ""
    extremum: str | None = None
    value: list[str] | None = None
    statement: dict[str, Any] = field(default_factory=dict)
    point: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "valid": self.valid, "message": self.message,
                "claim": self.claim, "verdict": self.verdict, "extremum": self.extremum,
                "value": self.value, "statement": self.statement or None,
                "counterexample": None if self.point is None else dict(
                    zip(VARIABLE_NAMES, self.point), value=self.value_text())}

    def value_text(self) -> list[str] | None:
        """The counterexample's value rounded outward (17 digits, more where it takes them
        to exclude the threshold as the exact enclosure does)."""
        if self.value is None:
            return None
        threshold = Fraction(self.statement["threshold"]) if self.statement else None
        return decimal_interval(Fraction(self.value[0]), Fraction(self.value[1]),
                                exclude=threshold)

    def line(self) -> str:
        """The one line ``check-certificate`` prints (everything in it re-derived): verdict,
        activation, statement with its domain, and the extremum bound or the counterexample
        (point exact, value rounded outward)."""
        head = f"{'VALID' if self.valid else 'INVALID'} {self.path}"
        if not self.statement:
            return f"{head}: {self.message}"
        st = self.statement
        domain = ", ".join(f"{n} ∈ [{a}, {b}]" for n, (a, b) in st["domain"].items())
        what = {"holds": "HOLDS", "refuted": "FALSE"}.get(self.verdict, "?")
        body = (f"{what} for {st['activation']}: {st['quantity']} {st['relation']} "
                f"{st['threshold']} on {domain} | claim {st['name']}")
        if not self.valid:
            return f"{head}: {body} | REJECTED: {self.message}"
        if self.point is not None:
            lo, hi = self.value_text() or ["?", "?"]
            body += (" | counterexample " + ", ".join(
                f"{n}={x}" for n, x in zip(VARIABLE_NAMES, self.point))
                + f", {st['quantity']} there ∈ [{lo}, {hi}]")
        return f"{head}: {body} | {self.message}"


#: The keys of a certificate, of its activation record and of its counterexample: exactly.
CERTIFICATE_KEYS = frozenset({"format", "version", "activation", "claim", "statement",
                              "verdict", "precision_bits", "leaves", "counterexample",
                              "checksum"})
ACTIVATION_KEYS = frozenset({"definition", "scale", "shift", "formula", "growth"})
COUNTEREXAMPLE_KEYS = frozenset({"point", "value"})


class CertificateRejected(ValueError):
    """A structural defect of an activation certificate (the message says which)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        raise CertificateRejected(f"duplicate JSON key {duplicated[0]!r}")
    return dict(pairs)


def _number(value: Any, what: str) -> Fraction:
    """An exact rational spelt as an ASCII string without surrounding spaces."""
    if not isinstance(value, str) or value != value.strip() or not value:
        raise CertificateRejected(f"{what}: expected a number as a string, got {value!r}")
    return parse_exact(value, what)


def _integer(value: Any, what: str) -> int:
    if type(value) is not int:
        raise CertificateRejected(f"{what}: expected an integer, got {value!r}")
    return value


def _keys(data: Any, keys: frozenset, what: str) -> dict:
    if not isinstance(data, dict):
        raise CertificateRejected(f"{what}: expected an object")
    if set(data) != keys:
        extra, missing = sorted(set(data) - keys), sorted(keys - set(data))
        raise CertificateRejected(f"{what}: " + (f"unknown key {extra[0]!r}" if extra
                                                  else f"missing key {missing[0]!r}"))
    return data


def _list(value: Any, what: str, length: int | None = None) -> list:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        raise CertificateRejected(f"{what}: expected a list"
                                  + ("" if length is None else f" of {length}"))
    return value


def _activation(record: Any) -> Activation:
    """The activation a record defines, re-derived; every recorded field must be what the
    definition gives (numbers may be spelt differently, the definition may not)."""
    record = _keys(record, ACTIVATION_KEYS, "activation")
    if not isinstance(record["definition"], str) or not isinstance(record["formula"], str):
        raise CertificateRejected("activation: definition and formula must be strings")
    scale = _number(record["scale"], "activation scale")
    shift = _number(record["shift"], "activation shift")
    growth = [_number(a, "activation growth") for a in _list(record["growth"], "growth")]
    act = activations.get(record["definition"], scale, shift)
    derived = act.to_json()
    if act.definition != record["definition"] or derived["formula"] != record["formula"] \
            or tuple(growth) != act.growth:
        raise CertificateRejected("the recorded activation formula or growth bound does not "
                                  "follow from its definition (edited?)")
    return act


def check_certificate_file(path: Path | str, jobs: int = 1) -> ActivationCheckReport:
    """Re-verify an activation certificate from scratch (see the module docstring).

    As strict as the SELU checker: duplicate or unknown keys, a missing field, a value of
    the wrong type, a number spelt with non-ASCII characters or spaces, a statement that is
    not the claim's, and any recorded bound or counterexample value that differs from the
    recomputed one are rejected."""
    path = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"),
                          object_pairs_hook=_no_duplicates)
    except CertificateRejected as exc:
        return ActivationCheckReport(path, False, f"rejected: {exc}")
    except (OSError, ValueError) as exc:
        return ActivationCheckReport(path, False, f"unreadable: {exc}")
    try:
        return check_certificate_data(path, data, jobs)
    except (InputError, KeyError, IndexError, TypeError, ValueError, AttributeError,
            ArithmeticError) as exc:
        return ActivationCheckReport(path, False, f"rejected: {type(exc).__name__}: {exc}")


def check_certificate_data(path: str, data: Any, jobs: int) -> ActivationCheckReport:
    """Re-verify a certificate already read into ``data`` (``path`` names it in the report):
    its format, checksum, activation and claim, then every box (``jobs`` processes)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or \
            type(data.get("version")) is not int or data.get("version") != VERSION:
        return ActivationCheckReport(path, False, "not an activation certificate of this version")
    _keys(data, CERTIFICATE_KEYS, "certificate")
    if not isinstance(data["checksum"], str) or data["checksum"] != certificate_checksum(data):
        return ActivationCheckReport(path, False, "checksum mismatch (the file was edited)")
    act = _activation(data["activation"])
    if not isinstance(data["claim"], dict):
        raise CertificateRejected("claim: expected an object")
    claim = Claim.from_json(data["claim"])
    if claim.to_json() != data["claim"]:
        return ActivationCheckReport(path, False, "the claim's fields are not those of its "
                                     "statement (edited or unknown fields)")
    if data["statement"] != claim.statement:
        return ActivationCheckReport(path, False, "the recorded statement is not the claim's")
    bits = _integer(data["precision_bits"], "precision_bits")
    if not 30 <= bits <= 4096:
        raise ValueError("precision out of range")
    verdict = data["verdict"]
    if verdict not in ("holds", "refuted"):
        return ActivationCheckReport(path, False, f"unknown verdict {verdict!r}")
    report = ActivationCheckReport(path, False, "", claim.statement, verdict, statement=dict(
        name=claim.name, quantity=claim.quantity, relation=claim.relation,
        threshold=format_fraction(claim.threshold), domain=claim.domain.to_json(),
        activation=act.label()))
    if verdict == "refuted":
        if data["leaves"] != []:
            raise CertificateRejected("a refutation has no leaves")
        ce = _keys(data["counterexample"], COUNTEREXAMPLE_KEYS, "counterexample")
        point = [_number(x, "counterexample") for x in _list(ce["point"], "point", 4)]
        recorded = [_number(x, "counterexample value") for x in _list(ce["value"], "value", 2)]
        for x, (a, b) in zip(point, claim.domain.bounds):
            if not a <= x <= b:
                report.message = "the counterexample lies outside the domain"
                return report
        # the ends are read at the certificate's precision (as the search read them)
        with working_precision(bits=bits):
            value = point_enclosure(act, claim.quantity, point)
            violated = _violates(claim, value)
            ends = [_end(value, -1), _end(value, 1)]
        if not violated:
            report.message = "the counterexample does not violate the claim when re-evaluated"
            return report
        if ends != recorded:
            report.message = ("the recorded counterexample value is not the recomputed one "
                              f"[{format_fraction(ends[0])}, {format_fraction(ends[1])}]")
            return report
        report.valid = True
        report.value = [format_fraction(e) for e in ends]
        report.point = [format_fraction(x) for x in point]
        report.message = ("refuted: the value at the recorded point, re-evaluated from the "
                          "activation's definition, violates the claim")
        return report
    from snn_theory.certify.certificate.tiling import tiling_error

    if data["counterexample"] is not None:
        raise CertificateRejected("a proof has no counterexample")
    leaves: list[Box] = []
    recorded_bounds: list[Fraction] = []
    for k, leaf in enumerate(_list(data["leaves"], "leaves")):
        box, bound = _list(leaf, f"leaf {k}", 2)
        leaves.append([tuple(_number(e, "box") for e in _list(iv, "interval", 2))
                       for iv in _list(box, "box", 4)])  # type: ignore[misc]
        recorded_bounds.append(_number(bound, "bound"))
    if not leaves:
        raise CertificateRejected("a proof needs at least one leaf")
    problem = tiling_error(claim.domain.bounds, leaves)
    if problem:
        report.message = f"the boxes do not tile the domain: {problem}"
        return report
    cache = CellCache(act, bits, jobs)
    side = 1 if claim.kind == "max" else -1
    bounds: list[Fraction] = []
    try:
        with working_precision(bits=bits):
            cache.ensure([k for box in leaves for k in cover(*mv_range(box))],
                         cell_order(claim.quantity))
            for k, (box, recorded) in enumerate(zip(leaves, recorded_bounds)):
                bound, _, _ = box_bound(cache, claim.quantity, box, side)
                if bound is None or not claim.satisfied_by(bound):
                    report.message = f"box {k}: the recomputed bound does not prove the claim"
                    return report
                if bound != recorded:
                    report.message = (f"box {k}: the recorded bound {format_fraction(recorded)} "
                                      f"is not the recomputed {format_fraction(bound)}")
                    return report
                bounds.append(bound)
    finally:
        cache.close()
    end = max(bounds) if side > 0 else min(bounds)
    report.valid = True
    report.extremum = format_fraction(end)
    report.message = (f"proven: {claim.kind} {'≤' if side > 0 else '≥'} "
                      f"{decimal_text(end, side)} ({len(leaves)} boxes re-bounded from the "
                      "activation's definition)")
    return report
