"""Exact numbers (the one parser, exact text, outward rounding) and the file helpers (atomic
writes, JSON with non-finite floats), each checked against an independent computation:
integer/Fraction arithmetic built here, not the code under test."""

from __future__ import annotations

import doctest
import gzip
import json
import math
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from flint import arb, fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_theory import exact, files
from snn_theory.certify.claims import Claim, Domain
from snn_theory.errors import InputError
from snn_theory.exact import (
    MAX_MAGNITUDE,
    ball_endpoints,
    decimal_enclosure,
    decimal_interval,
    decimal_text,
    format_fraction,
    parse_exact,
)
from snn_theory.files import atomic_write, dumps_json, json_value

FAST = settings(max_examples=150, deadline=None)


def test_doctests_hold() -> None:
    for module in (exact, files):
        failed, tried = doctest.testmod(module)
        assert tried >= 2 and failed == 0, module.__name__


# --------------------------------------------------------------------------- the parser
def _in_range(x: Fraction) -> bool:
    return x == 0 or Fraction(1, 10**50) <= abs(x) <= 10**50


@FAST
@given(negative=st.booleans(), whole=st.text("0123456789", min_size=1, max_size=25),
       frac=st.text("0123456789", max_size=25), exponent=st.none() | st.integers(-80, 80),
       upper_e=st.booleans(), plus=st.booleans())
def test_parser_agrees_with_integer_arithmetic(negative, whole, frac, exponent, upper_e,
                                               plus) -> None:
    """'-12.345e-7' is (−1)·12345·10^(−3−7), computed here from the digits with integers."""
    text = ("-" if negative else "+" if plus else "") + whole + ("." + frac if frac else "")
    if exponent is not None:
        text += ("E" if upper_e else "e") + str(exponent)
    value = Fraction(int(whole + frac), 10 ** len(frac)) * Fraction(10) ** (exponent or 0)
    value = -value if negative else value
    if _in_range(value):
        assert parse_exact(text, "x") == value
        assert parse_exact(f"  {text}\t", "x") == value  # surrounding space is ignored
    else:
        with pytest.raises(InputError, match="out of range"):
            parse_exact(text, "x")


@FAST
@given(p=st.integers(-10**30, 10**30), q=st.integers(1, 10**30))
def test_ratios_and_format_fraction_round_trip(p, q) -> None:
    x = Fraction(p, q)
    if not _in_range(x):
        return
    assert parse_exact(f"{p}/{q}", "x") == x
    text = format_fraction(x)
    assert Fraction(text) == x and parse_exact(text, "x") == x
    if x.denominator == 2 ** _multiplicity(x.denominator, 2) * 5 ** _multiplicity(
            x.denominator, 5):
        assert "/" not in text  # a finite decimal is printed as one
    else:
        assert text == f"{x.numerator}/{x.denominator}"
    with pytest.raises(InputError, match="finite decimal number"):
        parse_exact(f"{p}/{q}", "--x", ratio=False)


def _multiplicity(n: int, p: int) -> int:
    k = 0
    while n % p == 0:
        n //= p
        k += 1
    return k


def test_magnitude_limits() -> None:
    assert MAX_MAGNITUDE == 10**50
    for ok in ("1e50", "-1e50", "1e-50", "0", "-0.0", "0e3", "10000000000e40"):
        assert parse_exact(ok, "x") == Fraction(ok)
    for bad in ("1.0000000000000000001e50", "1e51", "-1e51", "9.99e-51", "1e-51",
                "1e999999999", "1e-999999999", "0e1001", "1" * 51, "1" * 200_001):
        with pytest.raises(InputError, match="out of range"):
            parse_exact(bad, "x")
    for bad in (10**51, -(10**51), Fraction(1, 10**51), 1e51, 1e-51):
        with pytest.raises(InputError, match="out of range"):
            parse_exact(bad, "x")
    assert parse_exact(10**50, "x") == 10**50 and parse_exact(Fraction(1, 10**50), "x")


