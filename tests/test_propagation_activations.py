"""`propagate --activation`: χ₁, the c-map and its fixed points for activations other than
SELU, against independent mpmath quadrature (tanh: the defining double integral at 20 digits)
and the closed-form arccos kernel of ReLU (the command's depth-scale and edge-of-chaos
messages and bad input: tests/cli/test_propagation_activations.py)."""

from __future__ import annotations

import mpmath
import pytest
from flint import arb, ctx

from snn_theory.certify import propagation
from snn_theory.derive import activations
from snn_theory.evaluate import activation_functions
from snn_theory.evaluate.moment_map import arb_to_mpf

PREC = 96
TOL = arb(2) ** -48


def _contains(ball: arb, value: mpmath.mpf, rel: float) -> bool:
    with mpmath.workdps(40):
        mid, rad = arb_to_mpf(ball), arb_to_mpf(arb(ball.rad()))
        return abs(mid - value) <= rad + rel * max(abs(value), mpmath.mpf(1))


@pytest.fixture(scope="module")
def tanh() -> propagation.PropagationResult:
    return propagation.propagate(0, 2, prec=PREC, activation=activations.get("tanh"))


def test_tanh_chi1_and_slopes_against_quadrature(tanh) -> None:
    p = tanh.point
    with mpmath.workdps(27):
        # ν* from mpmath's own fixed-point iteration of ν ↦ E[tanh(z)²], z ~ N(0, 2ν)
        def second(nu: mpmath.mpf) -> mpmath.mpf:
            sd = mpmath.sqrt(2 * nu)
            return mpmath.quad(lambda x: mpmath.tanh(sd * x) ** 2 * mpmath.npdf(x), [-14, 0, 14])

        nu = mpmath.findroot(lambda n: second(n) - n, mpmath.mpf("0.3"))
        sd = mpmath.sqrt(2 * nu)
        e_d2 = mpmath.quad(lambda x: mpmath.sech(sd * x) ** 4 * mpmath.npdf(x), [-14, 0, 14])
        e_d = mpmath.quad(lambda x: mpmath.sech(sd * x) ** 2 * mpmath.npdf(x), [-14, 0, 14])
        chi1, slope0, slope1 = 2 * e_d2, 2 * nu * e_d**2 / nu, 2 * nu * e_d2 / nu
    assert _contains(p.nu_star, nu, 1e-25) and p.mu_star.contains(0)
    assert _contains(p.chi1, chi1, 1e-25) and p.chi1.rad() < 1e-24
    zero = [f for f in tanh.fixed_points if f.value == 0][0]
    one = [f for f in tanh.fixed_points if f.value == 1][0]
    assert _contains(zero.slope, slope0, 1e-25)
    assert _contains(one.slope, slope1, 1e-25)
    assert zero.stable is True and one.stable is False and one.depth_scale is None
    assert tanh.phase.phase == "chaotic"


def test_tanh_correlation_map_against_double_integral(tanh) -> None:
    p = tanh.point
    old = ctx.prec
    ctx.prec = PREC
    try:
        value = propagation.correlation_map(p, arb("0.5"), TOL)
    finally:
        ctx.prec = old
    with mpmath.workdps(18):
        v, var = arb_to_mpf(p.v), arb_to_mpf(p.variance)
        c = mpmath.mpf("0.5")
        sd, k = mpmath.sqrt(v), 1 / (2 * (1 - c * c))
        norm = 1 / (2 * mpmath.pi * mpmath.sqrt(1 - c * c))

        def g(x: mpmath.mpf, y: mpmath.mpf) -> mpmath.mpf:
            return (
                mpmath.tanh(sd * x)
                * mpmath.tanh(sd * y)
                * mpmath.exp(-(x * x - 2 * c * x * y + y * y) * k)
            )

        ref = norm * mpmath.quad(g, [-9, 0, 9], [-9, 0, 9], method="gauss-legendre") / var
    assert _contains(value, ref, 1e-15) and value.rad() < 1e-24
    assert value < arb("0.5")  # the Mehler exclusion on (0, 1): c~(c) < c


def test_tanh_fixed_points_cover_minus_one_by_symmetry(tanh) -> None:
    values = sorted(float(f.value.mid()) for f in tanh.fixed_points)
    assert values == [-1.0, 0.0, 1.0] and tanh.complete
    minus = [f for f in tanh.fixed_points if f.value == -1][0]
    assert "odd" in minus.how
    # the nested-integral route agrees at c = -1 (u2 = -u1 exactly)
    old = ctx.prec
    ctx.prec = PREC
    try:
        at = propagation.correlation_map(tanh.point, arb(-1), TOL)
    finally:
        ctx.prec = old
    assert (at + 1).contains(0) and at.rad() < 1e-24


