"""The search behind ``snn-theory verify-contraction``: interval branch-and-bound (docs/mathematics.md §7).

For a claim ``q ⋈ t`` on a domain box (:mod:`snn_theory.certify.claims`) the search proves, refutes,
or gives up on the claim — deciding it first — and encloses the deciding extremum of q (the
maximum for < and ≤, the minimum for > and ≥) as far as asked:

* **Boxes.**  The domain is cut into a uniform initial grid (:data:`~snn_theory.certify.search.settings.GRID_CELLS` cells per
  dimension), then boxes are bisected (always at their exact midpoint), so the leaf boxes form
  a guillotine tiling of the domain — exactly what the certificate checker re-derives.
* **Bounds.**  Every box bound comes from the moment map's per-box bound, a
  :class:`~snn_theory.certify.search.bounders.BoxBounder` (``Settings.bounder``): for SELU's
  closed forms :func:`snn_theory.certify.enclosure.bound` (cheap whole-box enclosure — for S
  also ‖H‖_F/√2 ≤ S ≤ ‖H‖_F —, then a ball evaluation of the compact gradient forms of
  :func:`snn_theory.derive.formulas.compact_gradient` over the box, monotonicity reduction onto
  faces, and the centred form, in arb); for any other activation the (m, v)-cell enclosure of
  :func:`snn_theory.certify.activation_cells.box_bound`.  Each is taken at the precision stored
  with the box; the certificate checker recomputes exactly this (never weaker than what the
  search stored).
  While deciding without a tolerance the search stops at the cheap bound when it already
  proves the claim.  A non-finite enclosure (:class:`ArithmeticError`) on a small box is
  retried at a higher precision; on a wide box it simply makes the box be split.
* **Deciding.**  A box is *decided* as soon as its bound proves the claim and is never split
  again.  Open boxes are split alternately where deciding is closest (the bound nearest the
  threshold) and where it is farthest (the worst bound: where a counterexample is likeliest);
  evaluated boxes contribute rigorously evaluated points (ball value at the centre of the
  reduced face: every box when points are cheap, as for the closed forms; else the initial
  grid, boxes where a counterexample is plausible, and every box while refining), and the
  first point that violates the claim refutes it.  The effort thus
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

Work is done in rounds: a batch of boxes from the top of the queue is split in parallel by
an :class:`~snn_theory.certify.search.executors.Executor` (this process, local processes or
a Dask cluster; the per-box tasks are those of :mod:`snn_theory.certify.search.workers`, and
the leaves do not depend on which executor ran them, only on the batch size).  The leaves and
the best point are saved to a state file periodically and on Ctrl-C, so that ``--resume``
continues without redoing finished work (:mod:`snn_theory.certify.search.state`).
"""


from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

from snn_theory.certify.claims import Claim
from snn_theory.certify.search.executors import Executor
from snn_theory.certify.search.result import ClaimResult
from snn_theory.certify.search.settings import (
    DEFAULT_TOLERANCE,
    GRID_CELLS,
    STRATEGIES,
    Settings,
    initial_grid,
)
from snn_theory.certify.search.state import (
    inside,
    interrupted_run,
    load_state,
    loaded_boxes,
    rederive,
    remove_state,
    save_state,
    saved_elapsed,
    state_file,
    state_path,
)
from snn_theory.certify.search.workers import (
    Evaluated,
    WorkerState,
    eval_task,
    sharpen_point,
    split_task,
)
from snn_theory.derive.formulas import VARIABLE_NAMES
from snn_theory.errors import InputError, Interrupted

#: Refinement of the enclosure stops when the box count doubled (and grew by at least this
#: many) without the enclosure narrowing by 1 % — e.g. when constant intervals limit it.
_STALL_BOXES = 2000


# ------------------------------------------------------------------------------ the search
@dataclass(frozen=True)
class SearchProgress:
    """What the progress callback is told after each round of the search."""

    phase: str  # "deciding": boxes are split until each bound decides the claim; "refining"
    boxes: int  # leaf boxes
    decided: int  # leaf boxes whose bound decides the claim (the others are open)
    enclosure: tuple[Fraction, Fraction] | None  # current certified extremum enclosure
    refuted: bool  # a counterexample was found


ProgressFn = Callable[[Claim, SearchProgress], None]


#: How an interrupted verification continues (the CLI's wording of the resume).
RESUME_HINT = ("verify-contraction --resume continues: saved boxes are re-proven, never "
               "trusted")


