"""Certified SELU constants (docs/mathematics.md §3): `snn-theory solve-constants`."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
import sympy as sp
from flint import arb
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_theory.certify.constants import solve_constants
from snn_theory.derive import formulas
from snn_theory.evaluate import backends
from snn_theory.evaluate.moment_map import closed_form_quantities
from snn_theory.exact import decimal_enclosure, nearest_float
from snn_theory.precision import working_precision

LIBRARY_ALPHA = "1.6732632423543772848170429916717"
LIBRARY_LAMBDA = "1.0507009873554804934193349852946"


def frac(x: object) -> Fraction:
    """Exact rational of a decimal string or an mpmath number."""
    if isinstance(x, mpmath.mpf):
        man, exp = x.man_exp
        return Fraction(int(man)) * Fraction(2) ** int(exp)
    return Fraction(str(x))


def inside(x: object, enclosure: dict[str, str]) -> bool:
    return frac(enclosure["lower"]) <= frac(x) <= frac(enclosure["upper"])


# --------------------------------------------------------------------------- structure
def test_reduction_structure_holds_symbolically() -> None:
    """The starting point/feasibility step relies on μ̃ = λ·(affine in α) and
    ξ̃ = λ²·(quadratic in α); check it on the sympy expressions themselves."""
    lam, alpha = formulas.lam, formulas.alpha
    mean, second = formulas.MEAN, formulas.SECOND_MOMENT
    assert sp.diff(mean, alpha, 2) == 0
    assert sp.diff(second, alpha, 3) == 0
    assert sp.simplify(sp.diff(mean / lam, lam)) == 0
    assert sp.simplify(sp.diff(second / lam**2, lam)) == 0


# --------------------------------------------------------------------------- default target
def test_default_target_reproduces_library_literals_and_closed_forms() -> None:
    r31 = solve_constants(digits=31).to_json()
    assert r31["certified"] and r31["closed_form_agrees"] is True
    assert r31["lambda"]["value"] == LIBRARY_LAMBDA
    assert r31["alpha"]["value"] == LIBRARY_ALPHA
    r = solve_constants(digits=60)
    j = r.to_json()
    assert r.certified and r.ok and j["closed_form_agrees"] is True
    for key, literal in (("lambda", LIBRARY_LAMBDA), ("alpha", LIBRARY_ALPHA)):
        lo, hi = frac(j[key]["lower"]), frac(j[key]["upper"])
        assert hi - lo <= Fraction(2, 10**60)
        assert abs(frac(literal) - lo) < Fraction(1, 10**31)
    # closed forms (docs/mathematics.md §3) at 80 digits in mpmath lie in the certified enclosure
    with working_precision(digits=80):
        lam01, alpha01 = backends.constants_function("mpmath")()
    assert inside(lam01, j["lambda"]) and inside(alpha01, j["alpha"])
    # the float64 values: correctly rounded, and α′ is NOT the float product (one ulp off)
    assert j["float64"]["lambda"] == 1.0507009873554805
    assert j["float64"]["alpha"] == 1.6732632423543772
    assert j["float64"]["alpha_prime"] == -1.7580993408473768
    assert j["float64"]["lambda"] * j["float64"]["alpha"] == 1.7580993408473766


def test_100_digits_contain_independent_120_digit_values() -> None:
    j = solve_constants(digits=100).to_json()
    assert j["certified"]
    for key in ("lambda", "alpha"):
        assert len(j[key]["value"].split(".")[1]) == 100
        assert frac(j[key]["upper"]) - frac(j[key]["lower"]) <= Fraction(2, 10**100)
    with working_precision(digits=120):
        lam01, alpha01 = backends.constants_function("mpmath")()
        # and an independent root finder: mpmath's numerical Jacobian, plain mpmath F
        ev = backends.evaluator("mpmath", ("mean", "variance"))

        def f(la: mpmath.mpf, al: mpmath.mpf) -> list[mpmath.mpf]:
            mean, var = ev(0, 0, 1, 1, la, al)
            return [mean, var - 1]

        sol = mpmath.findroot(f, (mpmath.mpf("1.05"), mpmath.mpf("1.67")))
    assert inside(lam01, j["lambda"]) and inside(alpha01, j["alpha"])
    assert inside(sol[0], j["lambda"]) and inside(sol[1], j["alpha"])


# --------------------------------------------------------------------------- other targets
def test_notebook_case_matches_published_floats_and_is_certified() -> None:
    r = solve_constants(mean="-0.1", variance="2", omega="1", tau="1", digits=40)
    assert r.certified
    j = r.to_json()
    assert abs(float(frac(j["alpha"]["value"])) - 1.9769021954242014) < 1e-12
    assert abs(float(frac(j["lambda"]["value"])) - 1.073851239616046) < 1e-12


TARGETS = [
    ("-0.1", "2", "1", "1"),
    ("0.5", "1", "1", "1"),
    ("0.2", "0.8", "-1", "2"),
    ("0", "1.5", "0.3", "0.7"),
    ("-0.3", "0.5", "0", "1"),
    ("-2", "0.5", "3", "2"),  # λ ≈ 1.0e5, α ≈ 2.0e-5: far from λ01, α01
]


@pytest.mark.parametrize("target", TARGETS)
def test_other_targets_certified_and_fixed_points(target: tuple[str, ...]) -> None:
    mean, variance, omega, tau = target
    j = solve_constants(mean=mean, variance=variance, omega=omega, tau=tau, digits=60).to_json()
    assert j["certified"] and j["fixed_point"] == {"mean": mean, "variance": variance}
    lam, alpha = j["lambda"]["value"], j["alpha"]["value"]
    assert frac(lam) > 0 and frac(alpha) > 0
    with working_precision(digits=90):
        q = closed_form_quantities(mean, omega, variance, tau, lam, alpha, backend="mpmath",
                                   quantities=("mean", "variance"))
        scale = 1 + abs(frac(lam)) ** 2  # |∂F/∂λ| grows with λ
        assert abs(q["mean"] - mpmath.mpf(mean)) < 1e-57 * scale
        assert abs(q["variance"] - mpmath.mpf(variance)) < 1e-57 * scale


# --------------------------------------------------------------------------- dropout
def test_alpha_dropout_against_defining_equations() -> None:
    """For the dropout mixture x' = x with probability q, α′ otherwise, the affine map
    y = a·x' + b must restore mean μ and variance ν (computed exactly from the mixture)."""
    rates = ["0.05", "0.1", "0.5", "0"]
    for target in (("0", "1", "0", "1"), ("-0.1", "2", "1", "1")):
        r = solve_constants(*target, digits=60, dropout_rates=rates)
        assert r.certified
        j = r.to_json()
        assert [d["rate"] for d in j["dropout"]] == rates
        with working_precision(digits=80):
            mu, nu = mpmath.mpf(target[0]), mpmath.mpf(target[1])
            lam, alpha = mpmath.mpf(j["lambda"]["value"]), mpmath.mpf(j["alpha"]["value"])
            for d in j["dropout"]:
                q = 1 - mpmath.mpf(d["rate"])
                ap, a, b = (mpmath.mpf(d[k]) for k in ("alpha_prime", "a", "b"))
                assert abs(ap + lam * alpha) < 1e-58
                mean_x = q * mu + (1 - q) * ap
                second_x = q * (nu + mu**2) + (1 - q) * ap**2
                assert abs(a * mean_x + b - mu) < 1e-58
                assert abs(a**2 * (second_x - mean_x**2) - nu) < 1e-58
                assert a > 0
                # both enclose the true α′ = −λα: the α′ enclosure must meet −[λ]·[α]
                lam_iv = [frac(j["lambda"][k]) for k in ("lower", "upper")]
                alpha_iv = [frac(j["alpha"][k]) for k in ("lower", "upper")]
                ap_iv = [frac(d["bounds"]["alpha_prime"][k]) for k in ("lower", "upper")]
                assert ap_iv[0] <= -lam_iv[0] * alpha_iv[0]
                assert -lam_iv[1] * alpha_iv[1] <= ap_iv[1]
    # rate 0 keeps everything: a = 1, b = 0 exactly inside the enclosures
    d0 = j["dropout"][-1]["bounds"]
    assert inside(1, d0["a"]) and inside(0, d0["b"])


