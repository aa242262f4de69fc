"""The closed-form bounder hands the search what its bound computed on the way — the split
scores from the gradient over the face and the value at the face's centre — and these are
exactly what computing them again gives (the search's leaves and certificates depend on it)."""

from __future__ import annotations

from fractions import Fraction as F

import mpmath
import pytest

from snn_theory.certify import enclosure
from snn_theory.certify.search.bounders import ClosedFormBounder, constant_balls
from snn_theory.evaluate import backends
from snn_theory.precision import working_precision

BITS = 64
#: a wide box (no monotone coordinate), a narrow one near Theorem 1's worst corner (the
#: reduction fixes coordinates), and a point
BOXES = [
    [(F(-1, 20), F(-1, 40)), (F(1, 20), F(3, 40)), (F(71, 80), F(39, 40)), (F(41, 40), F(173, 160))],
    [(F(3, 40), F(1, 10)), (F(3, 40), F(1, 10)), (F(4, 5), F(263, 320)), (F(391, 320), F(5, 4))],
    [(F(1, 10), F(1, 10)), (F(-1, 20), F(-1, 20)), (F(6, 5), F(6, 5)), (F(1, 1), F(1, 1))],
]


def _same_ball(a, b) -> bool:
    return a.mid() == b.mid() and a.rad() == b.rad()


@pytest.mark.parametrize("quantity", ["spectral_norm", "mean"])
@pytest.mark.parametrize("side", [1, -1])
@pytest.mark.parametrize("box", BOXES)
def test_bound_extras_are_what_the_search_would_compute(quantity, side, box):
    bounder = ClosedFormBounder()
    got = bounder.bound(quantity, box, side, BITS)
    lam, alpha = constant_balls(bounder.constants, BITS)
    with working_precision(bits=BITS):
        plain_bound, plain_face = enclosure.bound(quantity, box, lam, alpha, side)
    assert (got.bound, [tuple(iv) for iv in got.face]) == (plain_bound, plain_face)
    assert got.scores == bounder.split_scores(quantity, box, got.face, BITS)
    centre = [(lo + hi) / 2 for lo, hi in got.face]
    assert got.point is not None
    assert _same_ball(got.point, bounder.point(quantity, centre, BITS))
    # and it is the value there: the mpmath backend at 40 digits lies inside the ball
    with mpmath.workdps(40):
        lam01 = mpmath.mpf("1.0507009873554804934193349852946")
        alpha01 = mpmath.mpf("1.6732632423543772848170429916717")
        exact = backends.evaluator("mpmath", (quantity,))(
            *[mpmath.mpf(c.numerator) / c.denominator for c in centre], lam01, alpha01)[0]
    lo, hi = enclosure.lower(got.point), enclosure.upper(got.point)
    assert lo <= F(mpmath.nstr(exact, 35)) + F(1, 10**30)
    assert F(mpmath.nstr(exact, 35)) - F(1, 10**30) <= hi


def test_a_bound_decided_early_carries_no_extras():
    bounder = ClosedFormBounder()
    got = bounder.bound("spectral_norm", BOXES[0], 1, BITS, lambda b: b < 5)
    assert got.point is None and got.scores is None
    assert [tuple(iv) for iv in got.face] == BOXES[0]
