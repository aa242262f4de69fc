"""Signal propagation (`snn-theory propagate`, `simulate --pairs/--gradients`): certified χ₁,
c-map fixed points and slopes against independent mpmath quadrature of the defining (double)
integrals at 30 digits; phase claims; tail bounds; Monte Carlo; bad input."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from flint import arb, ctx

from snn_theory.certify import propagation
from snn_theory.errors import InputError
from snn_theory.evaluate import backends
from snn_theory.evaluate.moment_map import arb_to_mpf

DIGITS = 30
TAUS = ("1", "0.95", "1.1")


def _selu_mp() -> tuple[object, object]:
    lam, alpha = backends.constants_function("mpmath")()
    return lam, alpha


def _f(x: mpmath.mpf, lam: object, alpha: object) -> mpmath.mpf:
    return lam * x if x > 0 else lam * alpha * mpmath.expm1(x)


def _df(x: mpmath.mpf, lam: object, alpha: object) -> mpmath.mpf:
    return lam if x > 0 else lam * alpha * mpmath.exp(x)


def _moments_1d(F: object, m: mpmath.mpf, v: mpmath.mpf) -> mpmath.mpf:
    """E[F(z)], z ~ N(m, v), by mpmath quadrature split at the kink (z = 0)."""
    sd = mpmath.sqrt(v)
    x0 = -m / sd  # z = 0
    return mpmath.quad(lambda x: F(m + sd * x) * mpmath.npdf(x), [-14, x0, 14])


def _pair_2d(F: object, m: mpmath.mpf, v: mpmath.mpf, c: mpmath.mpf) -> mpmath.mpf:
    """E[F(u₁)F(u₂)] as the double integral over the bivariate normal density of (u₁, u₂)
    in standardised coordinates (kinks on the axes x = −m/√v, y = −m/√v)."""
    sd = mpmath.sqrt(v)
    k = 1 / (2 * (1 - c * c))
    norm = 1 / (2 * mpmath.pi * mpmath.sqrt(1 - c * c))
    x0 = -m / sd

    def g(x: mpmath.mpf, y: mpmath.mpf) -> mpmath.mpf:
        return F(m + sd * x) * F(m + sd * y) * mpmath.exp(-(x * x - 2 * c * x * y + y * y) * k)

    return norm * mpmath.quad(g, [-13, x0, 13], [-13, x0, 13], method="gauss-legendre")


@pytest.fixture(scope="module")
def results() -> dict[str, propagation.PropagationResult]:
    return {tau: propagation.propagate(0, tau, prec=128) for tau in TAUS}


def _contains(ball: arb, value: mpmath.mpf, rel: float = 1e-27) -> bool:
    """The ball contains the mpmath point value up to its own (30-digit) rounding."""
    with mpmath.workdps(DIGITS + 10):
        mid = arb_to_mpf(ball)
        rad = arb_to_mpf(arb(ball.rad()))
        return abs(mid - value) <= rad + rel * max(abs(value), mpmath.mpf(1))


@pytest.mark.parametrize("tau", TAUS)
def test_chi1_and_fixed_point_slopes_against_quadrature(results, tau: str) -> None:
    r = results[tau]
    with mpmath.workdps(DIGITS + 5):
        lam, alpha = _selu_mp()
        nu = arb_to_mpf(r.point.nu_star)
        v = nu * mpmath.mpf(tau)
        f = lambda x: _f(x, lam, alpha)  # noqa: E731
        df = lambda x: _df(x, lam, alpha)  # noqa: E731
        mean = _moments_1d(f, mpmath.mpf(0), v)
        var = _moments_1d(lambda x: f(x) ** 2, mpmath.mpf(0), v) - mean**2
        e_df2 = _moments_1d(lambda x: df(x) ** 2, mpmath.mpf(0), v)
        chi1 = mpmath.mpf(tau) * e_df2
        # c* = 1: the slope v·E[f′(u)²]/ν̃ (the double integral degenerates to one)
        slope1 = v * e_df2 / var
        # c* = 0: the slope v·E[f′(u₁)f′(u₂)]/ν̃; at c = 0 the double integral factorises
        # (u₁, u₂ independent), E[f′(u₁)f′(u₂)] = E[f′(z)]²
        slope0 = v * _moments_1d(df, mpmath.mpf(0), v) ** 2 / var
    assert _contains(r.point.chi1, chi1)
    assert r.point.chi1.rad() < 1e-25
    one = [f for f in r.fixed_points if f.value == 1][0]
    zero = [f for f in r.fixed_points if f.value == 0][0]
    assert _contains(one.slope, slope1)
    assert _contains(zero.slope, slope0)
    assert zero.slope.rad() < 1e-20
    # ν* is the fixed point of the quadrature's own variance map (independent of formulas.py)
    assert abs(var - nu) < mpmath.mpf(10) ** -27
    assert r.complete and r.phase.phase == "chaotic"
    assert one.stable is False and zero.stable is True


def test_correlation_map_against_double_integral(results) -> None:
    """c̃(1/2) and χ_c(1/2) at (ω, τ) = (0, 1), where μ* = 0, ν* = 1 exactly."""
    point = results["1"].point
    old = ctx.prec
    ctx.prec = 128
    try:
        value = propagation.correlation_map(point, arb("0.5"), arb(2) ** -64)
    finally:
        ctx.prec = old
    with mpmath.workdps(DIGITS + 5):
        lam, alpha = _selu_mp()
        ref = _pair_2d(lambda x: _f(x, lam, alpha), mpmath.mpf(0), mpmath.mpf(1), mpmath.mpf("0.5"))
    assert _contains(value, ref)
    assert value.rad() < 1e-30


def test_correlation_map_with_nonzero_mean() -> None:
    """ω ≠ 0 (pre-activation mean m ≠ 0, kinks off the axes) at 20 digits, c = −0.3."""
    ctx.prec, old = 100, ctx.prec
    try:
        point = propagation.propagation_point("0.1", "1.05")
        value = propagation.correlation_slope(point, arb("-0.3"), arb(2) ** -60)
    finally:
        ctx.prec = old
    with mpmath.workdps(25):
        lam, alpha = _selu_mp()
        m, v = arb_to_mpf(point.m), arb_to_mpf(point.v)
        var = arb_to_mpf(point.variance)
        ref = v * _pair_2d(lambda x: _df(x, lam, alpha), m, v, mpmath.mpf("-0.3")) / var
    assert _contains(value, ref, rel=1e-18)


def test_float_values_lie_in_the_enclosures(results) -> None:
    for tau, r in results.items():
        p = r.point
        args = (
            float(p.mu_star.mid()),
            0.0,
            float(p.nu_star.mid()),
            float(tau),
            *propagation_float_constants(),
        )
        values = dict(
            zip(
                ("slope_mean", "slope_second_moment", "chi1", "chi_mean", "chi_c0", "chi_c1"),
                backends.propagation_function("numpy")(*args),
            )
        )
        for name in ("chi1", "chi_c0", "chi_c1", "slope_mean"):
            ball = getattr(p, name)
            assert abs(float(values[name]) - float(ball.mid())) <= float(ball.rad()) + 1e-12


def propagation_float_constants() -> tuple[float, float]:
    from snn_theory.evaluate.moment_map import default_constants

    return default_constants("numpy")


def test_no_other_fixed_points_cover_the_interval(results) -> None:
    r = results["1"]
    zero = r.fixed_points[0]
    delta = float(zero.how.split("[-")[1].split(",")[0])
    pieces = sorted((e.low, e.high) for e in r.exclusions)
    assert pieces[0][0] == -1 and pieces[-1][1] == 1
    gaps = [(a[1], b[0]) for a, b in zip(pieces, pieces[1:]) if a[1] != b[0]]
    assert gaps == [(-delta, delta)]  # the only gap is the Krawczyk box around c* = 0


def test_tail_bound_is_an_upper_bound() -> None:
    ctx.prec, old = 128, ctx.prec
    with mpmath.workdps(30):
        for T, v, D, B in ((3, 1, 2, 1), (5, 2, 0.5, 1.5), (8, 0.7, 1, 0)):
            exact = 2 * mpmath.quad(
                lambda s, D=D, B=B, v=v: (D + B * s) ** 2 * mpmath.npdf(s, 0, mpmath.sqrt(v)),
                [T, mpmath.inf],
            )
            bound = propagation.integrals._gaussian_tail(arb(T), arb(v), arb(D), arb(B))
            upper = arb_to_mpf(arb(bound.upper()))
            # an upper bound, tight up to the 30-bit radius arb stores it in
            assert exact <= upper <= exact * (1 + mpmath.mpf(10) ** -8)
    ctx.prec = old


def test_edge_of_chaos_points() -> None:
    edges = propagation.edge_of_chaos_tau(["0.9", 1.1], prec=100)
    # a decimal string is the number written; a float its exact binary value
    assert [e.tau for e in edges] == [Fraction(9, 10), Fraction(1.1)]
    fn = backends.propagation_function("mpmath")
    with mpmath.workdps(30):
        lam, alpha = _selu_mp()
        for e in edges:
            tau = mpmath.mpf(e.tau.numerator) / e.tau.denominator
            chi = fn(0, 0, arb_to_mpf(e.nu), tau, lam, alpha)[2]
            assert abs(chi - 1) < mpmath.mpf(10) ** -20
            # at the fixed point itself χ₁ > 1 (Gaussian Poincaré inequality)
            assert e.chi1_at_fixed_point > 1
    lams = propagation.edge_of_chaos_lambda([1.0, 2.0], prec=100)
    for e in lams:
        assert e.chi1.contains(1) and e.chi1.rad() < 1e-25


def test_gradients_follow_chi1() -> None:
    """ln‖∂L/∂x_l‖² − ln‖∂L/∂x_L‖² ≈ k·ln χ₁ (k = L − l) over 40 layers.  Tolerance: the
    per-layer ratio fluctuates with relative standard deviation about √(2/(N·B)) (χ² over
    N units and B samples), accumulating as a random walk, plus an O(1/N) finite-width bias
    per layer: |error_k| ≤ 4·√(2k/(N·B)) + 2k/N."""
    from snn_theory.simulate.config import SimulationConfig
    from snn_theory.simulate.pairs import simulate_gradients

    n, b, depth = 256, 16, 40
    r = simulate_gradients(SimulationConfig(width=n, depth=depth, batch=b, seed=1))
    k = np.arange(depth + 1)
    tolerance = 4 * np.sqrt(2 * k / (n * b)) + 2 * k / n
    assert np.all(np.abs(r.log_norm - k * math.log(r.chi1)) <= tolerance)
    # the growth is detected: χ₁ = 1 (no explosion) is rejected at this size
    assert abs(r.log_norm[-1]) > tolerance[-1]


def test_pair_correlations_track_the_c_map() -> None:
    """Mean over B pairs of the per-pair correlation vs the c-map iterates; tolerance 4
    standard errors of that mean (measured spread s_l over pairs, s_l/√B) plus 1/N."""
    from snn_theory.simulate.config import SimulationConfig
    from snn_theory.simulate.pairs import simulate_pairs

    n, b, depth = 256, 32, 15
    r = simulate_pairs(SimulationConfig(width=n, depth=depth, batch=b, seed=2), 0.6)
    tolerance = 4 * r.spread / math.sqrt(b) + 1 / n
    assert np.all(np.abs(r.correlation - r.predicted) <= tolerance)
    assert abs(r.correlation[0] - 0.6) < 4 / math.sqrt(n)
    assert r.predicted[-1] < r.predicted[0]  # towards the stable fixed point c* = 0


def test_erf_closed_forms_against_quadrature() -> None:
    """The erf comparison activation's closed forms (Williams) against mpmath at v = 0.7."""
    ctx.prec, old = 128, ctx.prec
    try:
        variance, chi1, c_map, c_slope = backends.erf_propagation_function("arb")(
            arb("0.3"), arb("0.7"), arb("1.2")
        )
    finally:
        ctx.prec = old
    with mpmath.workdps(DIGITS + 5):
        v = mpmath.mpf("0.7")
        var = _moments_1d(lambda x: mpmath.erf(x) ** 2, mpmath.mpf(0), v)
        d2 = _moments_1d(lambda x: 4 / mpmath.pi * mpmath.exp(-2 * x * x), mpmath.mpf(0), v)
        # the c-map through the conditional: E[erf(u₂) | u₁] = erf(a/√(1 + 2w))
        c = mpmath.mpf("0.3")
        w = (1 - c * c) * v
        pair = _moments_1d(
            lambda t: mpmath.erf(t) * mpmath.erf(c * t / mpmath.sqrt(1 + 2 * w)), mpmath.mpf(0), v
        )
        chi1_ref, c_map_ref = mpmath.mpf("1.2") * d2, pair / var
    assert _contains(variance, var)
    assert _contains(chi1, chi1_ref)
    assert _contains(c_map, c_map_ref)


