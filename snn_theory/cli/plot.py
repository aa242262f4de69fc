"""``snn-theory plot …``: pictures of the moment map and the theorems (see :mod:`snn_theory.show.figures`).

Every subcommand writes one figure (PNG by default; SVG or PDF when ``--out`` ends so) and
prints one line naming it, or with ``--json`` one JSON object on stdout.  Bad input: one line,
exit 2.  A figure that needs the Monte Carlo simulator when it is not installed: one line,
exit 1.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any

import click

from snn_theory.cli.activation_option import HELP, activation_options, resolve_options
from snn_theory.cli.train import common_options, train_activation_options
from snn_theory.show import canvas, flow_figures, map_figures, network_figures, propagation_figures


def _parse_range(ctx: click.Context | None, param: click.Parameter | None,
                 value: str | None) -> tuple[float, float] | None:
    """``"a:b"`` → (a, b) with finite a < b."""
    if value is None:
        return None
    parts = str(value).split(":")
    name = param.name.replace("_", "-") if param is not None and param.name else "range"
    try:
        if len(parts) != 2:
            raise ValueError
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise click.BadParameter(f"expected LOW:HIGH, e.g. -0.5:0.5 (got {value!r})",
                                 param_hint=f"--{name}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise click.BadParameter(f"need finite LOW < HIGH (got {value!r})",
                                 param_hint=f"--{name}")
    return lo, hi


def _parse_widths(ctx: click.Context, param: click.Parameter, value: str) -> list[int]:
    try:
        widths = [int(w) for w in value.split(",") if w.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers (got {value!r})",
                                 param_hint="--widths") from None
    if not widths or any(w < 1 for w in widths):
        raise click.BadParameter(f"widths must be positive integers (got {value!r})",
                                 param_hint="--widths")
    return widths


def _figure_options(default_size: canvas.FigureSize) -> Callable[[Callable[..., Any]],
                                                                 Callable[..., Any]]:
    """--out, --width, --height, --dpi, --json, shared by every subcommand."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed([
            click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
                         help="Output file; .png (default), .svg or .pdf "
                              "[default: ./<figure>.png in the current directory; the README's figures/ are written by reproduce]."),
            click.option("--width", "width", type=int, default=default_size.width_px,
                         show_default=True, help="Width in pixels (PNG; inches = px / dpi)."),
            click.option("--height", "height", type=int, default=default_size.height_px,
                         show_default=True, help="Height in pixels."),
            click.option("--dpi", type=int, default=default_size.dpi, show_default=True,
                         help="Resolution (dots per inch)."),
            click.option("--json", "as_json", is_flag=True,
                         help="Print one JSON object (path and the numbers behind the figure)."),
        ]):
            f = option(f)
        return f

    return decorate


def _activation(activation: str, scale: str, shift: str, figure: str,
                selu_only: dict[str, bool] | None = None) -> Any:
    """The activation of the options (the figures draw SELU's closed forms for SELU);
    options that only make sense for SELU combined with another activation: InputError
    (one line, exit 2)."""
    model = resolve_options(activation, scale, shift)
    for option, given in (selu_only or {}).items():
        if given:
            model.require_closed_form(f"plot {figure}: {option} is for SELU; it cannot be "
                                      f"combined with --activation {activation}")
    return model.activation


