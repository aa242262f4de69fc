"""The local kernel quantities of ψ(x) = γ·(φ(α·x + β) + δ) against 40-digit mpmath
quadrature of their defining integrals (ψ′ and ψ″ written by hand), kinks included."""

from __future__ import annotations

import mpmath
import pytest
from flint import arb

from snn_theory.certify import shaped
from snn_theory.derive import activations
from snn_theory.errors import InputError
from snn_theory.evaluate import activation_functions
from snn_theory.evaluate.krawczyk import krawczyk_nd
from snn_theory.precision import working_precision

ALPHA, BETA, GAMMA, DELTA = "0.7", "0.3", "1.3", "-0.2"


def tanh_and_derivatives(t):  # φ, φ′, φ″
    th = mpmath.tanh(t)
    return th, 1 - th**2, -2 * th * (1 - th**2)


def elu_and_derivatives(t):
    return (t, 1, 0) if t > 0 else (mpmath.expm1(t), mpmath.exp(t), mpmath.exp(t))


def reference(phi, kinks, a, b, g, d) -> dict[str, mpmath.mpf]:
    """E[ψ], Q(1), Q′(1) = E[ψψ′z], C′(1), C″(1), C(0) by mpmath.quad, split at kinks."""
    points = [-mpmath.inf] + [(k - b) / a for k in kinks] + [mpmath.inf]

    def E(h):
        return mpmath.quad(lambda z: h(z) * mpmath.npdf(z), points)

    def psi(z, k=0):
        return g * (a**k) * (phi(a * z + b)[k] + (d if k == 0 else 0))

    q = E(lambda z: psi(z) ** 2)
    mean = E(psi)
    return {"mean": mean, "q_value": q, "q_slope": E(lambda z: psi(z) * psi(z, 1) * z),
            "c_slope": E(lambda z: psi(z, 1) ** 2) / q,
            "c_curvature": E(lambda z: psi(z, 2) ** 2) / q, "c_zero": mean**2 / q}


@pytest.mark.parametrize("name,phi,kinks", [("tanh", tanh_and_derivatives, []), ("elu", elu_and_derivatives, [0])])
def test_local_quantities_match_quadrature(name, phi, kinks) -> None:
    with mpmath.workdps(40):
        want = reference(phi, kinks, *(mpmath.mpf(t) for t in (ALPHA, BETA, GAMMA, DELTA)))
        with working_precision(digits=30):
            got = shaped.local_quantities(activations.builtin(name), arb(ALPHA), arb(BETA),
                                          arb(GAMMA), arb(DELTA), curvature=True)
            for key, value in want.items():
                ball = getattr(got, key)
                assert ball.rad() < 1e-25, (key, ball)
                lo, hi = mpmath.mpf(ball.lower()), mpmath.mpf(ball.upper())
                assert lo - mpmath.mpf(10) ** -35 <= value <= hi + mpmath.mpf(10) ** -35, \
                    (key, ball, value)


def test_affine_activation_enters_the_moments() -> None:
    """c·tanh + d at (α, β, γ, δ) is tanh at (α, β, γ·c, (δ + d)/c): the same ψ."""
    act = activations.get("tanh", "1.5", "0.25")
    with working_precision(digits=20):
        a = shaped.local_quantities(act, arb("0.6"), arb("0.1"), arb(2), arb("0.5"))
        b = shaped.local_quantities(activations.builtin("tanh"), arb("0.6"), arb("0.1"),
                                    arb(3), arb("0.5"))
        for key in ("mean", "q_value", "q_slope", "c_slope", "c_zero"):
            assert getattr(a, key).overlaps(getattr(b, key)), key
        assert not a.q_value.overlaps(shaped.local_quantities(
            activations.builtin("tanh"), arb("0.6"), arb("0.1"), arb(2), arb("0.5")).q_value)


def test_smoothness_and_the_dirac_refusal() -> None:
    assert shaped.smoothness(activations.builtin("elu")) == shaped.Smoothness(True, True)
    assert shaped.smoothness(activations.builtin("selu")) == shaped.Smoothness(True, False)
    assert shaped.smoothness(activations.builtin("leaky_relu")).c1 is False
    assert shaped.smoothness(activations.get("abs(x)*tanh(x)")).c1 is True
    with working_precision(digits=15):
        # C'(1) is finite for leaky ReLU (φ continuous), C''(1) is not (φ′ jumps)
        q = shaped.local_quantities(activations.builtin("leaky_relu"), arb(1), arb(0),
                                    arb(1), arb(0))
        assert abs(q.c_slope - (1 + arb("0.0001")) / 2 / q.q_value) < 1e-12
        with pytest.raises(InputError, match="Dirac"):
            shaped.local_quantities(activations.builtin("leaky_relu"), arb(1), arb(0),
                                    arb(1), arb(0), curvature=True)


def test_second_derivative_growth_bounds_hold() -> None:
    """|g″(x)| ≤ P(|x|) on a grid (the tables are hand-proven; this catches a typo)."""
    with mpmath.workdps(20):
        for name in ("elu", "softplus", "silu", "mish", "tanh", "gelu"):
            act = shaped.second_derivative(activations.builtin(name))
            for i in range(-400, 401):
                t = mpmath.mpf(i) / 20
                bound = sum(float(a) * abs(t) ** k for k, a in enumerate(act.growth))
                assert abs(activation_functions.value_mpmath(act, t)) <= bound, (name, t)


def test_krawczyk_nd_proves_and_rejects() -> None:
    """F(x, y, w) = (x² − 2, x·y − 1, w³ − y): a box around the root is proven; a box
    beside it (no root) is not."""
    def f(x, y, w):
        return [x * x - 2, x * y - 1, w * w * w - y]

    def jac(x, y, w):
        zero = arb(0)
        return [[2 * x, zero, zero], [y, x, zero], [zero, arb(-1), 3 * w * w]]

    with working_precision(digits=30):
        root = (arb(2).sqrt(), 1 / arb(2).sqrt(), (1 / arb(2).sqrt()).root(3))
        box = [arb(r.mid()) + arb(0, 1e-3) for r in root]
        result = krawczyk_nd(f, jac, box)
        assert result.proved and all(r in e for r, e in zip(root, result.enclosure))
        shifted = [arb(r.mid()) + arb("0.01") + arb(0, 1e-3) for r in root]
        assert not krawczyk_nd(f, jac, shifted).proved


def test_constant_second_derivative_bound_is_not_rounded_down() -> None:
    """φ = 3e30·max(x, 0)²: φ″ = 6·10^30 on x > 0, and float(6e30) lies below 6·10^30 by
    ~4e14, so a bound taken from the float (ceil + 1) was below |φ″|."""
    act = activations.get("3e30*max(x,0)**2")
    assert shaped.second_derivative(act).growth[0] >= 6 * 10**30
