"""Figures of the moment map over the (μ, ν) or (ω, τ) plane: the contraction (the spectral
norm of the Jacobian with the theorem boxes and their certificates), the variance change
ν̃ − ν, and the fixed points (μ*, ν*) as functions of (ω, τ).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from snn_theory.certify.claims import THEOREM_LABELS
from snn_theory.derive.activations import Activation
from snn_theory.derive.formulas import VARIABLE_NAMES, VARIABLE_SYMBOLS
from snn_theory.errors import InputError
from snn_theory.exact import parse_exact
from snn_theory.show.canvas import (
    S_ONE_COLOR,
    FigureSize,
    PlotResult,
    check_grid,
    check_range,
    check_value,
    draw_box,
    figure_style,
    in_interval,
    label_contours,
    new_figure,
    output_path,
    save,
    theorem_domains,
)
from snn_theory.show.figure_data import (
    activation_summary,
    fixed_points_numpy,
    is_generic,
    map_name,
    map_values,
)


def load_certificate_boxes(path: str | Path, quantity: str | None = None
                           ) -> tuple[dict[str, tuple[float, float]] | None,
                                      list[dict[str, tuple[float, float]]]]:
    """The domain and leaf boxes of a certificate, as float intervals, for drawing.

    Accepted: an snn-theory certificate (:mod:`snn_theory.certify.certificate.io`; plain or gzip JSON,
    checksum verified on reading: a damaged file is refused), whose leaf boxes are lists
    ``[[μ lo, μ hi], [ω lo, ω hi], [ν lo, ν hi], [τ lo, τ hi], bound(, bits)]``; or a minimal
    JSON (optionally gzip) ``{"domain": {var: [lo, hi]}, "boxes": [{var: [lo, hi]}, ...]}``.
    Interval ends may be numbers or exact rational text ("-1/10", "0.8").  Only the checksum
    is checked here, not the proof: use ``snn-theory check-certificate`` for that.
    ``quantity``: refuse a certificate whose claim is about another quantity (a figure of S
    must not draw the boxes of a proof about the variance).
    """
    import gzip
    import json

    p = Path(path)
    if not p.is_file():
        raise InputError(f"certificate {str(p)!r} does not exist")
    try:
        blob = p.read_bytes()
        raw = json.loads((gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob).decode())
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError, gzip.BadGzipFile):
        raise InputError(f"cannot read certificate {str(p)!r} (corrupted, truncated or "
                         "not JSON)") from None
    if isinstance(raw, Mapping) and raw.get("format") == "snn-theory-certificate":
        from snn_theory.certify.certificate.io import CertificateError, read_certificate

        try:
            raw = read_certificate(p)
        except CertificateError as exc:
            raise InputError(f"certificate {str(p)!r}: {exc}") from None
    if not isinstance(raw, Mapping) or not isinstance(raw.get("boxes"), list):
        raise InputError(f"certificate {str(p)!r} has no 'boxes' list")
    claim = raw.get("claim")
    if quantity is not None and isinstance(claim, Mapping) and claim.get("quantity") != quantity:
        raise InputError(f"certificate {str(p)!r} is about {claim.get('quantity')!r} "
                         f"(claim {claim.get('name')!r}), not {quantity}: its boxes do not "
                         "belong in this figure")

    def num(x: Any) -> float:
        return float(parse_exact(x, "box end"))

    def box_of(item: Any) -> dict[str, tuple[float, float]]:
        if isinstance(item, Mapping):
            item = item.get("box", item)
            pairs = [item[v] for v in VARIABLE_NAMES]
        else:
            pairs = list(item)[:4]
        lo_hi = [(num(a), num(b)) for a, b in pairs]
        return dict(zip(VARIABLE_NAMES, lo_hi, strict=True))

    try:
        dom = raw.get("domain") or (raw.get("claim") or {}).get("domain")
        domain = box_of(dom) if dom is not None else None
        boxes = [box_of(item) for item in raw["boxes"]]
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        raise InputError(f"certificate {str(p)!r}: malformed domain or leaf box") from None
    return domain, boxes


def contraction(out: str | Path | None = None, *, mu: float = -0.1, omega: float = -0.1,
                tau: float = 1.25, mu_range: tuple[float, float] = (-0.6, 0.6),
                nu_range: tuple[float, float] = (0.4, 2.4),
                tau_range: tuple[float, float] = (0.7, 1.7), grid: int = 121,
                certificate: str | Path | None = None,
                size: FigureSize = FigureSize(1600, 750, 150),
                activation: Activation | None = None) -> PlotResult:
    """The contraction constant S = ‖H‖₂ (largest singular value of the Jacobian of g).

    ``activation``: S of another activation's moment map (float quadrature; the
    ``certificate`` boxes are SELU's and cannot be combined with it).

    Left: S over (μ, ν) at fixed (ω, τ); right: S over (ν, τ) at fixed (μ, ω).  Defaults are
    the worst corner of the theorem domains (μ = ω = −0.1; τ = 1.25 the top of the appendix
    range), where the margin below 1 is thinnest.  Drawn: the S = 1 contour (black), the
    Theorem 1 and appendix domains projected on each plane, and optionally the leaf boxes of
    a certificate that contain the slice.  Float64 values: a picture, not a proof.

    ``data``: ``mu``, ``nu`` (axes of the left panel), ``S_mu_nu`` (n_ν, n_μ); ``nu2``,
    ``tau`` (axes of the right panel), ``S_nu_tau`` (n_τ, n_ν); ``boxes_drawn``.
    """
    for name, value in (("mu", mu), ("omega", omega)):
        check_value(name, value)
    check_value("tau", tau, positive=True)
    check_range("mu", mu_range)
    check_range("nu", nu_range, positive=True)
    check_range("tau", tau_range, positive=True)
    check_grid(grid)
    if certificate and is_generic(activation):
        raise InputError("--certificate draws a SELU certificate's boxes; it cannot be "
                         "combined with another activation")
    path, suffix = output_path(out, "contraction")
    cert_domain, cert_boxes = (load_certificate_boxes(certificate, "spectral_norm")
                               if certificate else (None, []))
    mus, nus, taus = (np.linspace(*mu_range, grid), np.linspace(*nu_range, grid),
                      np.linspace(*tau_range, grid))
    M, N = np.meshgrid(mus, nus)
    s1 = map_values(activation, M, omega, N, tau, ("spectral_norm",))["spectral_norm"]
    N2, T2 = np.meshgrid(nus, taus)
    s2 = map_values(activation, mu, omega, N2, T2, ("spectral_norm",))["spectral_norm"]
    domains = theorem_domains()
    drawn = {"mu_nu": 0, "nu_tau": 0}

    with figure_style():
        fig, axes = new_figure(size, ncols=2)
        a1, a2 = axes[0]
        vmin = float(np.nanmin([np.nanmin(s1), np.nanmin(s2)]))
        vmax = float(np.nanmax([np.nanmax(s1), np.nanmax(s2)]))
        for ax, X, Y, S, (xv, yv), fixed in (
            (a1, M, N, s1, ("mu", "nu"), {"omega": omega, "tau": tau}),
            (a2, N2, T2, s2, ("nu", "tau"), {"mu": mu, "omega": omega}),
        ):
            im = ax.pcolormesh(X, Y, S, cmap="cividis", vmin=vmin, vmax=vmax, shading="gouraud",
                               rasterized=True)
            has_one = bool(np.nanmin(S) < 1 < np.nanmax(S))
            if has_one:
                ax.contour(X, Y, S, levels=[1.0], colors=S_ONE_COLOR, linewidths=2.2,
                           zorder=4)
            levels = [v for v in (0.8, 0.9, 0.95) if np.nanmin(S) < v < np.nanmax(S)]
            thin = (ax.contour(X, Y, S, levels=levels, colors="white", linewidths=0.7,
                               linestyles=":") if levels else None)
            # the appendix box first, Theorem 1's on top: where their edges coincide (ν range)
            # the black box stays whole instead of being split by the white dashes; where the
            # two project onto the same rectangle, it is drawn once (the appendix's, whose τ
            # range holds more slices) and its label names both
            drawn_boxes: list[tuple[tuple[float, float], tuple[float, float]]] = []
            inside = {key: all(in_interval(v, domains[key][n]) for n, v in fixed.items())
                      for key in ("appendix", "theorem1")}
            same = (domains["appendix"][xv], domains["appendix"][yv]) == \
                (domains["theorem1"][xv], domains["theorem1"][yv])
            for key, style, color, z in (("appendix", "--", "white", 5),
                                         ("theorem1", "-", "black", 6)):
                box = domains[key]
                label = THEOREM_LABELS[key] + ("" if inside[key] else
                                               " (slice outside its domain)")
                if same and key == "appendix":  # its box is also Theorem 1's
                    label += f"\n= {THEOREM_LABELS['theorem1']}" + \
                             ("" if inside["theorem1"] else " (slice outside its domain)")
                if same and key == "theorem1":
                    continue
                draw_box(ax, box, xv, yv, style=style if inside[key] else ":", color=color,
                         lw=1.6 if inside[key] else 1.0, zorder=z, label=label)
                drawn_boxes.append((box[xv], box[yv]))
            if thin is not None:  # labels off the boxes' edges and the axes' edges
                label_contours(ax, thin, "%.2f", 7, avoid=drawn_boxes)
            for box in cert_boxes:
                if all(in_interval(v, box[n]) for n, v in fixed.items()):
                    draw_box(ax, box, xv, yv, color="#e69f00", lw=0.4, label="_cert")
                    drawn["mu_nu" if xv == "mu" else "nu_tau"] += 1
            ax.set_xlabel({"mu": "input mean μ", "nu": "input variance ν"}[xv])
            ax.set_ylabel({"nu": "input variance ν", "tau": "weight sum of squares τ"}[yv])
            ax.set_title("S(μ, ν) at " + ", ".join(f"{VARIABLE_SYMBOLS[n]} = {v:g}"
                                                   for n, v in fixed.items())
                         if xv == "mu" else
                         "S(ν, τ) at " + ", ".join(f"{VARIABLE_SYMBOLS[n]} = {v:g}"
                                                   for n, v in fixed.items()))
            handles, labels = ax.get_legend_handles_labels()
            from matplotlib.lines import Line2D

            handles.insert(0, Line2D([], [], color=S_ONE_COLOR, lw=2.2))
            labels.insert(0, "S = 1 (contraction boundary)" if has_one
                          else "S = 1: not reached in this slice")
            if cert_boxes:
                from matplotlib.patches import Patch

                handles.append(Patch(fill=False, edgecolor="#e69f00"))
                labels.append(f"certificate leaf boxes ({drawn['mu_nu' if xv == 'mu' else 'nu_tau']}"
                              " in this slice)")
            # below the axes: the legend never hides the S = 1 curve or a box
            # (grey frame: the white dashed appendix entry must stay visible)
            ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.13),
                      ncol=2, fontsize=7.5, facecolor="0.72", framealpha=1.0,
                      edgecolor="0.72")
        fig.colorbar(im, ax=[a1, a2], label="spectral norm S of the Jacobian of g"
                     + ("" if not is_generic(activation) else
                        f" ({map_name(activation)}; float64 quadrature, not a proof)"))
        save(fig, path, suffix, size)

    data = {"mu": mus, "nu": nus, "S_mu_nu": s1, "nu2": nus, "tau": taus, "S_nu_tau": s2,
            "fixed": {"mu": mu, "omega": omega, "tau": tau}, "boxes_drawn": drawn,
            "certificate_domain": cert_domain}
    summary = {"slice_mu_nu": {"omega": omega, "tau": tau, "max_S": float(np.nanmax(s1))},
               "slice_nu_tau": {"mu": mu, "omega": omega, "max_S": float(np.nanmax(s2))},
               "certificate_boxes": len(cert_boxes), "boxes_drawn": drawn,
               **activation_summary(activation)}
    return PlotResult("contraction", path, data, summary)


# ============================================================================ variance change
def variance_change(out: str | Path | None = None, *, mu: float = 0.0, omega: float = 0.0,
                    nu_range: tuple[float, float] = (0.01, 20.0),
                    tau_range: tuple[float, float] = (0.7, 1.35), grid: int = 161,
                    size: FigureSize = FigureSize(),
                    activation: Activation | None = None) -> PlotResult:
    """ν̃ − ν over (ν, τ) at fixed (μ, ω): where one layer shrinks or grows the variance.

    ``activation``: of another activation's moment map (float quadrature; the theorem
    domains drawn are SELU's, for reference).

    ν on a log axis; colour on a symmetric-log scale (the quantity spans +0.2 … −12); the
    zero contour in black; the (ν, τ) projections of Theorem 2 (variance decreases) and
    Theorem 3 (a), (b) (variance increases) domains.  Float64 values, not a proof.

    ``data``: ``nu`` (n,), ``tau`` (n,), ``change`` (n_τ, n_ν).
    """
    check_value("mu", mu)
    check_value("omega", omega)
    check_range("nu", nu_range, positive=True)
    check_range("tau", tau_range, positive=True)
    check_grid(grid)
    path, suffix = output_path(out, "variance_change")
    nus = np.geomspace(*nu_range, grid)
    taus = np.linspace(*tau_range, grid)
    N, T = np.meshgrid(nus, taus)
    change = map_values(activation, mu, omega, N, T, ("variance_change",))["variance_change"]
    domains = theorem_domains()

    with figure_style():
        from matplotlib.colors import SymLogNorm

        fig, axes = new_figure(size)
        ax = axes[0][0]
        lim = float(np.nanmax(np.abs(change)))
        norm = SymLogNorm(linthresh=0.01, vmin=-lim, vmax=lim, base=10)
        im = ax.pcolormesh(N, T, change, cmap="cividis", norm=norm, shading="gouraud",
                           rasterized=True)
        if np.nanmin(change) < 0 < np.nanmax(change):
            cs = ax.contour(N, T, change, levels=[0.0], colors="black", linewidths=2.0)
            ax.clabel(cs, fmt="ν̃ = ν", fontsize=8)
        for key, style, color in (("theorem2", "-", "white"), ("theorem3a", "-", "black"),
                                  ("theorem3b", "--", "black")):
            box = domains[key]
            inside = in_interval(mu, box["mu"]) and in_interval(omega, box["omega"])
            verb = "decreases" if key == "theorem2" else "increases"
            draw_box(ax, box, "nu", "tau", style=style, color=color,
                  label=f"{THEOREM_LABELS[key]}: variance {verb}"
                  + ("" if inside else " (μ, ω outside)"))
        ax.set_xscale("log")
        ax.set_xlim(*nu_range)
        ax.set_ylim(*tau_range)
        ax.set_xlabel("input variance ν (log scale)")
        ax.set_ylabel("weight sum of squares τ")
        ax.set_title(f"Variance change ν̃ − ν of one layer at μ = {mu:g}, ω = {omega:g}"
                     + ("" if not is_generic(activation) else
                        f"\n{map_name(activation)} (float64 quadrature, not a proof)"))
        fig.colorbar(im, ax=ax, label="ν̃ − ν (symmetric log scale)")
        ax.legend(loc="lower left", fontsize=7.5, framealpha=0.85)
        save(fig, path, suffix, size)

    data = {"nu": nus, "tau": taus, "change": change, "mu": mu, "omega": omega}
    summary = {"mu": mu, "omega": omega, "min_change": float(np.nanmin(change)),
               "max_change": float(np.nanmax(change)), **activation_summary(activation)}
    return PlotResult("variance-change", path, data, summary)


# ============================================================================ fixed points
def fixed_points(out: str | Path | None = None, *,
                 omega_range: tuple[float, float] | None = None,
                 tau_range: tuple[float, float] | None = None, grid: int = 41,
                 size: FigureSize = FigureSize(1600, 600, 150),
                 activation: Activation | None = None) -> PlotResult:
    """The fixed point (μ*, ν*) of g as (ω, τ) range over a box (default: Theorem 1's).

    ``activation``: of another activation's moment map (float Newton on float quadrature).

    Left, middle: μ* and ν* over (ω, τ); right: the points (μ*, ν*) in the (μ, ν) plane
    (coloured by τ) inside Theorem 1's (μ, ν) box.  Float64 Newton (vectorised), not
    certified — the certified fixed point of one (ω, τ) is in ``plot flow-field``.

    ``data``: ``omega``, ``tau`` (axes), ``mu_star``, ``nu_star`` (n_τ, n_ω), ``converged``.
    """
    t1 = theorem_domains()["theorem1"]
    omega_range = t1["omega"] if omega_range is None else omega_range
    tau_range = t1["tau"] if tau_range is None else tau_range
    check_range("omega", omega_range)
    check_range("tau", tau_range, positive=True)
    check_grid(grid)
    path, suffix = output_path(out, "fixed_points")
    omegas, taus = np.linspace(*omega_range, grid), np.linspace(*tau_range, grid)
    W, T = np.meshgrid(omegas, taus)
    if is_generic(activation):
        from snn_theory.evaluate.activation_map import fixed_points_float

        mu_s, nu_s, ok = fixed_points_float(activation, W, T)
    else:
        mu_s, nu_s, ok = fixed_points_numpy(W, T)
    found = int(ok.sum())
    if found == 0:
        raise InputError(f"no fixed point of g found for ω ∈ [{omega_range[0]:g}, "
                         f"{omega_range[1]:g}], τ ∈ [{tau_range[0]:g}, {tau_range[1]:g}] "
                         "(Newton from (0, 1) does not converge anywhere there): nothing to "
                         "draw; choose ranges nearer ω = 0, τ = 1")
    missing = ok.size - found

    with figure_style():
        fig, axes = new_figure(size, ncols=3)
        a1, a2, a3 = axes[0]
        for ax, Z, name, what in ((a1, mu_s, "μ*", "mean"), (a2, nu_s, "ν*", "variance")):
            im = ax.pcolormesh(W, T, Z, cmap="viridis", shading="gouraud", rasterized=True)
            finite = Z[np.isfinite(Z)]
            if finite.size and np.ptp(finite) > 0:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cs = ax.contour(W, T, Z, levels=7, colors="white", linewidths=0.6)
                label_contours(ax, cs, "%.3g", 7)  # whole labels, none clipped at an edge
            fig.colorbar(im, ax=ax, label=name)
            ax.set_xlabel("weight sum ω")
            ax.set_ylabel("weight sum of squares τ")
            note = f"\nblank: no fixed point found ({missing} of {ok.size})" if missing else ""
            ax.set_title(f"fixed-point {what} {name}(ω, τ){note}")
        sc = a3.scatter(mu_s.ravel(), nu_s.ravel(), c=T.ravel(), s=4, cmap="cividis")
        fig.colorbar(sc, ax=a3, label="τ")
        draw_box(a3, t1, "mu", "nu", label="Theorem 1 (μ, ν) box")
        a3.set_xlabel("fixed-point mean μ*")
        a3.set_ylabel("fixed-point variance ν*")
        a3.set_title("(μ*, ν*) over the (ω, τ) box" + ("" if not is_generic(activation) else
                                                      f"\n{map_name(activation)} (float, "
                                                      "not a proof)"))
        a3.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=7.5,
                  frameon=False)
        save(fig, path, suffix, size)

    data = {"omega": omegas, "tau": taus, "mu_star": mu_s, "nu_star": nu_s, "converged": ok}
    summary = {"omega_range": list(map(float, omega_range)),
               "tau_range": list(map(float, tau_range)),
               "mu_star_range": [float(np.nanmin(mu_s)), float(np.nanmax(mu_s))],
               "nu_star_range": [float(np.nanmin(nu_s)), float(np.nanmax(nu_s))],
               "all_converged": bool(ok.all()), "without_fixed_point": int(missing),
               **activation_summary(activation)}
    return PlotResult("fixed-points", path, data, summary)
