"""The Python API as a notebook uses it: activations by name, precision as an argument,
keyword-only points, typed results, a clean ``dir``, and the documented examples.

Each test here failed before the API took activations by name and precisions as arguments
(AttributeError, TypeError, or a refusal), and each checks its numbers independently
(mpmath quadrature, or a second path through the library)."""

from __future__ import annotations

import doctest
from pathlib import Path

import mpmath
import numpy as np
import pytest

import snn_theory as snn
from snn_theory.errors import InputError
from snn_theory.evaluate.moment_map import arb_to_mpf
from tests._reference import quad_moments

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _close(ball, ref: mpmath.mpf, slack: float) -> bool:
    return abs(arb_to_mpf(ball.mid()) - ref) <= arb_to_mpf(ball.rad()) + slack


def _gaussian(f, k: int = 1, m: float | str = 0, v: float | str = 1) -> mpmath.mpf:
    """E[f(x)^k], x ~ N(m, v), by mpmath quadrature at the current precision."""
    m, s = mpmath.mpf(m), mpmath.sqrt(mpmath.mpf(v))
    return mpmath.quad(lambda t: f(m + s * t) ** k * mpmath.npdf(t), [-20, 0, 20])


def test_certified_gains_takes_a_name_and_digits() -> None:
    result = snn.certified_gains("gelu", digits=30)
    with mpmath.workdps(40):
        def gelu(x):
            return x * (1 + mpmath.erf(x / mpmath.sqrt(2))) / 2
        ref = 1 / mpmath.sqrt(_gaussian(gelu, 2) - _gaussian(gelu) ** 2)
        assert _close(result.variance_gain, ref, 1e-35)
    assert result.variance_gain.rad() < 1e-28 and result.bits >= 100
    assert "1.70092624336333311946865845" in repr(result)  # the digits computed


def test_propagate_takes_a_name() -> None:
    result = snn.propagate(omega=0, tau=2, prec=64, activation="tanh")
    p = result.point
    with mpmath.workdps(25):
        nu = arb_to_mpf(p.nu_star.mid())
        sd = mpmath.sqrt(2 * nu)
        # ν* is the fixed point of ν ↦ E[tanh(z)²], z ~ N(0, 2ν); χ₁ = 2·E[sech⁴(z)]
        assert abs(_gaussian(lambda x: mpmath.tanh(sd * x), 2) - nu) < 1e-15
        chi1 = 2 * _gaussian(lambda x: mpmath.sech(sd * x) ** 4)
        assert _close(p.chi1, chi1, 1e-15)


def test_solve_constants_takes_an_activation() -> None:
    result = snn.solve_constants(activation="tanh", digits=20)
    with mpmath.workdps(30):
        c = 1 / mpmath.sqrt(_gaussian(mpmath.tanh, 2))
        assert result.certified and _close(result.scale, c, 1e-25)
    assert result.shift.contains(0) and result.scale.rad() < 1e-20
    assert "1.5925374197228314277704" in repr(result)  # the digits computed
    with pytest.raises(InputError, match="alpha dropout for SELU"):
        snn.solve_constants(activation="tanh", dropout_rates=("0.1",))


def test_a_simulation_config_with_an_activation_runs() -> None:
    from snn_theory.simulate import activation as numpy_mc

    config = snn.SimulationConfig(width=48, depth=3, batch=8, activation="tanh", tau=2.0,
                                  seed=3)
    result = snn.run_simulation(config)
    direct = numpy_mc.simulate_activation(snn.get_activation("tanh"), width=48, depth=3,
                                          batch=8, tau=2.0, seed=3)
    assert isinstance(result, snn.ActivationSimulation)
    np.testing.assert_array_equal(result.variance, direct.variance)
    # the predicted variances are the model's iterates of g
    trajectory = snn.resolve_model("tanh").iterate(0.0, 0.0, 1.0, 2.0, steps=3)
    np.testing.assert_allclose(result.predicted_variance,
                               [float(v.mid()) for _, v in trajectory], rtol=1e-12)
    with pytest.raises(InputError, match="lam and alpha are SELU's parameters"):
        snn.run_simulation(snn.SimulationConfig(width=8, depth=1, batch=1,
                                                activation="tanh", lam=1.0))
    with pytest.raises(InputError, match="dropout_rate is not supported"):
        snn.run_simulation(snn.SimulationConfig(width=8, depth=1, batch=1,
                                                activation="tanh", dropout_rate=0.1))


