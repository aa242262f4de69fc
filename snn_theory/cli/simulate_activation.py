"""``simulate --activation NAME``: the numpy Monte Carlo of :mod:`snn_theory.simulate.activation`.

Only the options that the generic simulation supports may differ from their defaults; any
other (SELU- or JAX-specific) option is refused with one line (exit 2).
"""

from __future__ import annotations

import json

import click

from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError

SUPPORTED = {"width", "depth", "batch", "mean0", "var0", "omega", "tau", "seed", "as_json",
             "activation", "scale", "shift"}


def run(act: Activation, *, width: int, depth: int, batch: int, mean0: float, var0: float,
        omega: float, tau: float, seed: int, as_json: bool) -> None:
    ctx = click.get_current_context()
    for name in ctx.params:
        source = ctx.get_parameter_source(name)
        if name not in SUPPORTED and source is not None and source.name != "DEFAULT":
            raise InputError(f"--{name.replace('_', '-')} is not supported with --activation "
                             "(supported: width, depth, batch, mean0, var0, omega, tau, seed, "
                             "json)")
    from snn_theory.simulate.activation import simulate_activation

    result = simulate_activation(act, width=width, depth=depth, batch=batch, mean0=mean0, var0=var0,
                      omega=omega, tau=tau, seed=seed)
    if as_json:
        click.echo(json.dumps(result.to_json()))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(f"{act.label()} network, width {width}, batch {batch}, "
                               f"(ω, τ) = ({omega}, {tau}): Monte Carlo vs g (evidence, "
                               "float64)"))
    for col in ("layer", "mean", "g mean", "variance", "g variance"):
        table.add_column(col, justify="right")
    for k in range(depth + 1):
        table.add_row(str(k), f"{result.mean[k]:.5f}", f"{result.predicted_mean[k]:.5f}",
                      f"{result.variance[k]:.5f}", f"{result.predicted_variance[k]:.5f}")
    console = Console()
    console.print(table)
    dev = result.max_deviation()
    console.print(f"max |deviation|: mean {dev['mean']:.3g}, variance {dev['variance']:.3g}")
