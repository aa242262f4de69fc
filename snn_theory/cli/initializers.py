"""``snn-theory initializers``: the τ = E[Σw²] common initialisers produce, certified.

    snn-theory initializers                      # laws and framework presets, fan-in 1024
    snn-theory initializers --truncation 3 --fan-in 256 --json
    snn-theory initializers --monte-carlo --width 512 --depth 30

The mathematics is in :mod:`snn_theory.certify.initializers`.
"""

from __future__ import annotations

import json
from typing import Any

import click

from snn_theory.errors import InputError
from snn_theory.exact import SHORT_DIGITS, ball_text


def _ball(x: Any) -> dict[str, str]:
    from snn_theory.certify.rounding import ball_json

    return ball_json(x)


def _g(x: Any, digits: int = SHORT_DIGITS) -> str:
    """The ball rounded outward to ``digits`` significant digits."""
    return ball_text(x, digits)


@click.command("initializers")
@click.option("--fan-in", type=int, default=1024, show_default=True,
              help="Fan-in N for the per-unit spread of ω = Σw and τ = Σw².")
@click.option("--truncation", default="2", show_default=True,
              help="Truncation point a (> 0) of the truncated-normal law row, in σ.")
@click.option("--monte-carlo", "mc", is_flag=True,
              help="Also run a float64 network per preset (evidence, not proof).")
@click.option("--width", type=int, default=512, show_default=True, help="Monte Carlo width.")
@click.option("--depth", type=int, default=30, show_default=True, help="Monte Carlo layers.")
@click.option("--batch", type=int, default=512, show_default=True, help="Monte Carlo inputs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Monte Carlo seed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def initializers_command(fan_in: int, truncation: str, mc: bool, width: int, depth: int,
                         batch: int, seed: int, as_json: bool) -> None:
    """Certified variance factors of weight laws, and what framework initialisers give.

    A weight w = s·u/√N (fan-in N, scale s, u from a unit-scale law with E[u²] = v,
    E[u⁴] = m4) has, per unit, E[τ] = s²·v, sd τ = s²·v·√((m4/v² − 1)/N) and sd ω = √E[τ].
    The theory wants τ = 1: divide the standard deviation by √v (the correction factor).

    \b
    normal:            v = 1
    truncated at ±a:   v = 1 − 2aφ(a)/(2Φ(a) − 1)   (a = 2: v = 0.77374…, √v = 0.87962…)
    uniform on ±√3:    v = 1, m4 = 9/5

    Every figure but the Monte Carlo is an arb ball (shown to 10 digits; --json gives
    outward-rounded bounds), and the fixed point of g for (ω, τ) = (0, E[τ]) is certified by
    a Krawczyk test.  --monte-carlo runs x ↦ selu(Wx) in float64 with each preset's weights
    and compares the last layer with that fixed point (sampling error ~1/√(N·B)).

    Exit status: 0, or 2 on bad input (fan-in < 1, truncation ≤ 0, sizes < 1).
    """
    from snn_theory.certify.initializers import (
        LAWS,
        PRESETS,
        initializer_table,
        law_moments,
        monte_carlo,
    )
    from snn_theory.precision import working_precision

    if fan_in < 1:
        raise InputError(f"--fan-in must be ≥ 1 (got {fan_in})")
    with working_precision(bits=128):
        laws = [law_moments(law, truncation if law == "truncated_normal" else None)
                for law in LAWS]
        law_rows = []
        for m in laws:
            law_rows.append({
                "law": m.law + (f" at ±{truncation}σ" if m.law == "truncated_normal" else
                                " on ±√3" if m.law == "uniform" else ""),
                "variance_factor": m.variance, "correction_sqrt_v": m.correction,
                "std_multiplier": 1 / m.correction, "kurtosis": m.kurtosis,
                "tau_sd": ((m.kurtosis - 1) / fan_in).sqrt()})
    rows = initializer_table(fan_in)
    runs = []
    if mc:
        for name, v in (("--width", width), ("--depth", depth), ("--batch", batch)):
            if v < 1:
                raise InputError(f"{name} must be ≥ 1 (got {v})")
        if seed < 0:
            raise InputError(f"--seed must be ≥ 0 (got {seed})")
        runs = _monte_carlo_all(PRESETS, monte_carlo, (width, depth, batch, seed),
                                show=not as_json)
    if as_json:
        out = {
            "fan_in": fan_in,
            "laws": [{k: (v if isinstance(v, str) else _ball(v)) for k, v in r.items()}
                     for r in law_rows],
            "presets": [{
                "name": r.preset.name, "source": r.preset.source, "law": r.preset.law,
                "expected_tau": _ball(r.tau), "tau_sd": _ball(r.tau_sd),
                "omega_sd": _ball(r.omega_sd), "std_multiplier_for_tau_1": _ball(r.correction),
                "fixed_point": None if r.fixed_point is None else
                {"mean": _ball(r.fixed_point[0]), "variance": _ball(r.fixed_point[1]),
                 "certified": True},
                "note": r.note} for r in rows],
            "monte_carlo": [m.to_json() for m in runs],
        }
        click.echo(json.dumps(out))
        return
    _print(law_rows, rows, runs, fan_in)


