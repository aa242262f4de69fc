"""Figures of networks: how a residual SELU block's gradient growth χ and depth scales change
with its branch weight W (docs/networks.md, "Propagation"); S against the alpha-dropout rate
and against DyT's α (docs/networks.md, "Claims over a domain" and "DyT")."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from snn_theory.errors import InputError
from snn_theory.show.canvas import (
    FigureSize,
    PlotResult,
    arb_ball_text,
    figure_style,
    new_figure,
    output_path,
    save,
)

#: The branch weights drawn by default.
DEFAULT_WEIGHTS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def networks(out: str | Path | None = None, *, weights: Sequence[float] = DEFAULT_WEIGHTS,
             size: FigureSize = FigureSize(1600, 650, 150)) -> PlotResult:
    """``residual(W, dense(selu))`` (ω = 0, τ = 1) for each W in ``weights``: left, χ − 1 and
    1 − C′(0) against W (both W² times a constant of one SELU layer); right, the depth
    scales ξ_c = −1/ln C′(0) (correlations forgotten), 1/ln χ (the gradient grows by e) and
    ξ_q against W.  Every point is the midpoint of a certified arb enclosure
    (:func:`snn_theory.certify.propagation.network.propagate_network`, 128 bits); the lines
    only join them."""
    from snn_theory.certify.propagation.network import propagate_network
    from snn_theory.exact import decimal_string

    ws = [float(w) for w in weights]
    if not ws or any(not (0 < w <= 1) or not math.isfinite(w) for w in ws):
        raise InputError(f"the branch weights W must lie in (0, 1] (got {list(weights)})")
    path, suffix = output_path(out, "networks")
    rows: list[dict[str, Any]] = []
    for w in sorted(set(ws)):
        text = decimal_string(repr(w), "W")
        r = propagate_network(f"residual({text}, dense(selu))", prec=128)
        zero = next(f for f in r.fixed_points if f.value == 0)
        if zero.depth_scale is None or not r.chi > 1 or r.depth_scale_q is None:
            raise ArithmeticError(f"W = {text}: the depth scales were not certified")
        rows.append({"W": w, "chi": r.chi, "slope0": zero.slope, "xi_c": zero.depth_scale,
                     "e_fold": 1 / r.chi.log(), "xi_q": r.depth_scale_q})
    W = np.array([row["W"] for row in rows])

    def mid(key: str) -> np.ndarray:
        return np.array([float(row[key].mid()) for row in rows])

    chi, slope0 = mid("chi"), mid("slope0")
    with figure_style():
        fig, axes = new_figure(size, ncols=2)
        a1, a2 = axes[0]
        a1.loglog(W, chi - 1, "o-", color="#3b528b", label="χ − 1 (gradient growth per block)")
        a1.loglog(W, 1 - slope0, "s-", color="#21918c",
                  label="1 − C′(0) (correlation contraction per block)")
        a1.set_xlabel("branch weight W")
        a1.set_ylabel("per block")
        a1.set_title("residual(W, dense(selu)): both ∝ W² (certified points)")
        a1.legend(fontsize=8)
        a2.loglog(W, mid("xi_c"), "o-", color="#440154", label="ξ_c = −1/ln C′(0) at c* = 0")
        a2.loglog(W, mid("e_fold"), "^-", color="#fde725", mec="black",
                  label="1/ln χ (blocks for the gradient to grow by e)")
        a2.loglog(W, mid("xi_q"), "s-", color="#5ec962", label="ξ_q = −1/ln ∂ν̃/∂ν")
        a2.set_xlabel("branch weight W")
        a2.set_ylabel("blocks")
        a2.set_title("Depth scales grow as 1/W²")
        a2.legend(fontsize=8)
        save(fig, path, suffix, size)
    data = {"W": W, "chi": chi, "slope0": slope0, "xi_c": mid("xi_c"),
            "e_fold": mid("e_fold"), "xi_q": mid("xi_q")}
    summary = {
        "network": "residual(W, dense(selu)), omega = 0, tau = 1",
        "rows": [{k: (v if k == "W" else arb_ball_text(v)) for k, v in row.items()}
                 for row in rows],
        "certified": "certified (arb): every point (midpoints of the enclosures drawn); "
                     "the lines only join them",
    }
    return PlotResult("networks", path, data, summary)


#: The alpha-dropout rates and DyT's α drawn by default (exact decimals).
DEFAULT_RATES = tuple(f"{k / 40:g}" for k in range(0, 21))
DEFAULT_ALPHAS = ("0.02", "0.05", "0.1", "0.2", "0.3", "0.5", "0.7", "1", "1.5", "2", "3", "5",
                  "7", "10")


def dropout_dyt(out: str | Path | None = None, *, rates: Sequence[str] = DEFAULT_RATES,
                alphas: Sequence[str] = DEFAULT_ALPHAS,
                maxima: dict[str, tuple[str, str]] | None = None,
                size: FigureSize = FigureSize(1600, 650, 150)) -> PlotResult:
    """Left: S at (0, 1) of ``dense(selu), alpha_dropout(Q)`` against Q (ω = 0, τ = 1; Q = 0
    is SELU alone), and, where ``maxima`` gives them (rate → [lower, upper] of the maximum
    of S over Theorem 1's Ω, from the Theorem 1 analogue's certificates), those enclosures
    as bars.  Right: S at (0, 1) of DyT ``dense(γ·tanh(αx) + β)`` (γ, β certified so that
    (0, 1) is the fixed point, :func:`snn_theory.certify.dyt.dyt_row`) against α, the
    published default α = 0.5 marked.  Every point is the midpoint of a certified enclosure
    (radius far below the line width); the lines only join them."""
    from snn_theory.certify.dyt import dyt_row
    from snn_theory.evaluate.network_map import network_map

    if not rates or not alphas:
        raise InputError("give at least one rate and one alpha")
    path, suffix = output_path(out, "dropout_dyt")
    s_q = [network_map(f"dense(selu), alpha_dropout({q})", mu="0", nu="1",
                       digits=15).spectral_norm for q in rates]
    dyt = [dyt_row(a, bits=64) for a in alphas]
    Q = np.array([float(q) for q in rates])
    A = np.array([float(a) for a in alphas])
    SQ = np.array([float(x.mid()) for x in s_q])
    SA = np.array([float(r.spectral_norm.mid()) for r in dyt])
    with figure_style():
        fig, axes = new_figure(size, ncols=2)
        a1, a2 = axes[0]
        a1.plot(Q, SQ, "o-", color="#3b528b", ms=4, label="S at the fixed point (0, 1)")
        for k, (q, (lo, hi)) in enumerate(sorted((maxima or {}).items())):
            a1.plot([float(q)] * 2, [float(lo), float(hi)], "-", color="#d62728", lw=6,
                    label="max of S over Ω (certified enclosure)" if k == 0 else None)
        a1.axhline(1, color="black", lw=0.8, ls="--")
        a1.set_xlabel("alpha-dropout rate Q")
        a1.set_ylabel("S (largest singular value of the Jacobian)")
        a1.set_title("dense(selu), alpha_dropout(Q): S < 1 (certified points)")
        a1.set_ylim(0, 1.05)
        a1.legend(fontsize=8)
        a2.semilogx(A, SA, "o-", color="#21918c", ms=4, label="S at the fixed point (0, 1)")
        if 0.5 in A:
            a2.semilogx([0.5], [SA[list(A).index(0.5)]], "*", color="#d62728", ms=14,
                        label="α = 0.5 (published default)")
        a2.axhline(1, color="black", lw=0.8, ls="--")
        a2.set_xlabel("DyT α")
        a2.set_ylabel("S")
        a2.set_title("DyT γ·tanh(αx) + β after a dense layer (γ, β certified)")
        a2.set_ylim(0, 1.05)
        a2.legend(fontsize=8)
        save(fig, path, suffix, size)
    summary = {
        "alpha_dropout": [{"Q": q, "S": arb_ball_text(x)} for q, x in zip(rates, s_q,
                                                                              strict=True)],
        "max_S_over_Omega": {q: list(v) for q, v in sorted((maxima or {}).items())},
        "dyt": [{"alpha": a, "S": arb_ball_text(r.spectral_norm)}
                for a, r in zip(alphas, dyt, strict=True)],
        "certified": "certified (arb): every point (midpoints of the enclosures drawn); "
                     "the lines only join them",
    }
    return PlotResult("dropout_dyt", path, {"Q": Q, "S_Q": SQ, "alpha": A, "S_alpha": SA},
                      summary)


__all__ = ["DEFAULT_ALPHAS", "DEFAULT_RATES", "DEFAULT_WEIGHTS", "dropout_dyt", "networks"]
