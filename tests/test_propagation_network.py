"""Signal propagation through a network (certify/propagation/network.py) against the single
layer, closed reasoning over the dropout masks, and independent 40-digit mpmath quadrature."""

from __future__ import annotations

import mpmath
import pytest
from flint import arb

from snn_theory.certify import propagation
from snn_theory.certify.propagation.network import network_correlation, propagate_network
from snn_theory.errors import InputError, TrivialFixedPoint
from snn_theory.evaluate import backends
from snn_theory.evaluate.moment_map import arb_to_mpf
from snn_theory.precision import working_precision

PREC = 150  # bits: the balls are far tighter than the 40-digit references' 1e-35 tolerance
TOL = mpmath.mpf(10) ** -34


def _close(ball: arb, value: mpmath.mpf) -> bool:
    """The ball contains the 40-digit reference up to the reference's own error."""
    mid, rad = arb_to_mpf(ball.mid()), arb_to_mpf(ball.rad())
    return abs(mid - value) <= rad + TOL


def _selu_constants() -> tuple[mpmath.mpf, mpmath.mpf]:
    with working_precision(digits=45):
        lam, alpha = backends.constants_function("arb")()
        return arb_to_mpf(lam.mid()), arb_to_mpf(alpha.mid())


class Selu:
    """SELU's Gaussian expectations written out here (closed-form inner expectation, outer
    1-D mpmath quadrature split at the kink), independent of the library's integrals."""

    def __init__(self) -> None:
        self.lam, self.alpha = _selu_constants()
        self.cache: dict[tuple[object, ...], object] = {}

    def f(self, x: mpmath.mpf) -> mpmath.mpf:
        return self.lam * x if x > 0 else self.lam * self.alpha * (mpmath.exp(x) - 1)

    def df(self, x: mpmath.mpf) -> mpmath.mpf:
        return self.lam if x > 0 else self.lam * self.alpha * mpmath.exp(x)

    def inner(self, a: mpmath.mpf, w: mpmath.mpf, derivative: bool) -> mpmath.mpf:
        """E[f(a + √w Z)] (or f′), Z ~ N(0, 1), in closed form."""
        s = mpmath.sqrt(w)
        neg = mpmath.exp(a + w / 2) * mpmath.ncdf(-a / s - s)
        if derivative:
            return self.lam * mpmath.ncdf(a / s) + self.lam * self.alpha * neg
        pos = a * mpmath.ncdf(a / s) + s * mpmath.npdf(a / s)
        return self.lam * pos + self.lam * self.alpha * (neg - mpmath.ncdf(-a / s))

    def gauss(self, h, v: mpmath.mpf) -> mpmath.mpf:  # type: ignore[no-untyped-def]
        """E[h(z)], z ~ N(0, v) (beyond 14 standard deviations: below 10⁻⁴²)."""
        s = mpmath.sqrt(v)
        return mpmath.quad(lambda t: h(t) * mpmath.npdf(t, 0, s), [-14 * s, 0, 14 * s])

    def moments(self, v: mpmath.mpf) -> dict[str, mpmath.mpf]:
        key = ("moments", v)
        if key not in self.cache:
            mean = self.inner(mpmath.mpf(0), v, False)
            var = self.gauss(lambda t: self.f(t) ** 2, v) - mean**2
            self.cache[key] = {"mean": mean, "variance": var,
                               "second": self.gauss(lambda t: self.df(t) ** 2, v),
                               "slope": self.inner(mpmath.mpf(0), v, True)}
        return self.cache[key]

    def cmap(self, c: mpmath.mpf, v: mpmath.mpf, slope: bool = True
             ) -> tuple[mpmath.mpf, mpmath.mpf | None]:
        """(c̃(c), χ_c(c)) for pre-activations N(0, v) with correlation c (E[f(u₁)f(u₂)]
        conditioned on u₁: u₂ | u₁ ~ N(c·u₁, (1 − c²)v))."""
        key = ("cmap", c, v, slope)
        if key not in self.cache:
            mo = self.moments(v)
            w = (1 - c * c) * v
            pair = self.gauss(lambda t: self.f(t) * self.inner(c * t, w, False), v)
            dpair = self.gauss(lambda t: self.df(t) * self.inner(c * t, w, True), v) \
                if slope else None
            self.cache[key] = ((pair - mo["mean"] ** 2) / mo["variance"],
                               None if dpair is None else v * dpair / mo["variance"])
        return self.cache[key]


