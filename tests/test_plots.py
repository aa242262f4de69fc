"""Tests of ``snn-theory plot …`` (:mod:`snn_theory.show.figures`): the numbers behind each picture
against independent high-precision evaluations, file sizes and formats, determinism, and bad
input.  Small grids keep the whole file within its time budget."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import matplotlib.image as mpimg
import mpmath
import numpy as np
import pytest

from snn_theory.errors import InputError
from snn_theory.evaluate import activation_functions
from snn_theory.evaluate.moment_map import (
    closed_form_fixed_point,
    closed_form_quantities,
    closed_form_trajectory,
)
from snn_theory.show import canvas, figure_data, flow_figures, map_figures, propagation_figures

SMALL = canvas.FigureSize(320, 240, 80)


def png_size(path: Path) -> tuple[int, int]:
    image = mpimg.imread(path)
    return image.shape[1], image.shape[0]


def mp_g(mu: float, omega: float, nu: float, tau: float, quantities: tuple[str, ...]) -> dict:
    """Quantities at 40 digits with mpmath, from the exact binary values of the float inputs."""
    with mpmath.workdps(40):
        return closed_form_quantities(mpmath.mpf(mu), mpmath.mpf(omega), mpmath.mpf(nu), mpmath.mpf(tau),
                                      backend="mpmath", quantities=quantities)


# --------------------------------------------------------------------------- data behind pictures
def test_flow_field_arrows_equal_g_at_high_precision(tmp_path: Path) -> None:
    r = flow_figures.flow_field(tmp_path / "f.png", omega=0.07, tau=1.04, mu_range=(-0.8, 0.7),
                         nu_range=(0.2, 2.5), grid=9, steps=5, size=SMALL)
    d = r.data
    assert d["g_mu"].shape == d["g_nu"].shape == (9, 9)
    rng = np.random.default_rng(1)
    for _ in range(12):
        i, j = rng.integers(0, 9, size=2)
        mu, nu = d["mu"][j], d["nu"][i]
        ref = mp_g(mu, 0.07, nu, 1.04, ("mean", "variance"))
        assert d["g_mu"][i, j] == pytest.approx(float(ref["mean"]), rel=1e-12, abs=1e-14)
        assert d["g_nu"][i, j] == pytest.approx(float(ref["variance"]), rel=1e-12)
        step = float(mpmath.hypot(ref["mean"] - mu, ref["variance"] - nu))
        assert d["step"][i, j] == pytest.approx(step, rel=1e-10, abs=1e-13)
    # the drawn trajectories are iterates of g (checked against 40-digit iteration)
    for start, path in zip(d["starts"], d["trajectories"], strict=True):
        assert path.shape == (6, 2)
        with mpmath.workdps(40):
            ref = closed_form_trajectory(mpmath.mpf(start[0]), mpmath.mpf(0.07), mpmath.mpf(start[1]),
                                         mpmath.mpf(1.04), steps=5, backend="mpmath")
        np.testing.assert_allclose(path, np.array(ref, dtype=float), rtol=1e-11, atol=1e-13)


def test_flow_field_fixed_point_is_certified_and_contains_high_precision_value(
        tmp_path: Path) -> None:
    r = flow_figures.flow_field(tmp_path / "f.png", omega=0.05, tau=1.05, grid=5,
                         trajectories=False, size=SMALL)
    fp = r.data["fixed_point"]
    assert fp["certified"] is True
    with mpmath.workdps(40):
        mu_s, nu_s = closed_form_fixed_point(mpmath.mpf("0.05"), mpmath.mpf("1.05"), backend="mpmath")
        lo, hi = fp["mu_bounds"]
        assert lo <= mu_s <= hi
        lo, hi = fp["nu_bounds"]
        assert lo <= nu_s <= hi
    assert hi - lo < 1e-10
    assert r.data["trajectories"] == []


def test_contraction_data_is_the_spectral_norm(tmp_path: Path) -> None:
    r = map_figures.contraction(tmp_path / "c.png", mu=-0.1, omega=-0.1, tau=1.25, grid=7, size=SMALL)
    d = r.data
    for i, j in [(0, 0), (3, 5), (6, 2)]:
        ref = mp_g(d["mu"][j], -0.1, d["nu"][i], 1.25, ("spectral_norm",))["spectral_norm"]
        assert d["S_mu_nu"][i, j] == pytest.approx(float(ref), rel=1e-12)
        ref = mp_g(-0.1, -0.1, d["nu2"][j], d["tau"][i], ("spectral_norm",))["spectral_norm"]
        assert d["S_nu_tau"][i, j] == pytest.approx(float(ref), rel=1e-12)
    # docs/mathematics.md §2: S(0, 0, 1, 1) ≈ 0.7877 — a sanity anchor of the same pipeline
    s = figure_data.moment_grid(np.array(0.0), 0.0, np.array(1.0), 1.0, ("spectral_norm",))
    assert float(s["spectral_norm"]) == pytest.approx(0.7877, abs=1e-4)


def test_variance_change_data_and_theorem_signs(tmp_path: Path) -> None:
    r = map_figures.variance_change(tmp_path / "v.png", grid=9, size=SMALL)
    d = r.data
    for i, j in [(0, 0), (4, 4), (8, 8), (2, 7)]:
        ref = mp_g(0.0, 0.0, d["nu"][j], d["tau"][i], ("variance_change",))["variance_change"]
        assert d["change"][i, j] == pytest.approx(float(ref), rel=1e-10, abs=1e-14)
    # Sign pattern of Theorems 2 and 3 at sample points (float, for the picture only).
    doms = canvas.theorem_domains()
    for key, sign in (("theorem2", -1), ("theorem3a", 1), ("theorem3b", 1)):
        box = doms[key]
        nu, tau = np.meshgrid(np.linspace(*box["nu"], 5), np.linspace(*box["tau"], 5))
        change = figure_data.moment_grid(0.0, 0.0, nu, tau, ("variance_change",))["variance_change"]
        assert np.all(np.sign(change) == sign), key


def test_fixed_points_match_newton_at_high_precision(tmp_path: Path) -> None:
    r = map_figures.fixed_points(tmp_path / "p.png", grid=5, size=SMALL)
    d = r.data
    assert d["converged"].all()
    for i, j in [(0, 0), (2, 3), (4, 4), (4, 0)]:
        with mpmath.workdps(30):
            mu_s, nu_s = closed_form_fixed_point(mpmath.mpf(d["omega"][j]), mpmath.mpf(d["tau"][i]),
                                                 backend="mpmath")
        assert d["mu_star"][i, j] == pytest.approx(float(mu_s), abs=1e-12)
        assert d["nu_star"][i, j] == pytest.approx(float(nu_s), rel=1e-12)
    # Theorem 1's mapping claim: the fixed points lie in its (μ, ν) box
    box = canvas.theorem_domains()["theorem1"]
    assert np.all((d["mu_star"] >= box["mu"][0]) & (d["mu_star"] <= box["mu"][1]))
    assert np.all((d["nu_star"] >= box["nu"][0]) & (d["nu_star"] <= box["nu"][1]))


def test_domains_come_from_the_claims() -> None:
    from snn_theory.certify.claims import THEOREM_DOMAINS

    doms = canvas.theorem_domains()
    assert set(doms) == set(THEOREM_DOMAINS)
    assert doms["theorem1"] == {"mu": (-0.1, 0.1), "omega": (-0.1, 0.1), "nu": (0.8, 1.5),
                                "tau": (0.95, 1.1)}
    assert doms["theorem3b"]["nu"] == (0.02, 0.24)


def test_certificate_boxes_drawn_from_minimal_json_and_gzip(tmp_path: Path) -> None:
    boxes = [{"mu": [-0.1, 0.0], "omega": ["-1/10", "1/10"], "nu": [0.8, 1.5],
              "tau": [0.95, 1.1]},
             {"mu": [0.0, 0.1], "omega": [-0.1, 0.1], "nu": [0.8, 1.5], "tau": [0.95, 1.1]}]
    doc = {"domain": {"mu": [-0.1, 0.1], "omega": [-0.1, 0.1], "nu": [0.8, 1.5],
                      "tau": [0.95, 1.1]}, "boxes": boxes}
    plain = tmp_path / "c.json"
    plain.write_text(json.dumps(doc))
    packed = tmp_path / "c.json.gz"
    packed.write_bytes(gzip.compress(json.dumps(doc).encode()))
    for cert in (plain, packed):
        r = map_figures.contraction(tmp_path / "c.png", mu=0.0, omega=0.0, tau=1.0, grid=5,
                              certificate=cert, size=SMALL)
        # both boxes contain the (μ, ν)-slice ω = 0, τ = 1; both contain μ = 0 for (ν, τ)
        assert r.data["boxes_drawn"] == {"mu_nu": 2, "nu_tau": 2}
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError):
        map_figures.load_certificate_boxes(bad)


def test_convergence_uses_the_simulator(tmp_path: Path) -> None:
    r = flow_figures.convergence(tmp_path / "conv.png", widths=(32, 64), depth=3, batch=16,
                          size=SMALL)
    assert png_size(r.path) == (320, 240)
    analytic = r.data["analytic"]
    with mpmath.workdps(30):
        ref = closed_form_trajectory(mpmath.mpf(0.5), 0, mpmath.mpf(2), 1, steps=3, backend="mpmath")
    np.testing.assert_allclose(analytic, np.array(ref, dtype=float), rtol=1e-12)
    for w, emp in r.data["empirical"].items():
        assert emp.shape == (4, 2)
        # loose: a width-w network with 16 samples tracks the iterates
        assert np.all(np.abs(emp - analytic) < 0.6), w


def test_flow_field_monte_carlo_overlay(tmp_path: Path) -> None:
    r = flow_figures.flow_field(tmp_path / "mc.png", grid=3, steps=2, monte_carlo=True, mc_width=64,
                         mc_batch=16, starts=[(0.4, 1.8)], size=SMALL)
    (emp,) = r.data["monte_carlo"]
    (ana,) = r.data["trajectories"]
    assert emp.shape == ana.shape == (3, 2)
    assert np.all(np.abs(emp - ana) < 0.5)
    assert r.summary["monte_carlo_max_deviation"]["variance"] < 0.5


# --------------------------------------------------------------------------- rendered artists
@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list:
    """The Figure objects the plot functions save (to assert on their artists)."""
    saved: list = []
    original = canvas.save

    def keep(fig, path, suffix, size):
        saved.append(fig)
        original(fig, path, suffix, size)

    for module in (flow_figures, map_figures, propagation_figures):
        monkeypatch.setattr(module, "save", keep)
    return saved


def _legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def test_contraction_artists(tmp_path: Path, figures: list) -> None:
    map_figures.contraction(tmp_path / "c.png", grid=31, size=SMALL)
    (fig,) = figures
    a1, a2 = fig.axes[:2]
    for ax in (a1, a2):
        labels = _legend_texts(ax)
        assert labels[0] == "S = 1 (contraction boundary)"  # the curve has a legend entry
        legend = ax.get_legend()
        assert legend.legend_handles[0].get_color() == canvas.S_ONE_COLOR
        # the legend sits below the axes, not over the data
        assert legend.get_bbox_to_anchor().y0 < ax.get_window_extent().y0
    # on the (μ, ν) plane the appendix's box is Theorem 1's too: one entry names both
    assert any(lab.startswith("appendix") and "Theorem 1" in lab for lab in _legend_texts(a1))
    # the S = 1 curve is not drawn in the black of the Theorem 1 box
    labels = _legend_texts(a2)
    t1 = a2.get_legend().legend_handles[labels.index(
        next(lab for lab in labels if lab.startswith("Theorem 1")))]
    assert tuple(t1.get_edgecolor()[:3]) == (0.0, 0.0, 0.0)
    # Theorem 1's box is drawn above the appendix's (their ν edges coincide): one whole box
    rects = {p.get_label(): p for p in a2.patches}
    t1 = next(p for k, p in rects.items() if k.startswith("Theorem 1"))
    app = next(p for k, p in rects.items() if k.startswith("appendix"))
    assert t1.get_zorder() > app.get_zorder()


def test_fixed_points_partial_range_says_what_is_blank(tmp_path: Path, figures: list) -> None:
    r = map_figures.fixed_points(tmp_path / "f.png", omega_range=(-0.1, 3.0), tau_range=(0.95, 6.0),
                           grid=7, size=SMALL)
    missing = r.summary["without_fixed_point"]
    assert 0 < missing < 49
    (fig,) = figures
    titles = [ax.get_title() for ax in fig.axes[:4]]
    assert sum(f"blank: no fixed point found ({missing} of 49)" in t for t in titles) == 2


def test_fixed_points_labels_are_not_repeated(tmp_path: Path, figures: list) -> None:
    map_figures.fixed_points(tmp_path / "f.png", grid=5, size=SMALL)
    (fig,) = figures
    labels = [ax.get_ylabel() for ax in fig.axes] + [ax.get_xlabel() for ax in fig.axes]
    long = [lab for lab in labels if "fixed-point" in lab]
    assert len(long) == len(set(long))  # "fixed-point variance ν*" appears once


def test_convergence_ticks_and_guide(tmp_path: Path, figures: list) -> None:
    flow_figures.convergence(tmp_path / "c.png", widths=(32, 64, 128), depth=2, batch=8, size=SMALL)
    (fig,) = figures
    a3 = fig.axes[2]
    assert r"$\propto N^{-1/2}$ (guide)" in _legend_texts(a3)  # mathtext, not plain text
    fig.canvas.draw()
    assert [t.get_text() for t in a3.get_xticklabels()] == ["32", "64", "128"]
    assert all(t.get_text() == "" for t in a3.get_xticklabels(minor=True))
    assert all(t.get_text() == "" for t in a3.get_yticklabels(minor=True))


# --------------------------------------------------------------------------- other activations
def _quad_moments(act, mu: float, omega: float, nu: float, tau: float) -> tuple:
    """E[f], Var[f] for x ~ N(μω, ντ) by 25-digit mpmath quadrature (independent of the
    Gauss-Legendre evaluator), split at the kinks."""
    with mpmath.workdps(25):
        m = mpmath.mpf(mu) * mpmath.mpf(omega)
        s = mpmath.sqrt(mpmath.mpf(nu) * mpmath.mpf(tau))
        cuts = sorted((mpmath.mpf(k.numerator) / k.denominator - m) / s for k in act.kinks)
        pts = [-mpmath.inf, *cuts, mpmath.inf]
        e1 = mpmath.quad(lambda z: activation_functions.value_mpmath(act, m + s * z) * mpmath.npdf(z), pts)
        e2 = mpmath.quad(lambda z: activation_functions.value_mpmath(act, m + s * z) ** 2 * mpmath.npdf(z), pts)
        return float(e1), float(e2 - e1 * e1)


def test_activation_flow_field_against_quadrature(tmp_path: Path) -> None:
    from snn_theory.derive import activations

    act = activations.get("tanh", scale="1.5925")
    r = flow_figures.flow_field(tmp_path / "f.png", omega=0.05, tau=1.1, grid=5, steps=3,
                         size=SMALL, activation=act)
    d = r.data
    for i, j in ((0, 0), (2, 3), (4, 1)):
        mean, var = _quad_moments(act, d["mu"][j], 0.05, d["nu"][i], 1.1)
        assert d["g_mu"][i, j] == pytest.approx(mean, rel=1e-10, abs=1e-13)
        assert d["g_nu"][i, j] == pytest.approx(var, rel=1e-10)
    first = d["trajectories"][0]
    mean, var = _quad_moments(act, first[0, 0], 0.05, first[0, 1], 1.1)
    assert first[1] == pytest.approx([mean, var], rel=1e-10, abs=1e-13)
    fp = r.summary["fixed_point"]
    assert fp["certified"] is True
    lo, hi = fp["nu_bounds"]  # the certified fixed point: ν* = Var[f] at (μ*, ν*)
    _, var = _quad_moments(act, fp["mu_value"], 0.05, fp["nu_value"], 1.1)
    assert lo - 1e-12 <= var <= hi + 1e-12
    assert r.summary["activation"]["definition"] == "tanh"
    assert "not a proof" in r.summary["evidence"]


def test_activation_equal_to_selu_matches_closed_forms(tmp_path: Path) -> None:
    """A user expression equal to SELU (float evaluator) against the closed forms."""
    from snn_theory.derive import activations

    selu = activations.get("1.0507009873554804934193349852946*(max(x, 0) + "
                           "1.6732632423543772848170429916717*(exp(min(x, 0)) - 1))")
    generic = map_figures.contraction(tmp_path / "a.png", grid=5, size=SMALL, activation=selu)
    closed = map_figures.contraction(tmp_path / "b.png", grid=5, size=SMALL)
    np.testing.assert_allclose(generic.data["S_mu_nu"], closed.data["S_mu_nu"], rtol=1e-11)
    np.testing.assert_allclose(generic.data["S_nu_tau"], closed.data["S_nu_tau"], rtol=1e-11)
    same = map_figures.variance_change(tmp_path / "c.png", grid=5, size=SMALL,
                                 activation=activations.get("selu"))
    base = map_figures.variance_change(tmp_path / "d.png", grid=5, size=SMALL)
    np.testing.assert_array_equal(same.data["change"], base.data["change"])  # SELU fast path


def test_activation_contraction_against_rigorous_engine(tmp_path: Path) -> None:
    from flint import arb

    from snn_theory.derive import activations
    from snn_theory.evaluate import gaussian_moments
    from snn_theory.precision import working_precision

    act = activations.get("gelu", scale="1.7")
    r = map_figures.contraction(tmp_path / "s.png", grid=4, size=SMALL, activation=act)
    d = r.data
    with working_precision(bits=80):
        for i, j in ((0, 0), (3, 2)):
            q = gaussian_moments.quantities(act, arb(d["mu"][j]), arb(-0.1), arb(d["nu"][i]),
                                    arb(1.25), names=("spectral_norm",))["spectral_norm"]
            assert abs(d["S_mu_nu"][i, j] - float(q.mid())) <= 1e-10 + float(q.rad())


def test_activation_fixed_points_and_convergence(tmp_path: Path) -> None:
    from snn_theory.derive import activations
    from snn_theory.evaluate import activation_map

    act = activations.get("tanh", scale="1.5925")
    r = map_figures.fixed_points(tmp_path / "p.png", grid=3, size=SMALL, activation=act)
    assert r.summary["all_converged"]
    mu, nu = r.data["mu_star"][1, 1], r.data["nu_star"][1, 1]
    omega, tau = r.data["omega"][1], r.data["tau"][1]
    mean, var = _quad_moments(act, mu, omega, nu, tau)  # a fixed point: g(μ*, ν*) = (μ*, ν*)
    assert (mean, var) == pytest.approx((mu, nu), abs=1e-10)
    c = flow_figures.convergence(tmp_path / "c.png", widths=(16, 64), depth=3, batch=8,
                          size=SMALL, activation=act)
    np.testing.assert_allclose(c.data["analytic"],
                               activation_map.iterate_float(act, 0.5, 0.0, 2.0, 1.0, steps=3))
    assert set(c.data["empirical"]) == {16, 64}
    assert c.summary["activation"]["scale"] == "1.5925"


# --------------------------------------------------------------------------- readable figures
def _drawn(fig):
    """``fig`` laid out and drawn by Agg, and its renderer (to measure the artists)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _contains(outer, inner) -> bool:
    return (outer.x0 <= inner.x0 and inner.x1 <= outer.x1 and outer.y0 <= inner.y0
            and inner.y1 <= outer.y1)


