"""Exact numbers: the one parser of user numbers, exact formatting and outward rounding.

Every proof in snn-theory starts from exact rationals (domain ends, thresholds, weights,
targets) and ends in printed decimals.  Both ends live here, so that what the proofs' rounding
rests on can be audited in one file:

* :func:`parse_exact` — the one parser: a decimal string (``"-0.1"``, ``"1e-3"``), a ratio
  ``"p/q"``, an int, a Fraction or a finite float (at its exact binary value) becomes an exact
  :class:`~fractions.Fraction`; anything else is an :class:`~snn_theory.errors.InputError`.
  Nonzero magnitudes must lie in [1e-50, 1e50] (:data:`MAX_MAGNITUDE`), and only ASCII digits
  are numbers (Python would read a full-width ``'１'`` as 1; arb cannot).
* :func:`format_fraction` — the exact text of a rational (no rounding at all).
* :func:`decimal_text`, :func:`decimal_interval`, :func:`interval_text` — outward rounding of
  exact rationals to significant digits: the printed interval contains the exact one
  (:func:`ball_text`: the same for an arb ball).
* :func:`decimal_enclosure` — outward rounding of an arb ball to fixed decimals: the printed
  interval contains the ball; :func:`nearest_float` — the float64 nearest to every point of a
  ball.
* :data:`SHORT_DIGITS` — the significant digits of a table cell (an :func:`interval_text`
  or :func:`ball_text` that short is still an enclosure).
* :func:`to_fraction`, :func:`ball_endpoints` — the exact rational value of an arb point and
  the exact ends mid ∓ rad of a ball, independent of arb's working precision.

Everything here is exact integer/rational arithmetic: no float is formed on the way to a
printed bound, so nothing rounds to nearest behind the caller's back.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from flint import arb

from snn_theory.errors import InputError

#: Nonzero magnitudes accepted anywhere (domains, thresholds, targets, certificates,
#: ``map``): beyond them error-function arguments leave the range where the evaluators are
#: tested and mpmath's erfc overflows internally.  Zero is always accepted.
MAX_MAGNITUDE = Fraction(10) ** 50
#: Largest decimal exponent read (checked before the number is built, so ``'1e999999999'``
#: is refused at once instead of expanding to a billion digits).
MAX_EXPONENT = 1000
#: Longest number text read.
MAX_LENGTH = 200_000

_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE]([+-]?\d+))?", re.ASCII)
_RATIO = re.compile(r"[+-]?\d+/\d+", re.ASCII)
_RANGE = "nonzero magnitudes must lie in [1e-50, 1e50]"


def _shown(text: Any) -> str:
    """``text`` quoted for a one-line message (at most 40 characters of it)."""
    s = str(text)
    return repr(s[:40] + "…") if len(s) > 40 else repr(s)


def check_ascii_digits(text: str, what: str = "") -> None:
    """Raise :class:`InputError` if ``text`` holds a digit other than ASCII 0-9.

    Python reads ``'１'`` (full width) or ``'٣'`` (Arabic-Indic) as digits; arb and the
    certificates cannot, so such text is never a number.

    >>> check_ascii_digits("0.07")
    >>> check_ascii_digits("０.07", "--mu")
    Traceback (most recent call last):
    ...
    snn_theory.errors.InputError: --mu: '０.07': numbers must be written with ASCII digits 0-9
    """
    if any(ch.isdigit() and not ch.isascii() for ch in str(text)):
        prefix = f"{what}: " if what else ""
        raise InputError(f"{prefix}{_shown(text)}: numbers must be written with ASCII digits 0-9")


def parse_exact(value: Any, what: str, *, ratio: bool = True, positive: bool = False) -> Fraction:
    """The exact rational a user number stands for; :class:`InputError` naming ``what``.

    Accepted: a string holding a decimal with optional exponent (``"-0.1"`` is exactly
    −1/10, ``"1e-3"``, ``".5"``), or, where ``ratio``, ``"p/q"`` (``"3/7"``); an int; a
    Fraction; a finite float, taken at its exact binary value.  Surrounding whitespace is
    ignored.  Refused: other spellings (``"nan"``, ``"inf"``, ``"0x10"``, ``"1_000"``, bools),
    digits that are not ASCII 0-9, a zero denominator, ``positive`` and a value ≤ 0, and
    nonzero magnitudes outside [1/:data:`MAX_MAGNITUDE`, :data:`MAX_MAGNITUDE`] =
    [1e-50, 1e50] (an exponent beyond :data:`MAX_EXPONENT` is refused before the number is
    built).  The result equals the number the text denotes, exactly.

    >>> parse_exact("-0.1", "mu")
    Fraction(-1, 10)
    >>> parse_exact("3/7", "threshold"), parse_exact(" 1e-3 ", "nu"), parse_exact(0.5, "x")
    (Fraction(3, 7), Fraction(1, 1000), Fraction(1, 2))
    >>> parse_exact("1e51", "--nu")
    Traceback (most recent call last):
    ...
    snn_theory.errors.InputError: --nu is out of range (got '1e51'); nonzero magnitudes must lie in [1e-50, 1e50]
    >>> parse_exact("3/7", "--mu", ratio=False)
    Traceback (most recent call last):
    ...
    snn_theory.errors.InputError: --mu must be a finite decimal number (got '3/7')
    >>> parse_exact("１", "tau")
    Traceback (most recent call last):
    ...
    snn_theory.errors.InputError: tau: '１': numbers must be written with ASCII digits 0-9
    """
    kind = "a finite decimal number" + (" or a ratio p/q" if ratio else "")
    if isinstance(value, bool):
        raise InputError(f"{what} must be {kind} (got {value!r})")
    if isinstance(value, int | Fraction):
        x = Fraction(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{what} must be {kind} (got {value!r})")
        x = Fraction(value)
    else:
        s = str(value).strip()
        check_ascii_digits(s, what)
        if not s.isascii():
            raise InputError(f"{what} must be {kind} written in ASCII (got {_shown(s)})")
        if len(s) > MAX_LENGTH:
            raise InputError(f"{what} is out of range (got {_shown(s)}); {_RANGE}")
        decimal = _DECIMAL.fullmatch(s)
        if decimal:
            if decimal.group(4) and abs(int(decimal.group(4))) > MAX_EXPONENT:
                raise InputError(f"{what} is out of range (got {_shown(s)}); {_RANGE}")
        elif not (ratio and _RATIO.fullmatch(s)):
            raise InputError(f"{what} must be {kind} (got {_shown(s)})")
        try:
            x = Fraction(s)
        except ZeroDivisionError:
            raise InputError(f"{what} must be {kind} (got {_shown(s)}: zero denominator)") from None
    if positive and not x > 0:
        raise InputError(f"{what} must be > 0 (got {_shown(value)})")
    if x != 0 and not (1 / MAX_MAGNITUDE <= abs(x) <= MAX_MAGNITUDE):
        raise InputError(f"{what} is out of range (got {_shown(value)}); {_RANGE}")
    return x


def decimal_string(text: str, what: str, *, positive: bool = False) -> str:
    """``text`` stripped, once :func:`parse_exact` has accepted it as a decimal (no ratio):
    for the evaluators that read decimal text themselves (mpmath rounds it once at the working
    precision, arb encloses it), so the number they see is the one the user wrote.

    >>> decimal_string(" 0.1 ", "--mu")
    '0.1'
    """
    parse_exact(text, what, ratio=False, positive=positive)
    return str(text).strip()


# --------------------------------------------------------------------------- exact text
def format_fraction(x: Fraction) -> str:
    """The exact text of a rational: its finite decimal expansion when it has one (the
    denominator is 2^a·5^b), else ``'p/q'``.  ``Fraction(format_fraction(x)) == x`` always.

    >>> format_fraction(Fraction(-1, 10)), format_fraction(Fraction(3, 8)), format_fraction(Fraction(1, 3))
    ('-0.1', '0.375', '1/3')
    >>> format_fraction(Fraction(5))
    '5'
    """
    q = x.denominator
    twos = fives = 0
    while q % 2 == 0:
        q //= 2
        twos += 1
    while q % 5 == 0:
        q //= 5
        fives += 1
    if q != 1:
        return f"{integer_text(x.numerator)}/{integer_text(x.denominator)}"
    digits = max(twos, fives)
    scaled = x * 10**digits
    sign = "-" if scaled < 0 else ""
    n = abs(scaled.numerator)
    if digits == 0:
        return f"{sign}{integer_text(n)}"
    s = integer_text(n).rjust(digits + 1, "0")
    return f"{sign}{s[:-digits]}.{s[-digits:]}".rstrip("0").rstrip(".")


# --------------------------------------------------------------------------- outward rounding
def decimal_text(x: Fraction, direction: int, digits: int = 17) -> str:
    """``x`` with ``digits`` significant decimal digits, rounded down (direction −1) or up
    (+1), at every magnitude — the one formatter of printed enclosure ends.

    Guarantee: ``Fraction(decimal_text(x, -1, d)) <= x <= Fraction(decimal_text(x, +1, d))``,
    each end has at most ``d`` significant digits and is the nearest such number on its side
    (so a printed interval [down(lo), up(hi)] contains the exact [lo, hi]).  Exact integer
    arithmetic throughout (no float is formed, so nothing overflows or rounds to nearest): the
    text is a plain decimal when it is short, else ``d.ddde±N``.

    >>> x = Fraction(2, 3)
    >>> decimal_text(x, -1, 5), decimal_text(x, 1, 5)
    ('0.66666', '0.66667')
    >>> decimal_text(Fraction(-1, 3), -1, 3), decimal_text(Fraction(10) ** 40 / 3, 1, 3)
    ('-0.334', '3.34e+39')
    >>> decimal_text(Fraction(999, 1000), 1, 2)
    '1'
    """
    x = Fraction(x)
    if direction not in (1, -1):
        raise ValueError("direction must be +1 (round up) or -1 (round down)")
    if x == 0:
        return "0"
    num, den = abs(x.numerator), x.denominator
    # exponent e with 10**e <= |x| < 10**(e + 1), exactly
    e = len(integer_text(num)) - len(integer_text(den))
    if num * 10**max(0, -e) < den * 10**max(0, e):
        e -= 1
    shift = digits - 1 - e
    scaled = x * (Fraction(10) ** shift)
    n = math.floor(scaled) if direction < 0 else math.ceil(scaled)
    if len(integer_text(abs(n))) > digits:  # rounding carried into a new digit (e.g. 9.99… → 10.0…)
        n = math.floor(Fraction(n, 10)) if direction < 0 else math.ceil(Fraction(n, 10))
        shift -= 1
    value = Fraction(n) * (Fraction(10) ** -shift)
    plain = format_fraction(value)
    if len(plain) <= digits + 8:
        return plain
    sign = "-" if n < 0 else ""
    mantissa = integer_text(abs(n)).rstrip("0") or "0"
    exponent = len(integer_text(abs(n))) - 1 - shift
    body = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    return f"{sign}{body}e{exponent:+d}"


def decimal_interval(lo: Fraction, hi: Fraction, digits: int = 17,
                     exclude: Fraction | None = None) -> list[str]:
    """[lo, hi] rounded outward (:func:`decimal_text`) to ``digits`` significant digits — or
    to more (up to 80), when that is what it takes for the printed interval to exclude
    ``exclude`` as the exact one does (a counterexample false by 3e-18 must *look* false).

    Guarantee: the printed interval contains [lo, hi].

    >>> decimal_interval(Fraction(1, 3), Fraction(2, 3), 3)
    ['0.333', '0.667']
    >>> decimal_interval(Fraction(1) - Fraction(1, 10**20), Fraction(1) - Fraction(1, 10**21),
    ...                  3, exclude=Fraction(1))
    ['0.99999999999999999999', '0.999999999999999999999']
    """
    for d in range(digits, 81):
        text = [decimal_text(lo, -1, d), decimal_text(hi, 1, d)]
        if exclude is None or lo <= exclude <= hi or not (
                Fraction(text[0]) <= exclude <= Fraction(text[1])):
            return text
    return text


def interval_text(lo: Fraction, hi: Fraction, digits: int = 17,
                  exclude: Fraction | None = None) -> str:
    """``"[a, b]"``: [lo, hi] rounded outward (:func:`decimal_interval`); an exact point
    (``lo == hi``) whose text fits ``digits`` significant digits is printed as that one
    number.  Guarantee: the printed interval (or number) contains [lo, hi].

    >>> interval_text(Fraction(1, 3), Fraction(1, 3), 5), interval_text(Fraction(1, 4), Fraction(1, 4))
    ('[0.33333, 0.33334]', '0.25')
    """
    a, b = decimal_interval(lo, hi, digits, exclude)
    return a if a == b else f"[{a}, {b}]"


# --------------------------------------------------------------------------- arb balls
def to_fraction(x: arb) -> Fraction:
    """The exact value of the midpoint of ``x`` (for an exact point such as ``ball.upper()``,
    its value), independent of arb's working precision.

    >>> to_fraction(arb(3) / 8)
    Fraction(3, 8)
    """
    man, exp = x.mid().man_exp()
    man, exp = int(man), int(exp)
    return Fraction(man << exp) if exp >= 0 else Fraction(man, 1 << -exp)


def ball_endpoints(x: arb) -> tuple[Fraction, Fraction]:
    """The exact ends (mid − rad, mid + rad) of the ball ``x``: every point of the ball lies
    between them.  Computed from the exact midpoint and radius (``arb.lower()`` would round
    to the current precision: rigorous, but possibly wider than the ball).

    >>> ball_endpoints(arb(3) / 8)
    (Fraction(3, 8), Fraction(3, 8))
    >>> lo, hi = ball_endpoints(arb(1, 0.25))  # arb rounds radii up, never down
    >>> lo <= Fraction(3, 4) and Fraction(5, 4) <= hi
    True
    """
    if not x.is_finite():
        raise ArithmeticError("the enclosure is not finite")
    mid, rad = to_fraction(x.mid()), to_fraction(x.rad())
    return mid - rad, mid + rad


def ball_text(x: arb, digits: int = 17, exclude: Fraction | None = None) -> str:
    """The ball ``x`` as an outward decimal interval ``"[a, b]"`` with ``digits``
    significant digits (:func:`interval_text` of its exact ends), or one number when the
    ball is an exact point that short.  Guarantee: what is printed contains the ball.

    >>> ball_text(arb(2) / 3, 6), ball_text(arb(3) / 8)
    ('[0.666666, 0.666667]', '0.375')
    """
    lo, hi = ball_endpoints(x)
    return interval_text(lo, hi, digits, exclude)


def _dyadic(x: arb) -> tuple[int, int]:
    """(man, exp) with x = man·2^exp, for an exact (radius 0) arb number."""
    man, exp = x.man_exp()
    return int(man), int(exp)


def _endpoints(x: arb) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Exact dyadic (man, exp) of the midpoint, lower and upper end of the ball ``x`` (as
    :func:`ball_endpoints`, kept in integers: cheaper at tens of thousands of digits)."""
    m1, e1 = _dyadic(x.mid())
    m2, e2 = _dyadic(x.rad())
    if m2 == 0:
        return (m1, e1), (m1, e1), (m1, e1)
    e = min(e1, e2)
    a, b = m1 << (e1 - e), m2 << (e2 - e)
    return (m1, e1), (a - b, e), (a + b, e)


