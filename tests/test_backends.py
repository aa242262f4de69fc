"""The four number systems against each other).

* numpy and JAX float64 (jit, x64 as a context) against 50-digit mpmath on a stress set:
  relative 1e-12 where the quantity is well conditioned, and a mixed criterion
  |float − exact| ≤ 1e-12·term_scale + 2.3e-308 everywhere (see the regions in the
  docstring of :mod:`snn_theory.evaluate.backends` and :func:`_reference.term_scale`);
* JAX float32: the measured accuracy, asserted against the documented bound;
* the JAX erfcx guard band (float64 x ∈ [26.5, 26.7], float32 x ∈ [9.1, 9.5]) against mpmath;
* hypothesis: arb box enclosures contain the 50-digit mpmath values at points inside the
  box; point balls contain them; Dual value and gradient enclosures over a box contain
  the values and sympy's partial derivatives at points inside;
* closed_form_fixed_point(backend="arb") certifies a ball that contains the 60-digit Newton solution.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from flint import arb
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_theory import working_precision
from snn_theory.derive import formulas
from snn_theory.evaluate import backends
from snn_theory.evaluate.dual import Dual
from snn_theory.evaluate.moment_map import closed_form_fixed_point, default_constants, mpf_to_arb
from tests._reference import PARTIAL_NAMES, partial_function, random_points, term_scale_function

NAMES = formulas.QUANTITIES
#: Smallest normal float64; XLA on CPU flushes subnormal results to zero.
TINY = 2.2250738585072014e-308
#: Documented bound on JAX float32's error (see backends' docstring for the measured value).
FLOAT32_BOUND = 2e-6
#: Absolute floor for float32: a factor e^{-r²} below float32's normal range (1.2e-38, XLA
#: flushes subnormals) is 0, which loses terms of size up to ~1e-36 (measured 1.5e-39).
TINY32 = 1e-30


def _float_results(backend: str, points: np.ndarray, dtype: type = np.float64) -> list[np.ndarray]:
    lam, alpha = default_constants("numpy")
    if backend == "numpy":
        return [np.asarray(r) for r in backends.evaluator("numpy", NAMES)(*points.T, lam, alpha)]
    f = jax.jit(backends.evaluator("jax", NAMES))
    out = f(*(jnp.asarray(c, dtype=dtype) for c in points.T), lam, alpha)
    assert all(o.dtype == dtype for o in out)
    return [np.asarray(o, dtype=np.float64) for o in out]


def _reference(points: np.ndarray) -> tuple[list[tuple], list[tuple]]:
    """50-digit values and term scales at the (exactly representable) float points, with the
    same float64 λ01, α01 the float backends use."""
    lam_f, alpha_f = default_constants("numpy")
    with working_precision(digits=50):
        lam, alpha = mpmath.mpf(lam_f), mpmath.mpf(alpha_f)
        f = backends.evaluator("mpmath", NAMES)
        scale = term_scale_function(NAMES)
        values, scales = [], []
        for row in points:
            x = [mpmath.mpf(float(c)) for c in row]
            values.append(f(*x, lam, alpha))
            scales.append(scale(*x, lam, alpha))
    return values, scales


@pytest.fixture(scope="module")
def stress() -> tuple[np.ndarray, list[tuple], list[tuple]]:
    """150 points with ν·τ ∈ [1e-6, 1e3], |μω| ≤ 10 (corners included), fixed seed."""
    points = np.array([[float(c) for c in p] for p in random_points(seed=7, count=150)])
    # rounded to float32 so that the float32 test evaluates at the very same points
    points = points.astype(np.float32).astype(np.float64)
    values, scales = _reference(points)
    return points, values, scales


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_float64_backends_agree_with_mpmath(backend: str, stress: tuple) -> None:
    points, values, scales = stress
    with jax.enable_x64(True):
        results = _float_results(backend, points)
    for k, name in enumerate(NAMES):
        well = 0
        for i in range(len(points)):
            exact, scale = values[i][k], scales[i][k]
            err = abs(mpmath.mpf(float(results[k][i])) - exact)
            # everywhere: the mixed criterion
            assert err <= 1e-12 * scale + TINY, (backend, name, points[i], err, scale)
            # where the quantity is well conditioned and representable: relative 1e-12
            if scale <= 10 * abs(exact) and abs(exact) >= TINY:
                assert err <= 1e-12 * abs(exact), (backend, name, points[i], err / abs(exact))
                well += 1
        assert well >= 5, (name, well)  # not vacuous (H21 is well conditioned at 9 points)


def test_jax_float32_accuracy(stress: tuple) -> None:
    """Measured, not loosely asserted: the largest error of JAX float32 relative to the term
    scale over the stress set, and relative error where well conditioned."""
    points, values32, scales32 = stress  # the stress points are float32 numbers
    results = _float_results("jax", points.astype(np.float32), dtype=np.float32)
    worst_mixed = worst_rel = 0.0
    tiny32 = TINY32
    for k in range(len(NAMES)):
        for i in range(len(points)):
            exact, scale = values32[i][k], scales32[i][k]
            err = abs(mpmath.mpf(float(results[k][i])) - exact)
            worst_mixed = max(worst_mixed, float(err / (scale + tiny32)))
            if scale <= 10 * abs(exact) and abs(exact) >= tiny32:
                worst_rel = max(worst_rel, float(err / abs(exact)))
    print(f"JAX float32: max error/term_scale {worst_mixed:.2e}, "
          f"max relative error where well conditioned {worst_rel:.2e}")
    assert worst_mixed <= FLOAT32_BOUND
    assert worst_rel <= FLOAT32_BOUND


@pytest.mark.parametrize(("dtype", "lo", "hi", "tol"),
                         [(np.float64, 26.5, 26.7, 1e-14), (np.float32, 9.1, 9.5, 2e-6)])
def test_jax_erfcx_guard_band(dtype: type, lo: float, hi: float, tol: float) -> None:
    """jax.scipy.special.erfcx returns 0 in these bands (docs/mathematics.md §5); the guarded version is
    accurate there, and so is its gradient."""
    x = np.linspace(lo, hi, 81).astype(dtype)
    with jax.enable_x64(dtype == np.float64):
        guarded = np.asarray(jax.jit(backends.jax_erfcx)(jnp.asarray(x)), dtype=np.float64)
        grad = jax.jit(jax.vmap(jax.grad(backends.jax_erfcx)))(jnp.asarray(x))
        grad = np.asarray(grad, dtype=np.float64)
    with mpmath.workdps(30):
        for xi, g, dg in zip(x, guarded, grad, strict=True):
            t = mpmath.mpf(float(xi))
            exact = backends.mp_erfcx(t)
            assert abs(g - exact) <= tol * exact, (xi, g, exact)
            d_exact = 2 * t * exact - 2 / mpmath.sqrt(mpmath.pi)  # erfcx' = 2x·erfcx − 2/√π
            assert abs(dg - d_exact) <= 1e3 * tol * abs(d_exact), (xi, dg, d_exact)


# ------------------------------------------------------------------ hypothesis: arb and Dual
def _boxes() -> st.SearchStrategy:
    mids = st.tuples(st.floats(-2, 2), st.floats(-2, 2), st.floats(0.05, 10), st.floats(0.2, 3))
    rel = st.tuples(*(st.sampled_from([0.0, 1e-12, 1e-6]) | st.floats(0, 0.05)
                      for _ in range(4)))
    where = st.tuples(*(st.floats(-1, 1) for _ in range(4)))
    return st.tuples(mids, rel, where)


def _box_and_point(box: tuple) -> tuple[list[arb], list[mpmath.mpf]]:
    """Balls [mid ± rad] (rad < mid for ν, τ) and an exact point inside them."""
    mids, rel, where = box
    balls, point = [], []
    for mid, r, t in zip(mids, rel, where, strict=True):
        rad = abs(mid) * r
        balls.append(arb(mid, rad))
        with mpmath.workprec(200):  # exact: a sum of products of doubles
            point.append(mpmath.mpf(mid) + mpmath.mpf(t) * mpmath.mpf(rad))
    return balls, point


def _mp_values(point: list[mpmath.mpf], names: tuple[str, ...]) -> tuple:
    with working_precision(digits=50):
        lam, alpha = backends.constants_function("mpmath")()
        return backends.evaluator("mpmath", names)(*point, lam, alpha)


@settings(max_examples=50, deadline=None)
@given(_boxes())
def test_arb_box_enclosures_contain_mpmath_values(box: tuple) -> None:
    balls, point = _box_and_point(box)
    with working_precision(digits=30):
        assert all(b.contains(mpf_to_arb(p)) for b, p in zip(balls, point, strict=True))
        lam, alpha = backends.constants_function("arb")()
        enclosures = backends.evaluator("arb", NAMES)(*balls, lam, alpha)
        exact = _mp_values(point, NAMES)
        narrow = max(float(b.rad()) for b in balls) < 1e-5
        for name, enclosure, value in zip(NAMES, enclosures, exact, strict=True):
            assert enclosure.contains(mpf_to_arb(value)), (name, enclosure, value)
            if narrow:
                assert enclosure.is_finite(), (name, enclosure)


@settings(max_examples=50, deadline=None)
@given(st.tuples(st.floats(-4, 4), st.floats(-3, 3), st.floats(1e-4, 100), st.floats(0.05, 5)))
def test_arb_point_balls_contain_50_digit_value(point: tuple) -> None:
    with working_precision(digits=30):
        lam, alpha = backends.constants_function("arb")()
        balls = backends.evaluator("arb", NAMES)(*(arb(x) for x in point), lam, alpha)
        exact = _mp_values([mpmath.mpf(x) for x in point], NAMES)
        for name, ball, value in zip(NAMES, balls, exact, strict=True):
            assert ball.is_finite() and ball.contains(mpf_to_arb(value)), (name, ball, value)


@settings(max_examples=30, deadline=None)
@given(_boxes())
def test_dual_box_enclosures_contain_values_and_sympy_partials(box: tuple) -> None:
    balls, point = _box_and_point(box)
    with working_precision(digits=50):
        lam_mp, alpha_mp = backends.constants_function("mpmath")()
        partials = partial_function(PARTIAL_NAMES)(*point, lam_mp, alpha_mp)
    exact = _mp_values(point, PARTIAL_NAMES)
    with working_precision(digits=30):
        lam, alpha = backends.constants_function("arb")()
        duals = backends.evaluator("dual", PARTIAL_NAMES)(*Dual.variables(balls), lam, alpha)
        for i, (name, d) in enumerate(zip(PARTIAL_NAMES, duals, strict=True)):
            assert d.value.contains(mpf_to_arb(exact[i])), (name, d.value, exact[i])
            for j in range(4):
                ref = partials[4 * i + j]
                assert d.grad[j].contains(mpf_to_arb(ref)), (name, j, d.grad[j], ref)


@pytest.mark.parametrize(("omega", "tau"), [("0", "1"), ("0.05", "1.1"), ("-0.1", "0.95"),
                                             ("0.1", "1.25")])
def test_certified_fixed_point_contains_high_precision_newton(omega: str, tau: str) -> None:
    with working_precision(digits=60):
        mu_star, nu_star = closed_form_fixed_point(omega, tau, backend="mpmath")
    with working_precision(digits=30):
        ball_mu, ball_nu = closed_form_fixed_point(omega, tau, backend="arb")
        assert ball_mu.contains(mpf_to_arb(mu_star)), (ball_mu, mu_star)
        assert ball_nu.contains(mpf_to_arb(nu_star)), (ball_nu, nu_star)
        assert ball_mu.rad() < 1e-20 and ball_nu.rad() < 1e-20
    assert math.isfinite(float(ball_nu.mid())) and float(ball_nu.mid()) > 0
