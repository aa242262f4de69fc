"""The one Newton loop for the fixed point of g (moment_map.newton_fixed_point) and the one
argument order (mu, omega, nu, tau) of the moment map's iterates.

References are independent: the fixed point is checked by evaluating g at 40 digits (it must
map the point to itself), the iterates by composing ``moments`` by hand.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from snn_theory.derive import activations
from snn_theory.errors import NumericalFailure
from snn_theory.evaluate import activation_map
from snn_theory.evaluate.moment_map import (
    closed_form_fixed_point,
    closed_form_quantities,
    closed_form_trajectory,
    newton_fixed_point,
)
from snn_theory.evaluate.moment_map import closed_form_moments as moments
from snn_theory.precision import working_precision


def _residual(mu: float, omega: float, nu: float, tau: float) -> float:
    """|g(μ, ν) − (μ, ν)| at 40 digits."""
    with mpmath.workdps(40):
        q = closed_form_quantities(mpmath.mpf(mu), mpmath.mpf(omega), mpmath.mpf(nu), mpmath.mpf(tau),
                                   quantities=("mean", "variance"))
        return float(abs(q["mean"] - mpmath.mpf(mu)) + abs(q["variance"] - mpmath.mpf(nu)))


def test_vectorised_newton_finds_fixed_points_of_g() -> None:
    omega = np.array([-0.1, 0.0, 0.05, 0.1, 0.3])
    tau = np.array([0.95, 1.0, 1.05, 1.1, 1.3])
    r = newton_fixed_point(omega, tau, backend="numpy")
    assert r.converged.all()
    for k in range(len(omega)):
        assert _residual(r.mu[k], omega[k], r.nu[k], tau[k]) < 1e-13
        # the scalar path of the same loop (mpmath) agrees
        with mpmath.workdps(30):
            m, v = closed_form_fixed_point(mpmath.mpf(omega[k]), mpmath.mpf(tau[k]), backend="mpmath")
        assert abs(float(m) - r.mu[k]) < 1e-13 and abs(float(v) - r.nu[k]) < 1e-13
        # and so does the scalar float64 path (the simulator's), also where H − I is
        # ill-conditioned enough that the steps stall above 1e-15 (ω = −0.1, τ = 0.95)
        m, v = closed_form_fixed_point(omega[k], tau[k], backend="numpy")
        assert abs(float(m) - r.mu[k]) < 1e-13 and abs(float(v) - r.nu[k]) < 1e-13


def test_vectorised_newton_marks_entries_without_a_fixed_point() -> None:
    # (2.5, 5.5): Newton from (0, 1) leaves ν > 0 (the independent check in test_plots)
    r = newton_fixed_point(np.array([0.0, 2.5]), np.array([1.0, 5.5]), backend="numpy")
    assert r.converged.tolist() == [True, False]
    assert np.isnan(r.mu[1]) and np.isnan(r.nu[1]) and np.isfinite(r.mu[0])


@pytest.mark.parametrize("backend", ["mpmath", "numpy"])
def test_fixed_point_raises_when_newton_does_not_converge(backend: str) -> None:
    # two steps from a far start are not enough: the last iterate is no fixed point, and it
    # must not be returned as one
    start = (1.5, 4.0)
    r = newton_fixed_point(0.0, 1.0, backend=backend, start=start, max_iterations=2)
    assert not r.converged
    if backend == "numpy":  # unconverged entries are blanked
        assert np.isnan(r.mu) and np.isnan(r.nu)
    else:
        assert _residual(float(r.mu), 0.0, float(r.nu), 1.0) > 1e-6
    with pytest.raises(NumericalFailure, match="did not converge in 2 steps"):
        closed_form_fixed_point(0.0, 1.0, backend=backend, start=start, max_iterations=2)
    # with enough steps the same start converges to a point g maps to itself
    m, v = closed_form_fixed_point(0.0, 1.0, backend=backend, start=start)
    assert _residual(float(m), 0.0, float(v), 1.0) < 1e-13


@pytest.mark.parametrize("backend", ["mpmath", "numpy"])
def test_fixed_point_raises_when_newton_leaves_the_domain(backend: str) -> None:
    with pytest.raises(NumericalFailure, match="left the domain"):
        closed_form_fixed_point("2.5", "5.5", backend=backend)


def test_certified_fixed_point_without_a_newton_start_is_not_certified() -> None:
    with working_precision(bits=64):
        with pytest.raises(ArithmeticError, match="could not be certified"):
            closed_form_fixed_point("2.5", "5.5", backend="arb")
        with pytest.raises(ArithmeticError, match="could not be certified"):
            closed_form_fixed_point("0", "1", backend="arb", start=(1.5, 4.0), max_iterations=2)


def test_iterate_takes_mu_omega_nu_tau() -> None:
    mu, omega, nu, tau = 0.5, 0.2, 2.0, 1.1
    trajectory = closed_form_trajectory(mu, omega, nu, tau, steps=3, backend="numpy")
    m, v = mu, nu
    for k in range(1, 4):
        q = moments(m, omega, v, tau, backend="numpy")  # (mu, omega, nu, tau) as documented
        m, v = float(q.mean), float(q.variance)
        assert trajectory[k] == pytest.approx((m, v), rel=1e-15)
    # the old order would be a silent swap; steps and the constants are keyword-only
    swapped = closed_form_trajectory(mu, nu, omega, tau, steps=3, backend="numpy")
    assert abs(float(swapped[1][1]) - float(trajectory[1][1])) > 0.1
    with pytest.raises(TypeError):
        closed_form_trajectory(mu, omega, nu, tau, 3)  # type: ignore[misc]


def test_activation_iterate_takes_mu_omega_nu_tau() -> None:
    act = activations.get("tanh")
    with working_precision(bits=64):
        trajectory = activation_map.gaussian_trajectory(act, "0.5", "0.3", "2", "1.2", steps=2)
        q = activation_map.gaussian_quantities(act, "0.5", "0.3", "2", "1.2", ("mean", "variance"))
        assert trajectory[1][0].overlaps(q["mean"]) and trajectory[1][1].overlaps(q["variance"])
        with pytest.raises(TypeError):
            activation_map.gaussian_trajectory(act, "0.5", "0.3", "2", "1.2", 2)  # type: ignore[misc]
