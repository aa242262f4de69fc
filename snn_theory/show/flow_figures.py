"""Figures of the moment map's dynamics: the flow field of g with its certified fixed point and
trajectories, and the convergence of simulated networks to the iterates of g.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError
from snn_theory.show.canvas import (
    FigureSize,
    PlotResult,
    check_grid,
    check_range,
    check_value,
    draw_box,
    figure_style,
    in_interval,
    integer_ticks,
    new_figure,
    output_path,
    save,
    theorem_domains,
)
from snn_theory.show.figure_data import (
    activation_summary,
    fixed_point_of,
    is_generic,
    iterated_trajectory,
    map_name,
    map_values,
    monte_carlo_trajectories,
)


def flow_field(out: str | Path | None = None, *, omega: float = 0.0, tau: float = 1.0,
               mu_range: tuple[float, float] = (-0.6, 0.6),
               nu_range: tuple[float, float] = (0.3, 2.4), grid: int = 21,
               trajectories: bool = True, steps: int = 8,
               starts: Sequence[tuple[float, float]] | None = None,
               monte_carlo: bool = False, mc_width: int = 256, mc_batch: int = 64,
               mc_seed: int = 0, size: FigureSize = FigureSize(),
               activation: Activation | None = None) -> PlotResult:
    """Direction field of g in the (μ, ν) plane at fixed (ω, τ).

    ``activation``: the moment map of another activation (default SELU; its values are
    float quadrature, its fixed point certified where the Krawczyk test succeeds, its Monte
    Carlo the numpy simulator).

    Arrows: direction of the step g(μ, ν) − (μ, ν) (drawn with one length; colour = the
    step length |g(μ, ν) − (μ, ν)|).  Marked: the fixed point, with its *certified* ball
    value when the Krawczyk test succeeds; the (μ, ν) box of Theorem 1.  Optionally analytic
    trajectories (iterates of g) from ``starts`` (default: four points near the corners), and
    with ``monte_carlo`` the empirical trajectories of simulated networks of width
    ``mc_width`` from the same starts.

    ``data``: ``mu`` (n,), ``nu`` (n,), ``g_mu``/``g_nu``/``step`` (n_ν, n_μ), ``fixed_point``,
    ``trajectories`` and ``monte_carlo`` (lists of (k, 2) arrays).
    """
    check_value("omega", omega)
    check_value("tau", tau, positive=True)
    check_range("mu", mu_range)
    check_range("nu", nu_range, positive=True)
    check_grid(grid)
    if int(steps) != steps or not 1 <= steps <= 1000:
        raise InputError(f"steps must be an integer in [1, 1000] (got {steps!r})")
    path, suffix = output_path(out, "flow_field")
    mu = np.linspace(*mu_range, grid)
    nu = np.linspace(*nu_range, grid)
    M, N = np.meshgrid(mu, nu)
    q = map_values(activation, M, omega, N, tau, ("mean", "variance"))
    g_mu, g_nu = q["mean"], q["variance"]
    d_mu, d_nu = g_mu - M, g_nu - N
    step = np.hypot(d_mu, d_nu)
    fp = fixed_point_of(activation, omega, tau)
    if starts is None:
        (a, b), (c, d) = mu_range, nu_range
        starts = [(a + 0.1 * (b - a), c + 0.9 * (d - c)), (a + 0.9 * (b - a), c + 0.9 * (d - c)),
                  (a + 0.1 * (b - a), c + 0.08 * (d - c)), (a + 0.9 * (b - a), c + 0.08 * (d - c))]
    starts = [(float(s0), float(s1)) for s0, s1 in starts]
    paths = ([iterated_trajectory(activation, s0, omega, s1, tau, steps=steps) for s0, s1 in starts]
             if trajectories or monte_carlo else [])
    mc: list[np.ndarray] = []
    if monte_carlo:
        mc = monte_carlo_trajectories(activation, starts, omega=omega, tau=tau, width=mc_width, depth=steps,
                        batch=mc_batch, seed=mc_seed)
    t1 = theorem_domains()["theorem1"]

    with figure_style():
        from matplotlib.lines import Line2D

        fig, axes = new_figure(size)
        ax = axes[0][0]
        # Unit arrows in axes-fraction units, drawn in data units (true direction on screen).
        span_mu, span_nu = mu_range[1] - mu_range[0], nu_range[1] - nu_range[0]
        frac = np.hypot(d_mu / span_mu, d_nu / span_nu)
        arrow = 0.6 / max(grid - 1, 1)
        with np.errstate(all="ignore"):
            k = np.where(frac > 0, arrow / frac, 0.0)
        quiv = ax.quiver(M, N, d_mu * k, d_nu * k, step, cmap="viridis", angles="xy",
                         scale_units="xy", scale=1.0, width=0.0035, pivot="tail", zorder=2)
        fig.colorbar(quiv, ax=ax, label="step length |g(μ, ν) − (μ, ν)|")
        in_t1 = in_interval(omega, t1["omega"]) and in_interval(tau, t1["tau"])
        draw_box(ax, t1, "mu", "nu", style="-" if in_t1 else "--",
              label="Theorem 1 box" + ("" if in_t1 else " (ω, τ outside its domain)"))
        for j, p in enumerate(paths if trajectories else []):
            ax.plot(p[:, 0], p[:, 1], "-o", color="black", lw=1.0, ms=3.0, zorder=6,
                    label="iterates of g" if j == 0 else None)
        for j, p in enumerate(mc):
            ax.plot(p[:, 0], p[:, 1], "--s", color="#d55e00", lw=1.0, ms=3.0, mfc="none",
                    zorder=7, label=f"simulated network, width {mc_width}" if j == 0 else None)
        if fp["mu_value"] is not None:
            tag = "certified" if fp["certified"] else "float, not certified"
            ax.plot([fp["mu_value"]], [fp["nu_value"]], marker="*", ms=14, color="white",
                    mec="black", mew=1.2, ls="none", zorder=8,
                    label=f"fixed point ({tag}):\nμ* ∈ {fp['mu']}\nν* ∈ {fp['nu']}"
                    if fp["certified"] else f"fixed point ({tag}): ({fp['mu']}, {fp['nu']})")
        ax.set_xlim(*mu_range)
        ax.set_ylim(*nu_range)
        ax.set_xlabel("input mean μ")
        ax.set_ylabel("input variance ν")
        ax.set_title(f"Flow of the {map_name(activation)} moment map g at ω = {omega:g}, "
                     f"τ = {tau:g}" + ("" if not is_generic(activation)
                                       else "\n(float64 quadrature: evidence, not a proof)"))
        handles, labels = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], color="none"))
        labels.append("arrows: direction of g(μ, ν) − (μ, ν)")
        ax.legend(handles, labels, loc="upper right", fontsize=7.5, framealpha=0.9)
        save(fig, path, suffix, size)

    data = {"mu": mu, "nu": nu, "g_mu": g_mu, "g_nu": g_nu, "step": step,
            "omega": omega, "tau": tau, "fixed_point": fp, "starts": starts,
            "trajectories": paths if trajectories else [], "monte_carlo": mc}
    summary = {"omega": omega, "tau": tau, "fixed_point": fp, "grid": grid,
               "max_step": float(np.nanmax(step)),
               "monte_carlo_max_deviation": _max_dev(paths, mc) if mc else None,
               **activation_summary(activation)}
    return PlotResult("flow-field", path, data, summary)


def _max_dev(analytic: Sequence[np.ndarray], empirical: Sequence[np.ndarray]) -> dict[str, float]:
    dev = [np.abs(a - e).max(axis=0) for a, e in zip(analytic, empirical, strict=True)]
    worst = np.max(dev, axis=0)
    return {"mean": float(worst[0]), "variance": float(worst[1])}


# ============================================================================ convergence
def convergence(out: str | Path | None = None, *, widths: Sequence[int] = (64, 256, 1024),
                depth: int = 12, batch: int = 64, mean0: float = 0.5, var0: float = 2.0,
                omega: float = 0.0, tau: float = 1.0, seed: int = 0,
                empirical: Mapping[int, np.ndarray] | None = None,
                size: FigureSize = FigureSize(1600, 600, 150),
                activation: Activation | None = None) -> PlotResult:
    """Per-layer empirical mean and variance of simulated networks (normalised weights, one
    run per width) against the analytic iterates of g from the same start; right panel: the
    largest deviation over layers against width, with an N^(−1/2) guide line.

    ``empirical``: precomputed runs {width: (depth + 1, 2) array of per-layer (mean,
    variance)} (as :func:`simulate_trajectories` returns them) to draw instead of simulating.
    ``activation``: networks of another activation (numpy Monte Carlo of
    :mod:`snn_theory.activation_simulate`) against its float iterates of g.

    ``data``: ``layers`` (0..depth), ``analytic`` (depth+1, 2), ``empirical`` {width: array},
    ``max_deviation`` {width: (mean, variance)}.
    """
    if empirical is not None:
        widths = sorted(int(w) for w in empirical)
    widths = [int(w) for w in widths]
    if not widths or any(w < 1 for w in widths):
        raise InputError(f"widths must be positive integers (got {widths})")
    for name, value in (("depth", depth), ("batch", batch)):
        if int(value) != value or value < 1:
            raise InputError(f"{name} must be a positive integer (got {value!r})")
    check_value("mean0", mean0)
    check_value("var0", var0, positive=True)
    check_value("omega", omega)
    check_value("tau", tau, positive=True)
    path, suffix = output_path(out, "convergence")
    analytic = iterated_trajectory(activation, mean0, omega, var0, tau, steps=depth)
    if empirical is not None:
        empirical = {int(w): np.asarray(e, float) for w, e in empirical.items()}
        if any(e.shape != (depth + 1, 2) for e in empirical.values()):
            raise InputError(f"empirical runs must have shape ({depth + 1}, 2)")
    else:
        empirical = {}
    for w in [w for w in widths if w not in empirical]:
        empirical[w] = monte_carlo_trajectories(activation, [(mean0, var0)], omega=omega, tau=tau, width=w,
                                  depth=depth, batch=batch, seed=seed)[0]
    dev = {w: np.abs(e - analytic).max(axis=0) for w, e in empirical.items()}
    layers = np.arange(depth + 1)

    with figure_style():
        import matplotlib

        fig, axes = new_figure(size, ncols=3)
        a1, a2, a3 = axes[0]
        cmap = matplotlib.colormaps["viridis"]
        for j, (w, e) in enumerate(sorted(empirical.items())):
            color = cmap(0.85 * j / max(len(empirical) - 1, 1))
            for ax, col in ((a1, 0), (a2, 1)):
                ax.plot(layers, e[:, col], "-o", ms=3, color=color, label=f"width {w}")
        for ax, col, name in ((a1, 0, "mean μ"), (a2, 1, "variance ν")):
            ax.plot(layers, analytic[:, col], "--", color="black", lw=1.6,
                    label="iterates of g (infinite width)")
            ax.set_xlabel("layer")
            integer_ticks(ax.xaxis)
            ax.set_ylabel(f"activation {name}")
            ax.legend(fontsize=7.5)
        a1.set_title(f"Mean per layer from (μ₀, ν₀) = ({mean0:g}, {var0:g})"
                     + ("" if not is_generic(activation) else f"\n{map_name(activation)}"))
        a2.set_title(f"Variance per layer (ω = {omega:g}, τ = {tau:g})")
        ws = np.array(sorted(dev), float)
        dm = np.array([dev[int(w)][0] for w in ws])
        dv = np.array([dev[int(w)][1] for w in ws])
        a3.loglog(ws, dm, "o-", color=cmap(0.15), label="max |mean − theory|")
        a3.loglog(ws, dv, "s-", color=cmap(0.75), label="max |variance − theory|")
        ref = max(dm[0], dv[0], 1e-12)
        a3.loglog(ws, ref * (ws / ws[0]) ** -0.5, ":", color="black",
                  label=r"$\propto N^{-1/2}$ (guide)")
        from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

        # the widths themselves as the only x ticks; no minor labels (they overlapped)
        a3.xaxis.set_major_locator(FixedLocator(ws))
        a3.xaxis.set_major_formatter(lambda x, _pos: f"{x:g}")
        a3.xaxis.set_minor_locator(NullLocator())
        a3.yaxis.set_minor_formatter(NullFormatter())
        a3.set_xlabel("width N")
        a3.set_ylabel("largest deviation over layers")
        a3.set_title(f"Finite-width effect (batch {batch})")
        a3.legend(fontsize=7.5)
        save(fig, path, suffix, size)

    data = {"layers": layers, "analytic": analytic, "empirical": empirical,
            "max_deviation": {w: (float(d[0]), float(d[1])) for w, d in dev.items()}}
    summary = {"widths": widths, "depth": depth, "batch": batch,
               "max_deviation": {str(w): {"mean": float(d[0]), "variance": float(d[1])}
                                 for w, d in dev.items()}, **activation_summary(activation)}
    return PlotResult("convergence", path, data, summary)
