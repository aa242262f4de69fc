"""Constants per dtype, what rounding does to the fixed point, initialisers against the theory.

Independent references: mpmath at 80 digits for the exact constants, numpy.nextafter (and
an integer model of bfloat16 as truncated float32 bit patterns) for the neighbours, an
mpmath Newton solve at 50 digits plus mpmath quadrature for the fixed point, and
scipy/mpmath for the truncated-normal moments.
"""

from __future__ import annotations

from fractions import Fraction

import ml_dtypes
import mpmath
import numpy as np
import pytest
from flint import arb, fmpq
from scipy import stats

from snn_theory.certify import initializers, rounding
from snn_theory.evaluate import backends, dtypes
from snn_theory.precision import working_precision
from tests._reference import quad_moments

NUMPY = {"float64": np.float64, "float32": np.float32, "float16": np.float16,
         "bfloat16": ml_dtypes.bfloat16}
RATE = "0.1"


def exact_constants_mpmath() -> dict[str, mpmath.mpf]:
    """λ01, α01, α′ and alpha-dropout a, b (rate 0.1, fixed point (0, 1)) at 80 digits
    (the 40-digit enclosures are ~1e-44 ulp wide: 60 digits would not resolve them)."""
    with working_precision(digits=80):
        lam, alpha = backends.constants_function("mpmath")()
        ap = -lam * alpha
        q = 1 - mpmath.mpf(RATE)
        a = 1 / mpmath.sqrt(q * ((1 - q) * ap**2 + 1))  # docs/mathematics.md §3 at μ = 0, ν = 1
        b = -a * (1 - q) * ap
        out = {"lambda": +lam, "alpha": +alpha, "alpha_prime": ap,
               f"dropout[{RATE}].a": a, f"dropout[{RATE}].b": b}
        # the 60-digit closed forms agree with the published 32-digit literals
        assert abs(out["lambda"] - mpmath.mpf("1.0507009873554804934193349852946")) < 1e-30
        assert abs(out["alpha"] - mpmath.mpf("1.6732632423543772848170429916717")) < 1e-30
    return out


def independent_neighbours(dtype: str, value: float) -> tuple[float, float]:
    """Adjacent representable numbers without the library: numpy.nextafter, or for
    bfloat16 the float32 bit pattern stepped by 2^16 (bfloat16 = top half of float32)."""
    if dtype == "bfloat16":
        bits = int(np.asarray([value], dtype=np.float32).view(np.uint32)[0])
        assert bits & 0xFFFF == 0
        step = 1 if value > 0 else -1
        up = np.asarray([bits + step * 0x10000], dtype=np.uint32).view(np.float32)[0]
        down = np.asarray([bits - step * 0x10000], dtype=np.uint32).view(np.float32)[0]
        return float(down), float(up)
    t = NUMPY[dtype]
    x = t(value)
    return float(np.nextafter(x, t(-np.inf))), float(np.nextafter(x, t(np.inf)))


# ----------------------------------------------------------------------- correct rounding
@pytest.mark.parametrize("dtype", dtypes.DTYPE_NAMES)
def test_correct_rounding_against_mpmath_and_nextafter(dtype: str) -> None:
    from snn_theory.certify.constants import solve_constants

    result = solve_constants(digits=40, dropout_rates=[RATE])
    rounded = dtypes.round_constants(result, [dtype])[dtype]
    exact = exact_constants_mpmath()
    assert set(rounded) == set(exact)
    with working_precision(digits=80):
        for key, r in rounded.items():
            assert r.certified, (key, r.reason)
            value = float(r.value)
            assert float(NUMPY[dtype](value)) == value  # representable
            down, up = independent_neighbours(dtype, value)
            assert (r.below, r.above) == (Fraction(down), Fraction(up))
            c = exact[key]
            d0 = abs(mpmath.mpf(value) - c)
            assert d0 < abs(mpmath.mpf(down) - c) and d0 < abs(mpmath.mpf(up) - c), key
            # the error in ulps: (value − c)/ulp, ulp = spacing above |value| here
            ulp = abs(mpmath.mpf(up if value > 0 else down) - value)
            err = (mpmath.mpf(value) - c) / ulp
            lo, hi = r.error_ulps
            assert mpmath.mpf(lo.numerator) / lo.denominator <= err
            assert err <= mpmath.mpf(hi.numerator) / hi.denominator
            assert hi - lo < Fraction(1, 10**20) and abs(err) < 0.5
            # the pasted literal rounds back to the value
            assert float(NUMPY[dtype](float(r.literal))) == value


