"""What every figure shares: its conventions, size, style, output file, input checks and the
boxes and balls drawn in it.

The figures are one function each (:mod:`snn_theory.show.figures` lists them).  Each computes
the numbers behind its picture with the library (:func:`snn_theory.evaluate.moment_map.closed_form_quantities`
vectorised over numpy arrays, float64), draws them with matplotlib (Agg, no pyplot state) and
returns a :class:`PlotResult`: the file written and the arrays drawn, so that tests and
``reproduce`` check the data, never the pixels.

Conventions (the same in every figure):

* symbols μ, ν (mean, variance of a layer's input), ω = Σw, τ = Σw² (docs/mathematics.md §1);
* colour maps ``viridis``/``cividis`` (monotone in lightness: readable in grey and by
  colour-blind readers); contours that matter (S = 1, ν̃ − ν = 0) drawn in black;
* the theorem domains of docs/mathematics.md §4 are taken from :func:`theorem_domains` (one place);
* output format from the file extension: ``.png`` (default), ``.svg`` or ``.pdf``; pixel size
  of a PNG = ``width_px × height_px`` exactly; deterministic bytes (fixed rcParams, no dates,
  no software version, fixed SVG hash salt).

Only the fixed point drawn by :func:`flow_field` is *certified* (Krawczyk test in ball
arithmetic, :func:`snn_theory.evaluate.moment_map.closed_form_fixed_point` with ``backend="arb"``); every other
number in a picture is a float64 evaluation, drawn for the eye, not claimed as a proof.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snn_theory.derive.formulas import VARIABLE_NAMES
from snn_theory.errors import InputError
from snn_theory.files import FIGURE_MARK, check_overwrite, is_own_figure

FORMATS: tuple[str, ...] = (".png", ".svg", ".pdf")
#: Colour of the S = 1 contour (distinct from the black Theorem 1 box; colour-blind safe).
S_ONE_COLOR = "#d55e00"


# Fixed rcParams: every figure looks (and hashes) the same whatever the user's matplotlibrc.
_RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 10.0,
    "axes.titlesize": 11.0,
    "axes.labelsize": 10.5,
    "image.cmap": "viridis",
    "svg.hashsalt": "snn-theory",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "pdf.compression": 6,
    "path.simplify": True,
    "axes.unicode_minus": True,
    "savefig.transparent": False,
    "savefig.facecolor": "white",
}
#: No dates, no versions (deterministic bytes); the fixed mark :data:`FIGURE_MARK` says a
#: file is a figure this program drew (the only kind :func:`save` draws over).
_METADATA: dict[str, dict[str, Any]] = {
    ".png": {"Software": FIGURE_MARK},
    ".svg": {"Date": None, "Creator": FIGURE_MARK},
    ".pdf": {"Creator": FIGURE_MARK, "Producer": None, "CreationDate": None, "ModDate": None},
}


# ============================================================================ common pieces
@dataclass(frozen=True)
class FigureSize:
    """Size of a figure: ``width_px × height_px`` pixels at ``dpi`` (inches = px / dpi)."""

    width_px: int = 1200
    height_px: int = 900
    dpi: int = 150

    def __post_init__(self) -> None:
        for name in ("width_px", "height_px"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or not 100 <= value <= 20000:
                raise InputError(f"{name.replace('_px', '')} must be an integer number of "
                                 f"pixels in [100, 20000] (got {value!r})")
        if not isinstance(self.dpi, int | np.integer) or not 20 <= self.dpi <= 1200:
            raise InputError(f"dpi must be an integer in [20, 1200] (got {self.dpi!r})")


@dataclass
class PlotResult:
    """A written figure and the numbers drawn in it (numpy arrays, floats, lists)."""

    name: str
    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready description: figure name, path and the scalar summary."""
        return {"figure": self.name, "path": str(self.path), **self.summary}


def theorem_domains() -> dict[str, dict[str, tuple[float, float]]]:
    """Domains of docs/mathematics.md §4 as {key: {variable: (low, high)}} in float64, for drawing.

    Keys: theorem1, appendix, theorem2, theorem3a, theorem3b.  Read from
    :data:`snn_theory.certify.claims.THEOREM_DOMAINS` (exact rationals, the boxes the verifier
    proves things on): one place for the domains.
    """
    from snn_theory.certify.claims import THEOREM_DOMAINS

    return {key: {name: (float(lo), float(hi))
                  for name, (lo, hi) in zip(VARIABLE_NAMES, domain.bounds, strict=True)}
            for key, domain in THEOREM_DOMAINS.items()}


def output_path(out: str | Path | None, default_name: str) -> tuple[Path, str]:
    """The file to write and its format suffix (``./<default_name>.png`` by default: the
    committed ``figures/`` are written only by ``reproduce`` or an explicit ``out``)."""
    path = Path(f"{default_name}.png") if out is None else Path(out)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"output file {str(path)!r} must end in one of {', '.join(FORMATS)}")
    if path.exists() and path.is_dir():
        raise InputError(f"output path {str(path)!r} is a directory")
    check_overwrite(path, is_own_figure, "output file")  # before any work
    return path, suffix


@contextmanager
def figure_style() -> Iterator[None]:
    """Fixed rcParams while a figure is drawn: every figure looks (and hashes) the same
    whatever the user's matplotlibrc."""
    import matplotlib

    # No pyplot: figures are plain Figure objects; savefig picks the Agg/SVG/PDF canvas.
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(_RC)
        yield