def _scaled_floor(x: tuple[int, int], digits: int) -> int:
    """floor(x·10^digits) for the dyadic x = (man, exp)."""
    man, exp = x
    n = man * 10**digits
    return n << exp if exp >= 0 else n >> -exp  # >> is floor division for negative n too


def _scaled_round(x: tuple[int, int], digits: int) -> int:
    """x·10^digits rounded to the nearest integer (ties to even), x = (man, exp)."""
    man, exp = x
    n = man * 10**digits
    if exp >= 0:
        return n << exp
    den = 1 << -exp
    q, r = divmod(n, den)
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    return q


#: Python converts at most 4300-digit integers with str(); longer ones are split first.
_STR_CHUNK = 4000


def integer_text(n: int) -> str:
    """The decimal digits of the integer ``n``, of any length.  ``str(n)`` refuses integers
    of more than 4300 digits (the interpreter's conversion limit, which this never changes);
    longer ones are split by a power of ten and their halves converted on their own.

    >>> len(integer_text(10**9000)), integer_text(-10**5000 - 7)[-5:]
    (9001, '00007')
    """
    if n < 0:
        return "-" + integer_text(-n)
    if n.bit_length() <= 3 * _STR_CHUNK:  # < 10^3612: within the limit
        return str(n)
    half = (n.bit_length() * 3 // 10) // 2  # about half of its decimal digits
    high, low = divmod(n, 10**half)
    return integer_text(high) + integer_text(low).rjust(half, "0")


def _fixed(n: int, digits: int) -> str:
    """The integer n·10^-digits as a fixed-point decimal string with ``digits`` decimals."""
    sign = "-" if n < 0 else ""
    s = integer_text(abs(n)).rjust(digits + 1, "0")
    return f"{sign}{s[:-digits]}.{s[-digits:]}" if digits > 0 else f"{sign}{s}"


@dataclass(frozen=True)
class Decimal3:
    """A ball written in decimal: ``lower ≤ x ≤ upper`` for every x in the ball (outward
    rounding), ``value`` the midpoint rounded to nearest with the same number of decimals."""

    value: str
    lower: str
    upper: str

    def as_dict(self) -> dict[str, str]:
        return {"value": self.value, "lower": self.lower, "upper": self.upper}


def decimal_enclosure(x: arb, digits: int) -> Decimal3:
    """Decimal strings with ``digits`` decimals (fixed point) for the ball ``x``.

    Guarantee: ``lower`` is the ball's lower end rounded down and ``upper`` its upper end
    rounded up, so the printed interval contains the ball; ``value`` is the midpoint rounded
    to nearest (ties to even).

    >>> decimal_enclosure(arb(2) / 3, 4)
    Decimal3(value='0.6667', lower='0.6666', upper='0.6667')
    >>> decimal_enclosure(arb(-1, 0.25), 1)
    Decimal3(value='-1.0', lower='-1.3', upper='-0.7')
    """
    mid, lower, upper = _endpoints(x)
    lo = _scaled_floor(lower, digits)
    hi = -_scaled_floor((-upper[0], upper[1]), digits)  # ceiling
    return Decimal3(_fixed(_scaled_round(mid, digits), digits), _fixed(lo, digits),
                    _fixed(hi, digits))


def _to_float(x: tuple[int, int]) -> float:
    """The float64 nearest to the dyadic x = (man, exp) (round half to even)."""
    man, exp = x
    return float(man << exp) if exp >= 0 else man / (1 << -exp)  # both correctly rounded


def nearest_float(x: arb) -> float | None:
    """The float64 nearest to *every* point of the ball (the correctly rounded value of the
    number it encloses), or ``None`` if the ball straddles a rounding boundary.

    >>> nearest_float(arb(3) / 8), nearest_float(arb(1, 1e-3))
    (0.375, None)
    """
    _, lower, upper = _endpoints(x)
    lo, hi = _to_float(lower), _to_float(upper)
    return lo if lo == hi else None


#: Significant digits of a number in a table (:func:`interval_text`, :func:`ball_text`):
#: enough to read, short enough that a row fits a terminal (the commands' --digits and
#: --json give every digit).
SHORT_DIGITS = 10


__all__ = [
    "MAX_EXPONENT", "MAX_LENGTH", "MAX_MAGNITUDE", "Decimal3", "ball_endpoints", "ball_text",
    "check_ascii_digits", "decimal_enclosure", "decimal_interval", "decimal_string",
    "decimal_text", "format_fraction", "integer_text", "interval_text", "nearest_float",
    "parse_exact", "SHORT_DIGITS", "to_fraction",
]