def test_plots_draw_the_certified_fixed_points(tmp_path) -> None:
    from snn_theory.show import canvas, propagation_figures

    r = propagation_figures.correlation_map_figure(
        tmp_path / "c.png", grid=5, depth=2, monte_carlo=False, size=canvas.FigureSize(400, 200, 50)
    )
    assert r.path.exists()
    assert [f["c"] for f in r.summary["fixed_points"]] == [0.0, 1.0]
    assert r.summary["no_other_fixed_points"] and r.summary["phase"] == "chaotic"
    # the drawn curve is the c-map: c̃(c) − c vanishes at the fixed points, < 0 on (0, 1)
    dev = dict(zip(r.data["c"], r.data["deviation"]))
    assert abs(dev[0.0]) < 1e-12 and abs(dev[1.0]) < 1e-12 and dev[0.5] < 0 < dev[-0.5]


def test_tampered_inputs_are_rejected(results) -> None:
    from snn_theory.evaluate.krawczyk import krawczyk_1d

    # two roots (±0.1) in the box: the Krawczyk test must not claim a unique one
    two = krawczyk_1d(lambda x: x * x - arb("0.01"), lambda x: 2 * x, arb(0, 0.5))
    assert not two.proved
    one = krawczyk_1d(lambda x: x * x - arb("0.01"), lambda x: 2 * x, arb("0.1", "0.01"))
    assert one.proved and one.enclosure.contains(arb("0.1"))
    # an integral whose radius cannot meet an impossible tolerance is reported, not returned
    with pytest.raises(ArithmeticError, match="did not converge"):
        propagation.correlation_map(results["1"].point, arb("0.5"), tolerance=arb(2) ** -400)
    with pytest.raises(InputError):
        propagation.pair_expectation(results["1"].point, arb(1, 0.5))