@pytest.fixture(scope="module")
def selu() -> Selu:
    mpmath.mp.dps = 40
    return Selu()


@pytest.fixture(scope="module")
def at_one(selu: Selu) -> dict[str, mpmath.mpf]:
    mpmath.mp.dps = 40
    return selu.moments(mpmath.mpf(1))


def _alpha_dropout(selu: Selu, q: mpmath.mpf) -> tuple[mpmath.mpf, mpmath.mpf]:
    """The paper's (α′, a) for keep probability q at the fixed point (0, 1)."""
    ap = -selu.lam * selu.alpha
    return ap, (q * ((1 - q) * ap**2 + 1)) ** mpmath.mpf(-0.5)


# ---------------------------------------------------------------- composition is exact
@pytest.mark.parametrize("omega,tau", [("0", "1"), ("0.05", "1.1")])
def test_one_dense_block_reproduces_propagate_digit_for_digit(omega: str, tau: str) -> None:
    single = propagation.propagate(omega, tau, prec=128)
    net = propagate_network("dense(selu)", omega=omega, tau=tau, prec=128)
    p = single.point

    def same(a: arb | None, b: arb | None) -> bool:
        return (a is None and b is None) or (a is not None and b is not None
                                             and a.mid() == b.mid() and a.rad() == b.rad())

    assert same(p.mu_star, net.mu_star) and same(p.nu_star, net.nu_star)
    assert same(p.chi1, net.chi) and same(p.chi_mean, net.chi_mean)
    assert same(single.phase.rate, net.phase.rate) and single.phase.phase == net.phase.phase
    assert same(p.H22, net.dnu_dnu) and same(single.depth_scale_q, net.depth_scale_q)
    assert len(single.fixed_points) == len(net.fixed_points) == 2
    for f, g in zip(single.fixed_points, net.fixed_points):
        assert same(f.value, g.value) and same(f.slope, g.slope) and f.stable == g.stable
        assert same(f.depth_scale, g.depth_scale)
    assert single.complete and net.complete


def test_two_dense_blocks_square_the_single_layer() -> None:
    one = propagation.propagate(prec=96)
    two = propagate_network("2*dense(selu)", prec=96)
    assert two.chi.overlaps(one.point.chi1**2)
    zero = {float(f.value.mid()): f for f in two.fixed_points}
    assert zero[0].slope.overlaps(one.point.chi_c0**2)
    assert zero[1].slope.overlaps(one.point.chi_c1**2)


# ---------------------------------------------------------------- every block, independently
def test_alpha_dropout_between_selu_layers(selu: Selu, at_one: dict[str, mpmath.mpf]) -> None:
    """χ = χ₁²·a²q, and C(c) = c̃(a²q²·c̃(c)) with the masks of the two inputs independent:
    Cov(y_a, y_b) = a²·Cov(q x_a + (1 − q)α′, q x_b + (1 − q)α′) = a²q²·Cov(x_a, x_b)."""
    mpmath.mp.dps = 40
    q = mpmath.mpf("0.9")
    _, a = _alpha_dropout(selu, q)
    # the gradient through y = a(d x + (1 − d)α′) + b: ∂y/∂x = a·d, E[(a d)²] = a²q
    factor_grad, factor_cov = a * a * q, a * a * q * q
    r = propagate_network("dense(selu), alpha_dropout(0.1), dense(selu)", prec=PREC)
    assert _close(r.chi, at_one["second"] ** 2 * factor_grad)
    assert _close(r.c_map_at_one, selu.cmap(factor_cov, mpmath.mpf(1), slope=False)[0])
    c = mpmath.mpf("0.5")
    c1, s1 = selu.cmap(c, mpmath.mpf(1))
    c2, s2 = selu.cmap(factor_cov * c1, mpmath.mpf(1))
    value, slope = network_correlation(r, "0.5")
    assert _close(value, c2) and _close(slope, s2 * factor_cov * s1)
    assert [f.value for f in r.fixed_points] == [0] and r.complete  # c* = 1 is gone
    assert not any(f.value == 1 for f in r.fixed_points)


