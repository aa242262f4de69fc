"""Pictures of the SELU moment map g: (μ, ν) ↦ (μ̃, ν̃) and of the theorems about it.

One function per figure.  Each computes the numbers behind its picture with the library
(:func:`snn_theory.evaluate.moment_map.evaluate` vectorised over numpy arrays, float64), draws them with
matplotlib (Agg, no pyplot state) and returns a :class:`PlotResult`: the file written and the
arrays drawn, so that tests and ``reproduce`` check the data, never the pixels.

Conventions (the same in every figure):

* symbols μ, ν (mean, variance of a layer's input), ω = Σw, τ = Σw² (docs/mathematics.md §1);
* colour maps ``viridis``/``cividis`` (monotone in lightness: readable in grey and by
  colour-blind readers); contours that matter (S = 1, ν̃ − ν = 0) drawn in black;
* the theorem domains of docs/mathematics.md §4 are taken from :func:`theorem_domains` (one place);
* output format from the file extension: ``.png`` (default), ``.svg`` or ``.pdf``; pixel size
  of a PNG = ``width_px × height_px`` exactly; deterministic bytes (fixed rcParams, no dates,
  no software version, fixed SVG hash salt).

Only the fixed point drawn by :func:`flow_field` is *certified* (Krawczyk test in ball
arithmetic, :func:`snn_theory.evaluate.moment_map.fixed_point` with ``backend="arb"``); every other
number in a picture is a float64 evaluation, drawn for the eye, not claimed as a proof.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snn_theory.certify.claims import THEOREM_LABELS
from snn_theory.derive.activations import Activation
from snn_theory.derive.formulas import VARIABLE_NAMES, VARIABLE_SYMBOLS
from snn_theory.errors import InputError
from snn_theory.evaluate.moment_map import evaluate, fixed_point, iterate, newton_fixed_point
from snn_theory.exact import parse_exact
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
def _style() -> Iterator[None]:
    import matplotlib

    # No pyplot: figures are plain Figure objects; savefig picks the Agg/SVG/PDF canvas.
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(_RC)
        yield


def _new_figure(size: FigureSize, ncols: int = 1, nrows: int = 1) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size.width_px / size.dpi, size.height_px / size.dpi), dpi=size.dpi,
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _save(fig: Any, path: Path, suffix: str, size: FigureSize) -> None:
    # a figure is drawn over only a figure this program drew (it carries FIGURE_MARK)
    check_overwrite(path, is_own_figure, "output file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():  # tiny figures: layout gives up, the file is still fine
            warnings.filterwarnings("ignore", message="constrained_layout not applied")
            fig.savefig(path, format=suffix[1:], dpi=size.dpi, metadata=_METADATA[suffix])
    except OSError as exc:
        raise InputError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None


def _check_range(name: str, interval: tuple[float, float], positive: bool = False) -> None:
    lo, hi = (float(interval[0]), float(interval[1]))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InputError(f"{name} range must be finite (got {lo}:{hi})")
    if not lo < hi:
        raise InputError(f"{name} range must have low < high (got {lo}:{hi})")
    if positive and lo <= 0:
        raise InputError(f"{name} range must lie above 0 (got {lo}:{hi})")


def _check_value(name: str, value: float, positive: bool = False) -> None:
    if not math.isfinite(value):
        raise InputError(f"{name} must be finite (got {value})")
    if positive and value <= 0:
        raise InputError(f"{name} must be > 0 (got {value})")


def _check_grid(n: int) -> None:
    if not isinstance(n, int | np.integer) or not 2 <= n <= 2000:
        raise InputError(f"grid must be an integer in [2, 2000] (got {n!r})")


def _rect(ax: Any, box: Mapping[str, tuple[float, float]], xvar: str, yvar: str, *,
          label: str, style: str = "-", color: str = "black", lw: float = 1.6,
          zorder: float = 5) -> None:
    from matplotlib.patches import Rectangle

    (x0, x1), (y0, y1) = box[xvar], box[yvar]
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, linestyle=style,
                           edgecolor=color, linewidth=lw, label=label, zorder=zorder))


def _inside(value: float, interval: tuple[float, float]) -> bool:
    return interval[0] <= value <= interval[1]


def _ball_text(ball: Any, digits: int = 12) -> str:
    """Arb's decimal text of a ball, ``[m ± r]`` (Arb guarantees it contains the ball)."""
    return ball.str(digits).replace("+/-", "±")


