"""Tests of ``snn-theory simulate``): wide SELU networks in JAX against the map g.

Small CPU sizes. Finite networks deviate from the iterates of g by (a) sampling error of the
pooled statistics, of order 1/√(N·B), and (b) frozen fluctuations of the one random network
(each unit's Σ_i w_ji² x_i² fluctuates by O(1/√N) and the pooled statistic averages N of them:
O(1/N)). Tolerances below are stated as multiples of 1/√(N·B) + 1/N; the multiples were
chosen from the spread measured over a dozen seeds (quoted at each test), with margin.
JAX's 64-bit mode stays off in this process (a float64 run switches it on for its own duration
only); multi-device runs go to subprocesses.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from snn_theory.cli.simulate import parse_starts
from snn_theory.errors import InputError
from snn_theory.evaluate.moment_map import closed_form_moments as moments
from snn_theory.evaluate.moment_map import default_constants
from snn_theory.simulate.config import SimulationConfig
from snn_theory.simulate.engine import network_inputs, network_weights, simulate
from snn_theory.simulate.prediction import alpha_dropout_affine, converged_at
from snn_theory.simulate.sweeps import fit_power_law, start_grid, width_sweep

LAM01, ALPHA01 = default_constants("numpy")
BASE = SimulationConfig(width=256, depth=20, batch=256, mean0=0.5, var0=2.0, seed=0)


def _scale(c: SimulationConfig) -> float:
    return 1 / math.sqrt(c.width * c.batch) + 1 / c.width


@pytest.fixture(scope="module")
def base_result():
    return simulate(BASE)


def test_normalized_tracks_the_iterates_of_g_and_converges(base_result) -> None:
    r = base_result
    s = _scale(BASE)
    # independent prediction: iterate g ourselves through moment_map.moments
    mu, nu = 0.5, 2.0
    for k in range(1, BASE.depth + 1):
        q = moments(mu, 0.0, nu, 1.0, backend="numpy")
        mu, nu = float(q.mean), float(q.variance)
        assert r.predicted_mean[k] == pytest.approx(mu, abs=1e-12)
        assert r.predicted_variance[k] == pytest.approx(nu, rel=1e-12)
    # layer by layer (12 seeds measured: max_k |Δmean|/(√ν_k·s) ≤ 2.3, |Δvar|/(ν_k·s) ≤ 7.4)
    dm = np.abs(r.mean - r.predicted_mean) / np.sqrt(r.predicted_variance)
    dv = np.abs(r.variance - r.predicted_variance) / r.predicted_variance
    assert np.all(dm <= 6 * s), dm / s
    assert np.all(dv <= 12 * s), dv / s
    # the trajectory moves by ~1 in variance: the network really is at (0, 1) at the end
    assert r.variance[1] > 1.5
    assert abs(r.mean[-1]) < 0.05 and abs(r.variance[-1] - 1) < 0.05
    assert r.fixed_point == pytest.approx((0.0, 1.0), abs=1e-9)
    assert r.converged_at_layer is not None and 8 <= r.converged_at_layer <= 16
    assert r.omega_unit == pytest.approx((0.0, 0.0), abs=1e-5)
    assert r.tau_unit[0] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-5), ("bfloat16", 1e-3)])
def test_implicit_normalisation_equals_explicit_weights(dtype, tol) -> None:
    # the simulation never forms W: it applies w = ω/N + c(u − ū) to the matmul output.
    # Rebuild W explicitly in float64 from the same (rounded) draws u and compare.
    c = SimulationConfig(width=64, depth=1, batch=32, mean0=0.5, var0=2.0, omega=0.3, tau=1.1,
                         seed=5, dtype=dtype)
    W = network_weights(c, 0)
    np.testing.assert_allclose(W.sum(axis=1), 0.3, atol=1e-12)
    np.testing.assert_allclose((W**2).sum(axis=1), 1.1, atol=1e-12)
    x = network_inputs(c).astype(np.float64)
    z = x @ W.T
    y = LAM01 * np.where(z > 0, z, ALPHA01 * np.expm1(np.minimum(z, 0)))
    r = simulate(c)
    # (bfloat16: the layer's output is rounded to bfloat16 before its statistics are taken)
    assert r.mean[0] == pytest.approx(x.mean(), abs=1e-6)
    assert r.mean[1] == pytest.approx(y.mean(), abs=tol)
    assert r.variance[1] == pytest.approx(y.var(), rel=tol)
    assert r.mean_spread[1] == pytest.approx(y.mean(axis=0).std(), rel=10 * tol)
    assert r.variance_spread[1] == pytest.approx(y.var(axis=0).std(), rel=10 * tol)


@pytest.mark.parametrize("weights,law", [("lecun", "gaussian"), ("normalized", "uniform"),
                                         ("normalized", "bernoulli")])
def test_lecun_and_non_gaussian_inputs_converge_near_the_fixed_point(weights, law) -> None:
    c = dataclasses.replace(BASE, depth=15, batch=128, weights=weights, input_law=law, seed=1)
    r = simulate(c)
    assert abs(r.mean[-5:].mean()) < 0.05
    assert abs(r.variance[-5:].mean() - 1) < 0.08
    if weights == "lecun":
        # ω_j = Σ_i w_ji ~ N(0, 1) and τ_j = Σ_i w_ji² has std √(2/N): the spread is reported
        assert 0.8 < r.omega_unit[1] < 1.2
        assert r.tau_unit[1] == pytest.approx(math.sqrt(2 / c.width), rel=0.25)
    else:  # non-Gaussian inputs: after one layer the CLT makes g accurate already
        s = _scale(c)
        assert abs(r.variance[1] - r.predicted_variance[1]) < 12 * s * r.predicted_variance[1]


def test_alpha_dropout_affine_matches_a_monte_carlo() -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal(2_000_000)
    y = LAM01 * np.where(z > 0, z, ALPHA01 * np.expm1(np.minimum(z, 0)))
    a, b = alpha_dropout_affine(0.2, 0.0, 1.0, LAM01, ALPHA01)
    d = a * np.where(rng.random(z.size) < 0.8, y, -LAM01 * ALPHA01) + b
    assert abs(d.mean()) < 5 / math.sqrt(z.size) * 2
    assert abs(d.var() - 1) < 0.01


def test_alpha_dropout_keeps_the_fixed_point() -> None:
    c = dataclasses.replace(BASE, depth=15, mean0=0.0, var0=1.0, dropout_rate=0.2, seed=2)
    r = simulate(c)
    assert r.dropout_ab is not None and r.dropout_ab[0] < 1
    # averaged over layers 1..15 the statistics stay at (0, 1) (seeds 0..5: |avg mean| ≤ 0.01,
    # |avg var − 1| ≤ 0.02)
    assert abs(r.mean[1:].mean()) < 0.03
    assert abs(r.variance[1:].mean() - 1) < 0.05
    assert r.converged_at_layer is not None


def test_wrong_lambda_does_not_converge_to_0_1() -> None:
    c = dataclasses.replace(BASE, depth=15, mean0=0.0, var0=1.0, lam=1.2, seed=3)
    r = simulate(c)
    # g with λ = 1.2 has another attracting fixed point, near (0.228, 3.30); the network follows
    assert r.fixed_point is not None and r.fixed_point[1] > 3
    assert r.variance[-1] > 2.5 and abs(r.mean[-1]) > 0.1
    assert converged_at(r.mean, r.variance, (0.0, 1.0), 0.05) is None
    np.testing.assert_allclose(r.variance, r.predicted_variance, rtol=0.1)


def test_same_seed_identical_other_seed_differs(base_result) -> None:
    again = simulate(BASE)
    np.testing.assert_array_equal(again.mean, base_result.mean)
    np.testing.assert_array_equal(again.variance, base_result.variance)
    np.testing.assert_array_equal(again.variance_spread, base_result.variance_spread)
    # chunking of the scan does not change anything either
    chunked = simulate(dataclasses.replace(BASE, chunk=5))
    np.testing.assert_array_equal(chunked.variance, base_result.variance)
    other = simulate(dataclasses.replace(BASE, seed=1))
    assert not np.array_equal(other.variance, base_result.variance)


_DEVICE_SCRIPT = textwrap.dedent("""
    import json, sys
    from snn_theory.simulate.config import SimulationConfig
    from snn_theory.simulate.engine import simulate
    out = {}
    for dtype in ("float32", "float64"):
        r = simulate(SimulationConfig(width=128, depth=8, batch=64, mean0=0.5, var0=2.0,
                                      dropout_rate=0.1, dtype=dtype, seed=3))
        out[dtype] = {"used": r.devices["used"], "mean": r.mean.tolist(),
                      "variance": r.variance.tolist(), "spread": r.variance_spread.tolist()}
    print(json.dumps(out))
