"""``snn-theory map-domain``: pave the weight plane (ω, τ) into cells where Banach's two
conditions are proven, refuted or undecided (:mod:`snn_theory.domains`)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from snn_theory.domains import DEFAULT_BOX, DEFAULT_REGION
from snn_theory.errors import InputError

DEFAULT_OUT = "proofs/domain.paving.json.gz"


@click.command("map-domain")
@click.option("--plane", default="omega,tau", show_default=True,
              help="The plane paved (the weight plane; mu and nu form the box B).")
@click.option("--omega", "omega_range", default=":".join(DEFAULT_REGION["omega"]),
              show_default=True,
              help="Range of ω (weight sum) paved, a:b.")
@click.option("--tau", "tau_range", default=":".join(DEFAULT_REGION["tau"]), show_default=True,
              help="Range of τ (weight squared sum) paved, a:b.")
@click.option("--mu", "mu_range", default=":".join(DEFAULT_BOX["mu"]), show_default=True,
              help="The box B in μ (must contain 0).")
@click.option("--nu", "nu_range", default=":".join(DEFAULT_BOX["nu"]), show_default=True,
              help="The box B in ν (must contain 1).")
@click.option("--cells", type=int, default=4, show_default=True,
              help="Resolution: initial cells per axis (cells × cells).")
@click.option("--depth", type=int, default=2, show_default=True,
              help="Refinement levels: undecided cells, and refuted cells on the boundary, "
                   "are cut in four this many times at most.")
@click.option("--max-boxes", type=int, default=200, show_default=True,
              help="Box budget of the verifier per claim per cell (a cell whose claims it "
                   "cannot decide within the budget is undecided).")
@click.option("--jobs", "-j", type=int, default=None,
              help="Local worker processes (default: all cores).")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run the cells on this Dask distributed scheduler instead of local "
                   "processes.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default=True, help="The paving certificate (gzip when it ends in .gz).")
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="State file for --resume [default: <out>.state.json].")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run: saved cells are re-checked, never trusted.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def map_domain_command(plane: str, omega_range: str, tau_range: str, mu_range: str,
                       nu_range: str, cells: int, depth: int, max_boxes: int, jobs: int | None,
                       scheduler: str | None, out: Path, state: Path | None, resume: bool,
                       as_json: bool) -> None:
    """Map where in the weight plane (ω, τ) self-normalization is proven.

    For the box B = [mu] × [nu] of input moments, the region [omega] × [tau] is cut into
    cells; each cell C is decided by the verifier of `verify-contraction` on the domain
    B × C for five claims — the two conditions of Banach's fixed-point theorem:

    \b
      spectral_norm < 1                    (g is a contraction on B)
      mean >= mu_lo, mean <= mu_hi,
      variance >= nu_lo, variance <= nu_hi (g maps B into B)

    A cell is PROVEN when all five hold (ball arithmetic, every box of every claim), REFUTED
    when one is false at a rigorously evaluated counterexample point, UNDECIDED when the box
    budget ran out.  Undecided cells, and refuted cells sharing an edge with cells that are
    not refuted, are cut into four and decided again, --depth times.  The largest rectangle around (ω, τ) = (0, 1) inside
    the proven cells is reported with its area, beside Theorem 1's [−0.1, 0.1] × [0.95, 1.1].

    One certificate holds the whole paving; `snn-theory check-certificate FILE` re-proves
    every proven cell, re-evaluates every counterexample and checks that the cells tile the
    region.  It is byte-identical whichever executor ran it.

    Cluster: --scheduler tcp://HOST:8786 sends the cells to a running Dask scheduler (e.g.
    `dask scheduler` plus `dask worker tcp://HOST:8786 --nthreads 1` on each machine, or a
    Kubernetes Dask deployment); the workers need snn-theory installed.  An unreachable
    scheduler is reported within a few seconds (exit 2).

    Exit status: 0 when the paving is complete (whatever the verdicts), 2 on bad input,
    130 on Ctrl-C (the state is saved; rerun with --resume).
    """
    from snn_theory import domains
    from snn_theory.commands.progress import progress_bar
    from snn_theory.files import writable_directory

    domains.parse_plane(plane)
    if jobs is not None and jobs < 1:
        raise InputError(f"--jobs must be ≥ 1 (got {jobs})")
    spec = domains.PavingSpec(
        domains.parse_range(mu_range, "--mu"), domains.parse_range(nu_range, "--nu"),
        domains.parse_range(omega_range, "--omega"), domains.parse_range(tau_range, "--tau"),
        cells=cells, depth=depth, max_boxes=max_boxes)
    writable_directory(out.parent if str(out.parent) else Path("."), "--out")
    state = state or out.with_name(out.name + ".state.json")
    jobs = jobs or os.cpu_count() or 1
    with progress_bar("level 0", show=not as_json, count="cells") as bar:

        def progress(p: domains.PavingProgress) -> None:
            bar.describe(f"level {p.level}: {p.proven} proven, {p.refuted} refuted, "
                         f"{p.undecided} undecided")
            bar(p.done, p.total)

        try:
            paving = domains.map_domain(spec, jobs=jobs, scheduler=scheduler, state=state,
                                        resume=resume, progress=progress,
                                        connect_timeout=3.0)
        except KeyboardInterrupt:
            where = (f"state saved in {state} (rerun with --resume)" if state.exists()
                     else "no cell was decided yet, nothing saved")
            click.echo(f"snn-theory map-domain: interrupted; {where}", err=True)
            sys.exit(130)
    path = domains.write_paving(out, paving)
    summary = paving.summary()
    paper = domains.paper_areas()
    if as_json:
        click.echo(json.dumps({"spec": spec.to_json(), **summary,
                               "paper_rectangles": paper, "certificate": str(path),
                               "cells_evaluated": paving.evaluated,
                               "cells_resumed": paving.resumed,
                               "seconds": round(paving.seconds, 3)}))
    else:
        from rich.console import Console
        from rich.text import Text

        out_console = Console(soft_wrap=True)
        sj = spec.to_json()
        w, t = (", ".join(sj["region"][k]) for k in ("omega", "tau"))
        m, n = (", ".join(sj["box"][k]) for k in ("mu", "nu"))
        out_console.print(Text(
            f"paving of omega ∈ [{w}] x tau ∈ [{t}] for B = mu ∈ [{m}] x nu ∈ [{n}] "
            "(closed-form lam01, alpha01): "
            f"{summary['cells']} cells, {summary['proven']} proven, {summary['refuted']} "
            f"refuted, {summary['undecided']} undecided; areas proven {summary['areas']['proven']}, "
            f"refuted {summary['areas']['refuted']}, undecided {summary['areas']['undecided']}"))
        if paving.largest is not None:
            r = summary["largest_rectangle"]
            out_console.print(Text(
                f"largest certified rectangle around (omega, tau) = (0, 1): omega ∈ "
                f"[{', '.join(r['omega'])}] x tau ∈ [{', '.join(r['tau'])}], area "
                f"{summary['largest_area']} (Theorem 1's rectangle: area "
                f"{paper['Theorem 1']})"))
        else:
            out_console.print(Text("no proven cell contains (omega, tau) = (0, 1)"))
        out_console.print(Text(f"certificate: {path} (check with `snn-theory check-certificate "
                               f"{path}`); {paving.evaluated} cells decided, "
                               f"{paving.resumed} re-checked from the state, "
                               f"{paving.seconds:.1f} s"))