def _monte_carlo_all(presets: Any, run: Any, args: tuple, show: bool) -> list:
    """One Monte Carlo per preset, with a progress bar on a terminal."""
    from snn_theory.cli.progress import progress_bar

    out = []
    with progress_bar("Monte Carlo", total=len(presets), show=show) as bar:
        for p in presets:
            bar.describe(f"Monte Carlo: {p.name}")
            out.append(run(p, *args))
            bar.advance()
    return out


def _print(law_rows: list, rows: list, runs: list, fan_in: int) -> None:
    from snn_theory.cli.console import print_table, print_wrapped

    print_table(f"unit-scale weight laws (certified, {SHORT_DIGITS} digits shown; spread at "
                f"fan-in N = {fan_in})",
                ["law", "v = E[u²]", "√v (divide std by)", "1/√v (multiply std by)",
                 "kurtosis m4/v²", "sd τ / E[τ]"],
                [[r["law"], _g(r["variance_factor"]), _g(r["correction_sqrt_v"]),
                  _g(r["std_multiplier"]), _g(r["kurtosis"]), _g(r["tau_sd"], 6)]
                 for r in law_rows])
    table = []
    for r in rows:
        fp = (f"({_g(r.fixed_point[0], 6)}, {_g(r.fixed_point[1], 6)})"
              if r.fixed_point is not None else r.note)
        table.append([r.preset.name, _g(r.tau), _g(r.tau - 1, 3), _g(r.tau_sd, 6),
                      _g(r.omega_sd, 6), _g(r.correction), fp])
    print_table("framework initialisers: per-unit (ω, τ) and the fixed point of g for "
                f"(0, E[τ]) (certified; fan-in N = {fan_in})",
                ["initialiser", "E[τ]", "E[τ] − 1", "sd τ", "sd ω", "std × for τ = 1",
                 "fixed point (μ*, ν*)"], table)
    for r in rows:
        print_wrapped(f"  {r.preset.name}: {r.preset.source}", subsequent="    ")
    if runs:
        table = []
        for run in runs:
            pred = ("—" if run.predicted is None else
                    f"({run.predicted[0]:.4g}, {run.predicted[1]:.4g})")
            table.append([run.preset, f"{run.mean:.4g}", f"{run.variance:.4g}", pred,
                          f"{run.tau_mean:.4g} ({run.predicted_tau:.4g})",
                          f"{run.tau_sd:.4g} ({run.predicted_tau_sd:.4g})",
                          f"{run.omega_sd:.4g}"])
        print_table(f"Monte Carlo (float64 network, evidence only): width {runs[0].width}, "
                    f"depth {runs[0].depth}, batch {runs[0].batch}, seed {runs[0].seed}",
                    ["initialiser", "last-layer mean", "last-layer variance",
                     "predicted (μ*, ν*)", "τ mean (pred.)", "τ sd (pred.)", "ω sd"], table)