def test_other_spellings_are_refused() -> None:
    for bad in ("nan", "inf", "-Infinity", "0x10", "1_000", "", "1e", ".", "1/0", "1/-3",
                "1 / 3", "1.5/2", "--1", "1e+-3", "½", "1.0−", "True"):
        with pytest.raises(InputError):
            parse_exact(bad, "x")
    for bad in (True, False, math.nan, math.inf, -math.inf, None, [1]):
        with pytest.raises(InputError):
            parse_exact(bad, "x")
    assert parse_exact(0.1, "x") == Fraction(3602879701896397, 2**55)  # the binary value
    with pytest.raises(InputError, match="must be > 0"):
        parse_exact("0", "--nu", positive=True)
    with pytest.raises(InputError, match="must be > 0"):
        parse_exact("-1e60", "--nu", positive=True)


@pytest.mark.parametrize("text", ["１", "０.５", "٣", "1٫5", "𝟏", "1e１"])
def test_non_ascii_digits_are_refused_by_the_library(text: str) -> None:
    """Python's int()/Fraction() read '１' (full width) and '٣' (Arabic-Indic) as digits."""
    with pytest.raises(InputError, match="ASCII"):
        parse_exact(text, "x")
    with pytest.raises(InputError, match="ASCII"):
        Domain.parse(f"mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:{text},tau=0.95:1.1")
    domain = Domain.parse("mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1")
    with pytest.raises(InputError, match="ASCII"):
        Claim.parse(f"spectral_norm<{text}", domain)


# --------------------------------------------------------------------------- outward rounding
def _decade(x: Fraction) -> int:
    """e with 10^e ≤ |x| < 10^(e+1), by stepping through powers of ten."""
    e, a = 0, abs(x)
    while a >= Fraction(10) ** (e + 1):
        e += 1
    while a < Fraction(10) ** e:
        e -= 1
    return e


def _significant(text: str) -> int:
    mantissa = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0").rstrip("0")
    return len(mantissa)


@FAST
@given(p=st.integers(1, 10**40), q=st.integers(1, 10**40), scale=st.integers(-60, 60),
       negative=st.booleans(), digits=st.sampled_from([1, 2, 4, 10, 17, 30]))
def test_outward_rounding_contains_the_exact_value(p, q, scale, negative, digits) -> None:
    x = Fraction(p, q) * Fraction(10) ** scale * (-1 if negative else 1)
    down, up = decimal_text(x, -1, digits), decimal_text(x, 1, digits)
    lo, hi = Fraction(down), Fraction(up)
    assert lo <= x <= hi
    assert _significant(down) <= digits and _significant(up) <= digits
    unit = Fraction(10) ** (_decade(x) - digits + 1)  # one unit in the last printed digit
    assert x - lo < unit and hi - x < unit  # the nearest such number on each side
    if (x / unit).denominator == 1:
        assert lo == hi == x  # exactly representable: printed exactly
    # an interval [x, x + tiny]: printed outward it still contains both ends
    y = x + Fraction(1, q * 10**70)
    text = decimal_interval(x, y, digits)
    assert Fraction(text[0]) <= x and y <= Fraction(text[1])


@FAST
@given(p=st.integers(1, 10**12), gap=st.integers(1, 10**6), digits=st.sampled_from([3, 10]))
def test_decimal_interval_shows_what_the_exact_interval_excludes(p, gap, digits) -> None:
    """An interval just below a threshold is printed with enough digits to stay below it."""
    threshold = Fraction(p, 7)
    hi = threshold - Fraction(gap, 10**40)
    lo = hi - Fraction(1, 10**45)
    text = decimal_interval(lo, hi, digits, exclude=threshold)
    assert Fraction(text[0]) <= lo and hi <= Fraction(text[1]) < threshold


@FAST
@given(p=st.integers(-10**30, 10**30), q=st.integers(1, 10**20),
       rad_exp=st.integers(-120, -1), digits=st.sampled_from([1, 5, 20, 60]))
def test_decimal_enclosure_contains_the_ball(p, q, rad_exp, digits) -> None:
    ball = arb(fmpq(p, q)) + arb(0, arb(2) ** rad_exp)
    lo, hi = ball_endpoints(ball)
    mid = lo / 2 + hi / 2
    dec = decimal_enclosure(ball, digits)
    assert Fraction(dec.lower) <= lo and hi <= Fraction(dec.upper)
    unit = Fraction(1, 10**digits)
    assert lo - Fraction(dec.lower) < unit and Fraction(dec.upper) - hi < unit
    assert abs(Fraction(dec.value) - mid) <= unit / 2
    # the ball's exact ends, from the man·2^exp of its midpoint and radius
    m, e = ball.mid().man_exp()
    r, f = ball.rad().man_exp()
    assert (lo, hi) == (Fraction(int(m)) * Fraction(2) ** int(e) - Fraction(int(r)) *
                        Fraction(2) ** int(f), Fraction(int(m)) * Fraction(2) ** int(e) +
                        Fraction(int(r)) * Fraction(2) ** int(f))