def test_relu_against_the_arccos_kernel() -> None:
    """ReLU at inputs (μ, ν) = (0, 1), ω = 0, τ = 1 (not a fixed point: ReLU's are not
    isolated): c̃ and χ_c in closed form (Cho & Saul's arccos kernel of degree 1 and 0)."""
    relu = activations.get("relu")
    old = ctx.prec
    ctx.prec = 80
    try:
        p = propagation.propagation_point(0, 1, activation=relu, fixed=(arb(0), arb(1)))
        tol = arb(2) ** -40
        got = {
            c: (
                propagation.correlation_map(p, arb(c), tol),
                propagation.correlation_slope(p, arb(c), tol),
            )
            for c in ("0.3", "-0.6")
        }
        minus = propagation.correlation_map(p, arb(-1), tol)
    finally:
        ctx.prec = old
    with mpmath.workdps(25):
        pi = mpmath.pi
        var = mpmath.mpf(1) / 2 - 1 / (2 * pi)
        for text, (cm, cs) in got.items():
            c = mpmath.mpf(text)
            pair = (mpmath.sqrt(1 - c * c) + (pi - mpmath.acos(c)) * c) / (2 * pi)
            assert _contains(cm, (pair - 1 / (2 * pi)) / var, 1e-20) and cm.rad() < 1e-18
            assert _contains(cs, (pi - mpmath.acos(c)) / (2 * pi) / var, 1e-20)
        assert _contains(minus, (0 - 1 / (2 * pi)) / var, 1e-20)
        assert _contains(p.chi1, mpmath.mpf(1) / 2, 1e-20)


@pytest.mark.parametrize("name", sorted(propagation.activation.DERIVATIVE_GROWTH))
def test_derivative_growth_bounds_hold(name: str) -> None:
    """|g′(x)| ≤ P′(|x|) on a grid (the bounds' proofs are in DERIVATIVE_GROWTH's comment;
    evidence that the table was not mistyped)."""
    act = activations.get(name)
    growth = propagation.activation.DERIVATIVE_GROWTH[name]
    with mpmath.workdps(20):
        for i in range(-400, 401):
            t = mpmath.mpf(i) / 20 + mpmath.mpf(1) / 997  # off the kinks
            d = abs(mpmath.diff(lambda u: activation_functions.base_mpmath(act, u), t))
            assert d <= sum(float(a) * abs(t) ** k for k, a in enumerate(growth)) * (1 + 1e-12)


def test_non_dyadic_kink_is_enclosed() -> None:
    """abs(x - 1/3): the cut at the kink is a float, not 1/3; the sliver between them is
    enclosed (c = −1: E[f(u)f(−u)], u ~ N(0, 1), against mpmath split at ±1/3)."""
    act = activations.get("abs(x - 1/3)")
    old = ctx.prec
    ctx.prec = 80
    try:
        p = propagation.propagation_point(0, 1, activation=act, fixed=(arb(0), arb(1)))
        value = propagation.pair_expectation(p, arb(-1))
    finally:
        ctx.prec = old
    with mpmath.workdps(25):
        third = mpmath.mpf(1) / 3
        ref = mpmath.quad(
            lambda t: abs(t - third) * abs(-t - third) * mpmath.npdf(t), [-15, -third, third, 15]
        )
    assert _contains(value, ref, 1e-20) and value.rad() < 1e-18


def test_variance_collapse_matches_an_independent_iteration() -> None:
    """The diagnosis behind "no fixed point with ν* > 0": for tanh at ω = 0, τ = 1 the
    variance ν ↦ E[tanh(√ν·Z)²] falls at every layer (tanh² < x²); iterated by mpmath
    quadrature, it gives the same ν after 60 layers.  SELU (a fixed point at ν* = 1) and tanh
    with τ = 3 (a fixed point ν* > 0) are not diagnosed."""
    import mpmath

    from snn_theory.derive import activations
    from snn_theory.evaluate.activation_map import variance_collapse

    tanh = activations.get("tanh")
    nu = mpmath.mpf(1)
    with mpmath.workdps(20):
        for _ in range(60):
            s = mpmath.sqrt(nu)
            nu = mpmath.quad(lambda z, s=s: mpmath.tanh(s * z) ** 2 * mpmath.npdf(z),
                             [-mpmath.inf, 0, mpmath.inf])
    assert abs(variance_collapse(tanh, 0, 1) / float(nu) - 1) < 1e-6
    assert variance_collapse(activations.get("selu"), 0, 1) is None
    assert variance_collapse(tanh, 0, 3) is None