def _ball_bounds(ball: Any) -> tuple[float, float]:
    """Float bounds [lower, upper] that contain the ball (rounded outward)."""
    lo, hi = float(ball.lower()), float(ball.upper())
    return float(np.nextafter(lo, -np.inf)), float(np.nextafter(hi, np.inf))


# ============================================================================ numerics
def moment_grid(mu: np.ndarray, omega: Any, nu: np.ndarray, tau: Any,
                quantities: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Float64 values of ``quantities`` on broadcast arrays (library evaluation, numpy)."""
    with np.errstate(all="ignore"):
        return evaluate(mu, omega, nu, tau, backend="numpy", quantities=quantities)


def fixed_points_numpy(omega: np.ndarray, tau: np.ndarray, *, iterations: int = 60,
                       start: tuple[float, float] = (0.0, 1.0)) -> tuple[np.ndarray, np.ndarray,
                                                                         np.ndarray]:
    """Float64 fixed points (μ*, ν*) of g for arrays of (ω, τ): Newton's method on g(x) − x,
    vectorised (:func:`snn_theory.evaluate.moment_map.newton_fixed_point`, relative step 1e-14).

    Returns ``(mu, nu, converged)``; where ``converged`` is False the entries are NaN.
    Not certified: for pictures only.
    """
    omega, tau = np.broadcast_arrays(np.asarray(omega, float), np.asarray(tau, float))
    result = newton_fixed_point(omega, tau, backend="numpy", start=start,
                                max_iterations=iterations, tolerance=1e-14)
    return result.mu, result.nu, result.converged


def certified_fixed_point(omega: float, tau: float) -> dict[str, Any]:
    """The fixed point of g for (ω, τ), certified when possible.

    ``certified`` is True when the Krawczyk test in ball arithmetic proved a unique fixed
    point in the balls reported (``mu``/``nu``: decimal text of the balls; ``*_bounds``: float
    bounds containing them).  Otherwise a float Newton result is returned with
    ``certified`` False (or None everywhere when Newton fails too).
    """
    try:
        mu_b, nu_b = fixed_point(str(omega), str(tau), backend="arb")
    except (ArithmeticError, ValueError, ZeroDivisionError):
        mu, nu, ok = fixed_points_numpy(np.array([omega]), np.array([tau]))
        if not ok[0]:
            return {"certified": False, "mu": None, "nu": None, "mu_value": None,
                    "nu_value": None, "mu_bounds": None, "nu_bounds": None}
        return {"certified": False, "mu": f"{mu[0]:.10g}", "nu": f"{nu[0]:.10g}",
                "mu_value": float(mu[0]), "nu_value": float(nu[0]),
                "mu_bounds": None, "nu_bounds": None}
    return {"certified": True, "mu": _ball_text(mu_b), "nu": _ball_text(nu_b),
            "mu_value": float(mu_b.mid()), "nu_value": float(nu_b.mid()),
            "mu_bounds": _ball_bounds(mu_b), "nu_bounds": _ball_bounds(nu_b)}


def analytic_trajectory(mu0: float, omega: float, nu0: float, tau: float, *,
                        steps: int) -> np.ndarray:
    """Iterates (μ_k, ν_k), k = 0..steps, of g (float64, :func:`moment_map.iterate`)."""
    points = iterate(float(mu0), omega, float(nu0), tau, steps=int(steps), backend="numpy")
    return np.array([[float(a), float(b)] for a, b in points])


# ============================================================================ other activations
#: What the figures of another activation rest on (printed in their summaries).
ACTIVATION_EVIDENCE = ("float64 Gauss-Legendre quadrature of the Gaussian expectations, split "
                       "at the kinks (evidence, not a proof); fixed point certified by a "
                       "Krawczyk test in ball arithmetic where marked")


def _generic(activation: Activation | None) -> bool:
    """Whether ``activation`` is another function than SELU (None: SELU, the default)."""
    return activation is not None and not activation.is_selu


def _values(activation: Activation | None, mu: Any, omega: Any, nu: Any, tau: Any,
            quantities: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Float values of the quantities for SELU (closed forms) or another activation."""
    if not _generic(activation):
        return moment_grid(mu, omega, nu, tau, quantities)
    from snn_theory.evaluate.activation_map import evaluate_float

    return evaluate_float(activation, mu, omega, nu, tau, quantities)


def _fixed_point(activation: Activation | None, omega: float, tau: float) -> dict[str, Any]:
    """:func:`certified_fixed_point` for any activation (Krawczyk in arb at 64 bits, else a
    float Newton result marked not certified)."""
    if not _generic(activation):
        return certified_fixed_point(omega, tau)
    from snn_theory.evaluate import activation_map
    from snn_theory.precision import working_precision

    try:
        with working_precision(bits=64):
            fp = activation_map.fixed_point(activation, str(omega), str(tau))
        if fp.proved:
            return {"certified": True, "mu": _ball_text(fp.mean), "nu": _ball_text(fp.variance),
                    "mu_value": float(fp.mean.mid()), "nu_value": float(fp.variance.mid()),
                    "mu_bounds": _ball_bounds(fp.mean), "nu_bounds": _ball_bounds(fp.variance)}
    except (ArithmeticError, ValueError, ZeroDivisionError, InputError):
        pass
    mu, nu, ok = activation_map.fixed_points_float(activation, np.array([omega]),
                                                   np.array([tau]))
    collapse = (activation_map.variance_collapse(activation, omega, tau)
                if not ok[0] or nu[0] < 1e-8 else None)
    if collapse is not None:  # only the trivial fixed point ν* = 0: nothing to mark
        return {"certified": False, "mu": None, "nu": None, "mu_value": None,
                "nu_value": None, "mu_bounds": None, "nu_bounds": None,
                "note": f"no fixed point with ν* > 0: the variance falls to the trivial "
                        f"ν* = 0 (float evidence: {collapse:.2g} after 60 layers from (0, 1)); "
                        f"scale the activation (--scale, the c of `snn-theory solve-constants "
                        f"--activation …`) or raise τ"}
    if not ok[0]:
        return {"certified": False, "mu": None, "nu": None, "mu_value": None,
                "nu_value": None, "mu_bounds": None, "nu_bounds": None}
    return {"certified": False, "mu": f"{mu[0]:.10g}", "nu": f"{nu[0]:.10g}",
            "mu_value": float(mu[0]), "nu_value": float(nu[0]),
            "mu_bounds": None, "nu_bounds": None}


def _trajectory(activation: Activation | None, mu0: float, omega: float, nu0: float,
                tau: float, *, steps: int) -> np.ndarray:
    if not _generic(activation):
        return analytic_trajectory(mu0, omega, nu0, tau, steps=steps)
    from snn_theory.evaluate.activation_map import iterate_float

    return iterate_float(activation, mu0, omega, nu0, tau, steps=steps)


def _simulated(activation: Activation | None, starts: Sequence[tuple[float, float]], *,
               omega: float, tau: float, width: int, depth: int, batch: int,
               seed: int = 0) -> list[np.ndarray]:
    """:func:`simulate_trajectories` for any activation (numpy Monte Carlo for others)."""
    if not _generic(activation):
        return simulate_trajectories(starts, omega=omega, tau=tau, width=width, depth=depth,
                                     batch=batch, seed=seed)
    from snn_theory.simulate.activation import simulate

    out = []
    for mu0, nu0 in starts:
        run = simulate(activation, width=int(width), depth=int(depth), batch=int(batch),
                       mean0=float(mu0), var0=float(nu0), omega=float(omega), tau=float(tau),
                       seed=int(seed))
        out.append(np.stack([run.mean, run.variance], axis=1))
    return out


def _map_name(activation: Activation | None) -> str:
    return "SELU" if not _generic(activation) else activation.label()


def _activation_summary(activation: Activation | None) -> dict[str, Any]:
    if not _generic(activation):
        return {}
    return {"activation": activation.to_json(), "evidence": ACTIVATION_EVIDENCE}


# ============================================================================ simulator adapter
def simulate_trajectories(starts: Sequence[tuple[float, float]], *, omega: float, tau: float,
                          width: int, depth: int, batch: int, seed: int = 0,
                          dtype: str = "float32") -> list[np.ndarray]:
    """Empirical per-layer (mean, variance) of a simulated network from each start.

    Runs :func:`snn_theory.simulate.engine.simulate` (normalised weights: every row has Σw = ω,
    Σw² = τ exactly; imported lazily, JAX is slow to import) once per start, with the same
    seed (the same weights) for every start.  Returns, per start, an array of shape
    (depth + 1, 2): row 0 the measured input statistics, row l the output of layer l.
    """
    from snn_theory.simulate import engine as sim  # lazy: JAX is slow to import
    out = []
    for mu0, nu0 in starts:
        config = sim.SimulationConfig(width=int(width), depth=int(depth), batch=int(batch),
                                      mean0=float(mu0), var0=float(nu0), weights="normalized",
                                      omega=float(omega), tau=float(tau), dtype=dtype,
                                      seed=int(seed))
        result = sim.simulate(config)
        out.append(np.stack([np.asarray(result.mean, float),
                             np.asarray(result.variance, float)], axis=1))
    return out


# ============================================================================ flow field
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
    _check_value("omega", omega)
    _check_value("tau", tau, positive=True)
    _check_range("mu", mu_range)
    _check_range("nu", nu_range, positive=True)
    _check_grid(grid)
    if int(steps) != steps or not 1 <= steps <= 1000:
        raise InputError(f"steps must be an integer in [1, 1000] (got {steps!r})")
    path, suffix = output_path(out, "flow_field")
    mu = np.linspace(*mu_range, grid)
    nu = np.linspace(*nu_range, grid)
    M, N = np.meshgrid(mu, nu)
    q = _values(activation, M, omega, N, tau, ("mean", "variance"))
    g_mu, g_nu = q["mean"], q["variance"]
    d_mu, d_nu = g_mu - M, g_nu - N
    step = np.hypot(d_mu, d_nu)
    fp = _fixed_point(activation, omega, tau)
    if starts is None:
        (a, b), (c, d) = mu_range, nu_range
        starts = [(a + 0.1 * (b - a), c + 0.9 * (d - c)), (a + 0.9 * (b - a), c + 0.9 * (d - c)),
                  (a + 0.1 * (b - a), c + 0.08 * (d - c)), (a + 0.9 * (b - a), c + 0.08 * (d - c))]
    starts = [(float(s0), float(s1)) for s0, s1 in starts]
    paths = ([_trajectory(activation, s0, omega, s1, tau, steps=steps) for s0, s1 in starts]
             if trajectories or monte_carlo else [])
    mc: list[np.ndarray] = []
    if monte_carlo:
        mc = _simulated(activation, starts, omega=omega, tau=tau, width=mc_width, depth=steps,
                        batch=mc_batch, seed=mc_seed)
    t1 = theorem_domains()["theorem1"]

    with _style():
        from matplotlib.lines import Line2D

        fig, axes = _new_figure(size)
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
        in_t1 = _inside(omega, t1["omega"]) and _inside(tau, t1["tau"])
        _rect(ax, t1, "mu", "nu", style="-" if in_t1 else "--",
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
        ax.set_title(f"Flow of the {_map_name(activation)} moment map g at ω = {omega:g}, "
                     f"τ = {tau:g}" + ("" if not _generic(activation)
                                       else "\n(float64 quadrature: evidence, not a proof)"))
        handles, labels = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], color="none"))
        labels.append("arrows: direction of g(μ, ν) − (μ, ν)")
        ax.legend(handles, labels, loc="upper right", fontsize=7.5, framealpha=0.9)
        _save(fig, path, suffix, size)

    data = {"mu": mu, "nu": nu, "g_mu": g_mu, "g_nu": g_nu, "step": step,
            "omega": omega, "tau": tau, "fixed_point": fp, "starts": starts,
            "trajectories": paths if trajectories else [], "monte_carlo": mc}
    summary = {"omega": omega, "tau": tau, "fixed_point": fp, "grid": grid,
               "max_step": float(np.nanmax(step)),
               "monte_carlo_max_deviation": _max_dev(paths, mc) if mc else None,
               **_activation_summary(activation)}
    return PlotResult("flow-field", path, data, summary)


