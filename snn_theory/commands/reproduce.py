"""``snn-theory reproduce [--quick|--full] [--out DIR]``: the whole theory in one command.

See :mod:`snn_theory.reproduce` for the stages.  A progress bar on stderr throughout (when
stderr is a terminal), one line per finished stage with its wall time, then a summary table
on stdout (or one JSON object with ``--json``).  Exit 0 only when every stage holds, 1
otherwise, 2 on bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from snn_theory import reproduce as rp
from snn_theory.commands.progress import ProgressBar, progress_bar


class _RichProgress(rp.Progress):
    """Under the overall line, one line per stage on stderr; stage notes printed above."""

    def __init__(self, overall: ProgressBar) -> None:
        self.overall = overall
        self.line: ProgressBar | None = None
        self.name = ""
        self.count = 0

    def stage(self, name: str, total: int | None = None) -> None:
        if self.line is not None:
            self.line.remove()
        self.line = self.overall.line(f"  {name}", total=total)
        self.name = name

    def advance(self, done: int, total: int | None = None) -> None:
        if self.line is not None:
            self.line(done, total)

    def status(self, text: str) -> None:
        if self.line is not None:
            self.line.describe(f"  {self.name} — {text}")

    def note(self, text: str) -> None:
        self.count += 1
        self.overall(self.count, len(rp.STAGES))
        self.overall.note(text)  # stage times on stderr, always


@click.command("reproduce")
@click.option("--quick", is_flag=True,
              help="Smaller run (under a minute): every claim, small simulations, coarser "
                   "figures, without the correlation-map and gradients figures.")
@click.option("--full", is_flag=True,
              help="Larger run: 1000-digit constants, --grid fine, wider networks, and the "
                   "training figure (about two minutes more).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True,
              help="Directory receiving figures/ and proofs/ (certificates, REPORT.md).")
@click.option("--jobs", "-j", type=int, default=None,
              help="Processes for verification and checking [default: all cores].")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object (every stage's results) instead of the tables.")
def reproduce_command(quick: bool, full: bool, out: Path, jobs: int | None,
                      as_json: bool) -> None:
    """Reproduce the theory: certified constants, every built-in claim verified with
    certificates re-checked by the independent checker, a Monte Carlo confirmation, every
    figure (OUT/figures) and a report (OUT/proofs/REPORT.md).

    Exit status 0 only when everything holds.
    """
    if quick and full:
        raise click.UsageError("--quick and --full exclude each other")
    if out.exists() and not out.is_dir():
        raise click.UsageError(f"--out {str(out)!r} is a file, not a directory")
    mode = "quick" if quick else "full" if full else "default"
    with progress_bar("reproduce", total=len(rp.STAGES), show=not as_json, spinner=True,
                      count="") as overall:
        result = rp.run(out, mode=mode, jobs=jobs, progress=_RichProgress(overall))
    if as_json:
        click.echo(json.dumps(result.to_json(), default=rp._default))
    else:
        _print_summary(result)
    sys.exit(0 if result.ok else 1)


def _print_summary(result: rp.Reproduction) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(soft_wrap=False, width=max(150, Console().width))
    claims = result.stage("claims")
    verify = (claims.data.get("verify") if claims else None) or {}
    if verify.get("claims"):
        table = Table(title="Claims (certified in ball arithmetic)")
        for col in ("claim", "extremum enclosure", "verdict", "boxes", "seconds"):
            table.add_column(col)
        for c in verify["claims"]:
            ext = c.get("extremum") or {}
            verdict = rp.verdict_text(c)
            table.add_row(Text(str(c["name"])), Text(f"{ext.get('kind', '')} ∈ "
                                                     f"[{ext.get('lower')}, {ext.get('upper')}]"),
                          Text(verdict), str(c.get("boxes")), str(c.get("seconds")))
        console.print(table)
    table = Table(title=rp.invocation(result.mode))
    for col in ("stage", "holds", "seconds", "summary"):
        table.add_column(col)
    for s in result.stages:
        table.add_row(Text(s.name), "yes" if s.ok else "NO", f"{s.seconds:.1f}", Text(s.summary))
    console.print(table)
    total = sum(s.seconds for s in result.stages)
    verdict = "everything holds" if result.ok else "NOT everything holds"
    console.print(Text(f"{verdict}; report: {result.report}; total {total:.1f} s"))


__all__ = ["reproduce_command"]
