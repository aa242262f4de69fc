"""The rigorous Gaussian-expectation engine against independent computations.

* SELU: the generic engine (integrals of the activation's formula) contains the closed-form
  values of every quantity and every gradient component (50-digit mpmath of the closed forms
  in :mod:`snn_theory.derive.formulas`) at 50 points, and over random boxes (hypothesis) the values
  at points sampled in the box;
* every built-in: E[f], E[f²] and their m-, v-partials against mpmath quadrature at 30
  digits (an independent integration in the standardized variable), at hard points
  (v from 1e-4 to 1e2, |m| up to 10); box enclosures contain the point values;
* the Gaussian tail bound is an upper bound of the tail integral (mpmath quadrature);
* a user expression equal to a built-in gives overlapping enclosures.
"""

from __future__ import annotations

import random

import mpmath
import pytest
from flint import arb, ctx
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_theory.derive import activations, formulas
from snn_theory.evaluate import activation_functions, backends, gaussian, gaussian_moments
from snn_theory.precision import working_precision

QUANTITIES = formulas.QUANTITIES


def _contains(ball: arb, value: mpmath.mpf, slack: float = 1e-45) -> bool:
    mid = mpmath.mpf(ball.mid().str(60, radius=False))
    rad = mpmath.mpf(ball.rad().str(10, radius=False))
    return abs(mid - value) <= rad * (1 + mpmath.mpf("1e-8")) + slack * (1 + abs(value))


def _selu_points() -> list[tuple[float, float, float, float]]:
    rng = random.Random(11)
    points = [(0, 0, 1, 1), (0.1, 0.05, 1.2, 1.1), (-1, 1, 0.5, 1), (2, -0.7, 3, 0.9),
              (0.3, 0.2, 1e-3, 0.5), (5, 2, 10, 1.5), (-3, 2, 20, 2)]
    while len(points) < 50:
        points.append((rng.uniform(-2, 2), rng.uniform(-1.5, 1.5), 10 ** rng.uniform(-2, 1),
                       rng.uniform(0.3, 2)))
    return points


def test_generic_selu_contains_closed_forms_and_gradients() -> None:
    """Values against the closed forms at 50 digits; gradients against central differences
    of the closed forms (h = 1e-20 at 80 digits: truncation error ~1e-40)."""
    act = activations.get("selu")
    closed = backends.evaluator("mpmath", QUANTITIES)
    checked = 0
    for point in _selu_points():
        with working_precision(digits=30):
            balls = [arb(repr(float(p))) for p in point]
            mu, omega, nu, tau = balls
            partials = gaussian_moments.moment_partials(act, mu * omega, nu * tau, order=4)
            got = {q: gaussian_moments.activation_value_and_gradient(act, q, mu, omega, nu, tau, partials=partials)
                   for q in QUANTITIES}
        with working_precision(digits=80):
            lam, alpha = backends.constants_function("mpmath")()
            x = [mpmath.mpf(repr(float(p))) for p in point]
            values = closed(*x, lam, alpha)
            h = mpmath.mpf("1e-20")
            grads = []
            for i in range(4):
                up = closed(*(x[j] + (h if j == i else 0) for j in range(4)), lam, alpha)
                down = closed(*(x[j] - (h if j == i else 0) for j in range(4)), lam, alpha)
                grads.append([(u - d) / (2 * h) for u, d in zip(up, down)])
            for k, q in enumerate(QUANTITIES):
                assert _contains(got[q][0], values[k]), (point, q, got[q][0], values[k])
                for i in range(4):
                    assert _contains(got[q][1 + i], grads[i][k], slack=1e-30), (point, q, i)
                for g in got[q]:
                    assert g.rad() < 1e-20 * (1 + abs(g.mid())), (point, q, g)
                checked += 1
    assert checked == 50 * len(QUANTITIES)


@settings(max_examples=12, deadline=None)
@given(st.floats(-1, 1), st.floats(-1, 1), st.floats(0.2, 3), st.floats(0.5, 1.5),
       st.floats(1e-4, 0.02), st.integers(0, 2**32 - 1))
def test_generic_selu_box_contains_sampled_closed_forms(mu: float, omega: float, nu: float,
                                                        tau: float, width: float,
                                                        seed: int) -> None:
    act = activations.get("selu")
    rng = random.Random(seed)
    box = [(mu, mu + width), (omega, omega + width), (nu, nu + width), (tau, tau + width)]
    with working_precision(bits=64):
        balls = [arb(lo).union(arb(hi)) for lo, hi in box]
        values = gaussian_moments.quantities(act, *balls)
    with working_precision(digits=30):
        lam, alpha = backends.constants_function("mpmath")()
        f = backends.evaluator("mpmath", QUANTITIES)
        for _ in range(4):
            point = [mpmath.mpf(rng.uniform(lo, hi)) for lo, hi in box]
            for q, w in zip(QUANTITIES, f(*point, lam, alpha)):
                assert _contains(values[q], w, slack=1e-25), (box, q, values[q], w)