def _max_dev(analytic: Sequence[np.ndarray], empirical: Sequence[np.ndarray]) -> dict[str, float]:
    dev = [np.abs(a - e).max(axis=0) for a, e in zip(analytic, empirical, strict=True)]
    worst = np.max(dev, axis=0)
    return {"mean": float(worst[0]), "variance": float(worst[1])}


# ============================================================================ contraction
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
        _check_value(name, value)
    _check_value("tau", tau, positive=True)
    _check_range("mu", mu_range)
    _check_range("nu", nu_range, positive=True)
    _check_range("tau", tau_range, positive=True)
    _check_grid(grid)
    if certificate and _generic(activation):
        raise InputError("--certificate draws a SELU certificate's boxes; it cannot be "
                         "combined with another activation")
    path, suffix = output_path(out, "contraction")
    cert_domain, cert_boxes = (load_certificate_boxes(certificate, "spectral_norm")
                               if certificate else (None, []))
    mus, nus, taus = (np.linspace(*mu_range, grid), np.linspace(*nu_range, grid),
                      np.linspace(*tau_range, grid))
    M, N = np.meshgrid(mus, nus)
    s1 = _values(activation, M, omega, N, tau, ("spectral_norm",))["spectral_norm"]
    N2, T2 = np.meshgrid(nus, taus)
    s2 = _values(activation, mu, omega, N2, T2, ("spectral_norm",))["spectral_norm"]
    domains = theorem_domains()
    drawn = {"mu_nu": 0, "nu_tau": 0}

    with _style():
        fig, axes = _new_figure(size, ncols=2)
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
            if levels:
                thin = ax.contour(X, Y, S, levels=levels, colors="white", linewidths=0.7,
                                  linestyles=":")
                ax.clabel(thin, fmt="%.2f", fontsize=7)
            # the appendix box first, Theorem 1's on top: where their edges coincide (ν range)
            # the black box stays whole instead of being split by the white dashes
            for key, style, color, z in (("appendix", "--", "white", 5),
                                         ("theorem1", "-", "black", 6)):
                box = domains[key]
                inside = all(_inside(v, box[n]) for n, v in fixed.items())
                _rect(ax, box, xv, yv, style=style if inside else ":", color=color,
                      lw=1.6 if inside else 1.0, zorder=z,
                      label=THEOREM_LABELS[key]
                      + ("" if inside else " (slice outside its domain)"))
            for box in cert_boxes:
                if all(_inside(v, box[n]) for n, v in fixed.items()):
                    _rect(ax, box, xv, yv, color="#e69f00", lw=0.4, label="_cert")
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
                     + ("" if not _generic(activation) else
                        f" ({_map_name(activation)}; float64 quadrature, not a proof)"))
        _save(fig, path, suffix, size)

    data = {"mu": mus, "nu": nus, "S_mu_nu": s1, "nu2": nus, "tau": taus, "S_nu_tau": s2,
            "fixed": {"mu": mu, "omega": omega, "tau": tau}, "boxes_drawn": drawn,
            "certificate_domain": cert_domain}
    summary = {"slice_mu_nu": {"omega": omega, "tau": tau, "max_S": float(np.nanmax(s1))},
               "slice_nu_tau": {"mu": mu, "omega": omega, "max_S": float(np.nanmax(s2))},
               "certificate_boxes": len(cert_boxes), "boxes_drawn": drawn,
               **_activation_summary(activation)}
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
    _check_value("mu", mu)
    _check_value("omega", omega)
    _check_range("nu", nu_range, positive=True)
    _check_range("tau", tau_range, positive=True)
    _check_grid(grid)
    path, suffix = output_path(out, "variance_change")
    nus = np.geomspace(*nu_range, grid)
    taus = np.linspace(*tau_range, grid)
    N, T = np.meshgrid(nus, taus)
    change = _values(activation, mu, omega, N, T, ("variance_change",))["variance_change"]
    domains = theorem_domains()

    with _style():
        from matplotlib.colors import SymLogNorm

        fig, axes = _new_figure(size)
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
            inside = _inside(mu, box["mu"]) and _inside(omega, box["omega"])
            verb = "decreases" if key == "theorem2" else "increases"
            _rect(ax, box, "nu", "tau", style=style, color=color,
                  label=f"{THEOREM_LABELS[key]}: variance {verb}"
                  + ("" if inside else " (μ, ω outside)"))
        ax.set_xscale("log")
        ax.set_xlim(*nu_range)
        ax.set_ylim(*tau_range)
        ax.set_xlabel("input variance ν (log scale)")
        ax.set_ylabel("weight sum of squares τ")
        ax.set_title(f"Variance change ν̃ − ν of one layer at μ = {mu:g}, ω = {omega:g}"
                     + ("" if not _generic(activation) else
                        f"\n{_map_name(activation)} (float64 quadrature, not a proof)"))
        fig.colorbar(im, ax=ax, label="ν̃ − ν (symmetric log scale)")
        ax.legend(loc="lower left", fontsize=7.5, framealpha=0.85)
        _save(fig, path, suffix, size)

    data = {"nu": nus, "tau": taus, "change": change, "mu": mu, "omega": omega}
    summary = {"mu": mu, "omega": omega, "min_change": float(np.nanmin(change)),
               "max_change": float(np.nanmax(change)), **_activation_summary(activation)}
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
    _check_range("omega", omega_range)
    _check_range("tau", tau_range, positive=True)
    _check_grid(grid)
    path, suffix = output_path(out, "fixed_points")
    omegas, taus = np.linspace(*omega_range, grid), np.linspace(*tau_range, grid)
    W, T = np.meshgrid(omegas, taus)
    if _generic(activation):
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

    with _style():
        fig, axes = _new_figure(size, ncols=3)
        a1, a2, a3 = axes[0]
        for ax, Z, name, what in ((a1, mu_s, "μ*", "mean"), (a2, nu_s, "ν*", "variance")):
            im = ax.pcolormesh(W, T, Z, cmap="viridis", shading="gouraud", rasterized=True)
            finite = Z[np.isfinite(Z)]
            if finite.size and np.ptp(finite) > 0:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cs = ax.contour(W, T, Z, levels=7, colors="white", linewidths=0.6)
                ax.clabel(cs, fmt="%.3g", fontsize=7)
            fig.colorbar(im, ax=ax, label=name)
            ax.set_xlabel("weight sum ω")
            ax.set_ylabel("weight sum of squares τ")
            note = f"\nblank: no fixed point found ({missing} of {ok.size})" if missing else ""
            ax.set_title(f"fixed-point {what} {name}(ω, τ){note}")
        sc = a3.scatter(mu_s.ravel(), nu_s.ravel(), c=T.ravel(), s=4, cmap="cividis")
        fig.colorbar(sc, ax=a3, label="τ")
        _rect(a3, t1, "mu", "nu", label="Theorem 1 (μ, ν) box")
        a3.set_xlabel("fixed-point mean μ*")
        a3.set_ylabel("fixed-point variance ν*")
        a3.set_title("(μ*, ν*) over the (ω, τ) box" + ("" if not _generic(activation) else
                                                      f"\n{_map_name(activation)} (float, "
                                                      "not a proof)"))
        a3.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=7.5,
                  frameon=False)
        _save(fig, path, suffix, size)

    data = {"omega": omegas, "tau": taus, "mu_star": mu_s, "nu_star": nu_s, "converged": ok}
    summary = {"omega_range": list(map(float, omega_range)),
               "tau_range": list(map(float, tau_range)),
               "mu_star_range": [float(np.nanmin(mu_s)), float(np.nanmax(mu_s))],
               "nu_star_range": [float(np.nanmin(nu_s)), float(np.nanmax(nu_s))],
               "all_converged": bool(ok.all()), "without_fixed_point": int(missing),
               **_activation_summary(activation)}
    return PlotResult("fixed-points", path, data, summary)


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
    _check_value("mean0", mean0)
    _check_value("var0", var0, positive=True)
    _check_value("omega", omega)
    _check_value("tau", tau, positive=True)
    path, suffix = output_path(out, "convergence")
    analytic = _trajectory(activation, mean0, omega, var0, tau, steps=depth)
    if empirical is not None:
        empirical = {int(w): np.asarray(e, float) for w, e in empirical.items()}
        if any(e.shape != (depth + 1, 2) for e in empirical.values()):
            raise InputError(f"empirical runs must have shape ({depth + 1}, 2)")
    else:
        empirical = {}
    for w in [w for w in widths if w not in empirical]:
        empirical[w] = _simulated(activation, [(mean0, var0)], omega=omega, tau=tau, width=w,
                                  depth=depth, batch=batch, seed=seed)[0]
    dev = {w: np.abs(e - analytic).max(axis=0) for w, e in empirical.items()}
    layers = np.arange(depth + 1)

    with _style():
        import matplotlib

        fig, axes = _new_figure(size, ncols=3)
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
            ax.set_ylabel(f"activation {name}")
            ax.legend(fontsize=7.5)
        a1.set_title(f"Mean per layer from (μ₀, ν₀) = ({mean0:g}, {var0:g})"
                     + ("" if not _generic(activation) else f"\n{_map_name(activation)}"))
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
        _save(fig, path, suffix, size)

    data = {"layers": layers, "analytic": analytic, "empirical": empirical,
            "max_deviation": {w: (float(d[0]), float(d[1])) for w, d in dev.items()}}
    summary = {"widths": widths, "depth": depth, "batch": batch,
               "max_deviation": {str(w): {"mean": float(d[0]), "variance": float(d[1])}
                                 for w, d in dev.items()}, **_activation_summary(activation)}
    return PlotResult("convergence", path, data, summary)


