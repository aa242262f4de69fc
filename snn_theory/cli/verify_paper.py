"""``snn-theory verify-contraction --method paper``: the paper's grid method
(:mod:`snn_theory.certify.paper.verdict`), its progress bars, its report and its exit code."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import click

from snn_theory.files import writable_directory


def expose_cpu_cores() -> None:
    """Before JAX starts: expose every CPU core as a JAX device, so that the grid scan is
    sharded over all of them (once JAX runs, its devices are fixed: then nothing changes)."""
    if "jax" in sys.modules:
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = (
            flags + f" --xla_force_host_platform_device_count={os.cpu_count() or 1}").strip()


class _Bars:
    """Rich progress bars on stderr for the two long stages: the derivative bounds (boxes of
    the budget, transient) and the grid scan (points, with the rate)."""

    def __init__(self, grid_name: str) -> None:
        self.grid_name = grid_name
        self.bars: dict[str, tuple[Any, Any]] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.bars:
            self._open(stage, total)
        bar, task = self.bars[stage]
        bar.update(task, completed=done)

    def _open(self, stage: str, total: int) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class _RateColumn(ProgressColumn):
            def render(self, task: Any) -> Text:
                rate = task.finished_speed or task.speed
                return Text("" if rate is None else f"{rate:,.0f} points/s")

        self.close()  # one stage at a time
        scan = stage == "grid"
        columns = [TextColumn("[progress.description]{task.description}"), BarColumn(),
                   MofNCompleteColumn()]
        columns += [_RateColumn(), TimeRemainingColumn()] if scan else []
        bar = Progress(*columns, console=Console(stderr=True), transient=not scan)
        bar.start()
        label = f"grid {self.grid_name}" if scan else "derivative bounds (arb): boxes"
        self.bars[stage] = (bar, bar.add_task(escape(label), total=total))

    def close(self) -> None:
        for bar, _task in self.bars.values():
            bar.stop()


def run(theorem: str, grid: str, resume: bool, certificate_dir: Path, as_json: bool,
        show_progress: bool) -> None:
    """Run the paper's method on ``theorem``'s contraction claim, print the report (or one
    JSON object) and exit: 0 the paper's inequality was met (resting on the unproven float
    allowance), 1 false (arb counterexample), 3 inconclusive."""
    expose_cpu_cores()
    certificate_dir = writable_directory(certificate_dir, "certificate dir")
    from snn_theory.certify.paper.verdict import run_paper_method

    state_dir = certificate_dir / ".state"
    bars = _Bars(grid) if show_progress else None
    try:  # Ctrl-C in the scan: snn_theory.errors.Interrupted says what was saved
        result = run_paper_method(theorem, grid, resume, state_dir=state_dir, progress=bars)
    finally:
        if bars is not None:
            bars.close()
    if as_json:
        click.echo(json.dumps({"claims": [result.to_json()]}))
    else:
        click.echo(render(result))
    sys.exit({True: 0, False: 1}.get(result.holds, 3))


def _fmt(x: float | None, spec: str) -> str:
    return "n/a" if x is None or not math.isfinite(x) else format(x, spec)


def render(result: Any) -> str:
    """Human-readable report of a :class:`~snn_theory.certify.paper.verdict.PaperResult`
    (plain text, printed with click, not through rich)."""
    from snn_theory.certify.claims import VARIABLE_NAMES

    g = result.grid
    lines = [
        f"{result.name}: {result.statement}  —  method: the paper's (float64 grid + "
        "mean value theorem)",
        f"  grid {g.name}: {g.points:,} points ("
        + " x ".join(f"{n} {v}" for v, n in zip(VARIABLE_NAMES, g.points_per_dimension))
        + "), spacings " + ", ".join(f"Δ{v}={d:.3g}" for v, d in zip(VARIABLE_NAMES, g.spacings)),
        f"  grid max S = {_fmt(g.max, '.12f')} at "
        + (", ".join(f"{v}={x:.6g}" for v, x in zip(VARIABLE_NAMES, g.argmax))
           if g.argmax else "-")
        + f"  ({_fmt(g.points_per_second, ',.0f')} points/s on {g.devices} device(s))",
        "  derivative bounds (rigorous, arb centred forms over "
        f"{g.derivative_boxes} boxes)   sup lower bound    paper's bound",
    ]
    for d in g.derivative_bounds:
        note = ("paper's bound proven valid" if d.paper_bound_proven_valid else
                "paper's bound proven WRONG" if d.paper_bound_proven_wrong else
                "paper's bound not decided")
        lines.append(f"    |dS/d{d.variable:<5}| <= {_fmt(d.bound, '<10.5f')}   >= {d.sup_lower:<10.5f}"
                     f"   {d.paper_bound:<8}  ({note})")
    e = result.extremum
    lines += [
        f"  MVT term Σ bound·Δ/2 = {_fmt(g.mvt_term, '.3g')}; float allowance = {g.float_allowance:.3g}"
        f" (observed max error {g.float_observed_max_error:.2g}; {g.float_allowance_rule})",
        f"  max S >= {_fmt(e.lower, '')} (rigorous: arb at the grid argmax); "
        f"max S <= {_fmt(e.upper, '')} only if the float allowance holds (grid max "
        "+ MVT term + stated, unproven allowance; not a certified bound)",
        f"  verdict: {result.verdict_text}  — not an interval certificate; "
        "see --method interval for a proof in ball arithmetic",
    ]
    return "\n".join(lines)
