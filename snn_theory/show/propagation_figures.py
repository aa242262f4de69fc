"""Figures of signal propagation: the correlation map and its fixed points, and the gradient
gain χ₁ against Monte Carlo.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError
from snn_theory.show.canvas import (
    FigureSize,
    PlotResult,
    arb_ball_text,
    check_grid,
    check_value,
    figure_style,
    integer_ticks,
    new_figure,
    output_path,
    save,
)
from snn_theory.show.figure_data import is_generic, map_name

#: What the propagation figures certify and what they only show (printed in their summaries).
PROPAGATION_EVIDENCE = ("certified (arb): the fixed points c* and their slopes, chi1; "
                        "evidence: the curves (midpoints of arb enclosures) and the Monte Carlo "
                        "points")


def propagation_bits(activation: Activation | None) -> int:
    """Working precision of the c-map curves: SELU's closed forms at 128 bits, another
    activation's pair integrals at the simulator's 64 (a second each at 128)."""
    if not is_generic(activation):
        return 128
    from snn_theory.simulate.pairs import GENERIC_BITS

    return GENERIC_BITS


def correlation_map_figure(out: str | Path | None = None, *, omega: float = 0.0, tau: float = 1.0,
                    grid: int = 41, starts: Sequence[float] = (0.95, 0.5, -0.5),
                    depth: int = 30, mc_width: int = 1024, mc_batch: int = 64, seed: int = 0,
                    monte_carlo: bool = True,
                    size: FigureSize = FigureSize(1600, 650, 150),
                    activation: Activation | None = None) -> PlotResult:
    """Left: c̃(c) − c over [−1, 1] (the correlation map's distance from the diagonal;
    midpoints of arb enclosures) with the certified fixed points c* and their slopes,
    and one-layer Monte Carlo points (mean over ``mc_batch`` pairs, ±2 standard errors).
    Right: correlation against depth from ``starts``: c-map iterates (lines) against
    simulated pairs (markers).  c is the centred correlation (docs/propagation.md).

    ``activation``: another activation (default SELU) at the certified fixed point of its
    moment map (:func:`snn_theory.certify.propagation.propagate`; choose τ so that one with
    ν* > 0 exists, e.g. τ = 2 for tanh at ω = 0); its curves are evaluated at 64 bits and,
    with the Monte Carlo, the depth lines are the iterates from each run's measured input
    correlation (the simulator's own, not computed twice)."""
    from flint import arb

    from snn_theory.certify import propagation
    from snn_theory.precision import working_precision

    check_value("omega", omega)
    check_value("tau", tau, positive=True)
    check_grid(grid)
    if any(not -1 <= c <= 1 for c in starts):
        raise InputError(f"starting correlations must lie in [-1, 1] (got {list(starts)})")
    path, suffix = output_path(out, "correlation_map")
    generic = is_generic(activation)
    result = propagation.propagate(omega, tau, prec=128,
                                   activation=activation if generic else None)
    with working_precision(bits=propagation_bits(activation)):
        point = (propagation.propagation_point(omega, tau, activation=activation)
                 if generic else result.point)
        cs = np.linspace(-1, 1, grid)
        deviation = np.array([float(propagation.correlation_map(point, arb(float(c))).mid())
                              - c for c in cs])
        iterates: dict[float, np.ndarray] = {}
        if not (generic and monte_carlo):
            iterates = {c0: np.array(propagation.correlation_iterates(point, c0, depth))
                        for c0 in starts}
    mc_one: dict[float, tuple[float, float]] = {}
    mc_depth: dict[float, np.ndarray] = {}
    if monte_carlo:
        from snn_theory.simulate import pairs as sim  # lazy: JAX is slow to import
        act = activation if generic else None
        for c0 in np.linspace(-0.9, 0.9, 7):
            cfg = sim.SimulationConfig(width=mc_width, depth=1, batch=mc_batch, omega=omega,
                                       tau=tau, seed=seed, activation=act)
            r = sim.simulate_pairs(cfg, float(c0), predict=False)  # the curve is drawn
            mc_one[float(r.correlation[0])] = (float(r.correlation[1] - r.correlation[0]),
                                               float(2 * r.spread[1] / math.sqrt(mc_batch)))
        for c0 in starts:
            cfg = sim.SimulationConfig(width=mc_width, depth=depth, batch=mc_batch, omega=omega,
                                       tau=tau, seed=seed, activation=act)
            # another activation: its iterates from the measured c0 (not computed twice)
            r = sim.simulate_pairs(cfg, float(c0), predict=generic)
            mc_depth[c0] = r.correlation
            if generic:
                iterates[c0] = r.predicted

    fps = [(float(f.value.mid()), float(f.slope.mid()), f.stable) for f in result.fixed_points]
    name = map_name(activation)
    with figure_style():
        import matplotlib

        fig, axes = new_figure(size, ncols=2)
        a1, a2 = axes[0]
        a1.axhline(0, color="black", lw=0.8)
        a1.plot(cs, deviation, "-", color="#3b528b", lw=1.8,
                label="c̃(c) − c (arb midpoints, evidence)")
        if mc_one:
            xs = sorted(mc_one)
            a1.errorbar(xs, [mc_one[x][0] for x in xs], yerr=[mc_one[x][1] for x in xs],
                        fmt="o", ms=4, color="#fde725", mec="black", ecolor="gray",
                        label=f"Monte Carlo, one layer (N = {mc_width}, {mc_batch} pairs, "
                              "±2 s.e.; evidence)")
        for c, slope, stable in fps:
            a1.plot([c], [0], "D" if stable else "X", ms=9, color="#21918c" if stable else "#440154",
                    mec="black", zorder=6,
                    label=f"c* = {c:g}: χ_c = {slope:.6f} ({'stable' if stable else 'unstable'}, "
                          "certified)")
        a1.set_xlabel("input correlation c (centred)")
        a1.set_ylabel("c̃(c) − c")
        a1.set_title(f"{name} correlation map at the fixed point (ω = {omega:g}, τ = {tau:g})")
        a1.legend(fontsize=7.5, loc="upper right")
        cmap = matplotlib.colormaps["viridis"]
        layers = np.arange(depth + 1)
        for j, c0 in enumerate(starts):
            color = cmap(0.85 * j / max(len(starts) - 1, 1))
            measured = " (the run's measured c₀)" if generic and monte_carlo else ""
            a2.plot(layers, iterates[c0], "-", color=color, lw=1.6,
                    label=f"c-map iterates from {c0:g}{measured}")
            if c0 in mc_depth:
                a2.plot(layers, mc_depth[c0], "o", ms=3, color=color, mec="black", mew=0.4)
        a2.axhline(0, color="black", lw=0.6, ls=":")
        a2.set_xlabel("layer")
        integer_ticks(a2.xaxis)
        a2.set_ylabel("correlation of the two inputs")
        a2.set_title(f"Through depth (markers: Monte Carlo, N = {mc_width}, {mc_batch} pairs)")
        a2.legend(fontsize=7.5)
        save(fig, path, suffix, size)

    data = {"c": cs, "deviation": deviation, "iterates": iterates, "mc_one_layer": mc_one,
            "mc_depth": mc_depth}
    summary = {"omega": omega, "tau": tau, "phase": result.phase.phase,
               "fixed_points": [{"c": c, "slope": s, "stable": st} for c, s, st in fps],
               "chi1": arb_ball_text(point.chi1), "no_other_fixed_points": result.complete,
               "certified": PROPAGATION_EVIDENCE}
    if generic:
        summary["activation"] = activation.to_json()
    return PlotResult("correlation-map", path, data, summary)


def gradients(out: str | Path | None = None, *, taus: Sequence[float] = (0.95, 1.0, 1.1),
              depth: int = 60, mc_width: int = 512, mc_batch: int = 32, seed: int = 0,
              size: FigureSize = FigureSize(1200, 800, 150),
              activations: Sequence[Activation | None] = (None,)) -> PlotResult:
    """ln of the squared gradient norm against the number k of layers backpropagated through:
    simulated networks (normalised weights, ω = 0) of each activation at each τ against
    k·ln χ₁ with the certified χ₁ (arb) at that τ's fixed point.

    ``activations``: the activations drawn (``None`` or SELU: SELU with λ01, α01); each
    needs a fixed point with ν* > 0 at every τ (for tanh: τ > 1).  Several activations
    share the axes: a line and markers per (activation, τ).

    ``data``: ``k``, ``empirical`` and ``chi1`` keyed by τ (one activation) or by
    (label, τ) (several); ``summary["curves"]``: per curve the activation, τ, the χ₁ ball and
    the largest deviation of the Monte Carlo from k·ln χ₁."""
    from snn_theory.certify import propagation
    from snn_theory.precision import working_precision

    taus = [float(t) for t in taus]
    for t in taus:
        check_value("tau", t, positive=True)
    acts = [None if a is None or a.is_selu else a for a in activations] or [None]
    labels = [map_name(a) for a in acts]
    if len(set(labels)) != len(labels):
        raise InputError(f"each activation may be drawn once (got {', '.join(labels)})")
    width, batch = mc_width, mc_batch
    for name, value in (("depth", depth), ("width", width), ("batch", batch)):
        if int(value) != value or value < 1:
            raise InputError(f"{name} must be a positive integer (got {value!r})")
    path, suffix = output_path(out, "gradients")
    single = len(acts) == 1
    from snn_theory.simulate import pairs as sim  # lazy: JAX is slow to import
    curves: list[tuple[str, float, Any, np.ndarray]] = []
    for act, label in zip(acts, labels):
        for t in taus:
            # SELU's closed form at 53 bits (12 digits); others at the simulator's precision
            with working_precision(bits=53 if act is None else propagation_bits(act)):
                chi = propagation.propagation_point(0, t, activation=act).chi1
            cfg = sim.SimulationConfig(width=int(width), depth=int(depth), batch=int(batch),
                                       tau=t, seed=seed, activation=act)
            curves.append((label, t, chi, sim.simulate_gradients(cfg).log_norm))
    k = np.arange(depth + 1)
    with figure_style():
        import matplotlib

        fig, axes = new_figure(size)
        ax = axes[0][0]
        cmap = matplotlib.colormaps["viridis"]
        markers = "os^vDP*X"
        for j, (label, t, chi_ball, emp) in enumerate(curves):
            color = cmap(0.85 * j / max(len(curves) - 1, 1))
            chi = float(chi_ball.mid())
            who = f"τ = {t:g}" if single else f"{label}, τ = {t:g}"
            ax.plot(k, k * math.log(chi), "-", color=color, lw=1.6,
                    label=f"{who}: k·ln χ₁, χ₁ = {chi:.6f} (certified)")
            ax.plot(k, emp, markers[labels.index(label) % len(markers)], ms=3, color=color,
                    mec="black", mew=0.4, label=f"{who}: Monte Carlo (evidence)")
        ax.axhline(0, color="black", lw=0.6, ls=":")
        ax.set_xlabel("layers backpropagated through, k = L − l")
        ax.set_ylabel("ln(‖∂L/∂x_l‖² / ‖∂L/∂x_L‖²)")
        what = f"{labels[0]} gradients" if single else "Gradients"
        ax.set_title(f"{what} at the fixed point (N = {width}, batch {batch}, ω = 0)")
        ax.legend(fontsize=7.5)
        save(fig, path, suffix, size)

    def key(label: str, t: float) -> Any:
        return t if single else (label, t)

    def deviation(chi: Any, emp: np.ndarray) -> float:
        return float(np.max(np.abs(emp - k * math.log(float(chi.mid())))))

    data = {"k": k, "empirical": {key(lb, t): e for lb, t, _, e in curves},
            "chi1": {key(lb, t): float(c.mid()) for lb, t, c, _ in curves}}
    summary: dict[str, Any] = {
        "taus": taus, "depth": depth, "width": width, "batch": batch,
        "activations": labels,
        "chi1": {(str(t) if single else f"{lb}, tau = {t:g}"): arb_ball_text(c)
                 for lb, t, c, _ in curves},
        "max_deviation": {(str(t) if single else f"{lb}, tau = {t:g}"): deviation(c, e)
                          for lb, t, c, e in curves},
        "curves": [{"activation": lb, "tau": t, "chi1": arb_ball_text(c),
                    "max_deviation": deviation(c, e)} for lb, t, c, e in curves],
        "certified": "certified (arb): chi1; evidence: the Monte Carlo points",
    }
    return PlotResult("gradients", path, data, summary)
