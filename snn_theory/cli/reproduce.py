"""``snn-theory reproduce [--quick|--full] [--activation NAME] [--out DIR]``: the whole theory
in one command.

The stages are :mod:`snn_theory.show.reproduce.stages` (typed results in
:mod:`snn_theory.show.reproduce.results`) and the report
:mod:`snn_theory.show.reproduce.report`; this module draws the progress bars (rich, on
stderr, when it is a terminal), prints one line per finished stage with its wall time, then
a summary on stdout (or one JSON object with ``--json``), and maps the outcome to the exit
code (:mod:`snn_theory.cli.exit_codes`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from snn_theory.cli.activation_option import activation_options, resolve_options
from snn_theory.cli.exit_codes import EXIT_FALSE, EXIT_NOT_CERTIFIED, EXIT_OK
from snn_theory.cli.progress import ProgressBar, progress_bar
from snn_theory.files import dumps_json
from snn_theory.show.reproduce import results as st
from snn_theory.show.reproduce.stages import run as run_stages

#: The exit code of each outcome of a reproduction.
OUTCOME_EXIT: dict[st.Outcome, int] = {
    st.Outcome.HOLDS: EXIT_OK,
    st.Outcome.FAILED: EXIT_FALSE,
    st.Outcome.NOT_CERTIFIED: EXIT_NOT_CERTIFIED,
}


class _Bars:
    """The progress callback: under the overall line, one line per stage on stderr; the
    stage's wall time and summary printed above it when it finishes (always)."""

    def __init__(self, overall: ProgressBar, stages: int) -> None:
        self.overall, self.stages = overall, stages
        self.line: ProgressBar | None = None
        self.text = ""
        self.count = 0

    def __call__(self, event: st.ProgressEvent) -> None:
        if event.kind == "start":
            if self.line is not None:
                self.line.remove()
            self.text = event.text
            self.line = self.overall.line(f"  {event.text}", total=event.total)
        elif event.kind == "advance" and self.line is not None:
            self.line(event.done, event.total)
        elif event.kind == "status" and self.line is not None:
            self.line.describe(f"  {self.text} — {event.text}")
        elif event.kind == "done":
            self.count += 1
            self.overall(self.count, self.stages)
            self.overall.note(f"stage {event.stage}: {event.seconds:.1f} s — {event.text}")


@click.command("reproduce")
@click.option("--quick", is_flag=True,
              help="Smaller run (under a minute): every claim, 50-digit constants, small "
                   "simulations, coarser figures, without the correlation-map and gradients "
                   "figures.")
@click.option("--full", is_flag=True,
              help="Larger run: 1000-digit constants, --grid fine, wider networks and "
                   "the training figure (several minutes more).  The default run, and "
                   "this one, also re-check the committed domain-map paving "
                   "(proofs/domain.paving.json.gz) from scratch and redraw its figure.")
@activation_options
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True,
              help="Directory receiving figures/ and proofs/ (certificates, REPORT.md); "
                   "for another activation figures/NAME/ and proofs/NAME/.")
@click.option("--jobs", "-j", type=int, default=None,
              help="Processes for verification and checking [default: all cores].")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object (every stage's results) instead of the tables.")
def reproduce_command(quick: bool, full: bool, activation: str, scale: str, shift: str,
                      out: Path, jobs: int | None, as_json: bool) -> None:
    """Reproduce the theory: certified constants, every built-in claim verified with
    certificates re-checked by the independent checker, a Monte Carlo confirmation, every
    figure (OUT/figures) and a report (OUT/proofs/REPORT.md, OUT/proofs/reproduce.json).

    With --activation NAME (a built-in such as relu or tanh, or an expression in x) the same
    for that activation, into OUT/proofs/NAME/ and OUT/figures/NAME/ (the SELU outputs are
    never touched): the c, d of c·f + d that make (0, 1) the fixed point, S(H) there, its
    Theorem 1 analogue decided claim by claim with certificates re-checked by the checker,
    its certified gains, and the figures of `snn-theory plot … --activation` for c·f + d
    (flow field, contraction, variance change, fixed points, convergence; --full also the
    training figure).  reproduce solves c and d
    itself, so --scale and --shift must stay at 1 and 0.

    Exit status: 0 everything holds; 1 a stage did not hold (a claim not as expected, a
    certificate rejected, a simulation off its bound, a figure missing); 3 not certified:
    a claim of --activation is refuted or undecided, or an enclosure could not decide
    (reported as such, nothing claimed); 2 bad input.
    """
    if quick and full:
        raise click.UsageError("--quick and --full exclude each other")
    if out.exists() and not out.is_dir():
        raise click.UsageError(f"--out {str(out)!r} is a file, not a directory")
    mode = "quick" if quick else "full" if full else "default"
    model = resolve_options(activation, scale, shift)
    stages = len(st.stage_names(mode, model))
    with progress_bar("reproduce", total=stages, show=not as_json, spinner=True,
                      count="") as overall:
        result = run_stages(out, mode=mode, jobs=jobs, progress=_Bars(overall, stages),
                            activation=model)
    if as_json:
        from snn_theory.show.reproduce.report import json_default, to_json

        click.echo(dumps_json(to_json(result), default=json_default))
    else:
        _print_summary(result)
    sys.exit(OUTCOME_EXIT[result.outcome])


def _print_summary(result: st.Reproduction) -> None:
    from snn_theory.cli.verify import print_claims

    if result.activation is None:
        claims = result.result("claims")
        if claims is not None and claims.results:
            print_claims(list(claims.results), "Claims (certified in ball arithmetic)")
    else:
        analogue = result.result("analogue")
        if analogue is not None:
            print_claims(list(analogue.row.results), f"Theorem 1 analogue for "
                         f"{analogue.row.activation.label()} (ball arithmetic, rigorous "
                         "Gaussian integrals)")
    from snn_theory.cli.console import print_table, print_wrapped

    print_table(st.invocation(result.mode, None if result.activation is None
                              else result.activation.definition),
                ("stage", "holds", "seconds", "summary"),
                [(s.name, "yes" if s.ok else "NO", f"{s.seconds:.1f}", s.summary)
                 for s in result.stages], right=("seconds",))
    total = sum(s.seconds for s in result.stages)
    verdict = {st.Outcome.HOLDS: "everything holds",
               st.Outcome.FAILED: "NOT everything holds",
               st.Outcome.NOT_CERTIFIED: "NOT everything holds (refuted or undecided claims, "
                                         "reported as such)"}[result.outcome]
    print_wrapped(f"{verdict}; report: {result.report}; total {total:.1f} s")


__all__ = ["OUTCOME_EXIT", "reproduce_command"]