def test_contraction_draws_coinciding_boxes_once_and_labels_off_their_edges(
        tmp_path: Path, figures: list) -> None:
    from matplotlib.patches import Rectangle

    map_figures.contraction(tmp_path / "c.png", grid=41, size=canvas.FigureSize(1600, 750, 150))
    (fig,) = figures
    renderer = _drawn(fig)
    a1, a2 = fig.axes[:2]

    def boxes(ax):
        return [p for p in ax.patches if isinstance(p, Rectangle) and p.get_label() != "_cert"]

    # at τ = 1.25 Theorem 1's and the appendix's (μ, ν) boxes are one rectangle: drawn once,
    # named for both; on the (ν, τ) plane they differ and both are drawn
    (left,) = boxes(a1)
    assert "appendix" in left.get_label() and "Theorem 1" in left.get_label()
    assert len(boxes(a2)) == 2
    for ax in (a1, a2):
        labels = [t for t in ax.texts if t.get_text() in ("0.80", "0.90", "0.95")]
        assert labels
        for text in labels:
            where = text.get_window_extent(renderer)
            assert _contains(ax.get_window_extent(renderer), where)
            for box in boxes(ax):  # wholly inside or wholly outside: never on an edge
                edge = box.get_window_extent(renderer)
                assert not _overlaps(where, edge) or _contains(edge, where)


def test_fixed_points_contour_labels_are_not_clipped(tmp_path: Path, figures: list) -> None:
    map_figures.fixed_points(tmp_path / "f.png", grid=21)
    (fig,) = figures
    renderer = _drawn(fig)
    labelled = 0
    for ax in fig.axes:
        for text in ax.texts:
            labelled += 1
            assert _contains(ax.get_window_extent(renderer), text.get_window_extent(renderer))
    assert labelled >= 8


def test_layer_ticks_are_whole_numbers(tmp_path: Path, figures: list) -> None:
    depth = 15
    layers = np.arange(depth + 1)
    runs = {32: np.column_stack([0.5 * 0.7 ** layers, 1 + 0.9 ** layers])}
    flow_figures.convergence(tmp_path / "c.png", depth=depth, empirical=runs)
    (fig,) = figures
    _drawn(fig)
    for ax in fig.axes[:2]:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert len(ticks) >= 3 and all(float(t).is_integer() for t in ticks), ticks
