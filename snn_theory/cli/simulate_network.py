"""``snn-theory simulate --network SPEC``: a whole network sampled in JAX at finite width,
against the certified iterates of its map (:mod:`snn_theory.simulate.network_run`).

    snn-theory simulate --network "dense(selu), alpha_dropout(0.1)" --width 256 --depth 10 --batch 128 --seeds 4 --mean0 0.5 --var0 2
    snn-theory simulate --network "residual(0.5, dense(selu))" --depth 20 --json
    snn-theory simulate --network "dense(selu), dropout(0.1)" --depth 20 --gradients

Per application of the network: the pooled mean and variance over units and samples
(averaged over ``--seeds`` networks), the certified iterates of the network's map (rounded
here; ``--json`` gives the outward intervals), and each deviation in units of the error law's
scale; "ok" when both are within K of it.  ``--gradients``: ln of the squared gradient norm
per application backpropagated through, from inputs at the certified fixed point.  Monte
Carlo evidence, not proof.  Options: width, depth, batch, mean0, var0, omega, tau, seed,
seeds, dtype (float32, float64), prng, every, json, gradients; any other option of
``simulate`` is refused with one line (exit 2).
"""

from __future__ import annotations

import json
import math
from typing import Any

import click

from snn_theory.cli.console import print_table, print_wrapped
from snn_theory.cli.progress import progress_bar
from snn_theory.errors import InputError
from snn_theory.exact import format_fraction

NETWORK_OPTIONS = {"width", "depth", "batch", "mean0", "var0", "omega", "tau", "seed", "seeds",
             "dtype", "prng", "every", "as_json", "gradients", "network"}


def refuse_unsupported_options() -> None:
    """:class:`InputError` for an option of ``simulate`` that ``--network`` does not take
    (given on the command line, i.e. not at its default)."""
    ctx = click.get_current_context()
    for name in ctx.params:
        source = ctx.get_parameter_source(name)
        if name not in NETWORK_OPTIONS and source is not None and source.name != "DEFAULT":
            flag = {"as_json": "json", "input_law": "input"}.get(name, name)
            raise InputError(f"--{flag.replace('_', '-')} is not available with --network "
                             "(each block spells its activation and dropout; supported: "
                             "width, depth, batch, mean0, var0, omega, tau, seed, seeds, "
                             "dtype, prng, every, json, gradients)")


def _number(x: float) -> str:
    return f"{x:.5f}" if math.isfinite(x) else "—"


def run_network_simulation(spec: str, *, width: int, depth: int, batch: int, mean0: float, var0: float,
        omega: float, tau: float, seed: int, seeds: int, dtype: str, prng: str,
        every: int | None, as_json: bool, gradients: bool) -> None:
    """The ``--network`` half of ``snn-theory simulate``."""
    refuse_unsupported_options()
    from snn_theory.derive.network import parse_network
    from snn_theory.simulate.network_run import NetworkSimulationConfig

    network = parse_network(spec)
    if every is not None and every < 1:
        raise InputError(f"--every must be >= 1 (got {every})")
    config = NetworkSimulationConfig(width=width, depth=depth, batch=batch, seeds=seeds,
                                     seed=seed, mean0=mean0, var0=var0, omega=omega, tau=tau,
                                     dtype=dtype, prng=prng)
    config.validate()
    if gradients:
        if mean0 != 0.0 or var0 != 1.0:
            raise InputError("--gradients draws its inputs at the certified fixed point; it "
                             "cannot be combined with --mean0/--var0")
        _gradients(network, config, every, as_json)
        return
    from snn_theory.simulate.network_run import simulate_network

    with progress_bar("network applications", show=not as_json, count="") as update:
        result = simulate_network(network, config, progress=update)
    if as_json:
        click.echo(json.dumps(result.to_json(), allow_nan=False))
        return
    _print(result, every)


