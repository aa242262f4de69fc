"""DKS and TAT: the certified parameters against independent mpmath solves of the defining
equations (all four unknowns, quadrature of the integrals as written), the conditions
re-checked by quadrature at the returned parameters, impossible targets refused."""

from __future__ import annotations

import functools
from fractions import Fraction

import mpmath
import pytest
from flint import arb, fmpq
from mpmath.calculus.quadrature import GaussLegendre

from snn_theory.certify import shaping
from snn_theory.derive import activations
from snn_theory.errors import InputError
from snn_theory.precision import working_precision
from tests.test_shaped import elu_and_derivatives, tanh_and_derivatives


@functools.cache
def _legendre() -> tuple:
    """96-point Gauss–Legendre nodes and weights on [−1, 1], 40 digits."""
    with mpmath.workdps(40):
        return tuple(GaussLegendre(mpmath.mp).calc_nodes(6, mpmath.mp.prec))


def _rule(cuts) -> list[tuple[mpmath.mpf, mpmath.mpf]]:
    """Nodes z and weights w·φ(z) for E[h(z)] ≈ Σ w·h(z): Gauss–Legendre on [−11, 11] split
    at 0 and at the kinks (|z| > 11 weighs < 1e-27)."""
    ends = sorted({mpmath.mpf(-11), mpmath.mpf(0), mpmath.mpf(11),
                   *(c for c in cuts if -11 < c < 11)})
    rule = []
    for a, b in zip(ends[:-1], ends[1:]):
        h, m = (b - a) / 2, (a + b) / 2
        rule += [(m + h * t, h * w * mpmath.npdf(m + h * t)) for t, w in _legendre()]
    return rule


def _equations(phi, kinks, method: str, depth: int, target):
    """The four conditions on (α, β, γ, δ) by quadrature of the integrals as written
    (no reduction, no Stein)."""
    def F(a, b, g, d):
        # ψ⁽ᵏ⁾(z) = γ·αᵏ·(φ⁽ᵏ⁾(αz + β) + δ·[k = 0]) at every node, φ evaluated once per node
        nodes = [(z, w, [g * a**k * (v + (d if k == 0 else 0)) for k, v in
                         enumerate(phi(a * z + b))]) for z, w in _rule([(k - b) / a
                                                                       for k in kinks])]

        def E(h):
            return mpmath.fsum(w * h(z, psi) for z, w, psi in nodes)

        q = E(lambda z, psi: psi[0] ** 2)
        eqs = [q - 1, E(lambda z, psi: psi[0] * psi[1] * z) - 1]
        slope = E(lambda z, psi: psi[1] ** 2) / q
        t = mpmath.mpf(target.numerator) / target.denominator
        if method == "dks":
            return eqs + [E(lambda z, psi: psi[0]), slope ** depth - t]
        curvature = E(lambda z, psi: psi[2] ** 2) / q
        return eqs + [slope - 1, depth * curvature - t]

    return F


def _mp(ball: arb) -> mpmath.mpf:
    return mpmath.mpf(ball.mid())


def _inside(value: mpmath.mpf, ball: arb, slack: float = 1e-28) -> bool:
    return mpmath.mpf(ball.lower()) - slack <= value <= mpmath.mpf(ball.upper()) + slack


@pytest.mark.parametrize("name,phi,kinks,method,depth,target", [
    ("tanh", tanh_and_derivatives, [], "dks", 4, Fraction(3, 2)),
    ("elu", elu_and_derivatives, [0], "tat", 3, Fraction(3, 10)),
])
def test_certified_parameters_match_an_independent_solve(name, phi, kinks, method, depth,
                                                         target) -> None:
    act = activations.builtin(name)
    key = "zeta" if method == "dks" else "curvature"
    with working_precision(digits=20):
        result = shaping.shape(act, method, depth, {key: target})
    p = result.parameters
    order = ("input_scale", "input_shift", "output_scale", "output_shift")
    assert all(p[k].rad() < 1e-18 for k in order)
    F = _equations(phi, kinks, method, depth, target)
    with mpmath.workdps(40):
        # the conditions hold at the certified midpoints (to the balls' width)
        assert max(abs(e) for e in F(*(_mp(p[k]) for k in order))) < 1e-17
        # an independent Newton solve, started 1e-3 away, lands inside every ball
        start = [_mp(p[k]) * (1 + mpmath.mpf("1e-3")) for k in order]
        # (tol: the Newton step below 1e-30, far inside balls of radius ~1e-20)
        root = mpmath.findroot(lambda *u: F(*u), start, tol=mpmath.mpf(10) ** -30)
        for k, value in zip(order, root):
            assert _inside(value, p[k]), (k, value, p[k])
    if method == "tat":  # the network's C(0) against Mehler coefficients by quadrature
        with mpmath.workdps(30):
            a, b, g, d = (_mp(p[k]) for k in order)
            rule = _rule([(k - b) / a for k in kinks])
            values = [g * (phi(a * z + b)[0] + d) for z, _ in rule]
            # He_k(z) = 2^(-k/2)·H_k(z/√2) by its three-term recurrence He_{k+1} = z·He_k − k·He_{k−1}
            he = [[mpmath.mpf(1), z] for z, _ in rule]
            for k in range(1, 15):
                for (z, _), h in zip(rule, he):
                    h.append(z * h[k] - k * h[k - 1])
            coeff = [mpmath.fsum(w * v * h[k] for (_, w), v, h in zip(rule, values, he)) ** 2
                     / mpmath.factorial(k) for k in range(16)]
            q = mpmath.fsum(w * v**2 for (_, w), v in zip(rule, values))
            c = mpmath.mpf(0)
            for _ in range(depth):  # the terms beyond k = 15 weigh < c^16 (c < 0.2)
                c = mpmath.fsum(x * c**k for k, x in enumerate(coeff)) / q
            assert _inside(c, result.network["c_zero"], 1e-12), (c, result.network["c_zero"])
    # the reported network quantity encloses the target
    net = result.network["c_slope" if method == "dks" else "c_curvature"]
    with working_precision(digits=40):
        assert arb(fmpq(target.numerator, target.denominator)) in net


