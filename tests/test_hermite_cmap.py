"""The certified Mehler C-map: its coefficients against mpmath quadrature, its values
against the nested rigorous 2-D integral of the propagation module (a second method), and
the tail bound shown to be needed (without it a truncated series misses the value)."""

from __future__ import annotations

import math

import mpmath
import pytest
from flint import arb, fmpq

from snn_theory.certify import hermite_cmap, propagation, shaped
from snn_theory.derive import activations
from snn_theory.errors import InputError
from snn_theory.precision import working_precision

# ψ(x) = 2·(tanh(x/2 + 1/4) − 1/4) = 2·tanh(u) − 1/2 with u ~ N(1/4, 1/4)
ALPHA, BETA, GAMMA, DELTA = fmpq(1, 2), fmpq(1, 4), fmpq(2), fmpq(-1, 4)


def _psi_params():
    return arb(ALPHA), arb(BETA), arb(GAMMA), arb(DELTA)


def _he(k: int, z: mpmath.mpf) -> mpmath.mpf:
    """The probabilists' Hermite polynomial He_k(z) = 2^(-k/2)·H_k(z/√2), by its three-term
    recurrence He_{j+1} = z·He_j − j·He_{j−1}."""
    lo, hi = mpmath.mpf(1), z
    for j in range(1, k):
        lo, hi = hi, z * hi - j * lo
    return lo if k == 0 else hi


def test_coefficients_match_quadrature() -> None:
    with working_precision(digits=20):
        cmap = hermite_cmap.hermite_cmap(activations.builtin("elu"), *_psi_params(), 6)
        q = cmap.q_value
    with mpmath.workdps(30):
        def psi(z):
            x = z / 2 + mpmath.mpf(1) / 4
            return 2 * ((x if x > 0 else mpmath.expm1(x)) - mpmath.mpf(1) / 4)

        kink = [-mpmath.inf, mpmath.mpf(-1) / 2, mpmath.inf]
        Q = mpmath.quad(lambda z: psi(z) ** 2 * mpmath.npdf(z), kink)
        assert abs(Q - mpmath.mpf(q.mid())) < 1e-18
        for k in range(7):
            a = mpmath.quad(lambda z, k=k: psi(z) * _he(k, z) * mpmath.npdf(z), kink)
            b = a * a / math.factorial(k) / Q
            ball = cmap.coefficients[k]
            assert mpmath.mpf(ball.lower()) - 1e-25 <= b <= mpmath.mpf(ball.upper()) + 1e-25, k


def test_values_match_the_nested_integral_and_need_the_tail() -> None:
    tanh = activations.builtin("tanh")
    with working_precision(digits=15):
        alpha, beta, gamma, delta = _psi_params()
        psi = activations.get("tanh", "2", "-0.5")
        point = propagation.propagation_point(1, 1, fixed=(beta, alpha * alpha),
                                              activation=psi)
        half = arb(fmpq(1, 2))
        c = propagation.correlation_map(point, half)
        mu, nu = point.mean, point.variance
        nested = (nu * c + mu * mu) / (nu + mu * mu)
        full = hermite_cmap.hermite_cmap(tanh, alpha, beta, gamma, delta, 24)
        assert full(half).overlaps(nested) and full(half).rad() < 1e-12
        short = hermite_cmap.hermite_cmap(tanh, alpha, beta, gamma, delta, 2)
        assert short(half).overlaps(nested)  # wide, but it holds the value ...
        assert not short.polynomial(half).overlaps(nested)  # ... which P_2 alone misses
        # C(1) = 1 and C'(1) from the local quantities lie in the enclosures
        q = shaped.local_quantities(tanh, alpha, beta, gamma, delta)
        with_slope = hermite_cmap.hermite_cmap(tanh, alpha, beta, gamma, delta, 24, q.c_slope)
        assert 1 in with_slope(arb(1)) and with_slope.slope(arb(1)).overlaps(q.c_slope)
        # the network: composition keeps enclosing (checked against composing the nested
        # integral's midpoints is too slow; C(0) of a non-zero-mean ψ is > 0 and grows)
        net = full.network(arb(0), 3)
        assert net > full(arb(0)) > 0
        with pytest.raises(InputError):
            full(arb(2))
