"""The composed map of a network against independent 40-digit mpmath quadrature of each
block's defining expectations (integrals written here, not the project's evaluators), the
one-layer map ball for ball, and the certified fixed point."""

from __future__ import annotations

import doctest
from fractions import Fraction

import mpmath
import pytest
from flint import arb

from snn_theory.certify.network_fixed_point import network_fixed_point, network_variance_collapse
from snn_theory.derive.network import parse_network
from snn_theory.errors import InputError, TrivialFixedPoint
from snn_theory.evaluate.model import MAP_QUANTITIES, resolve
from snn_theory.evaluate.network_map import evaluate_network, network_map
from snn_theory.precision import working_precision

DPS = 40
INF = mpmath.inf


def _selu01() -> tuple[mpmath.mpf, mpmath.mpf]:
    """λ01, α01 from the paper's closed forms (Klambauer et al. 2017, eq. 14)."""
    e, c = mpmath.e, mpmath.erfc(1 / mpmath.sqrt(2))
    alpha = -mpmath.sqrt(2 / mpmath.pi) / (c * mpmath.exp(mpmath.mpf(1) / 2) - 1)
    lam = ((1 - c * mpmath.sqrt(e)) * mpmath.sqrt(2 * mpmath.pi)
           * (2 * mpmath.erfc(mpmath.sqrt(2)) * e**2 + mpmath.pi * c**2 * e
              - 2 * (2 + mpmath.pi) * c * mpmath.sqrt(e) + mpmath.pi + 2) ** (-0.5))
    return lam, alpha


def _selu(z: mpmath.mpf) -> mpmath.mpf:
    lam, alpha = _SELU01
    return lam * z if z > 0 else lam * alpha * (mpmath.exp(z) - 1)


with mpmath.workdps(DPS + 10):
    _SELU01 = _selu01()


def _gauss(h, m, v) -> mpmath.mpf:  # noqa: ANN001
    """E[h(z)], z ~ N(m, v), by quadrature split at 0 (where SELU has its kink)."""
    s = mpmath.sqrt(v)
    density = lambda z: mpmath.exp(-(z - m) ** 2 / (2 * v)) / (s * mpmath.sqrt(2 * mpmath.pi))  # noqa: E731
    return mpmath.quad(lambda z: h(z) * density(z), [-INF, 0, INF])


def _layer(f, mu, nu, omega=0, tau=1):  # noqa: ANN001, ANN202
    """Mean and variance of f(z), z ~ N(ωμ, τν), and their partials in (μ, ν) by the
    Gaussian identities ∂_m E h = E[h·(z−m)]/v, ∂_v E h = E[h·((z−m)² − v)]/(2v²)."""
    m, v = omega * mu, tau * nu
    out = {}
    for k, h in ((1, f), (2, lambda z: f(z) ** 2)):
        e = _gauss(h, m, v)
        dm = _gauss(lambda z, h=h: h(z) * (z - m), m, v) / v
        dv = _gauss(lambda z, h=h: h(z) * ((z - m) ** 2 - v), m, v) / (2 * v**2)
        out[k] = (e, omega * dm, tau * dv)
    (e1, a1, b1), (e2, a2, b2) = out[1], out[2]
    return e1, e2 - e1**2, [[a1, b1], [a2 - 2 * e1 * a1, b2 - 2 * e1 * b1]]


def _close(ball: arb, value: mpmath.mpf, tol: float = 1e-30) -> bool:
    with mpmath.workdps(DPS):
        return bool(abs(mpmath.mpf(ball.mid()) - value) <= mpmath.mpf(ball.rad()) + tol)


def _assert_map(spec: str, mu: str, nu: str, mean, variance, jac, jac_tol: float = 1e-30,  # noqa: ANN001
                **weights) -> None:
    """The network's arb map at (μ, ν) against the reference values (the Jacobian within
    ``jac_tol`` when the reference comes from finite differences)."""
    with working_precision(digits=DPS):
        g = evaluate_network(spec, mu, nu, backend="arb", **weights)
    assert _close(g.mean, mean) and _close(g.variance, variance)
    for i in range(2):
        for j in range(2):
            assert _close(g.jacobian[i][j], jac[i][j], jac_tol), (i, j)
    with mpmath.workdps(DPS):
        s = max(mpmath.svd_r(mpmath.matrix(jac), compute_uv=False))
    assert _close(g.spectral_norm, s, jac_tol)