def _run(make: Callable[..., canvas.PlotResult], *, out: str | None, width: int, height: int,
         dpi: int, as_json: bool, **kwargs: Any) -> None:
    size = canvas.FigureSize(width, height, dpi)
    result = make(out, size=size, **kwargs)
    if as_json:
        click.echo(json.dumps({**result.to_json(), "size_px": [width, height], "dpi": dpi},
                              default=_jsonable))
    else:
        line = f"wrote {result.path} ({width}×{height} px at {dpi} dpi)"
        fp = result.summary.get("fixed_point")
        if isinstance(fp, dict) and fp.get("mu") is not None:
            tag = "certified (Krawczyk)" if fp["certified"] else "float, not certified"
            rel = "∈" if fp["certified"] else "≈"
            line += f"; fixed point μ* {rel} {fp['mu']}, ν* {rel} {fp['nu']} [{tag}]"
        elif isinstance(fp, dict) and fp.get("note"):
            line += f"; {fp['note']}"
        if "certified" in result.summary:
            line += f"; {result.summary['certified']}"
        elif "activation" in result.summary:
            line += f"; {result.summary['activation']['definition']}: float evidence"
        from snn_theory.cli.console import print_wrapped

        print_wrapped(line, subsequent="  ")


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, tuple | set):
        return list(obj)
    return str(obj)


@click.group("plot", context_settings={"help_option_names": ["-h", "--help"]})
def plot_group() -> None:
    """Pictures: flow field of g, contraction constant, variance change, fixed points,
    convergence of simulated networks.  PNG by default, SVG/PDF by the --out extension;
    deterministic output."""


_RANGE = {"callback": _parse_range, "metavar": "LOW:HIGH"}


@plot_group.command("flow-field")
@click.option("--omega", type=float, default=0.0, show_default=True, help="Weight sum ω.")
@click.option("--tau", type=float, default=1.0, show_default=True,
              help="Weight sum of squares τ.")
@click.option("--mu-range", default="-0.6:0.6", show_default=True, **_RANGE,
              help="Range of the input mean μ.")
@click.option("--nu-range", default="0.3:2.4", show_default=True, **_RANGE,
              help="Range of the input variance ν (> 0).")
@click.option("--grid", type=int, default=21, show_default=True, help="Arrows per axis.")
@click.option("--trajectories/--no-trajectories", default=True, show_default=True,
              help="Draw analytic trajectories (iterates of g) from four starts.")
@click.option("--steps", type=int, default=8, show_default=True,
              help="Layers per trajectory.")
@click.option("--monte-carlo", is_flag=True,
              help="Overlay empirical trajectories of simulated networks (needs the simulator).")
@click.option("--mc-width", type=int, default=256, show_default=True,
              help="Width of the simulated networks.")
@click.option("--mc-batch", type=int, default=64, show_default=True,
              help="Batch of the simulated networks.")
@click.option("--seed", type=int, default=0, show_default=True, help="Simulator seed.")
@activation_options
@_figure_options(canvas.FigureSize())
def flow_field_command(omega: float, tau: float, mu_range: tuple[float, float],
                       nu_range: tuple[float, float], grid: int, trajectories: bool, steps: int,
                       monte_carlo: bool, mc_width: int, mc_batch: int, seed: int,
                       activation: str, scale: str, shift: str, **fig: Any) -> None:
    """The (μ, ν) plane with the direction of g(μ, ν) − (μ, ν) coloured by step length, the
    certified fixed point, the Theorem 1 box and trajectories.

    With --activation another activation's moment map: values by float quadrature
    (evidence, labelled so), the fixed point certified by a Krawczyk test where it
    succeeds, --monte-carlo by the numpy simulator."""
    act = _activation(activation, scale, shift, "flow-field")
    _run(flow_figures.flow_field, omega=omega, tau=tau, mu_range=mu_range, nu_range=nu_range,
         grid=grid, trajectories=trajectories, steps=steps, monte_carlo=monte_carlo,
         mc_width=mc_width, mc_batch=mc_batch, mc_seed=seed, activation=act, **fig)


@plot_group.command("contraction")
@click.option("--mu", type=float, default=-0.1, show_default=True,
              help="μ of the (ν, τ) slice.")
@click.option("--omega", type=float, default=-0.1, show_default=True,
              help="ω of both slices.")
@click.option("--tau", type=float, default=1.25, show_default=True,
              help="τ of the (μ, ν) slice.")
