"""The paving loop: decide the cells level by level, refine the undecided and the boundary of
the refuted, resume from a state file (every resumed cell re-checked)."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

from snn_theory.certify.domains.cell import (
    Paving,
    PavingProgress,
    ProgressFn,
    cell_json,
    decide_cell,
    derive_areas,
    entry_cell,
    refine,
)
from snn_theory.certify.domains.certificate import check_entry
from snn_theory.certify.domains.spec import FORMAT, VERSION, Cell, PavingSpec
from snn_theory.errors import InputError, Interrupted
from snn_theory.files import StateFile

#: The quantities of a cell's five claims.
CELL_QUANTITIES: tuple[str, ...] = ("mean", "variance", "spectral_norm")


def precompile() -> None:
    """Compile the arb evaluators of the three quantities a cell needs (a few seconds, once
    per process; forked workers inherit them)."""
    from snn_theory.certify.search.bounders import compile_arb

    compile_arb(CELL_QUANTITIES)


# ------------------------------------------------------------------------------ the paving
def _state_key(spec: PavingSpec) -> dict[str, Any]:
    return {"format": FORMAT + "-state", "version": VERSION, "spec": spec.to_json()}


#: The kind of a paving's resume state (:class:`snn_theory.files.StateFile`).
PAVING_STATE = "domain-paving"


def _load_state(state: StateFile, spec: PavingSpec) -> dict[tuple, dict]:
    """The saved cells by key.  A state that cannot be used is reported (InputError) and
    kept: not this command's file, damaged, or saved for another paving."""
    loaded = state.load(_state_key(spec))
    problem = loaded.reason
    if loaded.status == "ok":
        try:
            return {_cell_key(entry_cell(e, spec.plane)): e for e in loaded.data["entries"]}
        except (ValueError, KeyError, TypeError, ZeroDivisionError, InputError):
            problem = "its cells cannot be read"
    raise InputError(f"--resume: the state file {str(state.path)!r} cannot be used "
                     f"({problem}); it is kept as it is (remove it, or name another --state, "
                     "to start afresh)")


def _save_state(state: StateFile | None, spec: PavingSpec, entries: dict[tuple, dict]) -> None:
    if state is not None:
        state.save(_state_key(spec), {"entries": [entries[k] for k in sorted(entries)]})


def map_domain(spec: PavingSpec, jobs: int = 1, scheduler: str | None = None,
               state: Path | None = None, resume: bool = False,
               progress: ProgressFn | None = None, connect_timeout: float = 5.0) -> Paving:
    """Pave the (ω, τ) region of ``spec`` (see the module docstring).

    ``state``: a file where decided cells are saved as they come (removed when the paving is
    complete); ``resume``: take the saved proven/refuted cells after re-checking each with
    the certificate checker (undecided or failing ones are decided again).
    The state is a :class:`snn_theory.files.StateFile` of kind :data:`PAVING_STATE`.
    Raises :class:`InputError` for an unreachable scheduler, ``resume`` without a state
    file, a ``state`` file that is not a paving state (it is never written or removed), or,
    with ``resume``, a state that cannot be used (damaged or for another paving: it is kept);
    :class:`snn_theory.errors.Interrupted` on Ctrl-C, after saving the decided cells.
    """
    if resume and (state is None or not Path(state).exists()):
        raise InputError(f"--resume: no state file {'given' if state is None else state} "
                         "(nothing to resume; run without --resume)")
    state_file = None if state is None else StateFile(Path(state), PAVING_STATE)
    if state_file is not None:
        state_file.check_target()  # a file that is not our state is never touched
    start = time.perf_counter()
    spec_json = spec.to_json()
    saved = _load_state(state_file, spec) if resume else {}
    decided: dict[tuple, dict] = {}
    paving = Paving(spec, [])
    last_save = time.perf_counter()
    from snn_theory.certify.search.executors import Executor

    executor = None
    try:
        executor = Executor(jobs, scheduler, connect_timeout)
        if executor.jobs > 1:
            executor.compile(CELL_QUANTITIES)  # before the pool forks: the workers inherit them
        level_cells = spec.initial_cells()
        final: list[dict] = []
        for level in range(spec.depth + 1):
            todo: list[Cell] = []
            for c in level_cells:
                entry = saved.get(_cell_key(c))
                if (entry is not None and entry.get("verdict") in ("proven", "refuted")
                        and check_entry(spec, entry) is None):
                    decided[_cell_key(c)] = entry
                    paving.resumed += 1
                else:
                    todo.append(c)
            counts = {"proven": 0, "refuted": 0, "undecided": 0}
            for c in level_cells:
                if _cell_key(c) in decided:
                    counts[decided[_cell_key(c)]["verdict"]] += 1
            done = len(level_cells) - len(todo)

            def finished(k: int, entry: dict, todo: list[Cell] = todo, level: int = level,
                         cells: list[Cell] = level_cells, counts: dict = counts) -> None:
                nonlocal done, last_save
                decided[_cell_key(todo[k])] = entry
                counts[entry["verdict"]] += 1
                done += 1
                paving.evaluated += 1
                if time.perf_counter() - last_save > 2.0:
                    _save_state(state_file, spec, decided)
                    last_save = time.perf_counter()
                if progress:
                    progress(PavingProgress(level, done, len(cells), counts["proven"],
                                            counts["refuted"], counts["undecided"]))

            executor.run(partial(decide_cell, spec_json), [cell_json(c, spec.plane) for c in todo],
                         finished)
            _save_state(state_file, spec, decided)
            entries = [decided[_cell_key(c)] for c in level_cells]
            split = refine(entries, spec.plane) if level < spec.depth else []
            split_keys = {_cell_key(c) for c in split}
            final.extend(e for c, e in zip(level_cells, entries) if _cell_key(c) not in split_keys)
            level_cells = [child for c in split for child in _children(c)]
            if not level_cells:
                break
    except KeyboardInterrupt:
        if not decided or state_file is None:
            raise Interrupted() from None
        _save_state(state_file, spec, decided)
        raise Interrupted((state_file.path,), f"{len(decided)} decided cells in "
                          f"{state_file.path}", "rerun with --resume: the saved cells are "
                          "re-checked by the certificate checker, never trusted") from None
    finally:
        if executor is not None:
            executor.close()
    final.sort(key=lambda e: _cell_key(entry_cell(e, spec.plane)))
    paving.entries = final
    paving.seconds = time.perf_counter() - start
    derive_areas(paving)
    if state_file is not None:
        state_file.remove()
    return paving


def _cell_key(cell: Cell) -> tuple:
    (w0, w1), (t0, t1) = cell
    return (w0, t0, w1, t1)


def _children(cell: Cell) -> list[Cell]:
    (w0, w1), (t0, t1) = cell
    wm, tm = (w0 + w1) / 2, (t0 + t1) / 2
    return [((w0, wm), (t0, tm)), ((w0, wm), (tm, t1)), ((wm, w1), (t0, tm)), ((wm, w1), (tm, t1))]