def _rows(depth: int, every: int | None) -> list[int]:
    step = every or max(1, depth // 20)
    return sorted(set(range(0, depth + 1, step)) | {depth})


def _print(r: Any, every: int | None) -> None:
    from snn_theory.exact import decimal_enclosure
    from snn_theory.simulate.network_run import ERROR_LAW, ERROR_MULTIPLE

    c = r.config
    rows = []
    for k in _rows(c.depth, every):
        st = r.steps[k]
        rows.append([str(k), _number(st.mean), decimal_enclosure(st.mu, 5).value,
                     f"{st.mean_ratio:.2f}", _number(st.variance),
                     decimal_enclosure(st.nu, 5).value, f"{st.variance_ratio:.2f}",
                     "ok" if st.agrees else "NO"])
    print_table(f"{r.network.spelling()}: width {c.width}, batch {c.batch}, {c.seeds} "
                f"network(s), {c.dtype}",
                ["k", "mean", "μₖ", "dev", "variance", "νₖ", "dev", ""], rows,
                right=["k", "mean", "μₖ", "dev", "variance", "νₖ"])
    bad = [s.application for s in r.steps if not s.agrees]
    verdict = ("every application agrees" if not bad else
               f"{len(bad)} of {len(r.steps)} applications do NOT agree (first: {bad[0]})")
    print_wrapped(f"k: applications of the network; mean, variance: pooled over units and "
                  f"samples, averaged over the networks; μₖ, νₖ: the certified iterates of the "
                  f"network's map (rounded; --json gives outward intervals); dev: "
                  f"|deviation| / the error law's scale. Error law: {ERROR_LAW}, carried "
                  f"through the map's Jacobian, K = {ERROR_MULTIPLE:g} (s = {r.scale:.3g}): "
                  f"{verdict}. Monte Carlo evidence, not proof.")
    if r.closure:
        print_wrapped("The network has an act(...) block: its map assumes a Gaussian input "
                      "(exact after a linear dense block, a Gaussian closure after another "
                      "nonlinearity), so a disagreement may measure the closure.")
    for q, (alpha_prime, a, b) in sorted(r.alpha_dropout.items()):
        print_wrapped(f"alpha_dropout({format_fraction(q)}): α′ = {alpha_prime:.10g}, a = {a:.10g}, "
                      f"b = {b:.10g} (midpoints of the certified balls)")
    print_wrapped(f"{r.device}; {r.seconds:.2f} s")


def _gradients(network: Any, config: Any, every: int | None, as_json: bool) -> None:
    from snn_theory.simulate.network_gradients import simulate_network_gradients

    with progress_bar("forward and backward", show=not as_json, count="") as update:
        r = simulate_network_gradients(network, config, progress=update)
    if as_json:
        click.echo(json.dumps(r.to_json(), allow_nan=False))
        return
    from snn_theory.exact import ball_text

    pred = r.predicted
    rows = []
    for k in _rows(config.depth, every):
        se = "—" if r.log_norm_se is None else f"{r.log_norm_se[k]:.4f}"
        rows.append([str(k), f"{r.log_norm[k] + 0.0:.4f}", se, f"{pred[k] + 0.0:.4f}"])
    print_table(f"{network.spelling()}: gradients, width {config.width}, batch "
                f"{config.batch}, {config.seeds} network(s)",
                ["k", "ln |grad|² ratio", "se", "k ln ρ"], rows,
                right=["k", "ln |grad|² ratio", "se", "k ln ρ"])
    print_wrapped(f"k: applications backpropagated through; inputs at the certified fixed "
                  f"point ({r.fixed_point[0]:.6g}, {r.fixed_point[1]:.6g}) (midpoints). "
                  f"Certified: χ ∈ {ball_text(r.chi, 8)}, χ_mean ∈ {ball_text(r.chi_mean, 8)}; "
                  f"ρ = max(χ, χ_mean) = {r.predicted_rate:.6f} (midpoint); empirical growth "
                  f"per application exp(ln ratio(L)/L) = {r.rate:.6f}. Monte Carlo "
                  f"evidence, not proof. {r.device}; {r.seconds:.2f} s")


__all__ = ["NETWORK_OPTIONS", "refuse_unsupported_options", "run_network_simulation"]
