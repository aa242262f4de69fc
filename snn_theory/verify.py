"""The search behind ``snn-theory verify-contraction``: interval branch-and-bound (MATH.md §7).

For a claim ``q ⋈ t`` on a domain box (:mod:`snn_theory.claims`) the search proves, refutes,
or gives up on the claim, and encloses the deciding extremum of q (the maximum for < and ≤,
the minimum for > and ≥):

* **Boxes.**  The domain is cut into a uniform initial grid (:data:`GRID_CELLS` cells per
  dimension), then boxes are bisected (always at their exact midpoint), so the leaf boxes form
  a guillotine tiling of the domain — exactly what the certificate checker re-derives.
* **Bounds.**  Every box bound is :func:`snn_theory.enclosure.bound` (forward-mode gradient
  enclosure + monotonicity reduction + centred form, in arb), at the precision stored with the
  box; the certificate checker recomputes exactly this.  A non-finite enclosure
  (:class:`ArithmeticError`) on a small box is retried at a higher precision; on a wide box it
  simply makes the box be split.
* **Splitting rule.**  A box that is not decided is bisected in the coordinate i maximising
  |∂_i q(face)|·w_i (gradient enclosure on the face the monotonicity reduction led to, times
  the box width): the term of the centred form's excess that halving removes most of.
  Coordinates fixed by the monotonicity reduction score 0.  Without a finite gradient the
  widest coordinate relative to the domain is cut.  (Measured against plain widest-first
  bisection: 4–80× fewer boxes, see ``benchmarks/bench_verify.py``.)
* **Moore–Skelboe order.**  Boxes wait in a priority queue by their bound (largest upper bound
  first for a max).  The *decided* end of the extremum enclosure is the worst bound of all
  boxes; the other end is the best rigorously evaluated point (ball value at the centre of
  each evaluated box's reduced face).  The search stops when the top box proves the claim and
  the enclosure is narrower than the tolerance, or — after a counterexample — when the
  enclosure is narrower than the tolerance.
* **Verdicts.**  ``holds`` only when every leaf bound proves the claim; ``refuted`` only with a
  point whose ball value violates the claim; ``undecided`` when the box or time budget ran out.

Work is spread over processes in rounds (a batch of boxes from the top of the queue is split
in parallel); the queue and the best point are saved to a state file periodically and on
Ctrl-C, so that ``--resume`` continues without redoing finished work.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import json
import math
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from flint import arb, ctx

from snn_theory import backends, enclosure
from snn_theory.claims import (  # noqa: F401  (decimal_text: re-exported)
    VARIABLE_NAMES,
    Claim,
    decimal_interval,
    decimal_text,
    format_fraction,
    parse_number,
)
from snn_theory.moment_map import InputError

#: Initial uniform grid, cells per dimension (μ, ω, ν, τ): coarse 2⁴ = 16 boxes, fine 8⁴ = 4096.
GRID_CELLS: dict[str, int] = {"coarse": 2, "fine": 8}
#: Working precision (bits) of the search; boxes that need more store their own.
DEFAULT_PRECISION = 64
#: A box whose every side is below this fraction of the domain side may raise its precision
#: on a non-finite enclosure (wider boxes are split instead).
_SMALL_BOX = Fraction(1, 2**12)
_MAX_PRECISION_FACTOR = 8
DEFAULT_TOLERANCE = Fraction(1, 10**6)
DEFAULT_MAX_BOXES = 400_000
STATE_VERSION = 1

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

        Closed forms: enclosures of λ01, α01 evaluated from MATH.md §3 (never decimal
        literals).  User values: balls containing the exact intervals.
        """
        old = ctx.prec
        ctx.prec = bits
        try:
            if self.closed_form:
                return backends.constants_function("arb")()
            return enclosure.interval_ball(*self.lam), enclosure.interval_ball(*self.alpha)
        finally:
            ctx.prec = old

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
        old = ctx.prec
        ctx.prec = 128
        try:
            lam01, alpha01 = backends.constants_function("arb")()
            lam_iv = (_parse_interval(lam, "--lam") if lam is not None
                      else (enclosure.lower(lam01), enclosure.upper(lam01)))
            alpha_iv = (_parse_interval(alpha, "--alpha") if alpha is not None
                        else (enclosure.lower(alpha01), enclosure.upper(alpha01)))
        finally:
            ctx.prec = old
        return cls(lam_iv, alpha_iv)