def verify_claim(claim: Claim, settings: Settings, executor: Executor | None = None,
                 progress: ProgressFn | None = None, *,
                 keep_finished: bool = False) -> ClaimResult:
    """Decide one claim by branch-and-bound in ball arithmetic (see the module docstring).

    Args:
        claim: the statement ``quantity relation threshold`` on a domain box.
        settings: grid, tolerance, budgets, precision, the moment map's per-box bound
            (``settings.bounder``), state directory, strategy.
        executor: where the per-box tasks run (default: a local :class:`Executor` with
            ``settings.jobs`` processes, closed at the end); pass one to reuse it across
            claims or to run on a Dask cluster.
        progress: called after every round with the claim and a :class:`SearchProgress`.
        keep_finished: keep the state of a decided claim (its final leaves, marked done)
            instead of removing it, so that a resumed run of several claims re-proves it
            from there (:func:`verify_claims` removes the states when every claim is through).

    Returns:
        A :class:`ClaimResult`: ``verdict`` "holds" (every leaf bound proves the claim),
        "refuted" (a point whose ball value violates it) or "undecided" (a budget ran out),
        the certified extremum enclosure, the witness or counterexample point, and the leaves
        (:meth:`ClaimResult.certificate_data` is what the certificate records).  The caller's
        arb precision is left as it was.

    Raises:
        InputError: a box budget below the initial grid, or an unknown strategy.
        Interrupted: on Ctrl-C, after saving the state if a state directory is set; it
            names the file and the boxes saved (nothing saved: no file named).

    Example:
        >>> from snn_theory.certify.claims import Claim, Domain
        >>> claim = Claim.parse("spectral_norm<5", Domain.parse(
        ...     "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1"))
        >>> result = verify_claim(claim, Settings(jobs=1))
        >>> result.verdict, len(result.leaves)
        ('holds', 16)
    """
    if settings.strategy not in STRATEGIES:
        raise InputError(f"unknown strategy {settings.strategy!r}; use {', '.join(STRATEGIES)}")
    grid_boxes = GRID_CELLS[settings.grid] ** len(VARIABLE_NAMES)
    if settings.box_budget < grid_boxes:
        raise InputError(f"--max-boxes {settings.box_budget} is below the {grid_boxes} boxes of "
                         f"the initial grid (--grid {settings.grid})")
    path = state_path(settings.state_dir, claim)
    if path is not None:
        state_file(path).check_target()  # a file that is not a search state: untouched
    own = executor is None
    executor = executor or Executor(settings.jobs)
    try:
        return _Search(claim, settings, executor, progress, keep_finished).run()
    finally:
        if own:
            executor.close()


def verify_claims(claims: Sequence[Claim], settings: Settings, certificate_dir: Path | None,
                  progress: ProgressFn | None = None,
                  done: Callable[[ClaimResult], None] | None = None,
                  executor: Executor | None = None) -> list[ClaimResult]:
    """The verifier's entry point: :func:`verify_claim` for each claim in turn, with one
    executor for all of them, each certificate written to ``certificate_dir``
    (:func:`snn_theory.certify.certificate.io.write_certificate`; none for an undecided claim,
    and none at all when ``certificate_dir`` is None) and its path recorded in the result.

    ``progress`` is the search's callback; ``done(result)`` is called after each claim (its
    certificate written).  ``executor``: where the boxes run (default: ``settings.jobs`` local
    processes).  The verdicts are the caller's to present.

    Ctrl-C raises :class:`snn_theory.errors.Interrupted` saying exactly what was saved: the
    finished claims' certificates and states (their final boxes, kept until every claim is
    through) and the running claim's boxes.  With ``settings.resume`` a finished claim is
    re-proven from its saved boxes (each bound re-derived, nothing trusted) and the running
    one continues from its boxes.  Raises :class:`InputError` before any work when a file at
    a state path is not a search state (it is never touched).
    """
    from snn_theory.certify.certificate.io import write_certificate

    for claim in claims:  # refuse before any work: a file that is not a state is untouched
        path = state_path(settings.state_dir, claim)
        if path is not None:
            state_file(path).check_target()
    own = executor is None
    executor = executor or Executor(settings.jobs)
    # every claim's evaluators at once, before the pool forks: one pool serves all the claims
    executor.compile(sorted({claim.quantity for claim in claims}), settings.bounder.prepare)
    results: list[ClaimResult] = []
    running: Claim | None = None
    try:
        for claim in claims:
            running = claim
            result = verify_claim(claim, settings, executor, progress,
                                  keep_finished=len(claims) > 1)
            if certificate_dir is not None:
                path = write_certificate(certificate_dir, result.certificate_data())
                result.certificate = None if path is None else str(path)
            results.append(result)
            running = None
            if done is not None:
                done(result)
    except KeyboardInterrupt as exc:
        finished = [(r.claim.name, r.certificate, state_path(settings.state_dir, r.claim))
                    for r in results]
        raise interrupted_run(finished, None if running is None else running.name, exc,
                              RESUME_HINT) from None
    finally:
        if own:
            executor.close()
    for r in results:  # the run is through: the decided claims leave nothing to resume
        if r.verdict != "undecided" and r.tolerance_met is not False:
            remove_state(state_path(settings.state_dir, r.claim))
    return results


