"""The figure of a certified domain map (``snn-theory plot domain-map``)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from snn_theory.certify import domains
from snn_theory.errors import InputError
from snn_theory.show.canvas import (
    FigureSize,
    PlotResult,
    figure_style,
    new_figure,
    output_path,
    save,
)

DEFAULT_SIZE = FigureSize(1400, 1000, 150)
LABELS = {"omega": "weight sum ω", "tau": "weight sum of squares τ", "mu": "input mean μ",
          "nu": "input variance ν", "lam": "SELU λ", "alpha": "SELU α"}
COLOURS = {"proven": "#4daf4a", "refuted": "#e41a1c", "undecided": "#bdbdbd"}


def domain_map(out: str | Path | None = None, *, certificate: str | Path,
               size: FigureSize = DEFAULT_SIZE,
               report: domains.PavingReport | None = None) -> PlotResult:
    """Draw a paving certificate: proven, refuted and undecided cells in its plane (default
    (ω, τ)), the paper's rectangles (Theorem 1; the appendix's wider τ range, contraction
    only; in the (ω, τ) plane only) and the largest certified rectangle around the plane's
    reference point (:data:`snn_theory.certify.domains.REFERENCE`).

    The certificate is re-checked first (:func:`snn_theory.certify.domains.check_paving`): only a
    valid paving is drawn, and the colours are its checked verdicts.  ``report``: the result
    of that check of this same file, made by the caller in this run (the reproduction checks
    it as a stage of its own); it is not repeated then.
    """
    from matplotlib.patches import Patch, Rectangle

    path, suffix = output_path(out, "domain_map")
    if report is None or report.path != str(certificate):
        report = domains.check_paving(certificate)
    if not report.valid:
        raise InputError(f"{certificate}: not a valid paving certificate ({report.message})")
    content = domains.read_paving(certificate)
    spec = domains.PavingSpec.from_json(content["spec"])
    cells = content["cells"]
    with figure_style():
        fig, axes = new_figure(size)
        ax = axes[0][0]
        for e in cells:
            (w0, w1), (t0, t1) = domains.entry_cell(e, spec.plane)
            ax.add_patch(Rectangle((float(w0), float(t0)), float(w1 - w0), float(t1 - t0),
                                   facecolor=COLOURS[e["verdict"]], edgecolor="white",
                                   linewidth=0.4, zorder=1))
        handles = [Patch(facecolor=COLOURS[v], label=f"{v} ({report.counts.get(v, 0)} cells, "
                         f"area {float(Fraction(report.areas[v])):.4g})")
                   for v in ("proven", "refuted", "undecided")]
        styles = {"Theorem 1": ("black", "-"),
                  "Appendix (wide tau, contraction only)": ("black", ":")}
        areas = domains.paper_areas()
        p1, p2 = spec.plane
        paper = domains.PAPER_RECTANGLES.items() if spec.plane == domains.PLANE else ()
        for name, ((w0, w1), (t0, t1)) in paper:
            colour, style = styles[name]
            r = Rectangle((float(w0), float(t0)), float(w1) - float(w0), float(t1) - float(t0),
                          fill=False, edgecolor=colour, linestyle=style, linewidth=1.6,
                          zorder=4, label=f"paper: {name}, area {areas[name]}")
            ax.add_patch(r)
            handles.append(r)
        if report.largest:
            (w0, w1), (t0, t1) = ((float(x) for x in report.largest[p1]),
                                  (float(x) for x in report.largest[p2]))
            r = Rectangle((w0, t0), w1 - w0, t1 - t0, fill=False, edgecolor="#377eb8",
                          linewidth=2.4, zorder=5,
                          label=f"largest certified rectangle, area {report.largest['area']}")
            ax.add_patch(r)
            handles.append(r)
        ax.plot([float(domains.REFERENCE[p1])], [float(domains.REFERENCE[p2])], marker="+",
                color="black", markersize=10, zorder=6)
        (x0, x1), (y0, y1) = spec.region
        ax.set_xlim(float(x0), float(x1))
        ax.set_ylim(float(y0), float(y1))
        ax.set_xlabel(LABELS[p1])
        ax.set_ylabel(LABELS[p2])
        b = content["spec"]["box"]
        fixed = "".join(f", {n} ∈ [{', '.join(iv)}]"
                        for n, iv in content["spec"].get("fixed", {}).items())
        what = ("S < 1 and g(B) ⊆ B" if spec.plane == domains.PLANE
                else "S < 1 and g(D) ⊆ B on each cell's domain D")
        act = content["spec"].get("activation")
        who = "" if act is None else f" ({act['definition']}, scale {act['scale']}, " \
            f"shift {act['shift']})"
        ax.set_title(f"Banach's conditions{who} for B = [{b['mu'][0]}, {b['mu'][1]}] × "
                     f"[{b['nu'][0]}, {b['nu'][1]}] in (μ, ν){fixed}:\n{what}; "
                     "proven (ball arithmetic), refuted (checked counterexample), undecided",
                     fontsize=9)
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2,
                  fontsize=7.5, frameon=False)
        save(fig, path, suffix, size)
    summary = {"certificate": str(certificate), "counts": report.counts,
               "areas": report.areas, "largest_rectangle": report.largest,
               "paper_areas": areas}
    return PlotResult("domain-map", path, {"cells": cells}, summary)