def test_residual_block(selu: Selu, at_one: dict[str, mpmath.mpf]) -> None:
    """residual(W, B): χ = (1 − W²) + W²·χ_B, C(c) = (1 − W²)c + W²·C_B(c) at ν = 1."""
    mpmath.mp.dps = 40
    w2 = mpmath.mpf("0.25")
    r = propagate_network("residual(0.5, dense(selu), dense(selu))", prec=PREC)
    assert _close(r.chi, (1 - w2) + w2 * at_one["second"] ** 2)
    c = mpmath.mpf("0.5")
    c1, s1 = selu.cmap(c, mpmath.mpf(1))
    c2, s2 = selu.cmap(c1, mpmath.mpf(1))
    value, slope = network_correlation(r, "0.5")
    assert _close(value, (1 - w2) * c + w2 * c2)
    assert _close(slope, (1 - w2) + w2 * s2 * s1)
    one = [f for f in r.fixed_points if f.value == 1][0]
    assert _close(one.slope, (1 - w2) + w2 * at_one["second"] ** 2)
    # the depth scale of the stable c* = 0 grows like 1/W²
    zero = [f for f in r.fixed_points if f.value == 0][0]
    b1 = (1 - w2) + w2 * (at_one["slope"] ** 2 / at_one["variance"]) ** 2
    assert _close(zero.slope, b1) and _close(zero.depth_scale, -1 / mpmath.log(b1))


@pytest.mark.parametrize("w", ["0.3", "1"])
def test_residual_chi_formula_against_the_single_layer(w: str) -> None:
    one = propagation.propagate(prec=96).point.chi1
    r = propagate_network(f"residual({w}, dense(selu))", prec=96)
    w2 = arb(w) ** 2
    assert r.chi.overlaps((1 - w2) + w2 * one)


def test_layer_norm_divides_the_gradient_by_its_input_variance(selu: Selu) -> None:
    """dense(selu, tau=1.2), layer_norm(): the layer-norm block's input has ν_d = Var selu(z),
    z ~ N(0, 1.2), and its gradient factor is 1/ν_d; it is the identity on correlations."""
    mpmath.mp.dps = 40
    v = mpmath.mpf("1.2")
    mo = selu.moments(v)
    r = propagate_network("dense(selu, tau=1.2), layer_norm()", prec=PREC)
    assert r.mu_star == 0 and r.nu_star == 1 and r.dnu_dnu == 0
    assert _close(r.blocks[1].chi, 1 / mo["variance"])
    assert _close(r.chi, v * mo["second"] / mo["variance"])
    value, slope = network_correlation(r, "0.5")
    c1, s1 = selu.cmap(mpmath.mpf("0.5"), v)
    assert _close(value, c1) and _close(slope, s1)


def test_act_block_is_the_gaussian_expectation(selu: Selu, at_one: dict[str, mpmath.mpf]) -> None:
    """act(selu) on N(0, 1): χ = E[f′(x)²], mean part E[f′(x)]² (no weights: ω = 1)."""
    r = propagate_network("act(selu)", prec=PREC)
    assert _close(r.chi, at_one["second"]) and _close(r.chi_mean, at_one["slope"] ** 2)


def test_inverted_dropout_factors() -> None:
    """y = d·x/q: ∂y/∂x = d/q, E[(d/q)²] = 1/q; Cov(y_a, y_b) = Cov(x_a, x_b)."""
    r = propagate_network("dense(selu), dropout(0.2)", prec=96)
    dense, drop = r.steps
    assert drop.block.q == pytest.approx(0.2)
    assert r.blocks[1].chi.overlaps(1 / arb("0.8"))
    assert r.chi.overlaps(dense.point.chi1 / arb("0.8"))
    assert r.blocks[1].slope_at_zero.overlaps(drop.nu / drop.nu_out)
    assert r.c_map_at_one < 1 and r.complete


def test_odd_network_keeps_minus_one() -> None:
    r = propagate_network("dense(tanh, tau=1.5)", prec=96)
    assert [float(f.value.mid()) for f in r.fixed_points] == [-1, 0, 1]


def test_collapse_and_bad_input() -> None:
    with pytest.raises(TrivialFixedPoint):
        propagate_network("dense(tanh)", prec=64)
    with pytest.raises(TrivialFixedPoint):
        propagate_network("dense(selu), act(tanh(0.5*x))", prec=64)
    with pytest.raises(InputError):
        propagate_network("dense(selu", prec=64)
    with pytest.raises(InputError):
        propagate_network("dense(selu)", prec=8)


def test_the_module_examples_run() -> None:
    import doctest

    from snn_theory.certify.propagation import network as module

    failed, tried = doctest.testmod(module)
    assert tried >= 1 and failed == 0