@click.option("--mu-range", default="-0.6:0.6", show_default=True, **_RANGE)
@click.option("--nu-range", default="0.4:2.4", show_default=True, **_RANGE)
@click.option("--tau-range", default="0.7:1.7", show_default=True, **_RANGE)
@click.option("--grid", type=int, default=121, show_default=True, help="Points per axis.")
@click.option("--certificate", type=click.Path(dir_okay=False), default=None,
              help="Draw the leaf boxes of this certificate (JSON or JSON.gz) in each slice "
                   "(SELU only).")
@activation_options
@_figure_options(canvas.FigureSize(1600, 750, 150))
def contraction_command(mu: float, omega: float, tau: float, mu_range: tuple[float, float],
                        nu_range: tuple[float, float], tau_range: tuple[float, float], grid: int,
                        certificate: str | None, activation: str, scale: str, shift: str,
                        **fig: Any) -> None:
    """The contraction constant S over (μ, ν) and over (ν, τ), with S = 1 and the theorem
    domains (defaults: the worst corner μ = ω = −0.1, τ = 1.25).  With --activation: S of
    that activation's moment map (float quadrature; not with --certificate)."""
    act = _activation(activation, scale, shift, "contraction",
                      {"--certificate": certificate is not None})
    _run(map_figures.contraction, mu=mu, omega=omega, tau=tau, mu_range=mu_range, nu_range=nu_range,
         tau_range=tau_range, grid=grid, certificate=certificate, activation=act, **fig)


@plot_group.command("variance-change")
@click.option("--mu", type=float, default=0.0, show_default=True, help="Input mean μ.")
@click.option("--omega", type=float, default=0.0, show_default=True, help="Weight sum ω.")
@click.option("--nu-range", default="0.01:20", show_default=True, **_RANGE)
@click.option("--tau-range", default="0.7:1.35", show_default=True, **_RANGE)
@click.option("--grid", type=int, default=161, show_default=True, help="Points per axis.")
@activation_options
@_figure_options(canvas.FigureSize())
def variance_change_command(mu: float, omega: float, nu_range: tuple[float, float],
                            tau_range: tuple[float, float], grid: int, activation: str,
                            scale: str, shift: str, **fig: Any) -> None:
    """ν̃ − ν over (ν, τ) with the zero contour and the Theorem 2 and 3 domains (SELU's,
    for reference with --activation; values by float quadrature then)."""
    act = _activation(activation, scale, shift, "variance-change")
    _run(map_figures.variance_change, mu=mu, omega=omega, nu_range=nu_range, tau_range=tau_range,
         grid=grid, activation=act, **fig)


@plot_group.command("fixed-points")
@click.option("--omega-range", default=None, **_RANGE,
              help="Range of ω [default: Theorem 1's].")
@click.option("--tau-range", default=None, **_RANGE, help="Range of τ [default: Theorem 1's].")
@click.option("--grid", type=int, default=41, show_default=True, help="Points per axis.")
@activation_options
@_figure_options(canvas.FigureSize(1600, 600, 150))
def fixed_points_command(omega_range: tuple[float, float] | None,
                         tau_range: tuple[float, float] | None, grid: int, activation: str,
                         scale: str, shift: str, **fig: Any) -> None:
    """The fixed point (μ*, ν*) of g as (ω, τ) range over Theorem 1's domain (float Newton;
    with --activation on that activation's float moment map)."""
    act = _activation(activation, scale, shift, "fixed-points")
    _run(map_figures.fixed_points, omega_range=omega_range, tau_range=tau_range, grid=grid,
         activation=act, **fig)


@plot_group.command("convergence")
@click.option("--widths", default="64,256,1024", show_default=True, callback=_parse_widths,
              help="Comma-separated network widths.")
@click.option("--depth", type=int, default=12, show_default=True, help="Layers.")
@click.option("--batch", type=int, default=64, show_default=True, help="Samples.")
@click.option("--mean0", type=float, default=0.5, show_default=True, help="Input mean μ₀.")
@click.option("--var0", type=float, default=2.0, show_default=True, help="Input variance ν₀.")
@click.option("--omega", type=float, default=0.0, show_default=True, help="Weight sum ω.")
@click.option("--tau", type=float, default=1.0, show_default=True,
              help="Weight sum of squares τ.")
