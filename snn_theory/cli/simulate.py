"""``snn-theory simulate``: run wide SELU networks in JAX and compare them with the map g.

    snn-theory simulate --width 1024 --depth 50 --batch 512 --mean0 0.5 --var0 2
    snn-theory simulate --width 512 --depth 30 --batch 256 --weights lecun --input bernoulli
    snn-theory simulate --width 512 --depth 30 --batch 256 --dropout-rate 0.1 --json
    snn-theory simulate --depth 20 --batch 16 --widths 64,128,256,512,1024 --mean0 0.5 --var0 2
    snn-theory simulate --width 256 --depth 10 --batch 256 --starts "mu=-1:1:5,nu=0.5:3:5" --out grid.npz

Every visible JAX device is used (the batch is sharded over them): 1 CPU, 8 GPUs, a TPU slice,
or several hosts after ``jax.distributed.initialize()`` (see the README). Statistics of one
random network — a Monte Carlo illustration, not a proof (nothing here is "verified").

Output: a per-layer table (every ``--every``-th layer; default about 20 rows) of the empirical
mean and variance over all units and samples, their spread across units ("spread mean" /
"spread var": the standard deviation over the N units of each unit's mean / variance over the
B samples), and the iterates of g for the same
ω, τ, λ, α (for LeCun weights ω = 0, τ = 1; with dropout the prediction is the no-dropout map);
then a verdict line: the layer from which the empirical (mean, variance) stays within
``--tolerance`` of the fixed point of g, and the maximum deviation from g. ``--json`` prints one
object (keys config, devices, layers, max_deviation, converged_at_layer, seconds); ``--out``
writes the per-layer arrays to an ``.npz`` file (its directory is checked before anything
runs). ``--widths`` fits deviation ≈ C·N^p and tests the deviation law
|empirical − g| ≈ a/√(N·B) + b/N (JSON key ``law``: a, b, measured/fitted per width and the
verdict; consistent when each width is within a factor 2 of the fit, untested below three
widths);
``--starts`` returns the empirical one-layer map and trajectories from a grid of start points.

Bad input (one line, exit 2): width/depth/batch < 1, var0 ≤ 0, τ ≤ 0, dropout rate outside
[0, 1), unknown dtype/law/weights, float64 on a device without it, a configuration whose memory
estimate exceeds the limit (the message gives the estimate); with --pairs/--gradients and
--activation: no certified fixed point with ν* > 0 for (ω, τ) (tanh at ω = 0 needs τ > 1),
--lam/--alpha with another activation, dropout, LeCun weights or bfloat16.
"""

from __future__ import annotations

import json
import math
import os
import sys

import click
import numpy as np

from snn_theory.cli.activation_option import activation_options, resolve_options
from snn_theory.cli.console import print_wrapped
from snn_theory.cli.progress import progress_bar
from snn_theory.errors import InputError
from snn_theory.simulate.config import (
    DTYPES,
    INPUT_LAWS,
    PRNG_IMPLS,
    WEIGHT_MODES,
    SimulationConfig,
)
from snn_theory.simulate.engine import SimulationResult, simulate
from snn_theory.simulate.sweeps import LAW_TEXT, start_grid, width_sweep


def parse_starts(spec: str) -> tuple[np.ndarray, np.ndarray]:
    """``"mu=a:b:k,nu=c:d:k"`` → (μ values, ν values), each ``numpy.linspace(a, b, k)``."""
    axes: dict[str, np.ndarray] = {}
    for part in spec.split(","):
        name, _, rng = part.partition("=")
        name = name.strip()
        if name not in ("mu", "nu") or name in axes:
            raise InputError(f"--starts: expected 'mu=a:b:k,nu=c:d:k' (got {spec!r})")
        bits = rng.split(":")
        try:
            if len(bits) == 1:
                a = b = float(bits[0])
                k = 1
            elif len(bits) == 3:
                a, b, k = float(bits[0]), float(bits[1]), int(bits[2])
            else:
                raise ValueError
        except ValueError:
            raise InputError(f"--starts: bad range {part!r}; use name=a:b:k") from None
        if k < 1 or not (math.isfinite(a) and math.isfinite(b)):
            raise InputError(f"--starts: bad range {part!r}; need finite a, b and k >= 1")
        axes[name] = np.linspace(a, b, k)
    if set(axes) != {"mu", "nu"}:
        raise InputError(f"--starts: give both mu and nu (got {spec!r})")
    if np.any(axes["nu"] <= 0):
        raise InputError("--starts: variances must be > 0")
    return axes["mu"], axes["nu"]