def test_known_float_values() -> None:
    from snn_theory.certify.constants import solve_constants

    r = dtypes.round_constants(solve_constants(digits=30), list(dtypes.DTYPE_NAMES))
    # ONNX's float32 defaults are exactly the correctly rounded float32 λ01, α01
    assert r["float32"]["lambda"].value == Fraction("1.05070102214813232421875")
    assert r["float32"]["alpha"].value == Fraction("1.67326319217681884765625")
    assert float(r["float64"]["alpha_prime"].value) == -1.7580993408473768
    assert r["bfloat16"]["lambda"].value == Fraction("1.046875")  # −0.49 ulp: close call
    assert r["float16"]["lambda"].bits == "0x3c34"


def test_straddling_or_tie_is_not_certified_and_exact_values_are() -> None:
    with working_precision(bits=200):
        x32 = Fraction(float(np.float32(1.0507)))
        up = Fraction(float(np.nextafter(np.float32(1.0507), np.float32(2))))
        tie = (x32 + up) / 2
        ball = arb(fmpq(tie.numerator, tie.denominator))  # exactly halfway: a tie
        r = dtypes.round_ball(ball, "float32")
        assert not r.certified and "boundary" in r.reason
        near = arb(fmpq(tie.numerator, tie.denominator)) + arb(0, arb(2) ** -60)
        assert not dtypes.round_ball(near, "float32").certified
        exact = dtypes.round_ball(arb(fmpq(x32.numerator, x32.denominator)), "float32")
        assert exact.certified and exact.value == x32 and exact.error_ulps == (0, 0)


def test_literal_error_in_ulps_of_truncated_constants() -> None:
    with working_precision(bits=200):
        lam, alpha = backends.constants_function("arb")()
        lam_err = dtypes.literal_error("1.0507", "float32", lam)
        alpha_err = dtypes.literal_error("1.67326", "float32", alpha)
    exact = exact_constants_mpmath()
    for (stored, (lo, hi)), text, key in ((lam_err, "1.0507", "lambda"),
                                          (alpha_err, "1.67326", "alpha")):
        assert float(stored) == float(np.float32(text))
        with mpmath.workdps(80):  # the enclosure is ~1e-40 wide: compare exactly, not in float
            ulp = mpmath.mpf(2) ** -23  # both in [1, 2)
            err = (mpmath.mpf(float(np.float32(text))) - exact[key]) / ulp
            assert (mpmath.mpf(lo.numerator) / lo.denominator <= err
                    <= mpmath.mpf(hi.numerator) / hi.denominator)
    assert -9 < float(lam_err[1][0]) < -8.5 and -28 < float(alpha_err[1][0]) < -27


# ----------------------------------------------------------------------- rounding
def test_fixed_point_for_rounded_constants_against_newton_at_50_digits() -> None:
    for shipped in (rounding.constants_for_dtype("bfloat16"),
                    rounding.constants_from_text("1.0507", "1.67326", "float32")):
        impact = rounding.rounding_impact(shipped, claims=False)
        lam, alpha = (mpmath.mpf(shipped.lam.numerator) / shipped.lam.denominator,
                      mpmath.mpf(shipped.alpha.numerator) / shipped.alpha.denominator)
        with working_precision(digits=50):
            ev = backends.evaluator("mpmath", ("mean", "variance", "spectral_norm"))

            def f(mu: mpmath.mpf, nu: mpmath.mpf, ev=ev, lam=lam, alpha=alpha) -> list:
                m, v, _ = ev(mu, 0, nu, 1, lam, alpha)
                return [m - mu, v - nu]

            mu, nu = mpmath.findroot(f, (mpmath.mpf(0), mpmath.mpf(1)))  # secant Newton
            s = ev(mu, 0, nu, 1, lam, alpha)[2]
            dist = mpmath.sqrt(mu**2 + (nu - 1) ** 2)
        for ball, ref in ((impact.mean, mu), (impact.variance, nu), (impact.spectral_norm, s),
                          (impact.distance, dist)):
            assert abs(float(ball.mid()) - float(ref)) <= 1e-40 + 1e-15 * abs(float(ref))
            assert float(ball.rad()) < 1e-40
        # and the moments by quadrature of the defining integrals (z ~ N(μω, ντ) = N(0, ν))
        with working_precision(digits=30):
            mean, second = quad_moments(mpmath.mpf(0), nu, lam, alpha)
            assert abs(mean - mu) < 1e-15 and abs(second - mean**2 - nu) < 1e-15