def _parse_interval(text: str, what: str) -> Interval:
    parts = str(text).split(":")
    if len(parts) == 1:
        x = parse_number(parts[0], what)
        lo = hi = x
    elif len(parts) == 2:
        lo, hi = parse_number(parts[0], what), parse_number(parts[1], what)
    else:
        raise InputError(f"{what}: {text!r} is not a number or an interval a:b")
    if lo > hi:
        raise InputError(f"{what}: interval {text!r} is reversed")
    if lo <= 0:
        raise InputError(f"{what}: must be > 0 (got {text!r})")
    return lo, hi


# ------------------------------------------------------------------------------ settings
@dataclass
class Settings:
    grid: str = "coarse"
    tolerance: Fraction = DEFAULT_TOLERANCE
    jobs: int = 1
    max_boxes: int = DEFAULT_MAX_BOXES
    time_limit: float | None = None
    precision: int = DEFAULT_PRECISION
    constants: Constants = field(default_factory=Constants)
    state_dir: Path | None = None
    resume: bool = False
    save_every: float = 5.0

    def key(self, claim: Claim) -> dict[str, Any]:
        """What a saved state must match to be resumed."""
        return {"version": STATE_VERSION, "claim": claim.to_json(), "grid": self.grid,
                "tolerance": format_fraction(self.tolerance), "precision": self.precision,
                "constants": self.constants.to_json()}


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


@dataclass
class ClaimResult:
    """Outcome of one claim.  ``extremum`` = (lower, upper) exact rationals: a certified
    enclosure of the max (kind "max") or min of the quantity over the domain."""

    claim: Claim
    verdict: str  # holds | refuted | undecided
    extremum: tuple[Fraction, Fraction] | None
    witness: tuple[list[Fraction], tuple[Fraction, Fraction]] | None
    counterexample: tuple[list[Fraction], tuple[Fraction, Fraction]] | None
    leaves: list[Evaluated]
    seconds: float
    max_depth: int
    precision: int
    constants: Constants
    reason: str = ""
    certificate: str | None = None
    #: precisions the witness / counterexample values were computed at
    witness_bits: int | None = None
    counterexample_bits: int | None = None

    @property
    def holds(self) -> bool | None:
        return {"holds": True, "refuted": False}.get(self.verdict)

    def certificate_data(self) -> dict[str, Any]:
        """The dict :func:`snn_theory.certificate.write_certificate` takes."""
        f = format_fraction
        boxes = []
        for leaf in self.leaves:
            entry: list = [[f(a), f(b)] for a, b in leaf.box]
            entry.append(None if leaf.bound is None else f(leaf.bound))
            if leaf.bits != self.precision:
                entry.append(leaf.bits)
            boxes.append(entry)
        def point(p: tuple | None, bits: int | None) -> dict | None:
            if p is None:
                return None
            entry: dict[str, Any] = {"point": [f(x) for x in p[0]]}
            if bits is not None and bits != self.precision:
                entry["precision_bits"] = bits
            return entry

        data: dict[str, Any] = {
            "claim": self.claim.to_json(),
            "verdict": self.verdict,
            "constants": self.constants.to_json(),
            "precision_bits": self.precision,
        }
        if self.verdict == "refuted":
            data["counterexample"] = point(self.counterexample, self.counterexample_bits)
        else:
            data["extremum"] = None if self.extremum is None else {
                "kind": self.claim.kind, "lower": f(self.extremum[0]),
                "upper": f(self.extremum[1])}
            data["witness"] = point(self.witness, self.witness_bits)
            data["boxes"] = boxes
        return data

    def json_entry(self) -> dict[str, Any]:
        """The ``--json`` entry of issue 4 (extremum ends rounded outward to 17 digits)."""
        ce = None
        if self.counterexample is not None:
            point, (lo, hi) = self.counterexample
            ce = {n: format_fraction(x) for n, x in zip(VARIABLE_NAMES, point)}
            ce["value"] = decimal_interval(lo, hi, exclude=self.claim.threshold)
        ext = None
        if self.extremum is not None:
            ext = {"kind": self.claim.kind, "lower": decimal_text(self.extremum[0], -1),
                   "upper": decimal_text(self.extremum[1], 1)}
        return {"name": self.claim.name, "statement": self.claim.statement, "holds": self.holds,
                "proof": "interval" if self.verdict == "holds" else None,
                "constants": self.constants.describe(),
                "extremum": ext, "counterexample": ce, "boxes": len(self.leaves),
                "seconds": round(self.seconds, 3), "certificate": self.certificate}


