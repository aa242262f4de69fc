"""Pair and gradient Monte Carlo of another activation (tanh at ω = 0, τ = 2) against the
certified propagation quantities, and those quantities against independent quadrature.

At ω = 0 tanh is odd, so μ* = 0 and the fixed point's variance solves ν = E[tanh(√(τν)·Y)²],
Y ~ N(0, 1); it has ν* > 0 only for τ > 1 (at τ ≤ 1 the only fixed point is ν = 0).  There
χ₁ = τ·E[sech⁴(√(τν*)·Y)] and c̃(c) = E[tanh(u₁)tanh(u₂)]/ν* for (u₁, u₂) centred normal with
variances τν* and correlation c.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import mpmath
import numpy as np
import pytest
from flint import arb

from snn_theory.derive import activations
from snn_theory.errors import InputError, TrivialFixedPoint
from snn_theory.simulate.config import SimulationConfig

TAU = 2.0
TANH = activations.get("tanh", "1", "0")


def _gauss(h):
    return mpmath.quad(
        lambda y: h(y) * mpmath.exp(-y * y / 2), [-mpmath.inf, 0, mpmath.inf]
    ) / mpmath.sqrt(2 * mpmath.pi)


@functools.cache
def _mpmath_fixed_point_and_chi1(tau: float) -> tuple[mpmath.mpf, mpmath.mpf]:
    """ν* by mpmath.findroot on 1-D quadrature at 30 digits, and χ₁ = τ·E[sech⁴] there."""
    with mpmath.workdps(30):
        t = mpmath.mpf(tau)

        def excess(nu):
            s = mpmath.sqrt(t * nu)
            return _gauss(lambda y: mpmath.tanh(s * y) ** 2) - nu

        nu = mpmath.findroot(excess, mpmath.mpf("0.3"))
        s = mpmath.sqrt(t * nu)
        chi1 = t * _gauss(lambda y: mpmath.sech(s * y) ** 4)
        return nu, chi1


def _c_map_hermite(v: float, nu: float, c: float, degree: int = 160) -> float:
    """c̃(c) by a 2-D Gauss–Hermite product rule in float64 (tanh is entire on a strip, so the
    rule converges exponentially): a second method, independent of the arb pair integral."""
    y, w = np.polynomial.hermite_e.hermegauss(degree)
    w = w / math.sqrt(2 * math.pi)
    y1, y2 = np.meshgrid(y, y, indexing="ij")
    u1 = math.sqrt(v) * y1
    u2 = math.sqrt(v) * (c * y1 + math.sqrt(1 - c * c) * y2)
    return float(np.sum(np.outer(w, w) * np.tanh(u1) * np.tanh(u2)) / nu)


def test_certified_chi1_and_c_map_against_quadrature() -> None:
    """The certified fixed point and χ₁ of tanh (64-bit arb, the simulator's) contain the
    mpmath values; the c-map iterate the pair simulation compares with matches a 2-D
    Gauss–Hermite rule."""
    from snn_theory.certify import propagation
    from snn_theory.precision import working_precision
    from snn_theory.simulate.pairs import GENERIC_BITS

    nu, chi1 = _mpmath_fixed_point_and_chi1(TAU)
    with working_precision(bits=GENERIC_BITS):
        point = propagation.propagation_point(0, TAU, activation=TANH)
        assert point.nu_star.overlaps(arb(mpmath.nstr(nu, 25)))
        assert point.chi1.overlaps(arb(mpmath.nstr(chi1, 25)))
        assert point.chi1.rad() < 1e-12 and point.chi1 > 1  # chaotic: gradients explode
        assert point.mu_star.contains(0)
        c_map = float(propagation.correlation_map(point, arb(0.6)).mid())
    assert abs(c_map - _c_map_hermite(TAU * float(nu), float(nu), 0.6)) < 1e-9


def test_tanh_gradients_follow_chi1() -> None:
    """ln‖∂L/∂x_l‖² − ln‖∂L/∂x_L‖² ≈ k·ln χ₁ (k = L − l) over 30 tanh layers.  Tolerance as
    for SELU: the per-layer ratio has relative standard deviation about √(2/(N·B)) (χ² over
    N units and B samples), accumulating as a random walk, plus an O(1/N) finite-width bias
    per layer: |error_k| ≤ 4·√(2k/(N·B)) + 2k/N."""
    from snn_theory.simulate.pairs import simulate_gradients

    n, b, depth = 256, 16, 30
    r = simulate_gradients(
        SimulationConfig(width=n, depth=depth, batch=b, tau=TAU, seed=1, activation=TANH)
    )
    _, chi1 = _mpmath_fixed_point_and_chi1(TAU)
    assert abs(r.chi1 - float(chi1)) < 1e-12 and r.rate == r.chi1  # ω = 0: ρ = χ₁
    assert r.activation == "tanh" and r.to_json()["config"]["activation"]["definition"] == "tanh"
    k = np.arange(depth + 1)
    tolerance = 4 * np.sqrt(2 * k / (n * b)) + 2 * k / n
    assert np.all(np.abs(r.log_norm - k * math.log(float(chi1))) <= tolerance)
    # the growth is detected: χ₁ = 1 (no explosion) is rejected at this size
    assert r.log_norm[-1] > tolerance[-1]


def test_tanh_pair_correlations_track_the_c_map() -> None:
    """Mean over B pairs of the per-pair correlation against the c-map iterates; tolerance 4
    standard errors of that mean (measured spread s_l over pairs, s_l/√B) plus 1/N."""
    from snn_theory.simulate.pairs import simulate_pairs

    n, b, depth = 256, 32, 6
    r = simulate_pairs(
        SimulationConfig(width=n, depth=depth, batch=b, tau=TAU, seed=2, activation=TANH), 0.6
    )
    tolerance = 4 * r.spread / math.sqrt(b) + 1 / n
    assert np.all(np.abs(r.correlation - r.predicted) <= tolerance)
    assert abs(r.correlation[0] - 0.6) < 4 / math.sqrt(n)
    # towards the stable fixed point c* = 0 (χ_c(0) < 1 < χ_c(1) = χ₁ for tanh at τ = 2)
    assert r.predicted[-1] < r.predicted[0] - 0.1
    nu, _ = _mpmath_fixed_point_and_chi1(TAU)
    expected = _c_map_hermite(TAU * float(nu), float(nu), float(r.predicted[0]))
    assert abs(r.predicted[1] - expected) < 1e-9


def test_bad_combinations_are_refused() -> None:
    from snn_theory.simulate.engine import simulate
    from snn_theory.simulate.pairs import simulate_gradients, simulate_pairs

    tiny = SimulationConfig(width=8, depth=2, batch=2, tau=TAU, activation=TANH)
    cases = [
        (lambda: simulate_gradients(dataclasses.replace(tiny, lam=1.0)), "SELU's parameters"),
        (lambda: simulate_gradients(dataclasses.replace(tiny, dropout_rate=0.1)), "dropout"),
        (lambda: simulate_pairs(tiny, 1.5), "[-1, 1]"),
        # the moment simulation of another activation runs its numpy Monte Carlo, which
        # refuses what it cannot honour (tests/test_python_api.py checks its numbers)
        (lambda: simulate(dataclasses.replace(tiny, dropout_rate=0.1)), "dropout"),
    ]
    for run, fragment in cases:
        with pytest.raises(InputError) as exc:
            run()
        assert fragment in str(exc.value) and "\n" not in str(exc.value), str(exc.value)
    # tau = 0.5: the variance falls to nu* = 0, so there is no fixed point to simulate against;
    # the mathematics, not the input (TrivialFixedPoint is an ArithmeticError, exit 3)
    with pytest.raises(TrivialFixedPoint) as exc:
        simulate_pairs(dataclasses.replace(tiny, tau=0.5), 0.5)
    assert "nu* = 0" in str(exc.value) and "\n" not in str(exc.value)
