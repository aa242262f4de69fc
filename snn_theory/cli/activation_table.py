"""``snn-theory activation-table``: the Theorem 1 analogue for every built-in activation.

    snn-theory activation-table                       # all built-ins, 60 s per claim
    snn-theory activation-table --only tanh --only gelu --time-limit 20 --markdown

See :mod:`snn_theory.certify.activation_table` for what is computed and what is proven.
Exit status 0 (the table is a report: refuted or undecided rows are results, not errors),
2 on bad input.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from snn_theory.derive import activations
from snn_theory.errors import InputError
from snn_theory.files import writable_directory


@click.command("activation-table")
@click.option("--only", "only", multiple=True, metavar="NAME",
              help="Restrict to these built-in activations (repeatable).")
@click.option("--time-limit", type=float, default=60.0, show_default=True,
              help="Seconds per claim before it is reported undecided.")
@click.option("--max-boxes", type=int, default=20000, show_default=True,
              help="Boxes per claim before it is reported undecided.")
@click.option("--jobs", "-j", type=int, default=None, help="Processes (default: all cores).")
@click.option("--certificate-dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Write the certificates here.")
@click.option("--markdown", is_flag=True,
              help="Print a Markdown table (default: a table laid out for the terminal).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def activation_table_command(only: tuple[str, ...], time_limit: float, max_boxes: int,
                             jobs: int | None, certificate_dir: Path | None, markdown: bool,
                             as_json: bool) -> None:
    """Parameters for the fixed point (0, 1), S there, and the Theorem 1 analogue.

    For each built-in activation: proven (certificate), refuted (checked counterexample)
    or undecided within the budget, claim by claim.
    """
    from snn_theory.certify.activation_table import markdown as to_markdown
    from snn_theory.certify.activation_table import table

    if jobs is not None and jobs < 1:
        raise InputError(f"--jobs must be ≥ 1 (got {jobs})")

    names = tuple(activations.ALIASES.get(n.lower(), n.lower()) for n in only) or activations.NAMES
    unknown = [n for n in names if n not in activations.NAMES]
    if unknown:
        raise InputError(f"--only: unknown activation {unknown[0]!r}; choose from "
                         f"{', '.join(activations.NAMES)}")
    if not time_limit > 0 or max_boxes < 1:
        raise InputError("--time-limit must be > 0 and --max-boxes ≥ 1")
    if certificate_dir is not None:
        certificate_dir = writable_directory(certificate_dir, "certificate dir")
    from snn_theory.cli.progress import progress_bar

    with progress_bar("activation table", show=not as_json, spinner=True, bar=False) as bar:
        rows = table(names, time_limit=time_limit, max_boxes=max_boxes,
                     jobs=jobs or os.cpu_count() or 1, certificate_dir=certificate_dir,
                     progress=bar.describe)
    if as_json:
        click.echo(json.dumps({"rows": [
            {"activation": r.activation.to_json(), "parameters": r.parameters,
             "spectral_norm_at_fixed_point": r.spectral_norm.str(20), "verdict": r.verdict,
             "claims": [x.json_entry() for x in r.results], "seconds": round(r.seconds, 2)}
            for r in rows]}))
        return
    if markdown:
        click.echo(to_markdown(rows, time_limit, max_boxes))
        return
    from snn_theory.certify.activation_table import COLUMNS, cells, footer
    from snn_theory.cli.console import print_table, print_wrapped

    print_table("Theorem 1 analogue per activation", COLUMNS, [cells(r) for r in rows],
                right=("seconds",))
    print_wrapped(footer(time_limit, max_boxes))