# ------------------------------------------------------------------------------ per-box work
_WORKER: dict[str, Any] = {}


def _setup(quantity: str, side: int, constants: Constants, precision: int,
           domain_widths: Sequence[Fraction], worker: bool = False) -> None:
    """Per-process state (python-flint's precision is process-global; set it here)."""
    if worker:  # Ctrl-C is handled by the parent, which saves the state
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER.clear()
    _WORKER.update(quantity=quantity, side=side, constants=constants, precision=precision,
                   widths=list(domain_widths), balls={})
    ctx.prec = precision


def _constant_balls(bits: int) -> tuple[arb, arb]:
    cache = _WORKER["balls"]
    if bits not in cache:
        cache[bits] = _WORKER["constants"].balls(bits)
    return cache[bits]


def _is_small(box: Box) -> bool:
    return all((hi - lo) <= w * _SMALL_BOX for (lo, hi), w in zip(box, _WORKER["widths"]))


def evaluate_box(box: Box, depth: int) -> Evaluated:
    """Bound ``box`` rigorously (raising the precision where a small box needs it) and
    evaluate the quantity at the centre of the reduced face."""
    quantity, side = _WORKER["quantity"], _WORKER["side"]
    bits = _WORKER["precision"]
    small = _is_small(box)
    result = face = None
    while True:
        ctx.prec = bits
        lam, alpha = _constant_balls(bits)
        try:
            result, face = enclosure.bound(quantity, box, lam, alpha, side)
            break
        except ArithmeticError:
            if not small or bits >= _WORKER["precision"] * _MAX_PRECISION_FACTOR:
                bits = _WORKER["precision"]
                face = list(box)
                break
            bits *= 2
    ctx.prec = bits
    lam, alpha = _constant_balls(bits)
    point = [(lo + hi) / 2 for lo, hi in face]
    p_lo = p_hi = None
    try:
        value = enclosure.point_value(quantity, point, lam, alpha)
        p_lo, p_hi = enclosure.lower(value), enclosure.upper(value)
    except ArithmeticError:
        pass
    ctx.prec = _WORKER["precision"]
    return Evaluated(list(box), result, [tuple(iv) for iv in face], bits if result is not None
                     else _WORKER["precision"], depth, point, p_lo, p_hi, point_bits=bits)


def sharpen_point(item: Evaluated, claim: Claim) -> Evaluated:
    """``item`` with its point value re-evaluated at doubled precisions (up to
    :data:`_MAX_PRECISION_FACTOR` × the base) while the ball straddles the claim's threshold.

    A point whose ball contains the threshold neither refutes the claim nor is harmless; at
    the base precision such a point (a claim false by 3e-18, say) would stay undecided however
    finely the boxes are split, because splitting does not shrink a *point* ball — only
    precision does.  Uses this process's constants (:func:`_setup` must have run).
    """
    lo, hi = item.point_lo, item.point_hi
    if lo is None or claim.satisfied_by(lo) == claim.satisfied_by(hi):
        return item
    bits = max(item.point_bits or item.bits, _WORKER["precision"])
    old = ctx.prec
    try:
        while bits < _WORKER["precision"] * _MAX_PRECISION_FACTOR:
            bits *= 2
            ctx.prec = bits
            lam, alpha = _constant_balls(bits)
            try:
                value = enclosure.point_value(_WORKER["quantity"], item.point, lam, alpha)
                lo, hi = enclosure.lower(value), enclosure.upper(value)
            except ArithmeticError:
                continue
            if claim.satisfied_by(lo) == claim.satisfied_by(hi):
                break
    finally:
        ctx.prec = old
    return dataclasses.replace(item, point_lo=lo, point_hi=hi, point_bits=bits)


def _gradient(quantity: str, balls: list[arb], lam: arb, alpha: arb) -> Sequence[arb]:
    """Gradient enclosure over the box, by the same means as :func:`enclosure.bound` (the
    compact gradient forms of :func:`snn_theory.formulas.compact_gradient`)."""
    return backends.value_and_gradient("arb", quantity)(*balls, lam, alpha)[1:]