def test_the_paper_constants_here_give_the_fixed_point() -> None:
    with mpmath.workdps(DPS):
        mean, variance, _ = _layer(_selu, 0, 1)
        assert abs(mean) < 1e-35 and abs(variance - 1) < 1e-35


@pytest.mark.parametrize(("spec", "f", "weights"), [
    ("dense(selu, omega=0.1, tau=1.2)", _selu, {}),
    ("dense(tanh)", mpmath.tanh, {"omega": "0.5", "tau": "0.9"}),
])
def test_dense_against_quadrature(spec: str, f, weights: dict) -> None:  # noqa: ANN001
    with mpmath.workdps(DPS):
        omega = mpmath.mpf(weights.get("omega", "0.1"))
        tau = mpmath.mpf(weights.get("tau", "1.2"))
        mean, variance, jac = _layer(f, mpmath.mpf("0.3"), mpmath.mpf("1.4"), omega, tau)
    _assert_map(spec, "0.3", "1.4", mean, variance, jac, **weights)


def test_act_is_the_moments_of_a_gaussian_input() -> None:
    with mpmath.workdps(DPS):
        mean, variance, jac = _layer(lambda x: mpmath.tanh(x / 2), mpmath.mpf("0.2"),
                                     mpmath.mpf("1.1"), 1, 1)
    _assert_map("act(tanh(0.5*x))", "0.2", "1.1", mean, variance, jac)


def _mixture_map(keep, alpha_prime, a, b, mu, nu):  # noqa: ANN001, ANN202
    """Mean and variance of a·(d·x + (1−d)·α′) + b, d ~ Bernoulli(keep) independent of x
    with E x = μ, E x² = ν + μ² (the mask is a two-point sum)."""
    def moment(k: int) -> mpmath.mpf:
        kept = (a * mu + b) if k == 1 else a**2 * (nu + mu**2) + 2 * a * b * mu + b**2
        return keep * kept + (1 - keep) * (a * alpha_prime + b) ** k
    m1 = moment(1)
    return m1, moment(2) - m1**2


def _jacobian_by_differences(function, mu, nu, dps: int = DPS):  # noqa: ANN001, ANN202
    """∂(function)/∂(μ, ν) by mpmath's finite differences at ``dps`` digits."""
    with mpmath.workdps(dps):
        return [[mpmath.diff(lambda x, i=i: function(x, nu)[i], mu),
                 mpmath.diff(lambda y, i=i: function(mu, y)[i], nu)] for i in range(2)]


def _moments(f, m, v):  # noqa: ANN001, ANN202
    """E f(z) and Var f(z), z ~ N(m, v), by quadrature."""
    e1 = _gauss(f, m, v)
    return e1, _gauss(lambda z: f(z) ** 2, m, v) - e1**2


def test_alpha_dropout_against_its_definition() -> None:
    with mpmath.workdps(DPS):
        lam, alpha = _selu01()
        keep, alpha_prime = 1 - mpmath.mpf("0.1"), -lam * alpha
        # a, b: mean 0 and variance 1 after dropout when the input has mean 0, variance 1
        a = 1 / mpmath.sqrt(keep + alpha_prime**2 * keep * (1 - keep))
        b = -a * (1 - keep) * alpha_prime
        assert abs(_mixture_map(keep, alpha_prime, a, b, 0, 1)[0]) < 1e-35

        def g(mu, nu):  # noqa: ANN001, ANN202
            return _mixture_map(keep, alpha_prime, a, b, mu, nu)

        mu, nu = mpmath.mpf("0.3"), mpmath.mpf("1.4")
        mean, variance = g(mu, nu)
        jac = _jacobian_by_differences(g, mu, nu)
    _assert_map("alpha_dropout(0.1)", "0.3", "1.4", mean, variance, jac)


def test_alpha_dropout_keeps_the_fixed_point() -> None:
    with working_precision(digits=DPS):
        g = evaluate_network("alpha_dropout(0.1)", 0, 1)
    assert g.mean.contains(0) and g.variance.contains(1)
    assert g.mean.rad() < 1e-35 and g.variance.rad() < 1e-35


