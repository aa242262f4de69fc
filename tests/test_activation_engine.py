"""The Gaussian engine's closed-form pieces and its integration budget.

* Pieces of the form Σ c·xᵏ·e^{a·x} are recognised (SELU, ELU, ReLU, leaky ReLU and their
  squares) and others are not; the incomplete Gaussian moments N_j(t₀, t₁) agree with mpmath
  quadrature;
* the closed form and the numerical integrator (``closed_form=False``, a second method) give
  overlapping enclosures at hard points (v from 1e-4 to 1e2, |m| up to 10) and over boxes,
  and both contain an independent mpmath quadrature of E[fᵖ·Heₙ(z)];
* an activation with closed-form pieces only needs no tail bound (the tails are 0), one
  with numerical pieces does;
* the budget: an integrand that Arb cannot resolve (sin(1e300·x)) exhausts the evaluation
  budget or the time budget with a message naming it, and ``gain`` exits 3 "not certified".
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
from flint import arb

from snn_theory.cli.main import main
from snn_theory.derive import activations
from snn_theory.evaluate import activation_functions, gaussian, gaussian_moments
from snn_theory.precision import working_precision


def _mp(ball: arb) -> tuple[mpmath.mpf, mpmath.mpf]:
    return (mpmath.mpf(ball.mid().str(40, radius=False)),
            mpmath.mpf(ball.rad().str(10, radius=False)))


def _contains(ball: arb, value: mpmath.mpf, slack: str = "1e-20") -> bool:
    mid, rad = _mp(ball)
    return abs(mid - value) <= rad * (1 + mpmath.mpf("1e-8")) + mpmath.mpf(slack) * (1 + abs(value))


def test_exp_polynomial_decomposition() -> None:
    x = activations.x
    selu = activations.get("selu")
    neg = gaussian.exp_polynomial_terms(selu.pieces[0].expr)
    assert sorted((t.k, t.a) for t in neg) == [(0, Fraction(0)), (0, Fraction(1))]
    square = gaussian.exp_polynomial_terms(selu.pieces[0].expr ** 2)
    assert sorted(t.a for t in square) == [0, 1, 2]
    assert [(t.k, t.a) for t in gaussian.exp_polynomial_terms(selu.pieces[1].expr ** 2)] == \
        [(2, Fraction(0))]
    assert gaussian.exp_polynomial_terms(x * (1 + x) * activations.sp.exp(-x / 2))
    for name in ("tanh", "gelu", "silu", "mish", "softplus"):
        assert gaussian.exp_polynomial_terms(activations.get(name).pieces[0].expr) is None
    assert gaussian.exp_polynomial_terms(activations.sp.exp(x * x)) is None  # not linear
    assert gaussian.exp_polynomial_terms(activations.sp.exp(activations.sp.sqrt(2) * x)) is None
    for name in ("selu", "elu", "relu", "leaky_relu"):
        assert gaussian.has_closed_pieces(activations.get(name))
    assert not gaussian.has_closed_pieces(activations.get("tanh"))


def test_incomplete_moments_against_quadrature() -> None:
    with working_precision(digits=25), mpmath.workdps(25):
        for t0, t1 in ((None, "0.3"), ("-2", "5"), ("1.5", None), ("-7", "-6"), ("4", "9")):
            a = None if t0 is None else arb(t0)
            b = None if t1 is None else arb(t1)
            got = gaussian.incomplete_moments(a, b, 5)
            lo = -mpmath.inf if t0 is None else mpmath.mpf(t0)
            hi = mpmath.inf if t1 is None else mpmath.mpf(t1)
            for j, ball in enumerate(got):
                want = mpmath.quad(lambda w, j=j: w**j * mpmath.npdf(w), [lo, hi])
                assert _contains(ball, want), (t0, t1, j, ball, want)


def _quad(act: activations.Activation, m: mpmath.mpf, v: mpmath.mpf, p: int, n: int
          ) -> mpmath.mpf:
    """E[g(x)ᵖ·Heₙ(z)] by mpmath quadrature in z, split at the kinks."""
    s = mpmath.sqrt(v)
    herm = gaussian.hermite_coefficients(n)
    cuts = sorted({(mpmath.mpf(k.numerator) / k.denominator - m) / s for k in act.kinks})
    pts = [-12, *[c for c in cuts if abs(c) < 12], 12]  # the mass beyond 12 is < 1e-32
    return mpmath.quad(lambda z: activation_functions.base_mpmath(act, m + s * z) ** p *
                       mpmath.polyval(herm[::-1], z) * mpmath.npdf(z), pts)


@pytest.mark.parametrize("name,points", [
    ("selu", ((-10, "1e-4"), ("0.25", "3"))),
    ("elu", ((10, "1e2"), ("0.5", "1e-2"))),
    ("relu", ((0, 1), (-3, "1e2"))),
    ("max(x, 1/2)", (("0.5", "1e-4"), (2, 1))),
])
def test_closed_form_agrees_with_integration_and_quadrature(name: str, points: tuple) -> None:
    act = activations.get(name)
    with working_precision(digits=22):
        for m, v in points:
            mb, vb = arb(str(m)), arb(str(v))
            closed = gaussian.expectations(act, mb, vb, order=2)
            numeric = gaussian.expectations(act, mb, vb, order=2, closed_form=False)
            assert all(t == 0 for t in closed.tails.values()), "closed form needs no tail"
            with mpmath.workdps(25):
                for key, ball in closed.values.items():
                    other = numeric.values[key]
                    assert ball.overlaps(other), (name, m, v, key, ball, other)
                    want = _quad(act, mpmath.mpf(str(m)), mpmath.mpf(str(v)), *key)
                    assert _contains(ball, want), (name, m, v, key, ball, want)
                    assert _contains(other, want), (name, m, v, key, other, want)
                    # tight: 22 digits asked, relative to the scale of E[gᵖ]
                    scale = abs(_mp(closed.values[(key[0], 0)])[0]) + 1
                    assert _mp(ball)[1] < mpmath.mpf("1e-18") * scale, (name, m, v, key, ball)


def test_closed_form_boxes_contain_points_and_match_integration() -> None:
    act = activations.get("selu")
    with working_precision(bits=64):
        m_box = arb("0.1").union(arb("0.1") + arb(1) / 64)
        v_box = arb("1.2").union(arb("1.2") + arb(1) / 16)
        closed = gaussian_moments.raw_partials(act, m_box, v_box, order=4)
        numeric = gaussian_moments.raw_partials(act, m_box, v_box, order=4, closed_form=False)
        for m, v in ((arb("0.1"), arb("1.2")), (arb("0.11"), arb("1.25")),
                     (arb("0.1") + arb(1) / 64, arb("1.2") + arb(1) / 16)):
            point = gaussian_moments.raw_partials(act, m, v, order=4)
            for key, ball in closed.items():
                assert ball.contains(point[key]), (key, ball, point[key])
        for key, ball in closed.items():
            assert ball.overlaps(numeric[key])
            # as tight as the integrator's box enclosure (within a factor 2)
            assert ball.rad() <= 2 * numeric[key].rad() + arb(2) ** -60, (key, ball,
                                                                          numeric[key])


def test_numerical_pieces_still_get_a_tail_bound() -> None:
    with working_precision(bits=64):
        e = gaussian.expectations(activations.get("tanh"), arb(0), arb(1), order=1)
    assert all(t > 0 for t in e.tails.values())


def test_evaluation_budget_exhausted_is_not_certified() -> None:
    act = activations.get("sin(1e300*x)")
    with working_precision(bits=64):
        with gaussian.integration_budget(evaluations=20_000):
            with pytest.raises(gaussian.IntegrationBudgetExceeded, match="20000 integrand "
                               "evaluations"):
                gaussian.expectations(act, arb(0), arb(1), order=0)
        with gaussian.integration_budget(seconds=0):
            with pytest.raises(gaussian.IntegrationBudgetExceeded, match="time budget"):
                gaussian.expectations(act, arb(0), arb(1), order=0)
        # an ordinary activation is well within the default budget
        gaussian.expectations(activations.get("tanh"), arb(0), arb(1), order=2)
    assert gaussian._BUDGET.evaluations == 500_000  # restored


def test_gain_exits_3_when_the_budget_is_exhausted(capsys) -> None:
    with gaussian.integration_budget(evaluations=20_000):
        with pytest.raises(SystemExit) as exc:
            main(["gain", "--activation", "sin(1e300*x)"])
    assert exc.value.code == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not certified" in err.lower() and "budget" in err


def test_decaying_expression_integrates_to_its_closed_form() -> None:
    """exp(−x²), accepted by its derived bound 1: E[e^{−Z²}] = 1/√3, E[e^{−2Z²}] = 1/√5."""
    act = activations.get("exp(-x*x)")
    with working_precision(digits=25):
        raw = gaussian_moments.raw_partials(act, arb(0), arb(1), order=0)
    with mpmath.workdps(30):
        assert _contains(raw[(1, 0)], 1 / mpmath.sqrt(3))
        assert _contains(raw[(2, 0)], 1 / mpmath.sqrt(5))
    assert raw[(1, 0)].rad() < arb("1e-20")


def test_incomplete_moments_over_a_ball_around_zero() -> None:
    """A cut ball containing 0 (a box whose m range contains a kink): finite, and containing
    N_j(t) for points t of the ball (arb's ** would give NaN here)."""
    with working_precision(digits=20):
        ball = gaussian.incomplete_moments(arb(0, "0.01"), None, 6)
        for t in ("-0.01", "0", "0.004", "0.01"):
            point = gaussian.incomplete_moments(arb(t), None, 6)
            for j, (b, p) in enumerate(zip(ball, point)):
                assert b.is_finite() and b.contains(p), (t, j, b, p)