def split_coordinate(item: Evaluated) -> int:
    """The coordinate to bisect: argmax |∂_i q(face)|·w_i (see module docstring)."""
    box, face = item.box, item.face
    widths = _WORKER["widths"]
    ctx.prec = item.bits
    try:
        if item.bound is not None:
            lam, alpha = _constant_balls(item.bits)
            balls = [enclosure.interval_ball(lo, hi) for lo, hi in face]
            grad = _gradient(_WORKER["quantity"], balls, lam, alpha)
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
    finally:
        ctx.prec = _WORKER["precision"]
    return max(range(len(box)), key=lambda i: (box[i][1] - box[i][0]) / widths[i])


def bisect(box: Box, i: int) -> tuple[Box, Box]:
    lo, hi = box[i]
    mid = (lo + hi) / 2
    left, right = list(box), list(box)
    left[i] = (lo, mid)
    right[i] = (mid, hi)
    return left, right


def _eval_task(task: tuple[Box, int]) -> Evaluated:
    return evaluate_box(*task)


def _split_task(item: Evaluated) -> list[Evaluated]:
    i = split_coordinate(item)
    return [evaluate_box(child, item.depth + 1) for child in bisect(item.box, i)]


def initial_grid(claim: Claim, cells: int) -> list[Box]:
    """The uniform grid: ``cells`` equal parts per dimension (exact rational cuts)."""
    axes = []
    for lo, hi in claim.domain.bounds:
        cuts = [lo + (hi - lo) * k / cells for k in range(cells + 1)]
        axes.append([(cuts[k], cuts[k + 1]) for k in range(cells)])
    return [list(b) for b in itertools.product(*axes)]


# ------------------------------------------------------------------------------ the search
class Runner:
    """Evaluates tasks in this process (jobs = 1) or in a pool of forked workers."""

    def __init__(self, jobs: int):
        self.jobs = max(1, int(jobs))
        self.pool = None
        self.setup_args: tuple | None = None

    def configure(self, *setup_args: Any) -> None:
        _setup(*setup_args)
        # compile the evaluators before forking, so that the workers inherit them
        backends.value_and_gradient("arb", setup_args[0])
        backends.evaluator("arb", (setup_args[0],))
        if self.jobs > 1:
            self.close()
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self.pool = multiprocessing.get_context(method).Pool(
                self.jobs, initializer=_setup, initargs=(*setup_args, True))

    def map(self, fn: Callable, tasks: list) -> list:
        if self.pool is None or len(tasks) < 2:
            return [fn(t) for t in tasks]
        chunk = max(1, len(tasks) // (self.jobs * 8))
        return self.pool.map(fn, tasks, chunksize=chunk)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


ProgressFn = Callable[[Claim, int, tuple[Fraction, Fraction] | None], None]


def _state_path(settings: Settings, claim: Claim) -> Path | None:
    if settings.state_dir is None:
        return None
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in claim.name)
    return Path(settings.state_dir) / f"{safe}.json"


def _save_state(path: Path | None, settings: Settings, claim: Claim, heap: list,
                best: Evaluated | None, counterexample: Evaluated | None, elapsed: float,
                done: bool = False) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"key": settings.key(claim), "elapsed": elapsed, "done": done,
            "boxes": [entry[2].to_json() for entry in heap],
            "best": None if best is None else best.to_json(),
            "counterexample": None if counterexample is None else counterexample.to_json()}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")))
    os.replace(tmp, path)


def _load_state(path: Path | None, settings: Settings, claim: Claim) -> dict | None:
    if path is None or not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        if data.get("key") != settings.key(claim):
            return None
        return data
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _inside(box: Sequence[Interval], claim: Claim) -> bool:
    """Whether ``box`` is a non-empty sub-box of the claim's domain (exact comparison)."""
    return len(box) == 4 and all(
        a <= lo <= hi <= b for (lo, hi), (a, b) in zip(box, claim.domain.bounds))