def _parse_widths(text: str) -> list[int]:
    try:
        widths = [int(w) for w in text.split(",") if w.strip()]
    except ValueError:
        raise InputError(f"--widths must be a comma-separated list of integers (got {text!r})") from None
    if not widths:
        raise InputError(f"--widths must name at least one width (got {text!r})")
    if any(w < 1 for w in widths):
        raise InputError(f"widths must be >= 1 (got {text!r})")
    return widths


def _g(x: float | None, digits: int = 4) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _print_result(r: SimulationResult, every: int | None) -> None:
    from snn_theory.cli.console import print_table

    c = r.config
    depth = c.depth
    step = every or max(1, depth // 20)
    rows = sorted(set(range(0, depth + 1, step)) | {depth})
    columns = ["layer", "mean", "variance", "g: mean", "g: variance", "spread mean",
               "spread var"]
    print_table(f"SELU network: width {c.width}, batch {c.batch}, depth {depth}, "
                f"{c.weights} weights, {c.input_law} inputs, {c.dtype}"
                + (f", alpha dropout {c.dropout_rate}" if c.dropout_rate else ""), columns,
                [[str(i), _g(r.mean[i]), _g(r.variance[i]), _g(r.predicted_mean[i]),
                  _g(r.predicted_variance[i]), _g(r.mean_spread[i]), _g(r.variance_spread[i])]
                 for i in rows], right=columns)
    print_wrapped("spread mean / spread var: standard deviation over the N units of each unit's "
               "mean / variance over the B samples (the error of the pooled mean is about "
               "spread/√N)")
    d = r.devices
    print_wrapped(f"devices: {d['used']} × {d['kind']} ({d['platform']}, {d['visible']} visible, "
                  f"{d['processes']} process(es)); λ = {r.lam:.10g}, α = {r.alpha:.10g}; "
                  f"{r.seconds:.2f} s")
    if c.weights == "lecun":
        print_wrapped(f"per-unit Σw: mean {r.omega_unit[0]:.4f}, std {r.omega_unit[1]:.4f}; "
                      f"Σw²: mean {r.tau_unit[0]:.4f}, std {r.tau_unit[1]:.4f} "
                      "(ω = 0, τ = 1 hold only in expectation)")
    if r.dropout_ab:
        print_wrapped(f"alpha dropout: a = {r.dropout_ab[0]:.6f}, b = {r.dropout_ab[1]:.6f} "
                      "(prediction: the no-dropout map g)")
    md = r.max_deviation
    scale = 1 / math.sqrt(c.width * c.batch) + 1 / c.width
    worst = max(md["mean"], md["variance"])
    dev = (f"max |empirical − g|: mean {_g(md['mean'])}, variance {_g(md['variance'])} "
           f"= {worst / scale:.2g} × (1/√(N·B) + 1/N = {scale:.2g}); the law {LAW_TEXT} has "
           "two unknown constants, so one run cannot test it: run --widths W1,W2,W3")
    if r.fixed_point is None:
        verdict = "no fixed point of g found for these ω, τ, λ, α"
    else:
        fp = f"({r.fixed_point[0]:.4f}, {r.fixed_point[1]:.4f})"
        if r.converged_at_layer is None:
            verdict = (f"NOT converged: (mean, variance) = ({_g(r.mean[-1])}, {_g(r.variance[-1])}) "
                       f"at layer {depth} is not within ±{c.tolerance:g} of the fixed point {fp}")
        else:
            verdict = (f"converged: within ±{c.tolerance:g} of the fixed point {fp} of g "
                       f"from layer {r.converged_at_layer} on")
    print_wrapped(f"{verdict}; {dev}")


def _check_propagation_options(pairs: float | None, gradients: bool, widths: str | None,
                               starts: str | None, mean0: float, var0: float) -> None:
    if pairs is not None and gradients:
        raise InputError("--pairs and --gradients cannot be combined (run them separately)")
    name = "--pairs" if pairs is not None else "--gradients"
    if widths is not None or starts is not None:
        raise InputError(f"{name} cannot be combined with --widths or --starts")
    if mean0 != 0.0 or var0 != 1.0:
        raise InputError(f"{name} draws its inputs at the fixed point; it cannot be combined "
                         "with --mean0/--var0")
    if pairs is not None and not (math.isfinite(pairs) and -1 <= pairs <= 1):
        raise InputError(f"--pairs: the correlation C0 must lie in [-1, 1] (got {pairs})")


def _run_propagation(config: SimulationConfig, pairs: float | None, gradients: bool,
                     show_progress: bool, as_json: bool, out: str | None) -> None:
    from snn_theory.simulate.pairs import simulate_gradients, simulate_pairs

    if pairs is not None:
        with progress_bar("c-map iterates", show=show_progress, count="") as update:
            r = simulate_pairs(config, pairs, progress=update)
        if out:
            import numpy as np

            np.savez(out, correlation=r.correlation, spread=r.spread, c_map=r.predicted)
        if as_json:
            click.echo(json.dumps(r.to_json()))
            return
        click.echo(f"{'layer':>6} {'correlation':>12} {'spread':>8} {'c-map':>9}")
        step = max(1, config.depth // 20)
        for i in sorted(set(range(0, config.depth + 1, step)) | {config.depth}):
            click.echo(f"{i:>6} {_g(r.correlation[i]):>12} {_g(r.spread[i]):>8} "
                       f"{_g(r.predicted[i]):>9}")
        dev = r.to_json()["max_deviation"]
        print_wrapped(f"{r.activation}, {config.batch} pairs, width {config.width}: "
                   f"max |empirical − c-map| = "
                   f"{_g(dev)} (sampling scale 1/√(N·B) = "
                   f"{1 / math.sqrt(config.width * config.batch):.2g}; Monte Carlo evidence)")
        return
    with progress_bar("forward and backward", show=show_progress, count="") as update:
        r = simulate_gradients(config, progress=update)
    if out:
        import numpy as np

        np.savez(out, log_norm=r.log_norm, predicted=r.predicted)
    if as_json:
        click.echo(json.dumps(r.to_json()))
        return
    click.echo(f"{'k = L-l':>8} {'ln |grad|^2 ratio':>18} {'k ln rate':>10}")
    step = max(1, config.depth // 20)
    for k in sorted(set(range(0, config.depth + 1, step)) | {config.depth}):
        click.echo(f"{k:>8} {_g(r.log_norm[k]):>18} {_g(r.predicted[k]):>10}")
    dev = r.to_json()["max_deviation"]
    where = ("float, at the float fixed point" if config.generic_activation is None else
             "midpoint of an arb enclosure at the certified fixed point")
    print_wrapped(f"{r.activation}: chi1 = {r.chi1:.6f} ({where}; certified values: "
               f"`snn-theory propagate`); max |empirical − k ln rate| = {_g(dev)} "
               f"(width {config.width}, batch {config.batch}; Monte Carlo evidence)")


#: Every array name an --out archive of this command holds (any of its modes): an existing
#: file with others is not one it wrote, and is never overwritten.
ARCHIVE_ARRAYS = frozenset({
    "c_map", "correlation", "deviation", "exponent", "log_norm", "max_deviation_mean",
    "max_deviation_variance", "mean", "mean_spread", "next", "predicted", "predicted_mean",
    "predicted_next", "predicted_variance", "prefactor", "spread", "starts", "summary",
    "trajectories", "variance", "variance_spread", "widths"})


@click.command("simulate")
@click.option("--width", type=int, default=512, show_default=True, help="Units per layer N.")
@click.option("--depth", type=int, default=50, show_default=True, help="Number of layers L.")
@click.option("--batch", type=int, default=256, show_default=True,
              help="Samples B (sharded over the devices).")
@click.option("--mean0", type=float, default=0.0, show_default=True, help="Input mean μ0.")
@click.option("--var0", type=float, default=1.0, show_default=True, help="Input variance ν0.")
@click.option("--weights", type=click.Choice(WEIGHT_MODES), default="normalized",
              show_default=True,
              help="normalized: each row has Σw = ω, Σw² = τ exactly; lecun: N(0, 1/N).")
@click.option("--omega", type=float, default=0.0, show_default=True,
              help="Row sum ω (normalized weights).")
@click.option("--tau", type=float, default=1.0, show_default=True,
              help="Row sum of squares τ (normalized weights).")
@click.option("--dropout-rate", type=float, default=0.0, show_default=True,
              help="Alpha dropout rate (training-mode noise), in [0, 1).")
@click.option("--input", "input_law", type=click.Choice(INPUT_LAWS), default="gaussian",
              show_default=True,
              help="Law of the i.i.d. input entries (bernoulli: a skewed two-point law, p = 1/4).")
@click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
              help="Matmul dtype (accumulation in float32, float64 for float64).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--lam", type=float, default=None, help="λ (default λ01).")
@click.option("--alpha", type=float, default=None, help="α (default α01).")
@click.option("--tolerance", type=float, default=0.05, show_default=True,
              help="Neighbourhood |mean − μ*|, |variance − ν*| ≤ tol for converged_at_layer.")
@click.option("--every", type=int, default=None,
              help="Print every k-th layer (default: about 20 rows).")
@click.option("--widths", default=None, help="Comma-separated widths: sweep and fit N^p.")
@click.option("--seeds", type=int, default=1, show_default=True,
              help="Networks per width in a --widths sweep (with --network: independent "
                   "networks averaged).")
@click.option("--starts", default=None, help='Grid of start points, e.g. "mu=-1:1:5,nu=0.5:3:5".')
@click.option("--prng", type=click.Choice(PRNG_IMPLS), default="auto", show_default=True,
              help="Weight generator (auto: threefry on CPU, rbg on GPU/TPU).")
@click.option("--memory-limit", type=float, default=None,
              help="GiB per device a configuration may use (default: 80% of the free memory).")
@click.option("--distributed", is_flag=True,
              help="Call jax.distributed.initialize() first (multi-host; the cluster is "
                   "auto-detected on TPU pods, Slurm and Open MPI, else use --coordinator, "
                   "--num-processes, --process-id). Only process 0 prints and writes --out.")
@click.option("--coordinator", default=None, help="host:port of process 0 (with --distributed).")
@click.option("--num-processes", type=int, default=None, help="With --distributed.")
@click.option("--process-id", type=int, default=None, help="With --distributed.")
@click.option("--pairs", "pairs", type=float, default=None, metavar="C0",
              help="Propagate --batch pairs of inputs at the fixed point with centred "
                   "correlation C0 in [-1, 1]; per-layer correlation against the c-map "
                   "(see `snn-theory propagate`).")
@click.option("--gradients", is_flag=True,
              help="Backpropagate a random output cotangent (jax.vjp, weights regenerated "
                   "from their keys); per-layer ln of the squared gradient norm against "
                   "k·ln chi1.")
@click.option("--network", default=None, metavar="SPEC",
              help="A whole network, e.g. \"dense(selu), alpha_dropout(0.1)\" "
                   "(docs/networks.md), sampled at finite width against the certified "
                   "iterates of its map; with --gradients its gradient growth.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the per-layer arrays to FILE.npz.")
@activation_options
def simulate_command(width: int, depth: int, batch: int, mean0: float, var0: float, weights: str,
                     omega: float, tau: float, dropout_rate: float, input_law: str, dtype: str,
                     seed: int, lam: float | None, alpha: float | None, tolerance: float,
                     every: int | None, widths: str | None, seeds: int, starts: str | None,
                     prng: str, memory_limit: float | None, distributed: bool,
                     coordinator: str | None, num_processes: int | None,
                     process_id: int | None, pairs: float | None, gradients: bool,
                     network: str | None, as_json: bool, out: str | None,
                     activation: str = "selu", scale: str = "1", shift: str = "0") -> None:
    """Run wide SELU networks in JAX and compare their layer statistics with the map g.

    --pairs C0: pairs of inputs at the fixed point with centred correlation C0 (covariance
    over units / nu*), per-layer correlation against the c-map iterates.  --gradients:
    per-layer ln ||dL/dx_l||^2 (L = <g, x_L>, g ~ N(0, I)) against k ln chi1, k = L - l.

    With --activation other than selu: a numpy Monte Carlo of the same network with that
    activation against the iterates of its map g (options: width, depth, batch, mean0,
    var0, omega, tau, seed, json); with --pairs or --gradients the JAX networks of that
    activation at the certified fixed point of its moment map (ω = 0 for zero-mean weights;
    choose τ so that a fixed point with ν* > 0 exists, e.g. τ = 2 for tanh) against its
    c-map iterates or k ln chi1.
    """
    if network is not None:  # a whole network: cli/simulate_network.py
        from snn_theory.cli.simulate_network import run_network_simulation

        run_network_simulation(network, width=width, depth=depth, batch=batch, mean0=mean0,
                               var0=var0, omega=omega, tau=tau, seed=seed, seeds=seeds,
                               dtype=dtype, prng=prng, every=every, as_json=as_json,
                               gradients=gradients)
        return
    model = resolve_options(activation, scale, shift)
    if pairs is not None or gradients:
        if lam is not None or alpha is not None:
            model.require_closed_form(f"--lam and --alpha are SELU's parameters; they cannot "
                                      f"be combined with --activation {activation}")
    elif not model.closed_form:  # the numpy Monte Carlo of the moment map
        if out is not None:
            raise InputError("--out is for the JAX simulations; with --activation "
                             f"{activation} the moment Monte Carlo takes width, depth, batch, "
                             "mean0, var0, omega, tau, seed and --json (--pairs and "
                             "--gradients take the other options too)")
        from snn_theory.cli.simulate_activation import run

        run(model.activation, width=width, depth=depth, batch=batch, mean0=mean0, var0=var0,
            omega=omega, tau=tau, seed=seed, as_json=as_json)
        return
    if distributed:
        import jax

        try:
            jax.distributed.initialize(coordinator_address=coordinator,
                                       num_processes=num_processes, process_id=process_id)
        except (RuntimeError, ValueError) as exc:
            raise InputError(f"jax.distributed.initialize failed: {exc}") from None
        if jax.process_index() != 0:  # every process computes; process 0 reports
            as_json, out = False, None
            sys.stdout = open(os.devnull, "w")
    elif coordinator or num_processes is not None or process_id is not None:
        raise InputError("--coordinator/--num-processes/--process-id need --distributed")
    if widths is not None and starts is not None:
        raise InputError("--widths and --starts cannot be combined")
    if pairs is not None or gradients:
        _check_propagation_options(pairs, gradients, widths, starts, mean0, var0)
    if every is not None and every < 1:
        raise InputError(f"--every must be >= 1 (got {every})")
    if seeds < 1:
        raise InputError(f"--seeds must be >= 1 (got {seeds})")
    if memory_limit is not None and not (memory_limit > 0 and math.isfinite(memory_limit)):
        raise InputError(f"--memory-limit must be > 0 GiB (got {memory_limit})")
    config = SimulationConfig(
        width=width, depth=depth, batch=batch, mean0=mean0, var0=var0, weights=weights,
        omega=omega, tau=tau, dropout_rate=dropout_rate, input_law=input_law, dtype=dtype,
        seed=seed, lam=lam, alpha=alpha, tolerance=tolerance, prng=prng,
        memory_limit=None if memory_limit is None else memory_limit * 2**30,
        activation=model.activation)
    config.validate()
    if out:  # before computing anything: a run must not be lost to an unwritable path
        from snn_theory.files import check_overwrite, numpy_archive_of, writable_file

        writable_file(out, "--out")
        check_overwrite(out, numpy_archive_of(ARCHIVE_ARRAYS), "--out")
    show_progress = not as_json

    if pairs is not None or gradients:
        _run_propagation(config, pairs, gradients, show_progress, as_json, out)
        return

    if widths is not None:
        width_list = _parse_widths(widths)
        for w in width_list:  # validate every width before running any
            from dataclasses import replace

            replace(config, width=w).validate()
        with progress_bar("width sweep", show=show_progress, count="") as update:
            sweep = width_sweep(config, width_list, seeds=seeds, progress=update)
        if out:
            import numpy as np

            np.savez(out, widths=np.array(sweep.widths), deviation=np.array(sweep.deviation),
                     max_deviation_mean=np.array(sweep.max_mean),
                     max_deviation_variance=np.array(sweep.max_variance),
                     exponent=sweep.exponent, prefactor=sweep.prefactor)
        if as_json:
            click.echo(json.dumps(sweep.to_json()))
            return
        click.echo(f"{'width':>8} {'rms deviation':>14} {'max |Δmean|':>12} {'max |Δvar|':>12}")
        for w, d, m, v in zip(sweep.widths, sweep.deviation, sweep.max_mean, sweep.max_variance):
            click.echo(f"{w:>8} {d:>14.5f} {m:>12.5f} {v:>12.5f}")
        print_wrapped(f"power-law fit: deviation ≈ {sweep.prefactor:.3g}·N^{sweep.exponent:.3f} "
                   f"(least squares in log-log over {len(sweep.widths)} widths, batch {batch}, "
                   f"{seeds} network(s) each; sampling error alone gives N^-1/2, frozen "
                   "finite-width fluctuations of the pooled statistics N^-1)")
        print_wrapped(f"deviation law: {sweep.law.verdict()}")
        return

    if starts is not None:
        mus, nus = parse_starts(starts)
        with progress_bar("start grid", show=show_progress, count="") as update:
            grid = start_grid(config, mus, nus, progress=update)
        if out:
            grid.save_npz(out)
        if as_json:
            click.echo(json.dumps(grid.to_json()))
            return
        click.echo(f"{'mu0':>8} {'nu0':>8} {'mean1':>9} {'var1':>9} {'g mean':>9} {'g var':>9} "
                   f"{'mean L':>9} {'var L':>9}")
        for s, nx, pn, tr in zip(grid.starts, grid.next, grid.predicted_next, grid.trajectories):
            click.echo(f"{s[0]:>8.3f} {s[1]:>8.3f} {_g(nx[0]):>9} {_g(nx[1]):>9} "
                       f"{_g(pn[0]):>9} {_g(pn[1]):>9} {_g(tr[-1, 0]):>9} {_g(tr[-1, 1]):>9}")
        print_wrapped(f"{len(grid.starts)} start points, depth {depth}: columns 1 = after one layer "
                   "(empirical and g), L = after the last layer")
        return

    with progress_bar("layers", show=show_progress, count="") as update:
        result = simulate(config, progress=update)
    if out:
        result.save_npz(out)
    if as_json:
        click.echo(json.dumps(result.to_json()))
    else:
        _print_result(result, every)