def test_dropout_against_its_definition() -> None:
    with mpmath.workdps(DPS):
        keep = 1 - mpmath.mpf("0.2")

        def g(mu, nu):  # noqa: ANN001, ANN202
            # kept with probability q and scaled by 1/q, else 0: E y = q·μ/q, E y² = q·E x²/q²
            m1 = keep * (mu / keep)
            return m1, keep * (nu + mu**2) / keep**2 - m1**2

        mu, nu = mpmath.mpf("-0.4"), mpmath.mpf("0.7")
        mean, variance = g(mu, nu)
        jac = _jacobian_by_differences(g, mu, nu)
    _assert_map("dropout(0.2)", "-0.4", "0.7", mean, variance, jac)


def test_residual_against_independent_branch_and_input() -> None:
    """y = √(1−w²)·x + w·tanh(z), x ~ N(μ, ν) and z ~ N(ωμ, τν) independent."""
    with mpmath.workdps(DPS):
        w, omega, tau = mpmath.mpf("0.3"), mpmath.mpf("0.5"), mpmath.mpf("1.1")
        c = mpmath.sqrt(1 - w**2)

        def g(mu, nu):  # noqa: ANN001, ANN202
            # E x = μ, E x² = ν + μ²; the branch u = tanh(z) by quadrature
            ex, ex2 = mu, nu + mu**2
            eu = _gauss(mpmath.tanh, omega * mu, tau * nu)
            eu2 = _gauss(lambda z: mpmath.tanh(z) ** 2, omega * mu, tau * nu)
            m1 = c * ex + w * eu
            return m1, c**2 * ex2 + 2 * c * w * ex * eu + w**2 * eu2 - m1**2

        mu, nu = mpmath.mpf("0.25"), mpmath.mpf("1.3")
        mean, variance = g(mu, nu)
    jac = _jacobian_by_differences(g, mu, nu, dps=20)
    _assert_map("residual(0.3, dense(tanh, omega=0.5, tau=1.1))", "0.25", "1.3", mean,
                variance, jac, jac_tol=1e-14)


def test_layer_norm_pins_the_moments() -> None:
    with working_precision(digits=30):
        g = evaluate_network("dense(tanh), layer_norm()", "0.3", "2")
    assert (g.mean, g.variance) == (0, 1)
    assert all(x == 0 for row in g.jacobian for x in row) and g.spectral_norm == 0


def test_composition_is_the_chain_rule() -> None:
    """The composed Jacobian against differences of the composed quadratures."""
    with mpmath.workdps(DPS):
        def g(mu, nu):  # noqa: ANN001, ANN202
            m1, v1 = _moments(_selu, mpmath.mpf("0.2") * mu, nu)
            keep = mpmath.mpf("0.8")
            return m1, (v1 + m1**2) / keep - m1**2

        mu, nu = mpmath.mpf("0.5"), mpmath.mpf("1.2")
        mean, variance = g(mu, nu)
    jac = _jacobian_by_differences(g, mu, nu, dps=20)
    _assert_map("dense(selu), dropout(0.2)", "0.5", "1.2", mean, variance, jac, jac_tol=1e-14,
                omega="0.2")


def test_one_dense_selu_block_is_todays_map_ball_for_ball() -> None:
    model = resolve("selu")
    for point in (("0", "0", "1", "1"), ("0.1", "0.05", "1.2", "1.1")):
        mu, omega, nu, tau = point
        for backend in ("arb", "mpmath", "numpy"):
            with working_precision(digits=30):
                ref = model.evaluate(mu, omega, nu, tau, quantities=MAP_QUANTITIES,
                                     backend=backend)
                g = evaluate_network("dense(selu)", mu, nu, omega=omega, tau=tau,
                                     backend=backend)
            got = {"mean": g.mean, "variance": g.variance, "H11": g.jacobian[0][0],
                   "H12": g.jacobian[0][1], "H21": g.jacobian[1][0], "H22": g.jacobian[1][1],
                   "spectral_norm": g.spectral_norm}
            for name, value in got.items():
                if backend == "arb":
                    assert value.mid() == ref[name].mid() and value.rad() == ref[name].rad()
                else:
                    assert value == ref[name], (backend, name)


