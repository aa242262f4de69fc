"""What the verifier prints rests on what it proved (library side): outward decimals at every
magnitude, the direct enclosure where the centred form is NaN, a tampered derivative-bound
cache re-derived, and no verdict on an inverted enclosure.  The command-line half of these
regression tests is tests/cli/test_trust.py.
"""

from __future__ import annotations

import json
from fractions import Fraction

from flint import arb, ctx
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_theory.certify import enclosure
from snn_theory.evaluate import backends
from snn_theory.exact import decimal_text


# ------------------------------------------------------------------ 6. outward decimals
@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**40), st.integers(1, 10**40), st.integers(-80, 80), st.booleans(),
       st.integers(1, 30))
def test_decimal_text_rounds_outward_at_every_magnitude(p, q, e, negative, digits):
    x = Fraction(p, q) * Fraction(10) ** e * (-1 if negative else 1)
    down, up = decimal_text(x, -1, digits), decimal_text(x, 1, digits)
    assert Fraction(down) <= x <= Fraction(up)
    # and tightly: at most one unit in the last of `digits` significant digits apart
    assert Fraction(up) - Fraction(down) <= abs(x) * Fraction(10) ** (1 - digits) * 2
    for text in (down, up):
        mantissa = text.split("e")[0].lstrip("-").replace(".", "").strip("0")
        assert len(mantissa) <= digits


def test_nan_centred_form_falls_back_to_the_direct_enclosure(monkeypatch):
    box = [(Fraction(-1, 10), Fraction(1, 10)), (Fraction(-1, 10), Fraction(1, 10)),
           (Fraction(8, 10), Fraction(9, 10)), (Fraction(95, 100), Fraction(1))]
    monkeypatch.setattr(ctx, "prec", 64)  # (restored after the test)
    lam, alpha = backends.constants_function("arb")()
    value_and_gradient = backends.value_and_gradient("arb", "variance")
    direct = value_and_gradient(*[enclosure.interval_ball(a, b) for a, b in box], lam, alpha)[0]
    # a gradient that never excludes 0 keeps the box whole; a NaN value at the centre makes
    # the centred form NaN, which "overlaps" everything
    monkeypatch.setattr(enclosure.backends, "value_and_gradient", lambda backend, q: (
        lambda *a: [value_and_gradient(*a)[0]] + [arb(0, 1)] * 4))
    monkeypatch.setattr(enclosure, "point_value", lambda *a: arb("nan"))
    b, _ = enclosure.bound("variance", box, lam, alpha, 1)
    assert b == enclosure.upper(direct)


# ------------------------------------------------------------------ 9. paper method
def test_tampered_derivative_bound_cache_is_re_derived(tmp_path):
    from snn_theory.certify.paper.bounds import cached_derivative_bounds

    domain = [(-0.1, 0.1), (-0.1, 0.1), (0.8, 0.9), (0.95, 1.0)]
    fresh = cached_derivative_bounds(domain, tmp_path, max_boxes=24)
    assert fresh.cached is False and min(fresh.upper) > 0
    (cache,) = tmp_path.glob("paper-derivative-bounds-*.json")
    data = json.loads(cache.read_text())
    data["upper"] = [0.0.hex()] * 4  # "all bounds are 0"
    cache.write_text(json.dumps(data))
    again = cached_derivative_bounds(domain, tmp_path, max_boxes=24)
    assert again.cached is True and again.upper == fresh.upper
    data["leaves"] = data["leaves"][1:]  # a tiling with a gap is not used at all
    cache.write_text(json.dumps(data))
    assert cached_derivative_bounds(domain, tmp_path, max_boxes=24).cached is False


def test_no_verdict_on_an_inverted_enclosure(monkeypatch):
    """Last line of defence: an enclosure with lower > upper (impossible if every step is
    rigorous) is never reported with a verdict."""
    from snn_theory.certify.claims import BUILTIN_CLAIMS
    from snn_theory.certify.search import loop
    from snn_theory.certify.search.settings import Settings

    monkeypatch.setattr(loop._Search, "enclosure", lambda self: (Fraction(1), Fraction(0)))
    result = loop.verify_claim(BUILTIN_CLAIMS["theorem1.mean_upper"], Settings(jobs=1))
    assert result.verdict == "undecided" and result.extremum is None
    assert "lower > upper" in result.reason