def new_figure(size: FigureSize, ncols: int = 1, nrows: int = 1) -> tuple[Any, Any]:
    """A matplotlib Figure of ``size`` (constrained layout, no pyplot state) and its
    ``nrows × ncols`` axes (always a 2-D array)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size.width_px / size.dpi, size.height_px / size.dpi), dpi=size.dpi,
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def save(fig: Any, path: Path, suffix: str, size: FigureSize) -> None:
    """Write ``fig`` to ``path`` in the format of ``suffix`` without dates or software
    versions (deterministic bytes), marked with :data:`FIGURE_MARK`; a path that cannot be
    written, or an existing file without the mark (not a figure this program drew), is an
    InputError."""
    check_overwrite(path, is_own_figure, "output file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():  # tiny figures: layout gives up, the file is still fine
            warnings.filterwarnings("ignore", message="constrained_layout not applied")
            fig.savefig(path, format=suffix[1:], dpi=size.dpi, metadata=_METADATA[suffix])
    except OSError as exc:
        raise InputError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None


def check_range(name: str, interval: tuple[float, float], positive: bool = False) -> None:
    """InputError unless ``interval`` is finite with low < high (and low > 0 if ``positive``)."""
    lo, hi = (float(interval[0]), float(interval[1]))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InputError(f"{name} range must be finite (got {lo}:{hi})")
    if not lo < hi:
        raise InputError(f"{name} range must have low < high (got {lo}:{hi})")
    if positive and lo <= 0:
        raise InputError(f"{name} range must lie above 0 (got {lo}:{hi})")


def check_value(name: str, value: float, positive: bool = False) -> None:
    """InputError unless ``value`` is finite (and > 0 if ``positive``)."""
    if not math.isfinite(value):
        raise InputError(f"{name} must be finite (got {value})")
    if positive and value <= 0:
        raise InputError(f"{name} must be > 0 (got {value})")


def check_grid(n: int) -> None:
    """InputError unless ``n`` is an integer grid size in [2, 2000]."""
    if not isinstance(n, int | np.integer) or not 2 <= n <= 2000:
        raise InputError(f"grid must be an integer in [2, 2000] (got {n!r})")


def draw_box(ax: Any, box: Mapping[str, tuple[float, float]], xvar: str, yvar: str, *,
          label: str, style: str = "-", color: str = "black", lw: float = 1.6,
          zorder: float = 5) -> None:
    """Draw the (``xvar``, ``yvar``) face of ``box`` on ``ax`` as an unfilled rectangle."""
    from matplotlib.patches import Rectangle

    (x0, x1), (y0, y1) = box[xvar], box[yvar]
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, linestyle=style,
                           edgecolor=color, linewidth=lw, label=label, zorder=zorder))


def in_interval(value: float, interval: tuple[float, float]) -> bool:
    """Whether ``value`` lies in the closed interval."""
    return interval[0] <= value <= interval[1]


def arb_ball_text(ball: Any, digits: int = 12) -> str:
    """Arb's decimal text of a ball, ``[m ± r]`` (Arb guarantees it contains the ball)."""
    return ball.str(digits).replace("+/-", "±")


def float_bounds(ball: Any) -> tuple[float, float]:
    """Float bounds [lower, upper] that contain the ball (rounded outward)."""
    lo, hi = float(ball.lower()), float(ball.upper())
    return float(np.nextafter(lo, -np.inf)), float(np.nextafter(hi, np.inf))


def integer_ticks(axis: Any) -> None:
    """Ticks only at whole numbers on ``axis`` (an x or y axis of layers, epochs, widths): no
    layer 2.5."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def label_contours(ax: Any, contours: Any, fmt: str, fontsize: float,
                   avoid: Sequence[tuple[tuple[float, float], tuple[float, float]]] = (),
                   margin: float = 0.08) -> list[Any]:
    """Label each level of ``contours`` once, at the point of its line farthest (in axes
    fractions) from the axes' edges and from the edges of the rectangles ``avoid`` ((x0, x1),
    (y0, y1) in data coordinates); a level whose line comes no farther than ``margin`` from
    them keeps no label (a clipped or covered number is worse than none: the colour bar gives
    it).  Returns the label texts."""
    ax.get_xlim(), ax.get_ylim()  # settle autoscaled limits before converting coordinates
    to_axes = ax.transData + ax.transAxes.inverted()
    rects = [to_axes.transform([(x0, y0), (x1, y1)]) for (x0, x1), (y0, y1) in avoid]
    positions = []
    for segments in contours.allsegs:
        points = np.concatenate([s for s in segments if len(s)] or [np.empty((0, 2))])
        if not len(points):
            continue
        u = to_axes.transform(points)
        clearance = np.min([u[:, 0], 1 - u[:, 0], u[:, 1], 1 - u[:, 1]], axis=0)
        for (a0, b0), (a1, b1) in rects:
            (a0, a1), (b0, b1) = sorted((a0, a1)), sorted((b0, b1))
            dx = np.maximum(np.maximum(a0 - u[:, 0], u[:, 0] - a1), 0)
            dy = np.maximum(np.maximum(b0 - u[:, 1], u[:, 1] - b1), 0)
            outside = np.hypot(dx, dy)
            inside = np.min([u[:, 0] - a0, a1 - u[:, 0], u[:, 1] - b0, b1 - u[:, 1]], axis=0)
            clearance = np.minimum(clearance, np.where(outside > 0, outside, inside))
        best = int(np.argmax(clearance))
        if clearance[best] >= margin:
            positions.append(tuple(points[best]))
    if not positions:
        return []
    return ax.clabel(contours, fmt=fmt, fontsize=fontsize, manual=positions)
