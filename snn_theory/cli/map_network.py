"""``snn-theory map --network SPEC``: a whole network's (μ, ν) map, its Jacobian and S, and
(``--fixed-point``) the certified fixed point of that map.

    snn-theory map --network "dense(selu), alpha_dropout(0.1)" --mu 0 --nu 1 --backend arb
    snn-theory map --network "residual(0.3, dense(selu), dense(selu))" --mu 0 --nu 1 --json
    snn-theory map --network "dense(selu), dropout(0.1)" --mu 0 --nu 1 --fixed-point

SPEC (docs/networks.md): blocks separated by commas — ``dense(ACT[, omega=W][, tau=T])``,
``act(ACT)``, ``alpha_dropout(Q)``, ``dropout(Q)``, ``residual(W, BLOCK, …)``,
``layer_norm()``, ``N*BLOCK``; ACT is the ``--activation`` syntax.  ``--omega``/``--tau`` are
the weights of every dense block that does not name its own.  Backends: arb (balls that
contain the exact values), mpmath (point values, every digit vouched for by arb at the same
precision), numpy (float64 evidence; SELU blocks only).  ``--fixed-point``: Newton's method
from (--mu, --nu), then a Krawczyk test in arb at ``--digits``; the printed intervals
(outward rounded) contain the unique fixed point of the network's map in the tested box;
exit 3 when the test does not pass.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import mpmath

from snn_theory.cli.console import value_formatter
from snn_theory.errors import InputError
from snn_theory.evaluate.network_map import network_map
from snn_theory.exact import ball_text, decimal_string


def run_network(network: str, *, mu: str, nu: str, omega: str, tau: str, backend: str,
                digits: int, as_json: bool, fixed_point: bool) -> None:
    """The ``--network`` half of ``snn-theory map`` (options already checked by the caller)."""
    mu = decimal_string(mu, "--mu")
    nu = decimal_string(nu, "--nu", positive=True)
    omega = decimal_string(omega, "--omega")
    tau = decimal_string(tau, "--tau", positive=True)
    result = network_map(network, mu=mu, nu=nu, omega=omega, tau=tau, backend=backend,
                         digits=digits)
    fmt = value_formatter(result.backend, digits,
                          max(digits, mpmath.libmp.prec_to_dps(result.bits)), as_json)
    (a, b), (c, d) = result.jacobian
    out: dict[str, Any] = {
        "network": result.network.spelling(),
        "backend": backend,
        "mean": fmt(result.mean),
        "variance": fmt(result.variance),
        "jacobian": [[fmt(a), fmt(b)], [fmt(c), fmt(d)]],
        "spectral_norm": fmt(result.spectral_norm),
        "working_bits": result.bits,
    }
    if fixed_point:
        from snn_theory.certify.network_fixed_point import network_fixed_point

        fp = network_fixed_point(result.network, omega=omega, tau=tau, start=(mu, nu),
                                 digits=digits)
        out["fixed_point"] = {"certified": True, "mean": ball_text(fp.mean, digits),
                              "variance": ball_text(fp.variance, digits),
                              "working_bits": fp.bits}
    if as_json:
        json.dump(out, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
        return
    _print(out, digits)


def _print(out: dict[str, Any], digits: int) -> None:
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from snn_theory.cli.console import unwrapped_console

    kind = {"mpmath": f"mpmath, {digits} digits (point values)",
            "arb": f"arb balls at {digits} digits (each contains the exact value)",
            "numpy": "numpy float64 (evidence)"}[out["backend"]]
    table = Table(title=f"network map of {escape(out['network'])} ({kind})")
    table.add_column("quantity")
    table.add_column("value", no_wrap=True)
    (j11, j12), (j21, j22) = out["jacobian"]
    rows = [("mean", out["mean"]), ("variance", out["variance"]),
            ("∂mean/∂μ", j11), ("∂mean/∂ν", j12), ("∂variance/∂μ", j21),
            ("∂variance/∂ν", j22), ("spectral norm S", out["spectral_norm"])]
    if "fixed_point" in out:
        rows += [("fixed point μ* (certified, contains)", out["fixed_point"]["mean"]),
                 ("fixed point ν* (certified, contains)", out["fixed_point"]["variance"])]
    for name, value in rows:
        table.add_row(name, Text(str(value)))
    unwrapped_console(*(str(v) for _, v in rows)).print(table)


def check_network_options(*, lam: str | None, alpha: str | None, steps: int | None,
                          activation: str, scale: str, shift: str) -> None:
    """:class:`InputError` for the options of ``map`` that a network spells in its blocks."""
    if lam is not None or alpha is not None:
        raise InputError("--lam/--alpha are not used with --network (the blocks use λ01, α01)")
    if steps is not None:
        raise InputError("--iterate is not available with --network yet")
    if (activation, scale, shift) != ("selu", "1", "0"):
        raise InputError("with --network each block names its activation: use "
                         "dense(ACT) or act(ACT), not --activation/--scale/--shift")


__all__ = ["check_network_options", "run_network"]