@click.option("--seed", type=int, default=0, show_default=True, help="Simulator seed.")
@activation_options
@_figure_options(canvas.FigureSize(1600, 600, 150))
def convergence_command(widths: list[int], depth: int, batch: int, mean0: float, var0: float,
                        omega: float, tau: float, seed: int, activation: str, scale: str,
                        shift: str, **fig: Any) -> None:
    """Per-layer mean and variance of simulated networks at several widths against the
    analytic iterates of g (finite-width effect).  With --activation: networks of that
    activation (numpy Monte Carlo) against its float iterates of g."""
    act = _activation(activation, scale, shift, "convergence")
    _run(flow_figures.convergence, widths=widths, depth=depth, batch=batch, mean0=mean0, var0=var0,
         omega=omega, tau=tau, seed=seed, activation=act, **fig)


@plot_group.command("correlation-map")
@click.option("--omega", type=float, default=0.0, show_default=True, help="Weight sum ω.")
@click.option("--tau", type=float, default=1.0, show_default=True,
              help="Weight sum of squares τ.")
@click.option("--grid", type=int, default=41, show_default=True, help="Points of c in [-1, 1].")
@click.option("--starts", default="0.95,0.5,-0.5", show_default=True,
              help="Comma-separated starting correlations (in [-1, 1]) for the depth panel.")
@click.option("--depth", type=int, default=30, show_default=True, help="Layers.")
@click.option("--mc-width", type=int, default=1024, show_default=True)
@click.option("--mc-batch", type=int, default=64, show_default=True, help="Pairs of inputs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Simulator seed.")
@click.option("--monte-carlo/--no-monte-carlo", default=True, show_default=True)
@activation_options
@_figure_options(canvas.FigureSize(1600, 650, 150))
def correlation_map_command(omega: float, tau: float, grid: int, starts: str, depth: int,
                            mc_width: int, mc_batch: int, seed: int, monte_carlo: bool,
                            activation: str, scale: str, shift: str, **fig: Any) -> None:
    """The correlation map c ↦ c̃ of two inputs at the fixed point (c the centred correlation,
    c̃ = (E[f(u₁)f(u₂)] − μ̃²)/ν̃), its certified fixed points and slopes, and Monte Carlo
    pairs (see `snn-theory propagate`).

    With --activation another activation at the certified fixed point of its moment map
    (choose --tau so that one with ν* > 0 exists: for tanh at ω = 0, τ > 1, e.g. 2); its
    pair integrals are slower than SELU's closed forms (about half a second per point: a
    minute for the defaults; --grid 21 --depth 15 halves it)."""
    act = _activation(activation, scale, shift, "correlation-map")
    try:
        start_list = [float(x) for x in starts.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers (got {starts!r})",
                                 param_hint="--starts") from None
    _run(propagation_figures.correlation_map_figure, omega=omega, tau=tau, grid=grid, starts=start_list, depth=depth,
         mc_width=mc_width, mc_batch=mc_batch, seed=seed, monte_carlo=monte_carlo,
         activation=act, **fig)


#: ``plot gradients --taus`` when another activation is drawn (tanh has a fixed point with
#: ν* > 0 at ω = 0 only for τ > 1; SELU's Newton from (0, 1) certifies none from τ = 1.4 on).
GRADIENT_TAUS_SELU, GRADIENT_TAUS_OTHERS = "0.95,1,1.1", "1.1,1.3"


@plot_group.command("gradients")
@click.option("--taus", default=None,
              help="Comma-separated τ (ω = 0) of the simulated networks [default: "
                   f"{GRADIENT_TAUS_SELU} for SELU alone, {GRADIENT_TAUS_OTHERS} when another "
                   "activation is drawn].")