def test_the_map_over_a_box_contains_the_map_at_its_points() -> None:
    with working_precision(digits=20):
        box = evaluate_network("dense(selu), alpha_dropout(0.1)", arb("0.1", "0.01"),
                               arb("1.1", "0.01"))
        for mu, nu in (("0.09", "1.09"), ("0.11", "1.11"), ("0.1", "1.1")):
            point = evaluate_network("dense(selu), alpha_dropout(0.1)", mu, nu)
            assert box.mean.contains(point.mean) and box.variance.contains(point.variance)
            assert box.jacobian[1][1].contains(point.jacobian[1][1])


def test_mpmath_digits_are_vouched_for_by_arb() -> None:
    r = network_map("dense(selu), residual(0.4, dense(selu))", mu="0.3", nu="1.5",
                    backend="mpmath", digits=25)
    with working_precision(digits=40):
        ball = evaluate_network("dense(selu), residual(0.4, dense(selu))", "0.3", "1.5")
    with mpmath.workdps(DPS):
        assert abs(r.variance - mpmath.mpf(ball.variance.mid())) < 1e-24


def test_leaving_the_domain_is_bad_input() -> None:
    with pytest.raises(InputError, match="leaves the domain nu > 0"):
        evaluate_network("dense(selu)", "0", "0")
    with pytest.raises(InputError, match="evaluates in arb, mpmath, numpy"):
        evaluate_network("dense(selu)", "0", "1", backend="jax")
    with pytest.raises(InputError, match="SELU closed forms only"):
        evaluate_network("dense(tanh)", "0", "1", backend="numpy")


def test_the_fixed_point_of_one_layer_is_the_models() -> None:
    fp = network_fixed_point("dense(selu)", digits=25)
    with working_precision(digits=25):
        ref = resolve("selu").fixed_point(0, 1)
    assert fp.proved and fp.mean.overlaps(ref.mean) and fp.variance.overlaps(ref.variance)
    assert fp.mean.contains(0) and fp.variance.contains(1)


def test_alpha_dropout_keeps_the_certified_fixed_point_at_zero_one() -> None:
    fp = network_fixed_point("dense(selu), alpha_dropout(0.1)", digits=25)
    assert fp.proved and fp.mean.contains(0) and fp.variance.contains(1)
    assert fp.variance.rad() < 1e-20


def test_a_certified_fixed_point_is_one_of_the_independent_map() -> None:
    """dropout moves the fixed point; the quadrature map must fix the certified one."""
    fp = network_fixed_point("dense(selu, omega=0.2), dropout(0.1)", digits=30)
    with mpmath.workdps(DPS):
        mu, nu = mpmath.mpf(fp.mean.mid()), mpmath.mpf(fp.variance.mid())
        m1, v1, _ = _layer(_selu, mu, nu, mpmath.mpf("0.2"), 1)
        keep = mpmath.mpf("0.9")
        assert abs(m1 - mu) < 1e-28 and abs((v1 + m1**2) / keep - m1**2 - nu) < 1e-28
    assert nu > 1.05  # dropout's extra variance moves it off (0, 1)


def test_a_collapsing_variance_is_the_trivial_fixed_point() -> None:
    # tanh with τ = 1 has only the degenerate fixed point ν = 0, where no integral is defined
    with pytest.raises(TrivialFixedPoint, match="trivial fixed point nu\\* = 0"):
        network_fixed_point("dense(tanh)", digits=15)
    net = parse_network("dense(tanh)")
    collapse = network_variance_collapse(net, "0", "1", (Fraction(0), Fraction(1)))
    assert collapse is not None and collapse < 0.05
    # SELU's variance does not collapse: no diagnosis
    assert network_variance_collapse(parse_network("dense(selu)"), "0", "1",
                             (Fraction(0), Fraction(1)), steps=5) is None


def test_the_documented_examples_run() -> None:
    from pathlib import Path

    from snn_theory.certify import network_fixed_point as fixed_point_module
    from snn_theory.derive import network
    from snn_theory.evaluate import network_map as map_module

    docs = Path(__file__).resolve().parent.parent / "docs" / "networks.md"
    failed, tried = doctest.testfile(str(docs), module_relative=False)
    assert tried >= 5 and failed == 0
    for module in (network, map_module, fixed_point_module):
        failed, tried = doctest.testmod(module)
        assert tried >= 1 and failed == 0, module.__name__
