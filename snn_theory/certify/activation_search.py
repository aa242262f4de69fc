"""The search for any activation's claims: branch-and-bound, refining, resuming, the result
and writing its certificate.

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
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from snn_theory.certify.activation_cells import (
    Box,
    CellCache,
    ball_end,
    box_bound,
    cell_order,
    cover,
    mv_range,
    point_enclosure,
)
from snn_theory.certify.activation_check import FORMAT, VERSION, certificate_checksum
from snn_theory.certify.activation_claims import violates
from snn_theory.certify.claims import (
    Claim,
)
from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError, Interrupted
from snn_theory.exact import (
    decimal_interval,
    decimal_text,
    format_fraction,
    parse_exact,
)
from snn_theory.files import StateFile, atomic_write
from snn_theory.precision import working_precision

#: Working precision of the search and the checker (bits).
DEFAULT_BITS = 64
DEFAULT_MAX_BOXES = 20_000
ProgressFn = Callable[[Claim, int, int], None]


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
                inner = ball_end(value, -side)
                best = inner if best is None or side * (inner - best) > 0 else best
                if violates(claim, value):
                    counterexample = (point, (ball_end(value, -1), ball_end(value, 1)))
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