def _loaded_boxes(state: dict, claim: Claim) -> tuple[list, list] | None:
    """(tasks for the saved boxes, tasks for the saved witness/counterexample boxes) from a
    resume state, or None when the state cannot be used (it is then ignored).

    A state file is a cache, never evidence: only *boxes* are taken from it, and each must
    be proven to lie in the claim's domain — the saved leaves must tile the domain exactly
    (:func:`snn_theory.certificate.tiling_error`, which also rejects a box sticking out),
    and a saved witness/counterexample box outside the domain is dropped.  Everything
    else (bounds, faces, points, values, precisions) is re-derived by evaluating the boxes
    afresh; depths are clamped to be non-negative integers.
    """
    from snn_theory.certificate import tiling_error

    def task(entry: Any) -> tuple[Box, int]:
        item = Evaluated.from_json(entry)
        depth = item.depth if isinstance(item.depth, int) and 0 <= item.depth < 10_000 else 0
        return [(Fraction(lo), Fraction(hi)) for lo, hi in item.box], depth

    try:
        saved = [task(entry) for entry in state["boxes"]]
        extra = [task(state[k]) for k in ("best", "counterexample") if state.get(k)]
    except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError):
        return None
    if not saved or any(not _inside(box, claim) for box, _ in saved):
        return None
    if tiling_error(claim.domain.bounds, [box for box, _ in saved]) is not None:
        return None
    return saved, [(box, depth) for box, depth in extra if _inside(box, claim)]


def verify_claim(claim: Claim, settings: Settings, runner: Runner | None = None,
                 progress: ProgressFn | None = None) -> ClaimResult:
    """Run the branch-and-bound for one claim (see the module docstring for guarantees)."""
    own_runner = runner is None
    runner = runner or Runner(settings.jobs)
    try:
        return _verify(claim, settings, runner, progress)
    finally:
        if own_runner:
            runner.close()


