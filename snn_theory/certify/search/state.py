"""The resume state of the branch-and-bound search: saving it, loading it, re-deriving it.

The search saves its leaf boxes, its best point and its counterexample to a JSON file
periodically and on Ctrl-C, so that ``verify-contraction --resume`` continues without
redoing the splitting; the file is removed once a claim is decided and its enclosure meets
the tolerance asked for.

A state file is a cache, never evidence.  Only *boxes* are taken from it
(:func:`loaded_boxes`): the saved leaves must tile the claim's domain exactly
(:func:`snn_theory.certify.certificate.tiling.tiling_error`, which also rejects a box sticking
out), and a saved witness/counterexample box outside the domain is dropped.  Every bound,
face, point, value and precision is then re-derived by evaluating the boxes afresh
(:func:`rederive`).  A state saved for other settings (its key differs) is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

from snn_theory.certify.certificate.tiling import tiling_error
from snn_theory.certify.claims import Claim
from snn_theory.certify.search.executors import Executor
from snn_theory.certify.search.workers import Box, Evaluated, Interval, WorkerState, eval_task
from snn_theory.files import atomic_write

#: Version of the state file layout (part of the key a saved state must match).
STATE_VERSION = 1


def state_path(state_dir: Path | str | None, claim: Claim) -> Path | None:
    """The state file of ``claim`` in ``state_dir`` (None: no state directory)."""
    if state_dir is None:
        return None
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in claim.name)
    return Path(state_dir) / f"{safe}.json"


def save_state(path: Path | None, key: dict[str, Any], leaves: Sequence[Evaluated],
               best: Evaluated | None, counterexample: Evaluated | None, elapsed: float,
               done: bool = False) -> Path | None:
    """Write the state atomically; returns the path written (None: no state directory).
    ``key``: what a later run must match to resume it (the search's settings)."""
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"key": key, "elapsed": elapsed, "done": done,
            "boxes": [leaf.to_json() for leaf in leaves],
            "best": None if best is None else best.to_json(),
            "counterexample": None if counterexample is None else counterexample.to_json()}
    atomic_write(path, json.dumps(data, separators=(",", ":")))
    return path


def remove_state(path: Path | None) -> None:
    """Delete a finished claim's state (and the state directory once it is empty)."""
    if path is None:
        return
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    try:
        path.parent.rmdir()
    except OSError:
        pass  # not empty (other claims' states) or already gone


def load_state(path: Path | None, key: dict[str, Any]) -> dict | None:
    """The saved state at ``path`` if it exists, parses and was saved under ``key``."""
    if path is None or not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        if data.get("key") != key:
            return None
        return data
    except (OSError, ValueError, KeyError, TypeError):
        return None


def saved_elapsed(state: dict) -> float:
    """The seconds the saved run had spent (timing only, never evidence)."""
    try:
        return max(0.0, float(state.get("elapsed", 0.0)))
    except (TypeError, ValueError):
        return 0.0


def inside(box: Sequence[Interval], claim: Claim) -> bool:
    """Whether ``box`` is a non-empty sub-box of the claim's domain (exact comparison)."""
    return len(box) == 4 and all(
        a <= lo <= hi <= b for (lo, hi), (a, b) in zip(box, claim.domain.bounds))


def loaded_boxes(state: dict, claim: Claim
                 ) -> tuple[list[tuple[Box, int]], list[tuple[Box, int]]] | None:
    """((box, depth) of the saved leaves, (box, depth) of the saved witness/counterexample)
    from a resume state, or None when the state cannot be used (it is then ignored).

    Only the boxes are taken (see the module docstring); depths are clamped to be
    non-negative integers.
    """
    def task(entry: Any) -> tuple[Box, int]:
        item = Evaluated.from_json(entry)
        depth = item.depth if isinstance(item.depth, int) and 0 <= item.depth < 10_000 else 0
        return [(Fraction(lo), Fraction(hi)) for lo, hi in item.box], depth

    try:
        saved = [task(entry) for entry in state["boxes"]]
        extra = [task(state[k]) for k in ("best", "counterexample") if state.get(k)]
    except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError):
        return None
    if not saved or any(not inside(box, claim) for box, _ in saved):
        return None
    if tiling_error(claim.domain.bounds, [box for box, _ in saved]) is not None:
        return None
    return saved, [(box, depth) for box, depth in extra if inside(box, claim)]


def rederive(boxes: Sequence[tuple[Box, int]], executor: Executor, worker: WorkerState,
             early: bool) -> list[Evaluated]:
    """Evaluate loaded (box, depth) pairs afresh, one bound per saved box (the splitting
    that produced them is not redone)."""
    return executor.map(partial(eval_task, worker), [(b, d, early) for b, d in boxes])