# ============================================================================ propagation
#: What the propagation figures certify and what they only show (printed in their summaries).
PROPAGATION_EVIDENCE = ("certified (arb): the fixed points c* and their slopes, chi1; "
                        "evidence: the curves (midpoints of arb enclosures) and the Monte Carlo "
                        "points")


def _propagation_bits(activation: Activation | None) -> int:
    """Working precision of the c-map curves: SELU's closed forms at 128 bits, another
    activation's pair integrals at the simulator's 64 (a second each at 128)."""
    if not _generic(activation):
        return 128
    from snn_theory.simulate.engine import GENERIC_BITS

    return GENERIC_BITS


def correlation_map(out: str | Path | None = None, *, omega: float = 0.0, tau: float = 1.0,
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

    _check_value("omega", omega)
    _check_value("tau", tau, positive=True)
    _check_grid(grid)
    if any(not -1 <= c <= 1 for c in starts):
        raise InputError(f"starting correlations must lie in [-1, 1] (got {list(starts)})")
    path, suffix = output_path(out, "correlation_map")
    generic = _generic(activation)
    result = propagation.propagate(omega, tau, prec=128,
                                   activation=activation if generic else None)
    with working_precision(bits=_propagation_bits(activation)):
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
        from snn_theory.simulate import engine as sim  # lazy: JAX is slow to import
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
    name = _map_name(activation)
    with _style():
        import matplotlib

        fig, axes = _new_figure(size, ncols=2)
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
        a2.set_ylabel("correlation of the two inputs")
        a2.set_title(f"Through depth (markers: Monte Carlo, N = {mc_width}, {mc_batch} pairs)")
        a2.legend(fontsize=7.5)
        _save(fig, path, suffix, size)

    data = {"c": cs, "deviation": deviation, "iterates": iterates, "mc_one_layer": mc_one,
            "mc_depth": mc_depth}
    summary = {"omega": omega, "tau": tau, "phase": result.phase.phase,
               "fixed_points": [{"c": c, "slope": s, "stable": st} for c, s, st in fps],
               "chi1": _ball_text(point.chi1), "no_other_fixed_points": result.complete,
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
        _check_value("tau", t, positive=True)
    acts = [None if a is None or a.is_selu else a for a in activations] or [None]
    labels = [_map_name(a) for a in acts]
    if len(set(labels)) != len(labels):
        raise InputError(f"each activation may be drawn once (got {', '.join(labels)})")
    width, batch = mc_width, mc_batch
    for name, value in (("depth", depth), ("width", width), ("batch", batch)):
        if int(value) != value or value < 1:
            raise InputError(f"{name} must be a positive integer (got {value!r})")
    path, suffix = output_path(out, "gradients")
    single = len(acts) == 1
    from snn_theory.simulate import engine as sim  # lazy: JAX is slow to import
    curves: list[tuple[str, float, Any, np.ndarray]] = []
    for act, label in zip(acts, labels):
        for t in taus:
            # SELU's closed form at 53 bits (12 digits); others at the simulator's precision
            with working_precision(bits=53 if act is None else _propagation_bits(act)):
                chi = propagation.propagation_point(0, t, activation=act).chi1
            cfg = sim.SimulationConfig(width=int(width), depth=int(depth), batch=int(batch),
                                       tau=t, seed=seed, activation=act)
            curves.append((label, t, chi, sim.simulate_gradients(cfg).log_norm))
    k = np.arange(depth + 1)
    with _style():
        import matplotlib

        fig, axes = _new_figure(size)
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
        _save(fig, path, suffix, size)

    def key(label: str, t: float) -> Any:
        return t if single else (label, t)

    def deviation(chi: Any, emp: np.ndarray) -> float:
        return float(np.max(np.abs(emp - k * math.log(float(chi.mid())))))

    data = {"k": k, "empirical": {key(lb, t): e for lb, t, _, e in curves},
            "chi1": {key(lb, t): float(c.mid()) for lb, t, c, _ in curves}}
    summary: dict[str, Any] = {
        "taus": taus, "depth": depth, "width": width, "batch": batch,
        "activations": labels,
        "chi1": {(str(t) if single else f"{lb}, tau = {t:g}"): _ball_text(c)
                 for lb, t, c, _ in curves},
        "max_deviation": {(str(t) if single else f"{lb}, tau = {t:g}"): deviation(c, e)
                          for lb, t, c, e in curves},
        "curves": [{"activation": lb, "tau": t, "chi1": _ball_text(c),
                    "max_deviation": deviation(c, e)} for lb, t, c, e in curves],
        "certified": "certified (arb): chi1; evidence: the Monte Carlo points",
    }
    return PlotResult("gradients", path, data, summary)


FIGURES: dict[str, Callable[..., PlotResult]] = {
    "flow-field": flow_field,
    "contraction": contraction,
    "variance-change": variance_change,
    "fixed-points": fixed_points,
    "convergence": convergence,
    "correlation-map": correlation_map,
    "gradients": gradients,
}

__all__ = [
    "FIGURES", "FigureSize", "PlotResult", "certified_fixed_point",
    "contraction", "convergence", "correlation_map", "fixed_points", "gradients", "fixed_points_numpy", "flow_field",
    "load_certificate_boxes", "moment_grid", "output_path", "simulate_trajectories",
    "theorem_domains", "variance_change",
]
