"""The search behind ``snn-theory verify-contraction``: interval branch-and-bound (docs/mathematics.md §7).

For a claim ``q ⋈ t`` on a domain box (:mod:`snn_theory.claims`) the search proves, refutes,
or gives up on the claim — deciding it first — and encloses the deciding extremum of q (the
maximum for < and ≤, the minimum for > and ≥) as far as asked:

* **Boxes.**  The domain is cut into a uniform initial grid (:data:`GRID_CELLS` cells per
  dimension), then boxes are bisected (always at their exact midpoint), so the leaf boxes form
  a guillotine tiling of the domain — exactly what the certificate checker re-derives.
* **Bounds.**  Every box bound is :func:`snn_theory.enclosure.bound` (cheap whole-box
  enclosure — for S also ‖H‖_F/√2 ≤ S ≤ ‖H‖_F —, then forward-mode gradient enclosure +
  monotonicity reduction + centred form, in arb), at the precision stored with the box; the
  certificate checker recomputes exactly this (never weaker than what the search stored).
  While deciding without a tolerance the search stops at the cheap bound when it already
  proves the claim.  A non-finite enclosure (:class:`ArithmeticError`) on a small box is
  retried at a higher precision; on a wide box it simply makes the box be split.
* **Deciding.**  A box is *decided* as soon as its bound proves the claim and is never split
  again.  Open boxes are split alternately where deciding is closest (the bound nearest the
  threshold) and where it is farthest (the worst bound: where a counterexample is likeliest);
  every evaluated box contributes a rigorously evaluated point (ball value at the centre of
  its reduced face), and the first point that violates the claim refutes it.  The effort thus
  depends on the claim's margin: ``spectral_norm<5`` on Theorem 1's Ω is proven by the 16
  boxes of the initial grid.
* **Splitting rule.**  A box is bisected in the coordinate i maximising |∂_i q(face)|·w_i
  (gradient enclosure on the face the monotonicity reduction led to, times the box width):
  the term of the centred form's excess that halving removes most of.  Coordinates fixed by
  the monotonicity reduction score 0.  Without a finite gradient the widest coordinate
  relative to the domain is cut.
* **Refining** (only with a tolerance).  After the claim is decided, Moore–Skelboe order on
  all leaves (largest upper bound first for a max) narrows the extremum enclosure: its
  *decided* end is the worst bound of all boxes, its other end the best evaluated point.  It
  stops when the enclosure is narrower than the tolerance, when the box or time budget is
  spent, or when it stalls (the width not shrinking by 1 % while the boxes double, e.g. when
  an interval of constants limits it); the verdict stands and the enclosure reached is
  reported with ``tolerance_met``.
* **Verdicts.**  ``holds`` only when every leaf bound proves the claim; ``refuted`` only with a
  point whose ball value violates the claim; ``undecided`` when the box or time budget ran out
  first.  ``strategy="enclose"`` reproduces the former order (refine the extremum to the
  tolerance, then decide) as the benchmark's baseline.

Work is spread over processes in rounds (a batch of boxes from the top of the queue is split
in parallel); the leaves and the best point are saved to a state file periodically and on
Ctrl-C, so that ``--resume`` continues without redoing finished work (the state is removed
once a claim is decided and its enclosure meets the tolerance asked for).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import json
import math
import multiprocessing
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from flint import arb, ctx

from snn_theory import backends, enclosure
from snn_theory.claims import Claim
from snn_theory.errors import InputError
from snn_theory.exact import decimal_interval, decimal_text, format_fraction, parse_exact
from snn_theory.files import atomic_write
from snn_theory.formulas import VARIABLE_NAMES

#: Initial uniform grid, cells per dimension (μ, ω, ν, τ): coarse 2⁴ = 16 boxes, fine 8⁴ = 4096.
GRID_CELLS: dict[str, int] = {"coarse": 2, "fine": 8}
#: Working precision (bits) of the search; boxes that need more store their own.
DEFAULT_PRECISION = 64
#: A box whose every side is below this fraction of the domain side may raise its precision
#: on a non-finite enclosure (wider boxes are split instead).
_SMALL_BOX = Fraction(1, 2**12)
_MAX_PRECISION_FACTOR = 8
#: The extremum tolerance ``reproduce`` asks for (the search itself refines only when asked).
DEFAULT_TOLERANCE = Fraction(1, 10**6)
DEFAULT_MAX_BOXES = 400_000
#: Search strategies: "decide" (the claim first, then the enclosure as far as asked) and
#: "enclose" (the former strategy, kept as the benchmark's baseline: refine the extremum
#: to the tolerance before deciding).
STRATEGIES: tuple[str, ...] = ("decide", "enclose")
#: Refinement of the enclosure stops when the box count doubled (and grew by at least this
#: many) without the enclosure narrowing by 1 % — e.g. when constant intervals limit it.
_STALL_BOXES = 2000
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

        Closed forms: enclosures of λ01, α01 evaluated from docs/mathematics.md §3 (never decimal
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


# ------------------------------------------------------------------------------ settings
@dataclass
class Settings:
    grid: str = "coarse"
    #: Width the extremum enclosure is refined to after the claim is decided (None: decide
    #: only, the enclosure is what deciding reached).
    tolerance: Fraction | None = None
    jobs: int = 1
    max_boxes: int = DEFAULT_MAX_BOXES
    time_limit: float | None = None
    precision: int = DEFAULT_PRECISION
    constants: Constants = field(default_factory=Constants)
    state_dir: Path | None = None
    resume: bool = False
    save_every: float = 5.0
    strategy: str = "decide"
    #: Boxes split per round (None: 1 in-process, 64 per worker with a pool).  A fixed
    #: value makes the leaves — and so the certificate — independent of --jobs.
    round_size: int | None = None

    def key(self, claim: Claim) -> dict[str, Any]:
        """What a saved state must match to be resumed (the tolerance is not part of it: the
        saved leaves tile the domain whatever the tolerance was)."""
        return {"version": STATE_VERSION, "claim": claim.to_json(), "grid": self.grid,
                "precision": self.precision, "constants": self.constants.to_json()}


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
    #: The tolerance asked for (None: decide only) and whether the enclosure met it.
    tolerance: Fraction | None = None
    tolerance_met: bool | None = None
    #: What happened to ``--resume``: "resumed" (saved boxes re-proven), "no state" (none
    #: saved for this claim), "unusable state" (saved for other settings, or damaged), or
    #: "" (no resume asked).
    resume: str = ""
    #: Leaf boxes decided by their bound when the search stopped, and the others.
    decided: int = 0

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
        """The ``--json`` entry (extremum ends rounded outward to 17 digits)."""
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
                "boxes_decided": self.decided,
                "tolerance": None if self.tolerance is None else format_fraction(self.tolerance),
                "tolerance_met": self.tolerance_met, "reason": self.reason or None,
                "seconds": round(self.seconds, 3), "certificate": self.certificate}


# ------------------------------------------------------------------------------ per-box work
_WORKER: dict[str, Any] = {}


def _setup(quantity: str, side: int, constants: Constants, precision: int,
           domain_widths: Sequence[Fraction], claim: Claim | None = None,
           worker: bool = False) -> None:
    """Per-process state (python-flint's precision is process-global; set it here).
    ``claim``: boxes evaluated with ``early=True`` stop at the first bound that decides it."""
    if worker:  # Ctrl-C is handled by the parent, which saves the state
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER.clear()
    _WORKER.update(quantity=quantity, side=side, constants=constants, precision=precision,
                   widths=list(domain_widths), balls={},
                   decides=None if claim is None else claim.satisfied_by)
    ctx.prec = precision


def _constant_balls(bits: int) -> tuple[arb, arb]:
    cache = _WORKER["balls"]
    if bits not in cache:
        cache[bits] = _WORKER["constants"].balls(bits)
    return cache[bits]


def _is_small(box: Box) -> bool:
    return all((hi - lo) <= w * _SMALL_BOX for (lo, hi), w in zip(box, _WORKER["widths"]))


def evaluate_box(box: Box, depth: int, early: bool = False) -> Evaluated:
    """Bound ``box`` rigorously (raising the precision where a small box needs it) and
    evaluate the quantity at the centre of the reduced face.  ``early``: stop at the cheap
    whole-box bound when it already decides the claim (:func:`enclosure.bound`)."""
    quantity, side = _WORKER["quantity"], _WORKER["side"]
    decides = _WORKER["decides"] if early else None
    bits = _WORKER["precision"]
    small = _is_small(box)
    result = face = None
    while True:
        ctx.prec = bits
        lam, alpha = _constant_balls(bits)
        try:
            result, face = enclosure.bound(quantity, box, lam, alpha, side, decides)
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


def _eval_task(task: tuple[Box, int, bool]) -> Evaluated:
    return evaluate_box(*task)


def _split_task(task: tuple[Evaluated, bool]) -> list[Evaluated]:
    item, early = task
    i = split_coordinate(item)
    return [evaluate_box(child, item.depth + 1, early) for child in bisect(item.box, i)]


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
        """``setup_args``: those of :func:`_setup` (without ``worker``)."""
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


@dataclass(frozen=True)
class SearchProgress:
    """What the progress callback is told after each round of the search."""

    phase: str  # "deciding": boxes are split until each bound decides the claim; "refining"
    boxes: int  # leaf boxes
    decided: int  # leaf boxes whose bound decides the claim (the others are open)
    enclosure: tuple[Fraction, Fraction] | None  # current certified extremum enclosure
    refuted: bool  # a counterexample was found


ProgressFn = Callable[[Claim, SearchProgress], None]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a search.  ``saved``: the state file written (None: nothing written)."""

    def __init__(self, saved: Path | None):
        super().__init__()
        self.saved = saved


def _state_path(settings: Settings, claim: Claim) -> Path | None:
    if settings.state_dir is None:
        return None
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in claim.name)
    return Path(settings.state_dir) / f"{safe}.json"