@click.option("--depth", type=int, default=60, show_default=True, help="Layers.")
@click.option("--mc-width", "width_n", type=int, default=512, show_default=True)
@click.option("--mc-batch", "batch", type=int, default=32, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Simulator seed.")
@click.option("--activation", "activation", multiple=True, metavar="NAME|EXPR",
              help=HELP + "  Repeat it to draw several in one figure (e.g. --activation selu "
                   "--activation tanh).")
@click.option("--scale", default="1", show_default=True,
              help="c in the affine family c·f(x) + d (of every --activation).")
@click.option("--shift", default="0", show_default=True,
              help="d in the affine family c·f(x) + d (of every --activation).")
@_figure_options(canvas.FigureSize(1200, 800, 150))
def gradients_command(taus: str | None, depth: int, width_n: int, batch: int, seed: int,
                      activation: tuple[str, ...], scale: str, shift: str, **fig: Any) -> None:
    """ln of the squared gradient norm against depth: simulated networks (normalised weights,
    ω = 0) against k·ln χ₁ with the certified χ₁ at each τ's fixed point, for SELU (the
    default) and any other --activation (each needs a fixed point with ν* > 0 at every τ)."""
    models = [resolve_options(a, scale, shift) for a in (activation or ("selu",))]
    acts = [m.activation for m in models]
    if taus is None:
        taus = GRADIENT_TAUS_SELU if all(m.closed_form for m in models) else GRADIENT_TAUS_OTHERS
    try:
        tau_list = [float(x) for x in taus.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers (got {taus!r})",
                                 param_hint="--taus") from None
    if not tau_list:
        raise click.BadParameter("give at least one τ", param_hint="--taus")
    _run(propagation_figures.gradients, taus=tau_list, depth=depth, mc_width=width_n, mc_batch=batch,
         seed=seed, activations=acts, **fig)


@plot_group.command("networks")
@click.option("--weights", default=",".join(f"{w:g}" for w in network_figures.DEFAULT_WEIGHTS),
              show_default=True, metavar="W1,W2,…", help="Branch weights W in (0, 1].")
@_figure_options(canvas.FigureSize(1600, 650, 150))
def networks_command(weights: str, **fig: Any) -> None:
    """residual(W, dense(selu)) against W: χ − 1 and 1 − C′(0) (∝ W²) and the depth scales
    ξ_c, 1/ln χ, ξ_q (∝ 1/W²), every point a certified enclosure (propagate --network)."""
    try:
        ws = [float(x) for x in weights.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers (got {weights!r})",
                                 param_hint="--weights") from None
    _run(network_figures.networks, weights=ws, **fig)


@plot_group.command("dropout-dyt")
@_figure_options(canvas.FigureSize(1600, 650, 150))
def dropout_dyt_command(**fig: Any) -> None:
    """S at the fixed point (0, 1) against the alpha-dropout rate Q of dense(selu),
    alpha_dropout(Q), and against DyT's α (γ, β certified), every point a certified
    enclosure; `reproduce` adds the certified maxima of S over Ω."""
    _run(network_figures.dropout_dyt, **fig)


__all__ = ["plot_group"]


@plot_group.command("constrained")
@click.option("--results", type=click.Path(dir_okay=False), required=True,
              help="The record of `python benchmarks/bench_constrained.py --out FILE`.")
@_figure_options(canvas.FigureSize(2400, 800, 150))
def constrained_command(results: str, out: str | None, width: int, height: int, dpi: int,
                        as_json: bool) -> None:
    """Training that keeps the theorem true: test accuracy, the last hidden layer's (μ, ν)
    against Theorem 1's box and the fixed point (0, 1), the exact fraction of units inside
    the certified region, and the per-layer growth of the gradient against the certified χ₁,
    for SELU unconstrained, max-norm, theorem1, domain-map and ReLU + batch norm (drawn from
    a study record; nothing is trained here)."""
    from snn_theory.errors import InputError
    from snn_theory.show import training_figures as train_plots

    try:
        with open(results) as fh:
            study = json.load(fh)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the study record {results!r}: "
                         f"{type(exc).__name__}: {exc}") from None
    if not isinstance(study, dict):
        raise InputError(f"{results!r} is not a study record")
    _run(train_plots.constrained, out=out, width=width, height=height, dpi=dpi,
         as_json=as_json, study=study)