# ----------------------------------------------------------------------- initialisers
def test_truncated_normal_variance_against_closed_form_and_scipy() -> None:
    with working_precision(bits=128):
        m = initializers.law_moments("truncated_normal", 2)
    with working_precision(digits=40):
        a = mpmath.mpf(2)
        z = 2 * mpmath.ncdf(a) - 1
        closed = 1 - 2 * a * mpmath.npdf(a) / z
        quad2 = mpmath.quad(lambda x: x**2 * mpmath.npdf(x), [-2, 0, 2]) / z
        quad4 = mpmath.quad(lambda x: x**4 * mpmath.npdf(x), [-2, 0, 2]) / z
        for ref in (closed, quad2):
            assert abs(mpmath.mpf(m.variance.mid().str(40, radius=False)) - ref) < 1e-35
    assert abs(float(m.fourth.mid()) - float(quad4)) < 1e-14
    assert abs(float(m.variance.mid()) - stats.truncnorm.var(-2, 2)) < 1e-14
    # Keras/JAX divide the standard deviation by 0.87962566103423978: √v to float64
    assert float(m.correction.mid()) == 0.87962566103423978
    assert abs(float(m.kurtosis.mid()) - (stats.truncnorm.stats(-2, 2, moments="k") + 3)
               ) < 1e-12


def test_uniform_and_presets() -> None:
    with working_precision(bits=128):
        u = initializers.law_moments("uniform")
        u1 = initializers.law_moments("uniform", "1")
    assert float(u.variance.mid()) == 1 and abs(float(u.kurtosis.mid()) - 1.8) < 1e-15
    assert abs(float(u1.variance.mid()) - stats.uniform(-1, 2).var()) < 1e-15
    rows = {r.preset.name: r for r in initializers.initializer_table(fan_in=256)}
    gain = rows["kaiming_normal_(nonlinearity='selu')"]
    assert gain.tau.overlaps(arb(9) / 16)
    corrected = rows["lecun_normal (truncated, corrected)"]
    with working_precision(digits=40):
        a = mpmath.mpf(2)
        v = 1 - 2 * a * mpmath.npdf(a) / (2 * mpmath.ncdf(a) - 1)
        tau_ref = v / mpmath.mpf(0.87962566103423978) ** 2  # the float64 literal, exactly
    assert abs(float(corrected.tau.mid()) - float(tau_ref)) < 1e-16
    assert abs(float((corrected.tau - 1).mid()) - float(tau_ref - 1)) < 1e-25
    # per-unit sd of τ for normal weights: √(2/N)
    assert abs(float(rows["normal(0, 1/N)"].tau_sd.mid()) - (2 / 256) ** 0.5) < 1e-15
    assert rows["nn.Linear default"].fixed_point is None


def test_monte_carlo_non_gaussian_laws_follow_the_certified_fixed_point() -> None:
    rng = np.random.default_rng(1)
    u = initializers.sample_law(rng, "truncated_normal", 2, (200_000,))
    assert np.abs(u).max() <= 2 and abs(u.var() - 0.7737413) < 0.01
    presets = {p.name: p for p in initializers.PRESETS}
    for name in ("truncated normal at ±2σ, uncorrected", "lecun_uniform"):
        mc = initializers.monte_carlo(presets[name], width=192, depth=25, batch=192, seed=3)
        mu, nu = mc.predicted
        assert abs(mc.mean - mu) < 0.05 and abs(mc.variance - nu) < 0.1 * nu, (name, mc)
        assert abs(mc.tau_sd - mc.predicted_tau_sd) < 0.2 * mc.predicted_tau_sd


def test_round_rational_ties_to_even_like_numpy() -> None:
    # exact midpoints between adjacent float32 / float16 / bfloat16 numbers (dyadic, so
    # exactly representable in float64: numpy's and ml_dtypes' casts round them once, RNE)
    rng = np.random.default_rng(7)
    for dtype in ("float32", "float16", "bfloat16"):
        fmt = dtypes.FORMATS[dtype]
        for x in rng.uniform(0.1, 3.0, 50):
            r = NUMPY[dtype](x)
            down, up = independent_neighbours(dtype, float(r))
            for mid in ((Fraction(down) + Fraction(float(r))) / 2,
                        (Fraction(float(r)) + Fraction(up)) / 2):
                expected = Fraction(float(np.asarray(float(mid)).astype(NUMPY[dtype])))
                assert dtypes.round_rational(fmt, mid) == expected
                assert dtypes.round_rational(fmt, -mid) == -expected
