"""Tests of the Monte Carlo of whole networks (simulate/network_run.py, network_gradients.py).

Small CPU sizes (width 128, batch 64, 6 applications, 2 networks).  The error law is the
module's: s = 1/√(N·B·S) + 1/N per application, carried through the map's Jacobian, K = 5.
Measured at these sizes over 12 disjoint pairs of seeds (start (0.5, 2)): the worst ratio per
run was ≤ 1.43 for every block type below (median ≤ 0.85); at width 64, batch 32, 30
applications, one network: ≤ 3.33.  The mutants (a mask omitted, the residual weights
swapped, the normalisation omitted) are compared with the same Monte Carlo and must fail the
law: the law has the power to see those mistakes.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from flint import arb

from snn_theory.derive.network import parse_network
from snn_theory.errors import InputError
from snn_theory.evaluate.moment_map import closed_form_moments
from snn_theory.simulate.config import SimulationConfig
from snn_theory.simulate.network_run import (
    ERROR_MULTIPLE,
    Iterate,
    NetworkSampler,
    NetworkSimulationConfig,
    certified_iterates,
    compare,
    error_scales,
    network_constants,
    simulate_network,
)

CONFIG = NetworkSimulationConfig(width=128, depth=6, batch=64, seeds=2, mean0="0.5", var0="2")
RESIDUAL_CONFIG = NetworkSimulationConfig(width=128, depth=6, batch=64, seeds=2, mean0="1",
                                          var0="1")
SPECS = {
    "dense": ("dense(selu)", CONFIG),
    # act after a linear dense block: its input is Gaussian, so the map is exact
    "act": ("dense(x), act(tanh)", CONFIG),
    "alpha_dropout": ("dense(selu), alpha_dropout(0.1)", CONFIG),
    "dropout": ("dense(selu), dropout(0.2)", CONFIG),
    # 0.28² + 0.96² = 1: the swapped block is residual(0.96, …)
    "residual": ("residual(0.28, dense(selu))", RESIDUAL_CONFIG),
    "layer_norm": ("dense(selu), layer_norm()", CONFIG),
}


@pytest.fixture(scope="module")
def runs():
    return {name: simulate_network(spec, config) for name, (spec, config) in SPECS.items()}


@pytest.mark.parametrize("name", list(SPECS))
def test_each_block_agrees_with_the_certified_iterates(runs, name: str) -> None:
    r = runs[name]
    assert len(r.steps) == CONFIG.depth + 1
    assert r.agrees, [(s.mean_ratio, s.variance_ratio) for s in r.steps]
    assert r.worst_ratio <= ERROR_MULTIPLE
    assert r.closure is (name == "act")
    # the seeds' standard errors are of the order of the law's fresh scale s·√ν, not far
    # below it (the law is not vacuous) nor far above it
    for st in r.steps[1:]:
        assert st.variance_se is not None
        assert st.variance_se <= 5 * st.variance_scale


def _mutant(r, spec: str, config: NetworkSimulationConfig):
    ex = config.exact()
    its = certified_iterates(parse_network(spec), ex["mean0"], ex["var0"], ex["omega"],
                             ex["tau"], config.depth)
    return compare(r.network, config, r.per_seed, its, network_constants(r.network), 0, "")


def test_the_law_sees_an_omitted_mask_swapped_weights_and_an_omitted_normalisation(runs) -> None:
    (_, a, b), = network_constants(parse_network("alpha_dropout(0.1)")).alpha_dropout.values()
    mutants = {
        "dropout": "dense(selu)",  # the inverted-dropout mask omitted
        # the alpha-dropout mask omitted, its affine map kept (exact for an affine act)
        "alpha_dropout": f"dense(selu), act({a!r}*x + {b!r})",
        "residual": "residual(0.96, dense(selu))",  # √(1−W²) and W swapped
        "layer_norm": "dense(selu)",  # the normalisation omitted
    }
    for name, spec in mutants.items():
        m = _mutant(runs[name], spec, SPECS[name][1])
        assert not m.agrees, name
        assert m.worst_ratio > 1.5 * ERROR_MULTIPLE, (name, m.worst_ratio)


def test_one_dense_selu_block_draws_what_the_single_layer_simulation_draws() -> None:
    from snn_theory.simulate.engine import simulate

    for rate, spec in ((0.0, "dense(selu)"), (0.1, "dense(selu), alpha_dropout(0.1)")):
        net = simulate_network(spec, NetworkSimulationConfig(width=64, depth=4, batch=32,
                                                             seed=3, mean0="0.5", var0="2"))
        one = simulate(SimulationConfig(width=64, depth=4, batch=32, seed=3, mean0=0.5,
                                        var0=2.0, dropout_rate=rate))
        # the same weights, masks and inputs; the alpha-dropout a, b agree to float64
        # rounding (float fixed point there, certified balls here), float32 arithmetic
        np.testing.assert_allclose(net.per_seed[0, :, 0], one.mean, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(net.per_seed[0, :, 1], one.variance, rtol=1e-6)


def test_certified_iterates_contain_the_closed_form_iterates() -> None:
    # dense(selu) then inverted dropout, composed here from SELU's closed forms and the
    # mask's two-point law: mean μ, variance (ν + μ²)/q − μ²
    its = certified_iterates(parse_network("dense(selu), dropout(0.2)"), Fraction(1, 2),
                             Fraction(2), Fraction(0), Fraction(1), 5)
    mu, nu = 0.5, 2.0
    for it in its[1:]:
        q = closed_form_moments(mu, 0.0, nu, 1.0, backend="numpy")
        m, v = float(q.mean), float(q.variance)
        mu, nu = m, (v + m * m) / 0.8 - m * m
        assert abs(float(it.mu.mid()) - mu) < 1e-12 and abs(float(it.nu.mid()) - nu) < 1e-12
        assert float(it.mu.rad()) < 1e-15 and float(it.nu.rad()) < 1e-15


def test_error_scales_carry_the_earlier_errors_through_the_jacobian() -> None:
    one, zero = arb(1), arb(0)
    ident = ((one, zero), (zero, one))
    nothing = ((zero, zero), (zero, zero))
    its = [Iterate(zero, arb(4))] + [Iterate(zero, arb(4), ident)] * 3
    # the identity map: the errors add up
    np.testing.assert_allclose(error_scales(its, 0.1), [(0.2 * k, 0.4 * k) for k in range(1, 5)])
    its = [Iterate(zero, arb(4))] + [Iterate(zero, arb(1), nothing)] * 2
    # a map that forgets its input (layer_norm): only the fresh error
    np.testing.assert_allclose(error_scales(its, 0.1), [(0.2, 0.4), (0.1, 0.1), (0.1, 0.1)])


def _apply(spec: str, x: np.ndarray) -> np.ndarray:
    import jax

    net = parse_network(spec)
    sampler = NetworkSampler(net, x.shape[1], Fraction(0), Fraction(1), "float32",
                             network_constants(net))
    key = jax.random.key(7)
    return np.asarray(sampler.apply(x, jax.random.fold_in(key, 1), jax.random.fold_in(key, 2),
                                    0), dtype=np.float64)


def test_the_sampled_blocks_are_the_operations_of_the_description() -> None:
    rng = np.random.default_rng(0)
    x = (0.3 + 1.5 * rng.standard_normal((64, 100))).astype(np.float32)
    # residual: √(1 − W²)·x + W·branch(x) with the branch's own weights (same keys, slot 0)
    branch = _apply("dense(selu)", x)
    np.testing.assert_allclose(_apply("residual(0.28, dense(selu))", x),
                               0.96 * x + 0.28 * branch, rtol=1e-5, atol=1e-5)
    # layer norm: every sample has mean 0 and variance 1 over its units
    y = _apply("layer_norm()", x)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-6)
    np.testing.assert_allclose(y.var(axis=1), 1, rtol=1e-5)
    # inverted dropout: entries are 0 or x/0.8; about a fifth are dropped
    y = _apply("dropout(0.2)", x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.8, rtol=1e-6)
    frac = 1 - kept.mean()
    assert abs(frac - 0.2) < 5 * math.sqrt(0.2 * 0.8 / x.size)
    # alpha dropout: a·x + b where kept, a·α′ + b where dropped
    (alpha_p, a, b), = network_constants(parse_network("alpha_dropout(0.1)")).alpha_dropout.values()
    y = _apply("alpha_dropout(0.1)", x)
    dropped = np.isclose(y, a * alpha_p + b, rtol=0, atol=1e-6)
    np.testing.assert_allclose(y[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-6)
    assert abs(dropped.mean() - 0.1) < 5 * math.sqrt(0.1 * 0.9 / x.size)
    # the certified a, b keep (0, 1): a²(q(1−q)α′² + q) = 1 and a(1−q)α′ + b = 0
    assert a * a * (0.9 * 0.1 * alpha_p**2 + 0.9) == pytest.approx(1, abs=1e-14)
    assert a * 0.1 * alpha_p + b == pytest.approx(0, abs=1e-14)


def test_gradient_growth_per_application() -> None:
    from snn_theory.simulate.network_gradients import simulate_network_gradients
    from snn_theory.simulate.pairs import simulate_gradients

    config = NetworkSimulationConfig(width=128, depth=6, batch=64, seeds=2)
    one = simulate_gradients(SimulationConfig(width=128, depth=6, batch=64))
    net = simulate_network_gradients("dense(selu)", NetworkSimulationConfig(
        width=128, depth=6, batch=64))
    # one dense(selu): the same network, inputs and cotangent as the single-layer run
    np.testing.assert_allclose(net.log_norm, one.log_norm, atol=1e-4)
    chi1 = one.chi1  # SELU's closed form at (0, 1)
    tol = 4 * (1 / math.sqrt(128 * 64 * 2) + 1 / 128)
    (_, a, _), = network_constants(parse_network("alpha_dropout(0.1)")).alpha_dropout.values()
    assert net.chi.contains(arb(chi1)) or abs(float(net.chi.mid()) - chi1) < 1e-12
    for spec, chi in (("dense(selu), alpha_dropout(0.1)", chi1 * a * a * 0.9),
                      ("residual(0.5, dense(selu))", 0.75 + 0.25 * chi1)):
        r = simulate_network_gradients(spec, config)
        assert r.fixed_point == pytest.approx((0, 1), abs=1e-12)
        # the certified χ the run is compared with is the product of the block factors
        assert r.predicted_rate == pytest.approx(chi, rel=1e-12)
        assert abs(math.log(r.rate) - math.log(chi)) < tol, (spec, r.rate, chi)
        assert np.max(np.abs(r.log_norm - r.predicted)) < 6 * tol


def test_floats_are_read_as_the_decimals_they_print_as() -> None:
    config = NetworkSimulationConfig(width=8, depth=1, batch=4, mean0=np.float64(0.1),
                                     var0=2.5, tau=1.1)
    assert config.exact() == {"mean0": Fraction(1, 10), "var0": Fraction(5, 2),
                              "omega": Fraction(0), "tau": Fraction(11, 10)}


def test_bad_input_is_refused_with_one_line() -> None:
    bad = [dict(width=1), dict(depth=0), dict(seeds=0), dict(seed=-1), dict(dtype="bfloat16"),
           dict(var0="0"), dict(mean0=float("nan")), dict(tau="-1"), dict(prng="nope")]
    for extra in bad:
        config = NetworkSimulationConfig(**{"width": 8, "depth": 1, "batch": 4, **extra})
        with pytest.raises(InputError) as info:
            simulate_network("dense(selu)", config)
        assert "\n" not in str(info.value)
    with pytest.raises(InputError, match="omega\\^2/width"):
        simulate_network("dense(selu, omega=2, tau=1/10)",
                         NetworkSimulationConfig(width=8, depth=1, batch=4))


def test_iterates_whose_balls_grow_too_wide_are_a_numerical_failure_not_bad_input() -> None:
    # from nu = 1e30 the map's variance stays > 0 (about 0.55e30 and on), but at 64 bits the
    # closed forms' cancellations widen the ball until it contains 0: that is no proof that
    # the map leaves nu > 0, and the input was valid
    from snn_theory.errors import NumericalFailure
    from snn_theory.simulate.network_run import certified_iterates

    with pytest.raises(NumericalFailure, match="not proven > 0") as info:
        certified_iterates(parse_network("dense(selu)"), Fraction(0), Fraction(10) ** 30,
                           Fraction(0), Fraction(1), 3)
    assert "leaves" not in str(info.value)