@plot_group.command("training")
@click.option("--results", type=click.Path(dir_okay=False), default=None,
              help="Draw the runs recorded by `snn-theory train --out FILE` instead of "
                   "training (needs at least one selu run).")
@click.option("--variants", default="selu,relu-bn", show_default=True,
              help="Comma-separated variants to train (without --results).")
@click.option("--depths", default="8,16,32", show_default=True,
              help="Comma-separated depths to train (without --results).")
@train_activation_options
@common_options(width_flag="--net-width", init="normalized")
@_figure_options(canvas.FigureSize(1800, 1100, 150))
def training_command(results: str | None, variants: str, depths: str, dataset: str,
                     out: str | None, width: int, height: int, dpi: int, as_json: bool,
                     **fields: Any) -> None:
    """Trained networks against the theorem: training loss of SNN and BN networks at several
    depths (the paper's Figure 1 in miniature), the fraction of hidden units inside
    Theorem 1's (ω, τ) rectangle and their τ per epoch, the units' (ω, τ) at the start,
    midway and the end, and the per-layer (μ, ν) against the fixed point of g.

    Without --results it trains first (default: digits, normalised initialisation, so every
    unit starts inside the rectangle; about 1–2 minutes on two CPU cores, mostly
    compilation).  The --width/--height options are the figure's pixels; the network width
    is --net-width.  --activation adds one variant trained with that activation (as in
    `snn-theory train`), drawn in the loss panel.
    """
    from snn_theory.cli.train import build_configs, run_configs
    from snn_theory.show import training_figures as train_plots
    from snn_theory.simulate.training import RunResult

    if results is not None:
        try:
            with open(results) as fh:
                record = json.load(fh)
            runs = [RunResult.from_json(r) for r in record["runs"]]
        except OSError as exc:
            raise click.BadParameter(f"cannot read {results!r} ({exc.strerror or exc})",
                                     param_hint="--results") from None
        except KeyError as exc:
            raise click.BadParameter(f"{results!r} is not a file of training records "
                                     f"(`snn-theory train --out`): no key {exc}",
                                     param_hint="--results") from None
        except (ValueError, TypeError) as exc:
            raise click.BadParameter(f"{results!r} is not a file of training records "
                                     f"(`snn-theory train --out`): {exc}",
                                     param_hint="--results") from None
    else:
        fields["width"] = fields.pop("net_width")
        configs = build_configs(dataset, variants, depths, **fields)
        try:
            runs = run_configs(configs, show_progress=not as_json)
        except ArithmeticError as exc:  # the SELU constants were not certified
            click.echo(f"snn-theory plot: error: {' '.join(str(exc).split())}", err=True)
            sys.exit(3)
    _run(lambda o, size: train_plots.training(o, runs=runs, size=size), out=out, width=width,
         height=height, dpi=dpi, as_json=as_json)


@plot_group.command("domain-map")
@click.argument("certificate", type=click.Path(dir_okay=False, exists=True))
@_figure_options(canvas.FigureSize(1400, 1000, 150))
def domain_map_command(certificate: str, out: str | None, width: int, height: int, dpi: int,
                       as_json: bool) -> None:
    """A paving certificate of `map-domain` in its plane (default (ω, τ)): proven, refuted and
    undecided cells, the paper's rectangles and the largest certified rectangle.  The
    certificate is re-checked before drawing (an invalid one is refused, exit 2)."""
    from snn_theory.show import domain_figures as domain_plots

    _run(lambda o, size: domain_plots.domain_map(o, certificate=certificate, size=size),
         out=out, width=width, height=height, dpi=dpi, as_json=as_json)