class _Search:
    """One claim's search.  Deciding phase: leaves are *decided* (their bound proves the
    claim; never split again) or *open*; open boxes are split, alternately the one whose
    bound is closest to deciding and the worst one (where a counterexample is likeliest),
    until none is open or a point violates the claim.  Refining phase (only with a
    tolerance): Moore–Skelboe on all leaves, worst bound first, until the extremum
    enclosure is narrower than the tolerance or the budget or progress runs out."""

    def __init__(self, claim: Claim, settings: Settings, executor: Executor,
                 progress: ProgressFn | None, keep_finished: bool = False):
        self.claim, self.settings, self.executor, self.progress = (claim, settings, executor,
                                                                   progress)
        self.keep_finished = keep_finished
        self.worker = WorkerState.for_claim(claim, settings.bounder, settings.precision)
        self.key = settings.key(claim)
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
        self.state_path = state_path(settings.state_dir, claim)
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
        item = sharpen_point(self.worker, item, self.claim)
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
        if self.leaf_count() >= self.settings.box_budget:
            return f"box budget ({self.settings.box_budget}) exhausted"
        limit = self.settings.time_limit
        if limit is not None and self.elapsed() >= limit:
            return f"time limit ({limit:g} s) reached"
        return ""

    def round(self, work: list[Evaluated], early: bool) -> None:
        """Split ``work`` (already taken out of the leaves) and add the children."""
        self.work = work
        results = self.executor.map(partial(split_task, self.worker),
                                    [(item, early) for item in work])
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
            save_state(self.state_path, self.key, self.leaves(), self.best,
                       self.counterexample, self.elapsed())
            self.last_save = time.monotonic()

    def batch(self) -> int:
        """Boxes split per round: one per worker chunk, and never past the box budget (each
        split adds one leaf).  It depends on how many tasks run at once, never on where they
        run, so local processes and a cluster with as many threads split the same boxes."""
        size = self.settings.round_size
        if size is None:
            workers = self.executor.workers
            size = 1 if workers == 1 else workers * 64
        return max(1, min(size, self.settings.box_budget - self.leaf_count()))

    # -------------------------------------------------------------------- phases
    def start(self) -> str:
        """Evaluate the initial grid, or the saved leaves with --resume; returns the resume
        note of :class:`ClaimResult`."""
        settings, claim = self.settings, self.claim
        early = self.early
        note = ""
        loaded = None
        if settings.resume:
            state = load_state(self.state_path, self.key)
            loaded = loaded_boxes(state, claim) if state is not None else None
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
            self.previous = saved_elapsed(state)  # timing only, never evidence
            boxes, extra = loaded
            for item in rederive(boxes, self.executor, self.worker, early):
                self.add(item)
            for item in rederive(extra, self.executor, self.worker, early):
                self.note_point(sharpen_point(self.worker, item, claim))
        else:
            tasks = [(b, 0, early) for b in initial_grid(claim, GRID_CELLS[settings.grid])]
            for item in self.executor.map(partial(eval_task, self.worker), tasks):
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
        # compile the evaluators before any pool forks, so that its workers inherit them
        self.executor.compile([claim.quantity], settings.bounder.prepare)
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
                saved = save_state(self.state_path, self.key, leaves, self.best,
                                   self.counterexample, self.elapsed())
            if saved is None:
                raise Interrupted() from None
            raise Interrupted((saved,), f"{len(leaves)} boxes of {self.claim.name} in {saved}",
                              RESUME_HINT) from None
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
            if self.keep_finished:  # kept until the whole run is through (re-proven on resume)
                save_state(self.state_path, self.key, leaves, self.best,
                           self.counterexample, elapsed, done=True)
            else:
                remove_state(self.state_path)  # nothing left to resume
        else:  # --resume continues from here (e.g. with a larger budget)
            save_state(self.state_path, self.key, leaves, self.best,
                       self.counterexample, elapsed)
        witness = None if best is None else (best.point, (best.point_lo, best.point_hi))
        ce = None
        if counterexample is not None:
            ce = (counterexample.point, (counterexample.point_lo, counterexample.point_hi))
        return ClaimResult(claim, verdict, enclosure_, witness, ce, leaves, elapsed,
                           max((leaf.depth for leaf in leaves), default=0), settings.precision,
                           settings.bounder, reason, tolerance=settings.tolerance,
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
        return item is not None and inside([(x, x) for x in item.point], claim)

    return (best if ok(best) else None,
            counterexample if ok(counterexample) and violates(counterexample) else None)