def test_ball_endpoints_refuse_non_finite_balls() -> None:
    with pytest.raises(ArithmeticError):
        ball_endpoints(arb("nan"))
    with pytest.raises(ArithmeticError):
        ball_endpoints(arb("inf"))


# --------------------------------------------------------------------------- atomic writes
def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("stage", ["write", "fsync", "replace"])
@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch, stage, error) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text('{"old": true}')
    real_fdopen = os.fdopen

    class Failing:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[: len(data) // 2])  # half of it reaches the disk
            raise error

        def __getattr__(self, name):
            return getattr(self.fh, name)

    def boom(*args, **kwargs):
        raise error

    if stage == "write":
        monkeypatch.setattr(files.os, "fdopen", lambda *a, **k: Failing(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(files.os, stage, boom)
    for path in (old, new):
        with pytest.raises(type(error)):
            atomic_write(path, '{"new": ' + "1" * 10_000 + "}")
    assert _listing(tmp_path) == ["old.json"]  # no temporary file, no new file
    assert old.read_text() == '{"old": true}'  # the old content, whole


def test_atomic_write_replaces_and_compresses_reproducibly(tmp_path) -> None:
    path = tmp_path / "sub" / "a.json.gz"
    atomic_write(path, "x" * 1000, compress=True)
    first = path.read_bytes()
    atomic_write(path, "x" * 1000, compress=True)
    assert path.read_bytes() == first  # mtime 0, no file name: the same bytes
    assert gzip.decompress(first) == b"x" * 1000
    assert _listing(path.parent) == ["a.json.gz"]
    plain = tmp_path / "b.txt"
    atomic_write(plain, "old")
    atomic_write(plain, b"new\n")
    assert plain.read_bytes() == b"new\n" and _listing(tmp_path) == ["b.txt", "sub"]


# --------------------------------------------------------------------------- JSON
def _strict(text: str):
    def refuse(name: str):
        raise AssertionError(f"non-strict JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@FAST
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=20))
def test_json_round_trip_of_non_finite_floats(values) -> None:
    data = {"list": values, "tuple": tuple(values), "array": np.array(values, np.float64),
            "nested": [{"x": v} for v in values], "f32": np.float32("nan"),
            "scalar": np.float64(values[0]) if values else np.float64("inf")}
    back = _strict(dumps_json(data))
    expect = [v if math.isfinite(v) else None for v in values]
    assert back["list"] == expect and back["tuple"] == expect and back["array"] == expect
    assert [d["x"] for d in back["nested"]] == expect
    assert back["f32"] is None
    first = values[0] if values else math.inf
    assert back["scalar"] == (first if math.isfinite(first) else None)
    for a, b in zip(back["list"], values):  # finite values come back bit for bit
        if a is not None:
            assert a.hex() == b.hex()
    assert json_value(data)["list"] == expect


def test_json_keeps_other_values() -> None:
    data = {"i": 3, "s": "NaN", "b": True, "n": None, "big": 10**30, "i64": np.int64(7)}
    assert _strict(dumps_json(data)) == {"i": 3, "s": "NaN", "b": True, "n": None,
                                         "big": 10**30, "i64": 7}


def test_integer_text_of_any_length_against_python_with_the_limit_lifted() -> None:
    """integer_text agrees with str() (its conversion limit lifted here, in the test only)
    from 1 digit to 30 000, at the split points and for negative numbers."""
    import random
    import sys

    from snn_theory.exact import integer_text

    rng = random.Random(7)
    cases = [0, 7, -7, 10**3611, 10**3612 - 1, 10**4300, -(10**4301) - 1]
    cases += [rng.randrange(10 ** (d - 1), 10**d) for d in (4299, 4301, 9000, 30_000)]
    cases += [10**9000 + 1, 10**12000]  # runs of zeros across the split
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        expected = [str(n) for n in cases]
    finally:
        sys.set_int_max_str_digits(old)
    assert [integer_text(n) for n in cases] == expected