def _verify(claim: Claim, settings: Settings, runner: Runner,
            progress: ProgressFn | None) -> ClaimResult:
    side = 1 if claim.kind == "max" else -1
    widths = [hi - lo for lo, hi in claim.domain.bounds]
    runner.configure(claim.quantity, side, settings.constants, settings.precision, widths)
    started = time.monotonic()
    state_path = _state_path(settings, claim)
    counter = itertools.count()
    heap: list[tuple[Any, int, Evaluated]] = []
    best: Evaluated | None = None
    counterexample: Evaluated | None = None
    previous = 0.0

    def key(item: Evaluated) -> Any:
        # heapq is a min-heap: the box with the worst (largest signed) bound first
        return (0, 0) if item.bound is None else (1, -side * item.bound)

    def point_end(item: Evaluated) -> Fraction | None:
        """The attained end of the ball at the point: lower end (max) / upper end (min)."""
        return item.point_lo if side > 0 else item.point_hi

    def violates(item: Evaluated) -> bool:
        end = point_end(item)
        return end is not None and not claim.satisfied_by(end)

    def add(item: Evaluated) -> None:
        nonlocal best, counterexample
        item = sharpen_point(item, claim)
        heapq.heappush(heap, (key(item), next(counter), item))
        end = point_end(item)
        if end is not None and (best is None or side * end > side * point_end(best)):
            best = item
        if counterexample is None and violates(item):
            counterexample = item

    state = _load_state(state_path, settings, claim) if settings.resume else None
    loaded = _loaded_boxes(state, claim) if state is not None else None
    if loaded is not None:
        # The state file is a cache, not a proof: its boxes must tile the domain, and every
        # bound, witness and counterexample is recomputed (one bound per saved box; the
        # splitting that produced them is not redone).
        previous = float(state.get("elapsed", 0.0))
        boxes, extra = loaded
        for item in runner.map(_eval_task, boxes):
            add(item)
        for item in runner.map(_eval_task, extra):
            item = sharpen_point(item, claim)
            end = point_end(item)
            if end is not None and (best is None or side * end > side * point_end(best)):
                best = item
            if counterexample is None and violates(item):
                counterexample = item
    else:
        tasks = [(b, 0) for b in initial_grid(claim, GRID_CELLS[settings.grid])]
        for item in runner.map(_eval_task, tasks):
            add(item)

    batch = 1 if runner.pool is None else runner.jobs * 64
    last_save = time.monotonic()
    reason = ""
    work: list[Evaluated] = []
    in_flight: list[Evaluated] = []
    try:
        while True:
            top = heap[0][2]
            decided_end = top.bound
            gap_ok = (decided_end is not None and best is not None and
                      side * (decided_end - point_end(best)) <= settings.tolerance)
            if gap_ok and (claim.satisfied_by(decided_end) or counterexample is not None):
                break
            elapsed = time.monotonic() - started
            if len(heap) >= settings.max_boxes:
                reason = f"box budget ({settings.max_boxes}) exhausted"
                break
            if settings.time_limit is not None and previous + elapsed >= settings.time_limit:
                reason = f"time limit ({settings.time_limit:g} s) reached"
                break
            # pop the boxes that need splitting, worst first
            while heap and len(work) < batch:
                item = heap[0][2]
                needs = (item.bound is None or not claim.satisfied_by(item.bound) or
                         best is None or side * (item.bound - point_end(best)) > settings.tolerance)
                if not needs:
                    break
                work.append(heapq.heappop(heap)[2])
            if not work:
                break
            results = runner.map(_split_task, work)
            in_flight = [child for children in results for child in children]
            for child in in_flight:
                add(child)
            work, in_flight = [], []  # one step: no interrupt between the two
            if progress is not None:
                progress(claim, len(heap), _enclosure(heap, best, side))
            if state_path is not None and time.monotonic() - last_save >= settings.save_every:
                _save_state(state_path, settings, claim, heap, best, counterexample,
                            previous + time.monotonic() - started)
                last_save = time.monotonic()
    except KeyboardInterrupt:
        # put the boxes of the round in flight back (their children are dropped), so that the
        # saved queue tiles the domain exactly; then save and let the CLI report it
        if work or in_flight:
            dropped = {id(child) for child in in_flight}
            kept = [entry for entry in heap if id(entry[2]) not in dropped]
            heap[:] = kept
            heapq.heapify(heap)
            for item in work:
                heapq.heappush(heap, (key(item), next(counter), item))
        _save_state(state_path, settings, claim, heap, best, counterexample,
                    previous + time.monotonic() - started)
        raise
    elapsed = previous + time.monotonic() - started
    # the final queue is kept as the state: --resume of a finished claim redoes nothing
    _save_state(state_path, settings, claim, heap, best, counterexample, elapsed, done=True)
    leaves = [entry[2] for entry in heap]
    best, counterexample = _checked_points(claim, best, counterexample, violates)
    enclosure_ = _enclosure(heap, best, side)
    if enclosure_ is not None and enclosure_[0] > enclosure_[1]:
        # impossible for rigorous enclosures: never report a verdict on top of it
        verdict, enclosure_, counterexample = "undecided", None, None
        reason = "inconsistent extremum enclosure (lower > upper): no verdict"
    elif counterexample is not None:
        verdict = "refuted"
    elif all(leaf.bound is not None and claim.satisfied_by(leaf.bound) for leaf in leaves):
        verdict = "holds"
    else:
        verdict = "undecided"
        reason = reason or "not every box could be decided"
    witness = None
    if best is not None:
        witness = (best.point, (best.point_lo, best.point_hi))
    ce = None
    if counterexample is not None:
        ce = (counterexample.point, (counterexample.point_lo, counterexample.point_hi))
    return ClaimResult(claim, verdict, enclosure_, witness, ce, leaves, elapsed,
                       max((leaf.depth for leaf in leaves), default=0), settings.precision,
                       settings.constants, reason,
                       witness_bits=None if best is None else best.point_bits,
                       counterexample_bits=None if counterexample is None
                       else counterexample.point_bits)


def _checked_points(claim: Claim, best: Evaluated | None, counterexample: Evaluated | None,
                    violates: Callable[[Evaluated], bool]
                    ) -> tuple[Evaluated | None, Evaluated | None]:
    """The witness and the counterexample, each kept only if its point lies in the domain
    (and the counterexample only if its value violates the claim) — the last line of defence
    between a point of unknown origin and a printed verdict."""
    def ok(item: Evaluated | None) -> bool:
        return item is not None and _inside([(x, x) for x in item.point], claim)

    return (best if ok(best) else None,
            counterexample if ok(counterexample) and violates(counterexample) else None)


def _enclosure(heap: list, best: Evaluated | None,
               side: int) -> tuple[Fraction, Fraction] | None:
    """(lower, upper) of the extremum: decided end from every box bound (the top of the heap
    holds the worst one, or a box without a finite bound), other end from the best evaluated
    point; None while a box has no finite bound or no point is evaluated."""
    if not heap or best is None:
        return None
    worst = heap[0][2].bound
    if worst is None:
        return None
    if side > 0:
        return best.point_lo, worst
    return worst, best.point_hi