# --------------------------------------------------------------------------- decimals
@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**30), 10**30), st.integers(-120, 20), st.integers(0, 10**6),
       st.integers(-140, -60), st.integers(1, 40))
def test_decimal_enclosure_is_outward_and_value_is_rounded_mid(
        man: int, exp: int, rman: int, rexp: int, digits: int) -> None:
    with working_precision(bits=300):
        mid = arb(man) * arb(2) ** exp
        ball = mid + arb(0, arb(rman) * arb(2) ** rexp)
        dec = decimal_enclosure(ball, digits)
        lo_exact = frac_arb(ball.lower())
        hi_exact = frac_arb(ball.upper())
    m = Fraction(man) * Fraction(2) ** exp
    assert frac(dec.lower) <= lo_exact and hi_exact <= frac(dec.upper)
    assert frac(dec.upper) - frac(dec.lower) < hi_exact - lo_exact + Fraction(2, 10**digits)
    assert abs(frac(dec.value) - m) <= Fraction(1, 2 * 10**digits)
    f = nearest_float(ball)
    if f is not None:
        assert f == float(lo_exact) == float(hi_exact)


def frac_arb(x: arb) -> Fraction:
    man, exp = x.man_exp()
    return Fraction(int(man)) * Fraction(2) ** int(exp)


# --------------------------------------------------------------------------- long outputs
def test_more_digits_than_pythons_int_to_str_limit() -> None:
    """4400 digits (above Python's 4300-digit int/str conversion limit): the enclosures hold
    the closed forms evaluated independently in mpmath at 4420 digits, and the interpreter's
    limit is left as it was."""
    import sys
    from decimal import Decimal

    limit = sys.get_int_max_str_digits()
    j = solve_constants(digits=4400).to_json()
    assert sys.get_int_max_str_digits() == limit
    with working_precision(digits=4420):
        lam01, alpha01 = backends.constants_function("mpmath")()
        texts = (mpmath.nstr(lam01, 4415), mpmath.nstr(alpha01, 4415))
    for key, text in zip(("lambda", "alpha"), texts):
        e = j[key]
        assert len(e["value"].split(".")[1]) == 4400
        lo, hi, truth = Decimal(e["lower"]), Decimal(e["upper"]), Decimal(text)
        assert lo <= truth <= hi and hi - lo <= Decimal(2) / Decimal(10) ** 4400
