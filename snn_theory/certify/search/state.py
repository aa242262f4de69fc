"""The resume state of the branch-and-bound search: saving it, loading it, re-deriving it.

The search saves its leaf boxes, its best point and its counterexample to a JSON file
periodically and on Ctrl-C, so that ``verify-contraction --resume`` continues without
redoing the splitting.  A claim that is decided (and whose enclosure met the tolerance asked
for) saves its final leaves with ``done`` set, so that a run of several claims interrupted
later keeps it; the run removes its states once every claim is through.  The file is a
:class:`snn_theory.files.StateFile` of kind :data:`SEARCH_STATE`: a file at that path that is
not such a state is never written over or removed.

A state file is a cache, never evidence.  Only *boxes* are taken from it
(:func:`loaded_boxes`): the saved leaves must tile the claim's domain exactly
(:func:`snn_theory.certify.certificate.tiling.tiling_error`, which also rejects a box sticking
out), and a saved witness/counterexample box outside the domain is dropped.  Every bound,
face, point, value and precision is then re-derived by evaluating the boxes afresh
(:func:`rederive`).  A state saved for other settings (its key differs) is ignored.
A finished claim is therefore re-proven box by box from its saved leaves, never taken on trust.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

from snn_theory.certify.certificate.tiling import tiling_error
from snn_theory.certify.claims import Claim
from snn_theory.certify.search.bounders import Box, Interval
from snn_theory.certify.search.executors import Executor
from snn_theory.certify.search.workers import Evaluated, WorkerState, eval_task
from snn_theory.errors import Interrupted
from snn_theory.files import StateFile

#: Version of the state file layout (part of the key a saved state must match).
STATE_VERSION = 2
#: The kind of the search's state files (:class:`snn_theory.files.StateFile`).
SEARCH_STATE = "contraction-search"


def state_file(path: Path) -> StateFile:
    """The search's :class:`~snn_theory.files.StateFile` at ``path``."""
    return StateFile(path, SEARCH_STATE)


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
    return state_file(path).save(key, {
        "elapsed": elapsed, "done": done, "boxes": [leaf.to_json() for leaf in leaves],
        "best": None if best is None else best.to_json(),
        "counterexample": None if counterexample is None else counterexample.to_json()})


def remove_state(path: Path | None) -> None:
    """Delete a finished claim's state (and the state directory once it is empty); a file
    there that is not a search state is left alone."""
    if path is None:
        return
    state_file(path).remove()
    try:
        path.parent.rmdir()
    except OSError:
        pass  # not empty (other claims' states) or already gone


def load_state(path: Path | None, key: dict[str, Any]) -> dict | None:
    """The saved state at ``path`` if it exists, parses and was saved under ``key``
    (:class:`InputError` when the file there is not a search state)."""
    if path is None:
        return None
    loaded = state_file(path).load(key)
    return loaded.data if loaded.status == "ok" else None


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


def interrupted_run(finished: Sequence[tuple[str, str | None, Path | None]],
                    running: str | None, exc: KeyboardInterrupt, resume: str) -> Interrupted:
    """The interrupt of a run of several claims, saying exactly what was saved.

    ``finished``: (name, certificate, state path) of the claims through before the interrupt
    (a state that exists holds their final boxes, re-proven on resume); ``running``: the
    claim that was interrupted, whose own :class:`Interrupted` (``exc``) names what it saved;
    ``resume``: how to continue.  Shared by the SELU and the activation verifiers."""
    kept = [(n, c, p) for n, c, p in finished if p is not None and p.exists()]
    running_saved = exc.saved if isinstance(exc, Interrupted) else ()
    if not kept and not running_saved:
        return Interrupted()
    parts = []
    if kept:
        certificates = [c for _, c, _ in kept if c]
        where = f"certificates {', '.join(certificates)}; " if certificates else ""
        parts.append(f"{len(kept)} finished claim{'s' if len(kept) > 1 else ''} "
                     f"({', '.join(n for n, _, _ in kept)}: {where}final boxes in "
                     f"{kept[0][2].parent})")
    if running_saved:
        parts.append(f"the running claim's {exc.summary}")
    elif running is not None:
        parts.append(f"nothing yet of the running claim {running}")
    saved = [p for _, _, p in kept] + list(running_saved)
    return Interrupted(tuple(saved), "; ".join(parts), resume)