""")


def _start(count: int) -> subprocess.Popen:
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={count}",
               JAX_PLATFORMS="cpu")
    return subprocess.Popen([sys.executable, "-c", _DEVICE_SCRIPT], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


def test_one_and_four_virtual_devices_agree_and_float64_runs() -> None:
    p1, p4 = _start(1), _start(4)  # both at once: they mostly wait for the compiler
    one, four = _finish(p1), _finish(p4)
    for dtype, tol in (("float32", 1e-5), ("float64", 1e-12)):
        assert one[dtype]["used"] == 1 and four[dtype]["used"] == 4
        for key in ("mean", "variance", "spread"):
            np.testing.assert_allclose(four[dtype][key], one[dtype][key], atol=tol, rtol=tol,
                                       err_msg=f"{dtype} {key}")
    # float64 draws other random numbers (another network), but it ran and settled near (0, 1)
    assert abs(one["float64"]["variance"][-1] - 1) < 0.1


def test_fit_power_law_exact() -> None:
    x = np.array([10.0, 100.0, 1000.0])
    p, c = fit_power_law(x, 3 * x**-0.5)
    assert p == pytest.approx(-0.5, abs=1e-12) and c == pytest.approx(3, rel=1e-12)


def test_width_sweep_exponent_near_minus_half() -> None:
    # batch 8 ≪ widths: sampling error 1/√(N·B) dominates the O(1/N) frozen part, so the
    # deviation scales like N^-1/2 (base seeds 0, 10, 20, 30 gave -0.74, -0.59, -0.51, -0.57;
    # with batch ≥ width the fitted exponent moves towards -1).
    c = SimulationConfig(width=64, depth=12, batch=8, mean0=0.5, var0=2.0, seed=10)
    sweep = width_sweep(c, [64, 128, 256, 512, 1024], seeds=2)
    assert -0.85 < sweep.exponent < -0.35, sweep.deviation
    assert sweep.deviation[-1] < sweep.deviation[0]
    assert len(sweep.results) == 10


def test_start_grid_shapes_and_one_layer_map() -> None:
    mus, nus = parse_starts("mu=-1:1:3,nu=0.5:2:2")
    np.testing.assert_allclose(mus, [-1, 0, 1])
    np.testing.assert_allclose(nus, [0.5, 2])
    c = SimulationConfig(width=64, depth=3, batch=16, seed=4)
    grid = start_grid(c, mus, nus)
    assert grid.starts.shape == (6, 2) and grid.trajectories.shape == (6, 4, 2)
    np.testing.assert_array_equal(grid.next, grid.trajectories[:, 1])
    np.testing.assert_allclose(grid.predicted[:, 0], grid.starts)
    # ω = 0 and rows summing to exactly 0: the input mean cannot reach the next layer, so
    # starts differing only in μ0 give the same outputs up to float32 rounding (g does not
    # depend on μ either when ω = 0)
    np.testing.assert_allclose(grid.next[0::2], np.broadcast_to(grid.next[0], (3, 2)),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(grid.predicted_next[0::2],
                               np.broadcast_to(grid.predicted_next[0], (3, 2)), rtol=1e-12)
    assert not np.allclose(grid.next[0], grid.next[1])  # ν0 matters
    js = grid.to_json()
    assert set(js) >= {"starts", "next", "trajectories", "predicted"}


def test_float64_on_a_device_without_it_is_refused(monkeypatch) -> None:
    import jax

    from snn_theory.simulate import devices

    monkeypatch.setattr(jax, "default_backend", lambda: "tpu")
    with pytest.raises(InputError, match="float64"):
        with devices.dtype_scope("float64"):
            pass
    assert not jax.config.jax_enable_x64  # nothing was switched on in this process


# ------------------------------------------------------------------ the deviation law, outputs
def test_fit_deviation_law_recovers_its_constants() -> None:
    from snn_theory.simulate.sweeps import LAW_FACTOR, fit_deviation_law

    widths, batch = [64, 256, 1024, 4096], 32
    exact = [1.5 / math.sqrt(n * batch) + 2.5 / n for n in widths]
    law = fit_deviation_law(widths, batch, exact)
    assert law.a == pytest.approx(1.5, rel=1e-9) and law.b == pytest.approx(2.5, rel=1e-9)
    assert law.consistent is True and all(r == pytest.approx(1) for r in law.ratios)
    off = list(exact)
    off[1] *= 3 * LAW_FACTOR  # one width far off the law
    assert fit_deviation_law(widths, batch, off).consistent is False
    two = fit_deviation_law(widths[:2], batch, exact[:2])
    assert two.consistent is None and two.verdict().startswith("not tested")
# ------------------------------------------------------------------ the library's own messages
@pytest.mark.parametrize("change,fragment", [
    ({"weights": "he"}, "unknown weights mode 'he'; choose one of normalized, lecun"),
    ({"input_law": "cauchy"}, "unknown input law 'cauchy'; choose one of gaussian"),
    ({"dtype": "float16"}, "unknown dtype 'float16'; choose one of float32"),
    ({"prng": "philox"}, "unknown prng 'philox'; choose one of auto"),
    ({"weights": "lecun", "omega": 0.1}, "omega and tau apply to normalized weights only"),
    ({"width": 0}, "width must be an integer >= 1"),
])
def test_config_messages_name_fields_not_flags(change, fragment) -> None:
    with pytest.raises(InputError) as exc:
        dataclasses.replace(BASE, **change).validate()
    assert fragment in str(exc.value) and "--" not in str(exc.value)


def test_library_messages_of_runs_name_no_flags() -> None:
    from snn_theory.simulate.pairs import simulate_gradients, simulate_pairs

    tiny = SimulationConfig(width=8, depth=2, batch=2)
    cases = [(lambda: simulate(dataclasses.replace(BASE, memory_limit=1024.0)), "width"),
             (lambda: simulate_pairs(dataclasses.replace(tiny, dtype="bfloat16"), 0.5), "dtype"),
             (lambda: simulate_pairs(tiny, 1.5), "[-1, 1]"),
             (lambda: simulate_gradients(dataclasses.replace(tiny, weights="lecun")),
              "normalized weights"),
             (lambda: width_sweep(tiny, [8]), "at least two widths")]
    for run, fragment in cases:
        with pytest.raises(InputError) as exc:
            run()
        assert fragment in str(exc.value) and "--" not in str(exc.value), str(exc.value)


def test_float64_is_scoped_to_its_run() -> None:
    """A float64 configuration runs in this process, in float64, and leaves JAX's 64-bit mode
    off afterwards (float32 runs in the same process stay float32)."""
    import jax

    c = SimulationConfig(width=16, depth=2, batch=4, dtype="float64", seed=5)
    x = network_inputs(c)
    assert x.dtype == np.float64 and not jax.config.jax_enable_x64
    w = network_weights(c, 0)
    # float64 draws: the rows meet Σw = ω = 0 and Σw² = τ = 1 to float64 rounding
    assert np.max(np.abs(w.sum(axis=1))) < 1e-13 and np.max(np.abs((w**2).sum(axis=1) - 1)) < 1e-13
    assert network_inputs(dataclasses.replace(c, dtype="float32")).dtype == np.float32
    assert not jax.config.jax_enable_x64


def test_parse_starts_is_command_line_parsing() -> None:
    for bad in ("mu=1", "mu=0:1:2,nu=-1:1:2", "mu=0:1:x,nu=1", "mu=0:1:2,mu=1,nu=1"):
        with pytest.raises(InputError, match="--starts"):
            parse_starts(bad)


# ------------------------------------------------------------------ inputs the dtype cannot hold
def test_input_range_follows_the_dtype_and_the_moments_are_finite_inside_it() -> None:
    """The refused region is where the inputs' sums of squares overflow: just inside the
    bound a float32 run has finite moments equal to the input law's (a sample of
    N(mean0, var0) has mean ≈ mean0 and variance ≈ var0); twice outside it is refused."""
    from snn_theory.simulate.config import DTYPE_MAX, INPUT_SIGMAS

    width, batch = 8, 8
    limit = math.sqrt(DTYPE_MAX["float32"] / (width * batch))
    assert limit < 1.1 * math.sqrt(float(np.finfo(np.float32).max) / (width * batch))
    inside = SimulationConfig(width=width, depth=1, batch=batch, mean0=0.9 * limit,
                              var0=(0.05 * limit / INPUT_SIGMAS) ** 2)
    r = simulate(inside)
    assert np.all(np.isfinite(r.mean)) and np.all(np.isfinite(r.variance))
    assert r.mean[0] == pytest.approx(0.9 * limit, rel=0.01)
    for change in ({"mean0": 2 * limit}, {"mean0": -2 * limit}, {"var0": 1e300},
                   {"mean0": 1e300}, {"dtype": "float64", "var0": 1e306}):
        with pytest.raises(InputError, match="overflow"):
            dataclasses.replace(inside, **change).validate()


def test_a_monte_carlo_that_overflows_is_an_error_not_a_row() -> None:
    """A λ so large that the activations overflow float32 within three layers: the run
    raises NumericalFailure (the CLI's one line, exit 4) instead of returning inf/NaN."""
    from snn_theory.errors import NumericalFailure

    with pytest.raises(NumericalFailure, match="not finite from layer"):
        simulate(SimulationConfig(width=8, depth=3, batch=8, lam=1e30))


def test_the_numpy_monte_carlo_refuses_the_same_inputs() -> None:
    from snn_theory.derive import activations
    from snn_theory.simulate.activation import simulate_activation

    for mean0, var0 in ((1e300, 1.0), (0.0, 1e306)):
        with pytest.raises(InputError, match="overflow"):
            simulate_activation(activations.get("tanh"), width=8, depth=1, batch=8,
                                mean0=mean0, var0=var0)