def test_the_precision_is_an_argument() -> None:
    """40 correct digits without a working_precision block (the default was 53 bits)."""
    m = snn.moments(mu="0.25", omega="0.5", nu="1.5", tau="0.75", digits=40)
    with mpmath.workdps(50):
        lam, alpha = (mpmath.mpf(x) for x in ("1.0507009873554804934193349852946",
                                               "1.6732632423543772848170429916717"))
        # λ01, α01 to 32 digits: compare at 28 digits of the closed-form constants
        mean, second = quad_moments(mpmath.mpf("0.125"), mpmath.mpf("1.125"), lam, alpha)
        assert abs(m.mean - mean) < 1e-28 * abs(mean)
        assert abs(m.variance - (second - mean**2)) < 1e-28
    assert m.bits > 53 and "40 digits" in repr(m)
    with pytest.raises(InputError, match="digits"):
        snn.moments(mu="0", nu="1", digits=0)


def test_points_are_keyword_only() -> None:
    """(μ, ω, ν, τ) cannot be swapped by position any more."""
    for call in (lambda: snn.moments("0", "0", "1", "1"),
                 lambda: snn.jacobian("0", "0", "1", "1"),
                 lambda: snn.evaluate_map("0", "0", "1", "1"),
                 lambda: snn.spectral_norm("0", "0", "1", "1"),
                 lambda: snn.iterate("0", "0", "1", "1"),
                 lambda: snn.fixed_point(0, 1)):
        with pytest.raises(TypeError):
            call()


def test_every_point_function_takes_an_activation_by_name() -> None:
    tanh = snn.resolve_model("tanh")
    m = snn.moments(mu="0.2", nu="0.9", tau="2", activation="tanh", backend="arb", digits=20)
    with snn.working_precision(digits=20):
        direct = tanh.evaluate("0.2", "0", "0.9", "2", backend="arb")
    assert m.variance.overlaps(direct["variance"])
    fp = snn.fixed_point(tau="2", activation="tanh", digits=20)
    point = snn.propagate(omega=0, tau=2, prec=64, activation=tanh).point
    assert fp.proved and fp.variance.overlaps(point.nu_star)
    j = snn.jacobian(mu="0.2", nu="0.9", tau="2", activation="tanh", digits=15)
    s = snn.spectral_norm(mu="0.2", nu="0.9", tau="2", activation="tanh", digits=15)
    assert j.spectral_norm == s.spectral_norm > 0 and "tanh" in repr(j)
    walk = snn.iterate(mu="0.2", nu="0.9", tau="2", steps=2, activation="tanh", digits=15)
    with snn.working_precision(digits=15):
        first = tanh.evaluate("0.2", "0", "0.9", "2", quantities=("mean", "variance"),
                              backend="mpmath")
    assert len(walk.trajectory) == 3
    assert abs(walk.trajectory[1][1] - first["variance"]) < 1e-14
    assert abs(walk.trajectory[1][0] - first["mean"]) < 1e-14


def test_a_paving_spec_takes_an_activation_by_name() -> None:
    from fractions import Fraction

    unit = (Fraction(0), Fraction(1))
    spec = snn.PavingSpec(mu=unit, nu=(Fraction(1, 2), Fraction(1)), omega=unit,
                          tau=(Fraction(1, 2), Fraction(2)), activation="tanh")
    assert spec.activation == snn.get_activation("tanh")
    assert snn.PavingSpec(mu=unit, nu=(Fraction(1, 2), Fraction(1)), omega=unit,
                          tau=(Fraction(1, 2), Fraction(2)),
                          activation="selu").activation is None  # the closed forms


def test_dir_shows_the_api_only() -> None:
    names = dir(snn)
    assert not {"Any", "annotations", "importlib"} & set(names)
    assert {"MomentModel", "resolve_model", "moments"} <= set(names)


def test_the_notebook_examples_run() -> None:
    failed, tried = doctest.testfile(str(DOCS / "python-api.md"), module_relative=False)
    assert tried >= 10 and failed == 0


def test_the_model_docstrings_run() -> None:
    from snn_theory.certify import constants, gains
    from snn_theory.evaluate import model, point

    for module in (model, point, gains, constants, snn):
        failed, tried = doctest.testmod(module)
        assert tried > 0 and failed == 0, module.__name__
