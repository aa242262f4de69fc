"""``snn-theory map-domain``: pave the weight plane (ω, τ) — or (ν, τ), (λ, α), … — into
cells where Banach's two conditions are proven, refuted or undecided, for SELU or any
activation (:mod:`snn_theory.certify.domains`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from snn_theory.certify.domains import (
    DEFAULT_BOX,
    DEFAULT_FIXED,
    DEFAULT_PLANE_RANGES,
    DEFAULT_REGION,
)
from snn_theory.cli.activation_option import activation_options, resolve_options
from snn_theory.errors import InputError
from snn_theory.exact import format_fraction

DEFAULT_OUT = "proofs/domain.paving.json.gz"


@click.command("map-domain")
@click.option("--plane", default="omega,tau", show_default=True,
              help="The two variables paved: two of mu, omega, nu, tau (e.g. nu,tau: input "
                   "variances against τ at fixed ω), or lam,alpha (SELU's constants at fixed "
                   "weights).  Variables not in the plane: μ, ν take B's ranges, ω, τ the "
                   "--omega/--tau ranges.")
@click.option("--region", "region_text", default=None, metavar="NAME=a:b,NAME=a:b",
              help="Ranges paved for plane variables other than ω, τ [defaults: "
                   + ", ".join(f"{k} {a}:{b}" for k, (a, b) in DEFAULT_PLANE_RANGES.items())
                   + "].")
@click.option("--omega", "omega_range", default=None,
              help=f"Range of ω (weight sum), a:b [default: {':'.join(DEFAULT_REGION['omega'])} "
                   f"paved; {':'.join(DEFAULT_FIXED['omega'])} when not in the plane].")
@click.option("--tau", "tau_range", default=None,
              help=f"Range of τ (weight squared sum), a:b [default: "
                   f"{':'.join(DEFAULT_REGION['tau'])} paved; {':'.join(DEFAULT_FIXED['tau'])} "
                   "when not in the plane].")
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
@activation_options
def map_domain_command(plane: str, region_text: str | None, omega_range: str | None,
                       tau_range: str | None, mu_range: str,
                       nu_range: str, cells: int, depth: int, max_boxes: int, jobs: int | None,
                       scheduler: str | None, out: Path, state: Path | None, resume: bool,
                       as_json: bool, activation: str, scale: str, shift: str) -> None:
    """Map where in the weight plane (ω, τ) — or another plane — self-normalization is proven.

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

    Other planes (--plane): the cell's ranges replace those variables in the domain; μ, ν
    not in the plane take B's ranges and ω, τ not in the plane the --omega/--tau ranges
    (held fixed).  E.g. --plane nu,tau --region nu=0.8:1.5 --omega -0.01:0.01 maps input
    variances against τ (the target B of g(D) ⊆ B stays --mu × --nu); --plane lam,alpha
    --region lam=1:1.1,alpha=1.5:1.8 paves SELU's constants for the fixed weights (each cell
    proves the five claims for every λ, α in it; the reference point of the largest
    rectangle is (1.0507, 1.6733), λ01 and α01 rounded).

    --activation NAME|EXPR: cells decided by the verifier of `verify-contraction --activation`
    (rigorous Gaussian integrals of the activation); the certificate records the
    activation's definition and the checker re-derives it from there.  B need not contain
    (0, 1) then (Banach: a proven cell has its fixed point in B).

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
    from snn_theory.certify import domains
    from snn_theory.cli.progress import progress_bar
    from snn_theory.files import check_overwrite, writable_directory

    axes = domains.parse_plane(plane)
    act = resolve_options(activation, scale, shift).activation
    if jobs is not None and jobs < 1:
        raise InputError(f"--jobs must be ≥ 1 (got {jobs})")
    given = _parse_region(region_text, axes)
    weights = {}
    for name, text in (("omega", omega_range), ("tau", tau_range)):
        if name in given:
            weights[name] = given[name]
        else:
            default = (DEFAULT_REGION if name in axes else DEFAULT_FIXED)[name]
            weights[name] = domains.parse_range(text or ":".join(default), f"--{name}")
    region = tuple(given.get(n) or weights.get(n) or domains.parse_range(
        ":".join(DEFAULT_PLANE_RANGES[n]), f"--region {n}") for n in axes)
    spec = domains.PavingSpec(
        domains.parse_range(mu_range, "--mu"), domains.parse_range(nu_range, "--nu"),
        weights["omega"], weights["tau"], cells=cells, depth=depth, max_boxes=max_boxes,
        plane=axes, region=region, activation=act)  # type: ignore[arg-type]
    writable_directory(out.parent if str(out.parent) else Path("."), "--out")
    check_overwrite(out, domains.is_paving_certificate, "--out")
    state = state or out.with_name(out.name + ".state.json")
    if state.resolve() == out.resolve():
        raise InputError("--state and --out name the same file")
    jobs = jobs or os.cpu_count() or 1
    with progress_bar("level 0", show=not as_json, count="cells") as bar:

        def progress(p: domains.PavingProgress) -> None:
            bar.describe(f"level {p.level}: {p.proven} proven, {p.refuted} refuted, "
                         f"{p.undecided} undecided")
            bar(p.done, p.total)

        paving = domains.map_domain(spec, jobs=jobs, scheduler=scheduler, state=state,
                                    resume=resume, progress=progress, connect_timeout=3.0)
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
        from snn_theory.cli.console import print_wrapped

        sj = spec.to_json()
        p1, p2 = spec.plane
        w, t = (", ".join(sj["region"][k]) for k in (p1, p2))
        m, n = (", ".join(sj["box"][k]) for k in ("mu", "nu"))
        fixed = "".join(f", {k} ∈ [{', '.join(v)}]" for k, v in sj.get("fixed", {}).items())
        consts = ("each cell's lam, alpha" if spec.plane == ("lam", "alpha")
                  else "closed-form lam01, alpha01" if spec.activation is None
                  else f"activation {spec.activation.label()}, rigorous Gaussian integrals")
        print_wrapped(
            f"paving of {p1} ∈ [{w}] x {p2} ∈ [{t}] for B = mu ∈ [{m}] x nu ∈ [{n}]{fixed} "
            f"({consts}): "
            f"{summary['cells']} cells, {summary['proven']} proven, {summary['refuted']} "
            f"refuted, {summary['undecided']} undecided; areas proven {summary['areas']['proven']}, "
            f"refuted {summary['areas']['refuted']}, undecided {summary['areas']['undecided']}")
        ref = ", ".join(format_fraction(domains.REFERENCE[k]) for k in (p1, p2))
        if paving.largest is not None:
            r = summary["largest_rectangle"]
            beside = (f" (Theorem 1's rectangle: area {paper['Theorem 1']})"
                      if spec.plane == domains.PLANE else "")
            print_wrapped(
                f"largest certified rectangle around ({p1}, {p2}) = ({ref}): {p1} ∈ "
                f"[{', '.join(r[p1])}] x {p2} ∈ [{', '.join(r[p2])}], area "
                f"{summary['largest_area']}{beside}")
        else:
            print_wrapped(f"no proven cell contains ({p1}, {p2}) = ({ref})")
        # every cell looked at, over all levels: the paving's cells and the parents that were
        # cut into four (evaluated here or re-checked from the state)
        parents = paving.evaluated + paving.resumed - summary["cells"]
        print_wrapped(f"certificate: {path} (check with `snn-theory check-certificate "
                      f"{path}`); {paving.evaluated + paving.resumed} cells "
                      f"evaluated over all levels ({summary['cells']} in the paving, "
                      f"{parents} cut into four), {paving.resumed} of them "
                      f"re-checked from the state; {paving.seconds:.1f} s")


def _parse_region(text: str | None, axes: tuple[str, str]) -> dict:
    """``"nu=0.8:1.5,tau=0.9:1.2"`` → exact ranges of plane variables (one line, exit 2 for
    names outside the plane, repeats or bad ranges)."""
    from snn_theory.certify import domains

    out: dict = {}
    if text is None:
        return out
    for item in text.split(","):
        name, sep, rng = item.partition("=")
        name = name.strip()
        if not sep:
            raise InputError(f"--region: expected NAME=a:b (got {item.strip()!r})")
        if name not in axes:
            raise InputError(f"--region: {name!r} is not a variable of the plane "
                             f"{','.join(axes)}")
        if name in out:
            raise InputError(f"--region: {name} given twice")
        out[name] = domains.parse_range(rng, f"--region {name}")
    return out