# ----------------------------------------------------------------------------- built-ins
def _quad(act: activations.Activation, m: mpmath.mpf, v: mpmath.mpf, p: int, n: int
          ) -> mpmath.mpf:
    """∂ⁿ_m E[f(x)ᵖ] = E[fᵖ·Heₙ(z)]/sⁿ by mpmath.quad in z (not x), split at the kinks."""
    s = mpmath.sqrt(v)
    herm = gaussian.hermite_coefficients(n)

    def integrand(z: mpmath.mpf) -> mpmath.mpf:
        he = mpmath.polyval(herm[::-1], z)
        return activation_functions.value_mpmath(act, m + s * z) ** p * he * mpmath.exp(-z * z / 2)

    end = mpmath.mpf(14)
    # split at the kinks and where x = m + s·z crosses −4..4 (the activations' transitions)
    features = [mpmath.mpf(k.numerator) / k.denominator for k in act.kinks] + \
        [mpmath.mpf(k) for k in range(-4, 5)]
    cuts = sorted({-end, end, mpmath.mpf(0)} |
                  {(x - m) / s for x in features if -end < (x - m) / s < end})
    total = mpmath.quad(integrand, cuts)
    return total / mpmath.sqrt(2 * mpmath.pi) / s**n


HARD = [(-10, "1e-4"), (10, "1e2"), (0, "1e-4"), ("0.5", "1e-2"), (-3, "1e2"), (2, 1),
        ("0.01", "0.9")]


@pytest.mark.parametrize("name", activations.NAMES)
def test_builtin_moments_against_mpmath_quadrature(name: str) -> None:
    act = activations.get(name)
    rng = random.Random(name)
    points = rng.sample(HARD, 3)
    for m, v in points:
        with working_precision(digits=30):
            raw = gaussian_moments.raw_partials(act, arb(str(m)), arb(str(v)), order=2)
        with mpmath.workdps(36):
            mm, vv = mpmath.mpf(str(m)), mpmath.mpf(str(v))
            for p in (1, 2):
                scale = None
                for n in range(3):
                    want = _quad(act, mm, vv, p, n)
                    scale = abs(want) + 1 if scale is None else scale  # E[fᵖ] sets the scale
                    got = raw[(p, n)]
                    assert _contains(got, want, slack=1e-30), (name, m, v, p, n, got, want)
                    # 30 digits: the ball is tight (relative to the scale of E[fᵖ])
                    assert mpmath.mpf(got.rad().str(5, radius=False)) < mpmath.mpf("1e-27") * \
                        scale / mpmath.sqrt(vv) ** n, (name, m, v, p, n, got)


@pytest.mark.parametrize("name", activations.NAMES)
def test_builtin_box_enclosures_contain_points(name: str) -> None:
    act = activations.get(name)
    rng = random.Random(name + "box")
    with working_precision(bits=64):
        m_lo, v_lo = rng.uniform(-1, 1), rng.uniform(0.3, 2)
        m_box = arb(m_lo).union(arb(m_lo + 0.01))
        v_box = arb(v_lo).union(arb(v_lo + 0.02))
        box = gaussian_moments.raw_partials(act, m_box, v_box, order=2)
        for _ in range(3):
            m = arb(rng.uniform(m_lo, m_lo + 0.01))
            v = arb(rng.uniform(v_lo, v_lo + 0.02))
            point = gaussian_moments.raw_partials(act, m, v, order=2)
            for key, ball in box.items():
                assert ball.contains(point[key]), (name, key, ball, point[key])
                assert ball.rad() < 0.5, (name, key, ball)  # informative, not just finite


def test_tail_bound_bounds_the_tail() -> None:
    act = activations.get("selu")
    with working_precision(digits=20):
        growth = activation_functions.growth_balls(act)
        for m, s, t0 in ((0.5, 1.0, 3.0), (-2.0, 0.3, 5.0), (1.0, 4.0, 2.0)):
            for p in (1, 2):
                for n in range(5):
                    bound = gaussian.tail_bound(growth, p, n, arb(abs(m)), arb(s), arb(t0))
                    with mpmath.workdps(20):
                        herm = gaussian.hermite_coefficients(n)
                        def integrand(z, m=m, s=s, p=p, herm=herm):
                            return (abs(activation_functions.value_mpmath(act, m + s * z)) ** p *
                                    abs(mpmath.polyval(herm[::-1], z)) * mpmath.npdf(z))

                        tail = mpmath.quad(integrand, [t0, t0 + 5, mpmath.inf])
                    assert tail <= mpmath.mpf(bound.upper().str(20, radius=False)), (m, s, p, n)


def test_user_expression_overlaps_builtin() -> None:
    with working_precision(digits=30):
        for text, name in (("x*erfc(-x/sqrt(2))/2", "gelu"), ("max(x, 0)", "relu"),
                           ("159/100*tanh(x)", None)):
            builtin = activations.get(name) if name else activations.get("tanh", scale="1.59")
            user = activations.get(text)
            for m, v in ((arb("0.3"), arb("1.7")), (arb(0, 0.01), arb(1, 0.05))):
                a = gaussian_moments.quantities(builtin, m, arb(1), v, arb(1))
                b = gaussian_moments.quantities(user, m, arb(1), v, arb(1))
                for q in QUANTITIES:
                    assert a[q].overlaps(b[q]), (text, q)


def test_non_finite_and_bad_balls_raise() -> None:
    act = activations.get("tanh")
    with working_precision(bits=64):
        with pytest.raises(ArithmeticError):
            gaussian.expectations(act, arb(0), arb(0, 1))  # v ball touches 0
    assert ctx.prec == 53