def _save_state(path: Path | None, settings: Settings, claim: Claim, leaves: Sequence[Evaluated],
                best: Evaluated | None, counterexample: Evaluated | None, elapsed: float,
                done: bool = False) -> Path | None:
    """Write the state atomically; returns the path written (None: no state directory)."""
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"key": settings.key(claim), "elapsed": elapsed, "done": done,
            "boxes": [leaf.to_json() for leaf in leaves],
            "best": None if best is None else best.to_json(),
            "counterexample": None if counterexample is None else counterexample.to_json()}
    atomic_write(path, json.dumps(data, separators=(",", ":")))
    return path


def _remove_state(path: Path | None) -> None:
    """Delete a finished claim's state (and the state directory once it is empty)."""
    if path is None:
        return
    for p in (path, path.with_name(path.name + ".tmp")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
    try:
        path.parent.rmdir()
    except OSError:
        pass  # not empty (other claims' states) or already gone


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
    """Run the branch-and-bound for one claim (see the module docstring for guarantees).

    Raises :class:`InputError` for a box budget below the initial grid or an unknown
    strategy, :class:`Interrupted` on Ctrl-C (after saving the state, if a state directory
    is set).
    """
    if settings.strategy not in STRATEGIES:
        raise InputError(f"unknown strategy {settings.strategy!r}; use {', '.join(STRATEGIES)}")
    grid_boxes = GRID_CELLS[settings.grid] ** len(VARIABLE_NAMES)
    if settings.max_boxes < grid_boxes:
        raise InputError(f"--max-boxes {settings.max_boxes} is below the {grid_boxes} boxes of "
                         f"the initial grid (--grid {settings.grid})")
    own_runner = runner is None
    runner = runner or Runner(settings.jobs)
    caller_precision = ctx.prec  # the in-process search sets arb's process-wide precision
    try:
        return _Search(claim, settings, runner, progress).run()
    finally:
        ctx.prec = caller_precision
        if own_runner:
            runner.close()



def verify_claims(claims: Sequence[Claim], settings: Settings, certificate_dir: Path | None,
                  progress: ProgressFn | None = None,
                  done: Callable[[ClaimResult], None] | None = None) -> list[ClaimResult]:
    """The verifier's entry point: :func:`verify_claim` for each claim in turn, with one
    worker pool for all of them, each certificate written to ``certificate_dir``
    (:func:`snn_theory.certificate.write_certificate`; none for an undecided claim, and none
    at all when ``certificate_dir`` is None) and its path recorded in the result.

    ``progress`` is the search's callback; ``done(result)`` is called after each claim (its
    certificate written).  The verdicts are the caller's to present.
    """
    from snn_theory.certificate import write_certificate

    results = []
    with Runner(settings.jobs) as runner:
        for claim in claims:
            result = verify_claim(claim, settings, runner, progress)
            if certificate_dir is not None:
                path = write_certificate(certificate_dir, result.certificate_data())
                result.certificate = None if path is None else str(path)
            results.append(result)
            if done is not None:
                done(result)
    return results


class _Search:
    """One claim's search.  Deciding phase: leaves are *decided* (their bound proves the
    claim; never split again) or *open*; open boxes are split, alternately the one whose
    bound is closest to deciding and the worst one (where a counterexample is likeliest),
    until none is open or a point violates the claim.  Refining phase (only with a
    tolerance): Moore–Skelboe on all leaves, worst bound first, until the extremum
    enclosure is narrower than the tolerance or the budget or progress runs out."""

    def __init__(self, claim: Claim, settings: Settings, runner: Runner,
                 progress: ProgressFn | None):
        self.claim, self.settings, self.runner, self.progress = claim, settings, runner, progress
        self.side = 1 if claim.kind == "max" else -1
        self.serial = itertools.count()
        self.phase = "deciding"
        self.decided: list[Evaluated] = []
        self.decided_worst: Fraction | None = None
        self.open: dict[int, Evaluated] = {}
        self.near: list = []  # (closeness to deciding, serial) of open boxes
        self.far: list = []  # (worst bound first, serial) of open boxes
        self.turn = 0
        self.heap: list = []  # refining phase: every leaf, worst bound first
        self.n_decided = 0  # refining phase: leaves in the heap that prove the claim
        self.best: Evaluated | None = None
        self.counterexample: Evaluated | None = None
        self.work: list[Evaluated] = []
        self.in_flight: list[Evaluated] = []
        self.previous = 0.0
        self.started = time.monotonic()
        self.state_path = _state_path(settings, claim)
        self.last_save = time.monotonic()
        # Stop at cheap bounds that decide only when no enclosure is asked for: refining
        # would then have to split those boxes again for their tight bounds.
        self.early = settings.strategy == "decide" and settings.tolerance is None

    # -------------------------------------------------------------------- bookkeeping
    def point_end(self, item: Evaluated) -> Fraction | None:
        """The attained end of the ball at the point: lower end (max) / upper end (min)."""
        return item.point_lo if self.side > 0 else item.point_hi

    def violates(self, item: Evaluated) -> bool:
        end = self.point_end(item)
        return end is not None and not self.claim.satisfied_by(end)

    def worst_key(self, item: Evaluated) -> Any:
        # heapq is a min-heap: the box with the worst (largest signed) bound first
        return (0, 0) if item.bound is None else (1, -self.side * item.bound)

    def note_point(self, item: Evaluated) -> None:
        end = self.point_end(item)
        if end is not None and (self.best is None or
                                self.side * end > self.side * self.point_end(self.best)):
            self.best = item
        if self.counterexample is None and self.violates(item):
            self.counterexample = item

    def proves(self, item: Evaluated) -> bool:
        return item.bound is not None and self.claim.satisfied_by(item.bound)

    def add(self, item: Evaluated) -> None:
        item = sharpen_point(item, self.claim)
        self.note_point(item)
        n = next(self.serial)
        if self.phase == "refining":
            heapq.heappush(self.heap, (self.worst_key(item), n, item))
            self.n_decided += self.proves(item)
        elif self.proves(item):
            self.decided.append(item)
            if self.decided_worst is None or self.side * item.bound > self.side * self.decided_worst:
                self.decided_worst = item.bound
        else:
            self.open[n] = item
            gap = (1, 0) if item.bound is None else (0, self.side * (item.bound - self.claim.threshold))
            heapq.heappush(self.near, (gap, n))
            heapq.heappush(self.far, (self.worst_key(item), n))

    def _top(self, heap: list) -> int | None:
        while heap and heap[0][1] not in self.open:
            heapq.heappop(heap)
        return heap[0][1] if heap else None

    def take_open(self) -> Evaluated:
        """The next open box to split: alternately the nearest to deciding and the worst."""
        self.turn ^= 1
        n = self._top(self.near if self.turn else self.far)
        return self.open.pop(n)

    def leaves(self) -> list[Evaluated]:
        if self.phase == "refining":
            return [entry[2] for entry in self.heap]
        return self.decided + list(self.open.values())

    def leaf_count(self) -> int:
        return len(self.heap) if self.phase == "refining" else len(self.decided) + len(self.open)

    def enclosure(self) -> tuple[Fraction, Fraction] | None:
        """(lower, upper) of the extremum: decided end from every box bound, other end from
        the best evaluated point; None while a box has no finite bound or no point is known."""
        if self.best is None:
            return None
        if self.phase == "refining":
            worst = self.heap[0][2].bound if self.heap else None
        else:
            worst = self.decided_worst
            n = self._top(self.far)
            if n is not None:
                bound = self.open[n].bound
                if bound is None:
                    return None
                if worst is None or self.side * bound > self.side * worst:
                    worst = bound
        if worst is None:
            return None
        return (self.point_end(self.best), worst) if self.side > 0 else (worst, self.point_end(self.best))

    def elapsed(self) -> float:
        return self.previous + time.monotonic() - self.started

    def out_of_budget(self) -> str:
        if self.leaf_count() >= self.settings.max_boxes:
            return f"box budget ({self.settings.max_boxes}) exhausted"
        limit = self.settings.time_limit
        if limit is not None and self.elapsed() >= limit:
            return f"time limit ({limit:g} s) reached"
        return ""

    def round(self, work: list[Evaluated], early: bool) -> None:
        """Split ``work`` (already taken out of the leaves) and add the children."""
        self.work = work
        results = self.runner.map(_split_task, [(item, early) for item in work])
        self.in_flight = [child for children in results for child in children]
        for child in self.in_flight:
            self.add(child)
        self.work, self.in_flight = [], []  # one step: no interrupt between the two
        if self.progress is not None:
            decided = len(self.decided) if self.phase == "deciding" else self.n_decided
            self.progress(self.claim, SearchProgress(self.phase, self.leaf_count(), decided,
                                                     self.enclosure(),
                                                     self.counterexample is not None))
        if self.state_path is not None and time.monotonic() - self.last_save >= self.settings.save_every:
            _save_state(self.state_path, self.settings, self.claim, self.leaves(), self.best,
                        self.counterexample, self.elapsed())
            self.last_save = time.monotonic()

    def batch(self) -> int:
        """Boxes split per round: one per worker chunk, and never past the box budget (each
        split adds one leaf)."""
        size = self.settings.round_size
        if size is None:
            size = 1 if self.runner.pool is None else self.runner.jobs * 64
        return max(1, min(size, self.settings.max_boxes - self.leaf_count()))

    # -------------------------------------------------------------------- phases
    def start(self) -> str:
        """Evaluate the initial grid, or the saved leaves with --resume; returns the resume
        note of :class:`ClaimResult`."""
        settings, claim = self.settings, self.claim
        early = self.early
        note = ""
        loaded = None
        if settings.resume:
            state = _load_state(self.state_path, settings, claim)
            loaded = _loaded_boxes(state, claim) if state is not None else None
            if loaded is not None:
                note = "resumed"
            elif self.state_path is not None and self.state_path.exists():
                note = "unusable state"
            else:
                note = "no state"
        if loaded is not None:
            # The state file is a cache, not a proof: its boxes must tile the domain, and
            # every bound, witness and counterexample is recomputed (one bound per saved
            # box; the splitting that produced them is not redone).
            try:  # timing only, never evidence
                self.previous = max(0.0, float(state.get("elapsed", 0.0)))
            except (TypeError, ValueError):
                self.previous = 0.0
            boxes, extra = loaded
            for item in self.runner.map(_eval_task, [(b, d, early) for b, d in boxes]):
                self.add(item)
            for item in self.runner.map(_eval_task, [(b, d, early) for b, d in extra]):
                self.note_point(sharpen_point(item, claim))
        else:
            tasks = [(b, 0, early) for b in initial_grid(claim, GRID_CELLS[settings.grid])]
            for item in self.runner.map(_eval_task, tasks):
                self.add(item)
        return note

    def decide(self) -> str:
        """The deciding phase; returns why it stopped early ('' when it finished)."""
        while self.open and self.counterexample is None:
            reason = self.out_of_budget()
            if reason:
                return reason
            n = min(self.batch(), len(self.open))
            self.round([self.take_open() for _ in range(n)], early=self.early)
        return ""

    def to_refining(self) -> None:
        leaves = self.leaves()
        self.phase = "refining"
        self.heap = [(self.worst_key(item), next(self.serial), item) for item in leaves]
        heapq.heapify(self.heap)
        self.n_decided = sum(map(self.proves, leaves))
        self.open.clear()
        self.near, self.far = [], []

    def refine(self, tolerance: Fraction, with_claim: bool) -> tuple[bool, str]:
        """Moore–Skelboe on all leaves until the enclosure is narrower than ``tolerance``.
        ``with_claim`` (the "enclose" strategy): also split boxes whose bound does not prove
        the claim, and stop only once it is decided.  Returns (tolerance met, reason)."""
        claim, side = self.claim, self.side
        stall_boxes, stall_gap = self.leaf_count(), None
        while True:
            top = self.heap[0][2]
            best_end = None if self.best is None else self.point_end(self.best)
            gap = (None if top.bound is None or best_end is None
                   else side * (top.bound - best_end))
            met = gap is not None and gap <= tolerance
            if met and (not with_claim or claim.satisfied_by(top.bound)
                        or self.counterexample is not None):
                return True, ""
            reason = self.out_of_budget()
            if reason:
                return False, reason
            if gap is not None and not with_claim:
                if stall_gap is None:
                    stall_gap = gap
                elif self.leaf_count() >= 2 * stall_boxes and self.leaf_count() - stall_boxes >= _STALL_BOXES:
                    if gap > stall_gap * Fraction(99, 100):
                        return False, (f"refinement stalled (the enclosure width did not shrink "
                                       f"by 1 % while the boxes grew from {stall_boxes} to "
                                       f"{self.leaf_count()})")
                    stall_boxes, stall_gap = self.leaf_count(), gap
            work: list[Evaluated] = []
            limit = self.batch()
            while self.heap and len(work) < limit:
                item = self.heap[0][2]
                needs = (item.bound is None or best_end is None or
                         side * (item.bound - best_end) > tolerance or
                         (with_claim and not claim.satisfied_by(item.bound)))
                if not needs:
                    break
                work.append(heapq.heappop(self.heap)[2])
                self.n_decided -= self.proves(work[-1])
            if not work:
                return True, ""
            self.round(work, early=False)

    def run(self) -> ClaimResult:
        claim, settings = self.claim, self.settings
        widths = [hi - lo for lo, hi in claim.domain.bounds]
        self.runner.configure(claim.quantity, self.side, settings.constants, settings.precision,
                              widths, claim)
        self.started = time.monotonic()
        reason, met = "", None
        try:
            resume_note = self.start()
            if settings.strategy == "enclose":
                self.to_refining()
                met, reason = self.refine(settings.tolerance or DEFAULT_TOLERANCE, True)
            else:
                reason = self.decide()
                if not reason and settings.tolerance is not None:
                    self.to_refining()
                    met, why = self.refine(settings.tolerance, False)
                    if not met:
                        reason = f"enclosure tolerance not met: {why}"
        except KeyboardInterrupt:
            # put the boxes of the round in flight back (their children are dropped), so that
            # the saved leaves tile the domain exactly; then save and let the CLI report it
            dropped = {id(child) for child in self.in_flight}
            leaves = [leaf for leaf in self.leaves() if id(leaf) not in dropped] + self.work
            saved = None  # nothing finished yet (interrupted while evaluating the first boxes)
            if leaves:
                saved = _save_state(self.state_path, settings, claim, leaves, self.best,
                                    self.counterexample, self.elapsed())
            raise Interrupted(saved) from None
        return self.finish(reason, met, resume_note)

    def finish(self, reason: str, met: bool | None, resume_note: str) -> ClaimResult:
        claim, settings = self.claim, self.settings
        elapsed = self.elapsed()
        leaves = self.leaves()
        best, counterexample = _checked_points(claim, self.best, self.counterexample,
                                               self.violates)
        self.best = best
        enclosure_ = self.enclosure() if best is not None else None
        decided = sum(1 for leaf in leaves
                      if leaf.bound is not None and claim.satisfied_by(leaf.bound))
        if enclosure_ is not None and enclosure_[0] > enclosure_[1]:
            # impossible for rigorous enclosures: never report a verdict on top of it
            verdict, enclosure_, counterexample = "undecided", None, None
            reason = "inconsistent extremum enclosure (lower > upper): no verdict"
        elif counterexample is not None:
            verdict = "refuted"
        elif decided == len(leaves):
            verdict = "holds"
        else:
            verdict = "undecided"
            reason = reason or "not every box could be decided"
            reason += f" ({len(leaves) - decided} of {len(leaves)} boxes undecided)"
        if verdict != "undecided" and met is not False:
            _remove_state(self.state_path)  # nothing left to resume
        else:  # --resume continues from here (e.g. with a larger budget)
            _save_state(self.state_path, settings, claim, leaves, self.best,
                        self.counterexample, elapsed)
        witness = None if best is None else (best.point, (best.point_lo, best.point_hi))
        ce = None
        if counterexample is not None:
            ce = (counterexample.point, (counterexample.point_lo, counterexample.point_hi))
        return ClaimResult(claim, verdict, enclosure_, witness, ce, leaves, elapsed,
                           max((leaf.depth for leaf in leaves), default=0), settings.precision,
                           settings.constants, reason, tolerance=settings.tolerance,
                           tolerance_met=met, resume=resume_note, decided=decided,
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
