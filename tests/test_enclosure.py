"""The per-box bound that both the search and the checker trust, against independent values.

* the compact gradients it encloses equal sympy's own derivatives of the quantities;
* on random sub-boxes of every theorem domain, the bound is on the right side of the value
  of the quantity at sampled points, computed independently in mpmath at 30 digits.
"""

from __future__ import annotations

import random
from fractions import Fraction

import mpmath
import pytest
from flint import ctx
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_theory import working_precision
from snn_theory.certify.claims import THEOREM_DOMAINS
from snn_theory.certify.enclosure import bound, bound_modes
from snn_theory.derive import formulas
from snn_theory.evaluate import backends
from snn_theory.evaluate.moment_map import default_constants

QUANTITIES = ("mean", "variance", "variance_change", "H22", "spectral_norm")


@pytest.mark.parametrize("name", formulas.QUANTITIES)
def test_compact_gradient_equals_sympy_partials(name: str) -> None:
    compact = backends.value_and_gradient("mpmath", name)
    partials = backends.expression_function(
        "mpmath", formulas.ARGUMENTS,
        tuple(formulas.partial(name, x) for x in formulas.VARIABLES))
    rng = random.Random(7)
    with mpmath.workdps(40):
        lam, alpha = default_constants("mpmath")
        for _ in range(3):
            point = [mpmath.mpf(rng.uniform(-0.6, 0.6)), mpmath.mpf(rng.uniform(-0.6, 0.6)),
                     mpmath.mpf(rng.uniform(0.05, 3)), mpmath.mpf(rng.uniform(0.5, 1.5))]
            got = compact(*point, lam, alpha)[1:]
            want = partials(*point, lam, alpha)
            for g, w in zip(got, want):
                assert abs(g - w) <= mpmath.mpf(10) ** -32 * (1 + abs(w)), (name, point)


@st.composite
def sub_boxes(draw):
    domain = THEOREM_DOMAINS[draw(st.sampled_from(sorted(THEOREM_DOMAINS)))].bounds
    box = []
    for lo, hi in domain:
        # a random sub-interval, from 1/2 down to 1/256 of the side
        n = 2 ** draw(st.integers(1, 8))
        k = draw(st.integers(0, n - 1))
        width = (hi - lo) / n
        box.append((lo + k * width, lo + (k + 1) * width))
    return box


@settings(max_examples=40, deadline=None)
@given(sub_boxes(), st.sampled_from(QUANTITIES), st.sampled_from((1, -1)), st.randoms())
def test_bound_holds_at_sampled_points(box, quantity, side, rnd) -> None:
    old = ctx.prec
    ctx.prec = 64
    try:
        lam, alpha = backends.constants_function("arb")()
        try:
            b, face = bound(quantity, box, lam, alpha, side)
        except ArithmeticError:
            return  # a box too wide for a finite enclosure: the search splits it
    finally:
        ctx.prec = old
    f = backends.evaluator("mpmath", (quantity,))
    with mpmath.workdps(30):
        lam_mp, alpha_mp = default_constants("mpmath")
        corners = [[lo if rnd.random() < 0.5 else hi for lo, hi in box] for _ in range(4)]
        inner = [[lo + (hi - lo) * Fraction(rnd.randint(0, 64), 64) for lo, hi in box]
                 for _ in range(8)]
        for point in corners + inner + [[lo for lo, _ in face]]:
            value = f(*(mpmath.mpf(x.numerator) / x.denominator for x in point), lam_mp,
                      alpha_mp)[0]
            exact_bound = mpmath.mpf(b.numerator) / b.denominator
            if side > 0:
                assert value <= exact_bound + mpmath.mpf(10) ** -25, (quantity, box, point)
            else:
                assert value >= exact_bound - mpmath.mpf(10) ** -25, (quantity, box, point)


def test_bound_modes_equal_the_two_modes_of_bound() -> None:
    """The checker's one-evaluation pair is exactly (early-mode bound, full-mode bound), on
    boxes where the cheap bound decides and where it does not."""
    with working_precision(bits=64):
        lam, alpha = backends.constants_function("arb")()
        box = [(Fraction(-1, 10), Fraction(0)), (Fraction(0), Fraction(1, 10)),
               (Fraction(4, 5), Fraction(1)), (Fraction(19, 20), Fraction(1))]
        for quantity, side, threshold in (("spectral_norm", 1, Fraction(5)),
                                          ("spectral_norm", 1, Fraction(9, 10)),
                                          ("mean", -1, Fraction(-1)), ("variance", 1, 2)):
            def decides(b: Fraction, t: Fraction = threshold, s: int = side) -> bool:
                return b < t if s > 0 else b > t

            early, full = bound_modes(quantity, box, lam, alpha, side, decides)
            assert early == bound(quantity, box, lam, alpha, side, decides)[0]
            assert full == bound(quantity, box, lam, alpha, side)[0]


#: A box on which the four entries of H each contain 0 (found by the sampled-points test): the
#: Frobenius sandwich's lower end must then come from lower bounds of |H_ij| that are 0.
ZERO_ENTRY_BOX = [(Fraction(-1), Fraction(0)), (Fraction(-1, 10), Fraction(0)),
                  (Fraction(3), Fraction(19, 2)), (Fraction(4, 5), Fraction(41, 40))]


def test_lower_bound_of_s_where_entries_of_h_contain_zero() -> None:
    """The lower bound of S on the box lies below S at points of the box, evaluated by mpmath
    at 30 digits (an independent evaluation); it was once above them (33.97 > 0.535)."""
    with working_precision(bits=64):
        lam, alpha = backends.constants_function("arb")()
        low, _ = bound("spectral_norm", ZERO_ENTRY_BOX, lam, alpha, -1)
    f = backends.evaluator("mpmath", ("spectral_norm",))
    with mpmath.workdps(30):
        lam_mp, alpha_mp = default_constants("mpmath")
        for point in ([-1, Fraction(-1, 10), 3, Fraction(4, 5)], [0, 0, Fraction(19, 2), 1],
                      [Fraction(-1, 2), Fraction(-1, 20), 6, Fraction(9, 10)]):
            value = f(*(mpmath.mpf(Fraction(x).numerator) / Fraction(x).denominator
                        for x in point), lam_mp, alpha_mp)[0]
            assert mpmath.mpf(low.numerator) / low.denominator <= value


def test_false_lower_claim_on_s_is_refuted_not_proven() -> None:
    """spectral_norm > 30 on that box is false (S ≈ 0.54 at its corner): the verifier must
    refute it with a point counterexample, never prove it from a whole-box bound."""
    from snn_theory.certify.claims import Claim, Domain
    from snn_theory.certify.search.loop import verify_claim
    from snn_theory.certify.search.settings import Settings

    domain = Domain.parse("mu=-1:0,omega=-0.1:0,nu=3:9.5,tau=0.8:1.025")
    result = verify_claim(Claim.parse("spectral_norm>30", domain), Settings(jobs=1))
    assert result.verdict == "refuted"