def test_leaky_relu_slope_against_iteration_and_quadrature() -> None:
    with working_precision(digits=20):
        result = shaping.shape(activations.builtin("leaky_relu"), "tat", 20,
                               {"eta": Fraction(9, 10)})
    s_ball = result.parameters["negative_slope"]
    assert s_ball.rad() < 1e-18
    with mpmath.workdps(30):
        s = _mp(s_ball)
        # psi = sqrt(2/(1+s^2)) LReLU_s: the C-map's closed form, iterated independently
        k = (1 - s) ** 2 / (mpmath.pi * (1 + s**2))
        c = mpmath.mpf(0)
        for _ in range(20):
            c = c + k * (mpmath.sqrt(1 - c**2) - c * mpmath.acos(c))
        assert abs(c - mpmath.mpf("0.9")) < 1e-18
        # the closed form against a 2-D quadrature of E[psi(u) psi(v)] at c = 1/2
        scale = mpmath.sqrt(2 / (1 + s**2))

        def psi(t):
            return scale * (t if t > 0 else s * t)

        # v = c·u + √(1 − c²)·w: E_w[LReLU_s(μ + σw)] = s·μ + (1 − s)(μΦ(μ/σ) + σφ(μ/σ))
        cc = mpmath.mpf("0.5")
        sd = mpmath.sqrt(1 - cc**2)

        def inner(u):
            mu = cc * u
            return scale * (s * mu + (1 - s) * (mu * mpmath.ncdf(mu / sd)
                                                + sd * mpmath.npdf(mu / sd)))

        pair = mpmath.quad(lambda u: psi(u) * inner(u) * mpmath.npdf(u), [-mpmath.inf, 0,
                                                                          mpmath.inf])
        closed = cc + k * (mpmath.sqrt(1 - cc**2) - cc * mpmath.acos(cc))
        assert abs(pair - closed) < 1e-25
    with working_precision(digits=40):
        assert arb(fmpq(9, 10)) in result.network["c_zero"]


def test_impossible_targets_are_refused() -> None:
    for args in [("dks", 3, Fraction(1), None, None), ("dks", 3, Fraction(1, 2), None, None),
                 ("tat", 3, None, None, Fraction(1)), ("tat", 3, None, None, Fraction(0)),
                 ("tat", 3, None, Fraction(-1), None), ("dks", 0, None, None, None),
                 ("ntk", 3, None, None, None), ("dks", 3, None, Fraction(1), None)]:
        with pytest.raises(InputError):
            shaping.validate(*args)
    # eta = 0.9 at depth 5 is out of reach: the ReLU (s = 0) has the largest C^5(0) < 0.9
    with working_precision(digits=15), pytest.raises(shaping.ShapingFailure, match="depth 5"):
        shaping.shape(activations.builtin("relu"), "tat", 5, {"eta": Fraction(9, 10)})
    with mpmath.workdps(20):
        c = mpmath.mpf(0)
        for _ in range(5):
            c = c + (mpmath.sqrt(1 - c**2) - c * mpmath.acos(c)) / mpmath.pi
        assert c < mpmath.mpf("0.9")
    # ReLU under DKS: positively homogeneous, so (alpha, beta) -> (t alpha, t beta) leaves
    # the normalised psi unchanged: no isolated solution, and none is claimed
    with working_precision(digits=15), pytest.raises(ArithmeticError):
        shaping.shape(activations.builtin("relu"), "dks", 3, {"zeta": Fraction(3, 2)})


def test_leaky_relu_target_near_the_relu_value_is_not_called_unreachable() -> None:
    """η a hair below the ReLU's C(0) = 1/π (depth 1) is reached by a slope s > 0; at 15
    digits C_0(0) and η cannot be told apart, which must not be reported as "no slope
    reaches η" (a false statement) but as a precision failure the command retries."""
    eta = Fraction("0.318309886183790671537767526")  # 1/π − 7.45e-28
    with mpmath.workdps(40):
        assert mpmath.mpf(eta.numerator) / eta.denominator < 1 / mpmath.pi
    with working_precision(digits=15):
        with pytest.raises(shaping.ShapingFailure) as failure:
            shaping.shape(activations.builtin("relu"), "tat", 1, {"eta": eta})
    assert failure.value.precision_limited and "no negative slope" not in str(failure.value)
    with working_precision(digits=60):
        result = shaping.shape(activations.builtin("relu"), "tat", 1, {"eta": eta})
        s = result.parameters["negative_slope"]
        assert s > 0 and s < fmpq(1, 10**26)
