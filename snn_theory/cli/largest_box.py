"""``snn-theory largest-box``: the largest certified (μ, ν) box around the fixed point for a
rectangle of weights (:func:`snn_theory.certify.domains.largest_box`)."""

from __future__ import annotations

import json
import os
import sys
from fractions import Fraction
from pathlib import Path

import click

from snn_theory.errors import InputError


@click.command("largest-box")
@click.option("--omega", "omega_range", default="-0.1:0.1", show_default=True,
              help="The weights' ω range (default: Theorem 1's).")
@click.option("--tau", "tau_range", default="0.95:1.1", show_default=True,
              help="The weights' τ range (default: Theorem 1's).")
@click.option("--mu", "mu_range", default="-0.1:0.1", show_default=True,
              help="The base box B(1) in μ (symmetric about 0).")
@click.option("--nu", "nu_range", default="0.8:1.5", show_default=True,
              help="The base box B(1) in ν (containing 1).")
@click.option("--scale-max", default="1.5", show_default=True,
              help="The largest scale s tried.")
@click.option("--steps", type=int, default=3, show_default=True,
              help="Bisection steps on s after trying 1 and --scale-max.")
@click.option("--cells", type=int, default=2, show_default=True,
              help="Cells per axis of each candidate's paving.")
@click.option("--depth", type=int, default=1, show_default=True,
              help="Refinement levels of each candidate's paving.")
@click.option("--max-boxes", type=int, default=200, show_default=True,
              help="Verifier box budget per claim per cell.")
@click.option("--jobs", "-j", type=int, default=None, help="Local worker processes.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run the cells on this Dask distributed scheduler.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default="proofs/largest_box.paving.json.gz", show_default=True,
              help="Paving certificate of the largest box proven.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def largest_box_command(omega_range: str, tau_range: str, mu_range: str, nu_range: str,
                        scale_max: str, steps: int, cells: int, depth: int, max_boxes: int,
                        jobs: int | None, scheduler: str | None, out: Path,
                        as_json: bool) -> None:
    """The largest (μ, ν) box B(s) proven attracting for every weight statistic in
    [omega] × [tau].

    The family: B(s) = [−s·a, s·a] × [1 − s·b, 1 + s·c], with B(1) = [mu] × [nu] (default
    Theorem 1's [−0.1, 0.1] × [0.8, 1.5]).  A scale s is proven when the paving of the
    weight rectangle (as in `map-domain`) for B(s) has every cell proven: then S < 1 and
    g(B(s)) ⊆ B(s) for all (ω, τ) in the rectangle.  Bisection on s ∈ [1, --scale-max]:
    the printed scale is the largest proven, a certified lower bound (the first scale not
    proven is reported as refuted — a checked counterexample — or undecided at the budget).
    The certificate of the largest proven box is written to --out (check-certificate).

    Exit status: 0 when B(1) or a larger box is proven, 3 when not even B(1) is, 2 on bad
    input.
    """
    from rich.console import Console
    from rich.text import Text

    from snn_theory.certify import domains
    from snn_theory.exact import format_fraction, parse_exact
    from snn_theory.files import check_overwrite, writable_directory

    if jobs is not None and jobs < 1:
        raise InputError(f"--jobs must be ≥ 1 (got {jobs})")
    writable_directory(out.parent if str(out.parent) else Path("."), "--out")
    check_overwrite(out, domains.is_paving_certificate, "--out")
    console = Console(stderr=True)

    def progress(k: int, s: Fraction, paving: domains.Paving) -> None:
        if not as_json and console.is_terminal:
            ok = all(e["verdict"] == "proven" for e in paving.entries)
            console.print(Text(f"scale {format_fraction(s)}: "
                               f"{'proven' if ok else 'not proven'}"))

    result = domains.largest_box(
        domains.parse_range(omega_range, "--omega"), domains.parse_range(tau_range, "--tau"),
        domains.parse_range(mu_range, "--mu"), domains.parse_range(nu_range, "--nu"),
        parse_exact(scale_max, "--scale-max"), steps=steps, cells=cells, depth=depth,
        max_boxes=max_boxes, jobs=jobs or os.cpu_count() or 1, scheduler=scheduler,
        progress=progress)
    f = format_fraction
    base_mu, base_nu = result.box(Fraction(1))
    base_area = (base_mu[1] - base_mu[0]) * (base_nu[1] - base_nu[0])
    entry: dict = {"family": {k: f(v) for k, v in result.family.items()},
                   "steps": result.steps, "base_area": f(base_area),
                   "scale": None, "box": None, "area": None, "certificate": None,
                   "failed_scale": None if result.failed_scale is None else f(result.failed_scale),
                   "failed_because": result.failed_because}
    if result.proven is not None and result.proven_scale is not None:
        mu, nu = result.box(result.proven_scale)
        entry.update(scale=f(result.proven_scale),
                     box={"mu": [f(x) for x in mu], "nu": [f(x) for x in nu]},
                     area=f((mu[1] - mu[0]) * (nu[1] - nu[0])),
                     certificate=str(domains.write_paving(out, result.proven)))
    if as_json:
        click.echo(json.dumps(entry))
    else:
        from snn_theory.cli.console import print_wrapped

        if entry["scale"] is None:
            print_wrapped(f"not proven even for the base box B(1) (failed: "
                          f"{result.failed_because})")
        else:
            b = entry["box"]
            text = (f"largest certified box B({entry['scale']}) = mu ∈ [{', '.join(b['mu'])}] x "
                    f"nu ∈ [{', '.join(b['nu'])}] for all omega ∈ [{omega_range.replace(':', ', ')}]"
                    f", tau ∈ [{tau_range.replace(':', ', ')}]: S < 1 and g(B) ⊆ B proven; area "
                    f"{entry['area']} (B(1): {entry['base_area']})")
            if entry["failed_scale"] is not None:
                text += (f"; B({entry['failed_scale']}) not proven "
                         f"({entry['failed_because']})")
            print_wrapped(text)
            print_wrapped(f"certificate: {entry['certificate']}")
    sys.exit(0 if entry["scale"] is not None else 3)
