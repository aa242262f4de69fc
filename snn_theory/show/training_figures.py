"""The ``plot training`` figure: trained networks against the theorem (:mod:`snn_theory.simulate.training`).

Six panels, from one set of training runs (SELU and ReLU + batch norm at several depths):

1. training loss of every minibatch against iterations (the paper's Figure 1 in miniature;
   with the activation variant of ``--activation`` too, dash-dotted);
2. fraction of SELU hidden units whose (ω_i, τ_i) lies in Theorem 1's rectangle (the domain
   of the contraction proof), per epoch (for batch-normalised ReLU networks the rectangle
   means nothing: batch norm undoes the scale of W, and He initialisation puts τ at 2);
3. median and 5–95 % band of the SELU units' τ_i per epoch with the rectangle's τ range;
4. the (ω_i, τ_i) of every hidden unit of the deepest SELU run at initialisation, midway and
   at the end, over that rectangle;
5. and 6. that run's per-layer mean μ_l and variance ν_l on the held-out batch at the same
   three epochs (and, at the end, the within-unit part of ν_l), against the fixed point
   (0, 1) of g (certified by the Krawczyk test) and the iterates of g for normalised weights
   on the held-out inputs (:func:`snn_theory.simulate.training.g_prediction`).

Drawn with the conventions of :mod:`snn_theory.show.canvas` (fixed rcParams, deterministic bytes);
every number is a float32 measurement of trained networks except the fixed point and the
rectangle.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from snn_theory.errors import InputError
from snn_theory.show.canvas import (
    FigureSize,
    PlotResult,
    figure_style,
    integer_ticks,
    new_figure,
    output_path,
    save,
)
from snn_theory.simulate.training import ACTIVATION_VARIANT

#: The variants drawn in panel 1 (the comparison of the paper's Figure 1).
FIGURE1_VARIANTS: tuple[str, ...] = ("selu", "relu-bn")

#: Default size of the figure.
TRAINING_SIZE = FigureSize(1800, 1100, 150)


def _smooth(y: np.ndarray, k: int) -> np.ndarray:
    if k <= 1 or len(y) < k:
        return y
    return np.convolve(y, np.ones(k) / k, mode="valid")


def training(out: str | Path | None = None, *, runs: Sequence[Any],
             size: FigureSize = TRAINING_SIZE) -> PlotResult:
    """Draw the six panels of the module docstring from ``runs``
    (:class:`snn_theory.simulate.training.RunResult`, at least one SELU run).

    ``data``: ``loss`` {label: step losses}, ``in_region`` {label: (epochs+1,)},
    ``median_tau`` {label: (epochs+1,)}, ``snapshot_epochs``, ``act_mean``/``act_var``
    {epoch: (depth+1,)} of the deepest SELU run, ``g_iterates`` (depth+1, 2).
    """
    from snn_theory.show.figure_data import certified_fixed_point
    from snn_theory.simulate.training import certified_region, g_iterates

    runs = list(runs)
    selu = [r for r in runs if r.config.variant == "selu"]
    if not selu:
        raise InputError("plot training needs at least one selu run")
    path, suffix = output_path(out, "training")
    deep = max(selu, key=lambda r: r.config.depth)
    epochs = sorted(deep.snapshots)
    (wl, wh), (tl, th) = certified_region()
    fp = certified_fixed_point(0.0, 1.0)
    if fp["mu_value"] is None:
        raise ArithmeticError("the fixed point of g at (ω, τ) = (0, 1) was not found")
    fp_mu, fp_nu = float(fp["mu_value"]), float(fp["nu_value"])
    fp_tag = "certified (Krawczyk)" if fp["certified"] else "float Newton, not certified"
    depth = deep.config.depth
    g = deep.predicted if deep.predicted is not None else \
        g_iterates(deep.act_mean[0, 0], deep.act_var[0, 0], depth)
    g_label = ("iterates of g, per sample, pooled" if deep.predicted is not None
               else "iterates of g from layer 0")
    layers = np.arange(depth + 1)
    c = deep.config

    with figure_style():
        import matplotlib
        from matplotlib.patches import Rectangle

        fig, axes = new_figure(size, ncols=3, nrows=2)
        (a1, a2, a3), (a4, a5, a6) = axes
        cmap = matplotlib.colormaps["viridis"]
        depths = sorted({r.config.depth for r in runs})
        shade = {d: 0.15 + 0.7 * k / max(len(depths) - 1, 1) for k, d in enumerate(depths)}
        colors = {"selu": matplotlib.colormaps["Blues"], "relu-bn": matplotlib.colormaps["Oranges"],
                  "relu": matplotlib.colormaps["Greys"], "tanh": matplotlib.colormaps["Greens"],
                  "scaled-tanh": matplotlib.colormaps["Purples"],
                  ACTIVATION_VARIANT: matplotlib.colormaps["Reds"]}
        loss, region, med_tau = {}, {}, {}
        for r in runs:
            colour = colors.get(r.config.variant, matplotlib.colormaps["Greys"])(
                0.35 + 0.6 * shade[r.config.depth])
            label = r.label
            region[label] = r.in_region.mean(axis=1)
            med_tau[label] = np.median(r.tau_quantiles[:, 1, 1:], axis=1) \
                if r.config.depth > 1 else r.tau_quantiles[:, 1, 0]
            ep = np.arange(len(region[label]))
            if r.config.variant == "selu":
                a2.plot(ep, 100 * region[label], "-o", ms=2.5, color=colour, label=label)
            if r.config.variant == "selu":
                tq = r.tau_quantiles[:, :, 1:] if r.config.depth > 1 else r.tau_quantiles
                a3.plot(ep, med_tau[label], "-o", ms=2.5, color=colour, label=label)
                a3.fill_between(ep, np.median(tq[:, 0], axis=1), np.median(tq[:, 2], axis=1),
                                color=colour, alpha=0.15, lw=0)
            if r.config.variant in (*FIGURE1_VARIANTS, ACTIVATION_VARIANT):
                loss[label] = r.step_loss
                k = max(1, r.steps_per_epoch // 2)
                y = _smooth(r.step_loss, k)
                style = {"selu": "-", ACTIVATION_VARIANT: "-."}.get(r.config.variant, "--")
                a1.plot(np.arange(len(y)) + (k - 1), y, style, lw=1.3, color=colour,
                        label=label)
        a1.set_yscale("log")
        a1.set_xlabel("iteration (minibatch)")
        a1.set_ylabel("minibatch loss (mean over ½ epoch)")
        extra = ", --activation (dash-dot)" if any(
            r.config.variant == ACTIVATION_VARIANT for r in runs) else ""
        a1.set_title(f"{c.dataset}: SNN (solid) vs BN (dashed){extra}")
        a1.legend(fontsize=6, framealpha=0.7, loc="lower left")
        a2.set_xlabel("epoch")
        integer_ticks(a2.xaxis)
        a2.set_ylabel("% hidden units with (ω_i, τ_i) in the rectangle")
        a2.set_title("SELU units inside Theorem 1's (ω, τ) rectangle")
        a2.legend(fontsize=6.5, ncol=2)
        a3.axhspan(tl, th, color="0.85", zorder=0, label=f"τ ∈ [{tl:g}, {th:g}]")
        a3.set_xlabel("epoch")
        integer_ticks(a3.xaxis)
        a3.set_ylabel("τ_i = Σ_j w_ij²: median, 5–95 % band")
        a3.set_title("SELU units' τ per epoch (layers 2..depth)")
        a3.legend(fontsize=6.5, ncol=2)

        snap_colors = [cmap(x) for x in np.linspace(0.1, 0.85, len(epochs))]
        for e, col in reversed(list(zip(epochs, snap_colors))):  # the start drawn on top
            om, ta = deep.snapshots[e]
            first = e == epochs[0]
            a4.scatter(om.ravel(), ta.ravel(), s=14 if first else 3,
                       alpha=0.9 if first else 0.45, color=col, lw=0, zorder=6 if first else 2,
                       label=f"epoch {e}")
        a4.add_patch(Rectangle((wl, tl), wh - wl, th - tl, fill=False, lw=1.6, color="black",
                               label="Theorem 1 (ω, τ) rectangle", zorder=5))
        a4.set_xlabel("ω_i = Σ_j w_ij")
        a4.set_ylabel("τ_i = Σ_j w_ij²")
        a4.set_title(f"Hidden units of selu depth {depth} ({c.init} init)")
        # below the axes (never over the rectangle or the units), every marker one size:
        # the epoch-0 dots are drawn larger only because they all sit on one point
        legend = a4.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16),
                           ncol=2)
        for handle in legend.legend_handles:
            if hasattr(handle, "set_sizes"):
                handle.set_sizes([16.0])

        for ax, arr, name, target in ((a5, deep.act_mean, "mean μ_l", fp_mu),
                                      (a6, deep.act_var, "variance ν_l", fp_nu)):
            for e, col in zip(epochs, snap_colors):
                ax.plot(layers, arr[e], "-o", ms=3, color=col, label=f"epoch {e}")
            if ax is a6:
                ax.plot(layers, deep.act_var_within[epochs[-1]], "--", ms=3,
                        color=snap_colors[-1], label=f"epoch {epochs[-1]}: within-unit part")
            ax.plot(layers, g[:, 0 if ax is a5 else 1], ":", color="0.3", lw=1.4,
                    label=g_label)
            ax.axhline(target, color="black", lw=1.0, ls="--",
                       label=f"fixed point of g, ω=0, τ=1 ({fp_tag})")
            ax.set_xlabel("layer (0 = input)")
            integer_ticks(ax.xaxis)
            ax.set_ylabel(f"held-out {name}")
            # below the axes: the legend never hides the curves' peaks
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
        a5.set_title(f"Per-layer mean, selu depth {depth}")
        a6.set_title(f"Per-layer variance, selu depth {depth}")
        save(fig, path, suffix, size)

    data = {"loss": loss, "in_region": region, "median_tau": med_tau,
            "snapshot_epochs": epochs,
            "act_mean": {e: deep.act_mean[e] for e in epochs},
            "act_var": {e: deep.act_var[e] for e in epochs}, "g_iterates": g}
    summary = {"runs": [r.label for r in runs], "dataset": c.dataset,
               "fixed_point": {"mu": fp["mu"], "nu": fp["nu"], "certified": fp["certified"]},
               "snapshot_run": deep.label,
               "in_region_end": {k: float(v[-1]) for k, v in region.items()},
               "last_layer_nu_end": {r.label: float(r.act_var[-1, -1]) for r in runs}}
    return PlotResult("training", path, data, summary)


#: The default size of :func:`constrained`.
CONSTRAINED_SIZE = FigureSize(2400, 800, 150)

#: The variants of the constrained-training study, in drawing order.
CONSTRAINED_VARIANTS: tuple[str, ...] = ("selu", "selu+max-norm", "selu+theorem1",
                                         "selu+domain-map", "relu-bn")


def constrained(out: str | Path | None = None, *, study: dict[str, Any],
                size: FigureSize = CONSTRAINED_SIZE) -> PlotResult:
    """Four panels from the record of ``benchmarks/bench_constrained.py --out FILE``: test
    accuracy per data set, depth and variant (mean ± std over seeds); the last hidden layer's
    (μ, ν) at the end of training against Theorem 1's (μ, ν) box and the fixed point (0, 1) of
    g at ω = 0, τ = 1; the smallest fraction of hidden units inside the run's certified region
    (exact; Theorem 1's rectangle for unconstrained variants; ``None``, drawn as "n/a", where
    no certified region applies: ReLU + batch norm); the per-layer growth factor of the
    squared gradient norm with respect to the activations, at the start and at the end of
    training, against the certified χ₁ (the record's ``chi1``; absent in older records: the
    panel says so)."""
    from snn_theory.certify.weight_regions import theorem1_region

    try:
        rows = [dict(r) for r in study["summary"]]
        for r in rows:
            for key in ("dataset", "depth", "variant", "test_mean", "test_std", "mu_end",
                        "nu_end", "inside_min"):
                r[key]  # noqa: B018
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"not a constrained-training study record ({type(exc).__name__}: "
                         f"{exc})") from None
    if not rows:
        raise InputError("the study record has no runs")
    path, suffix = output_path(out, "constrained")
    groups = sorted({(r["dataset"], int(r["depth"])) for r in rows})
    variants = [v for v in CONSTRAINED_VARIANTS if any(r["variant"] == v for r in rows)]
    box = theorem1_region().box
    cell = {(r["dataset"], int(r["depth"]), r["variant"]): r for r in rows}
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#7f7f7f"]
    with figure_style():
        fig, axes = new_figure(size, ncols=4)
        a1, a2, a3, a4 = axes[0]
        width = 0.8 / max(len(variants), 1)
        x = np.arange(len(groups))
        for k, v in enumerate(variants):
            acc = [cell[(d, n, v)]["test_mean"] if (d, n, v) in cell else np.nan
                   for d, n in groups]
            err = [cell[(d, n, v)]["test_std"] if (d, n, v) in cell else 0 for d, n in groups]
            ins = [np.nan if cell.get((d, n, v), {}).get("inside_min") is None
                   else cell[(d, n, v)]["inside_min"] for d, n in groups]
            a1.bar(x + (k - (len(variants) - 1) / 2) * width, acc, width, yerr=err,
                   color=colors[k % len(colors)], label=v)
            offset = x + (k - (len(variants) - 1) / 2) * width
            a3.bar(offset, ins, width, color=colors[k % len(colors)], label=v)
            for xo, value in zip(offset, ins, strict=True):
                if np.isnan(value):
                    a3.text(xo, 0.02, "n/a", rotation=90, ha="center", va="bottom", fontsize=6)
            for key, marker in (("grad_factor_start", "o"), ("grad_factor_end", "s")):
                g = [np.nan if cell.get((d, n, v), {}).get(key) is None
                     else cell[(d, n, v)][key] for d, n in groups]
                a4.scatter(offset, g, s=16, marker=marker, color=colors[k % len(colors)],
                           label=v if key == "grad_factor_end" else None,
                           facecolors="none" if key == "grad_factor_start" else None)
            pts = [(r["mu_end"], r["nu_end"]) for r in rows if r["variant"] == v]
            a2.scatter([p[0] for p in pts], [p[1] for p in pts], s=18,
                       color=colors[k % len(colors)], label=v)
        labels = [f"{d} {n}" for d, n in groups]
        for ax in (a1, a3, a4):
            ax.set_xticks(x, labels, fontsize=6, rotation=90)
            ax.set_xlabel("data set, depth", fontsize=7)
        a1.set_ylabel("test accuracy (end)")
        a1.set_title("Test accuracy")
        a1.legend(fontsize=6, framealpha=0.7, loc="lower left")
        (m0, m1), (n0, n1) = (tuple(float(t) for t in box["mu"]),
                              tuple(float(t) for t in box["nu"]))
        a2.add_patch(_rectangle((m0, n0), m1 - m0, n1 - n0))
        a2.plot([0.0], [1.0], "k*", ms=10, label="fixed point (0, 1) of g at ω=0, τ=1")
        a2.set_xlabel("last hidden layer μ")
        a2.set_ylabel("last hidden layer ν")
        a2.set_yscale("log")
        a2.set_title("Last layer (μ, ν) at the end; box: Theorem 1's")
        a2.legend(fontsize=6, framealpha=0.7, loc="lower right")
        a3.set_ylim(0, 1.05)
        a3.set_ylabel("fraction of units inside (min over layers, epochs)")
        a3.set_title("Units inside the certified region (exact)")
        chi1 = study.get("chi1") if isinstance(study, dict) else None
        if isinstance(chi1, dict) and all(t in chi1 for t in ("1", "0.95", "1.1")):
            a4.axhline(chi1["1"]["mid"], color="black", lw=1,
                       label=f"certified χ₁ = {chi1['1']['mid']:.4f} (ω=0, τ=1)")
            a4.axhspan(chi1["0.95"]["mid"], chi1["1.1"]["mid"], color="0.85",
                       label="χ₁ for ω=0, τ ∈ [0.95, 1.1]")
        else:
            a4.text(0.5, 0.95, "χ₁ not in this record", transform=a4.transAxes, ha="center")
        a3.set_xlim(a1.get_xlim())
        a4.set_xlim(a1.get_xlim())
        a4.set_ylabel("growth of ‖∂ℓ/∂x_l‖² per layer (geometric mean)")
        a4.set_title("Backward signal: ○ at init, ■ at the end")
        a4.legend(fontsize=5, framealpha=0.7, loc="lower left")
        save(fig, path, suffix, size)
    summary = {"groups": [f"{d} depth {n}" for d, n in groups], "variants": variants,
               "command": study.get("command")}
    return PlotResult("constrained", path, {"summary": rows}, summary)


def _rectangle(corner: tuple[float, float], w: float, h: float) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(corner, w, h, fill=False, ec="black", lw=1.0, ls="--")

__all__ = ["CONSTRAINED_VARIANTS", "FIGURE1_VARIANTS", "constrained", "training"]
