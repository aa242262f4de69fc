"""Certified rounding of constants to float64, float32, float16 and bfloat16.

A framework stores λ, α, α′ and the alpha-dropout a, b in some binary floating-point format.
For an arb ball ``x`` that encloses an exact constant c, :func:`round_ball` returns the format's
representable number r nearest to c **with a proof**: with r⁻ < r < r⁺ the adjacent
representable numbers (found with numpy / ``ml_dtypes`` by stepping the bit pattern), the whole
ball lies strictly inside the rounding interval ((r⁻ + r)/2, (r + r⁺)/2).  Every number in the
ball — c among them — is therefore nearer to r than to any other representable number, and a
tie (c exactly halfway) is impossible.  The comparison uses the exact dyadic endpoints of the
ball and exact rationals, never floats.

The rounding error is reported in ulps of the format, ``(r − c) / ulp(r)`` with
ulp(r) = 2^(max(e, emin) − p + 1) for 2^e ≤ |r| < 2^(e+1) (p significand bits, emin the least
normal exponent), as an interval enclosing the exact value: a correctly rounded constant has
|error| < 0.5 ulp (up to 1 ulp below a power of two).  :func:`literal_error` does the same for
a decimal literal as shipped (e.g. ``1.0507f``), after rounding it to the format the way a C
compiler does (directly, to nearest, ties to even).

Literals for pasting (:func:`paste_literal`): float64 — Python's shortest round-trip ``repr``;
float32 — the shortest decimal that rounds back to r both directly (C's ``f`` suffix) and via
float64 (``np.float32(1.05…)``); float16 and bfloat16 — the exact decimal value of r (a short
dyadic), whose conversion from any wider format is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from flint import arb

from snn_theory.errors import InputError
from snn_theory.exact import ball_endpoints, decimal_text, format_fraction, parse_exact


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format: ``precision`` significand bits (with the implicit
    bit), least normal exponent ``emin``, largest exponent ``emax``."""

    name: str
    precision: int
    emin: int
    emax: int
    c_type: str

    @property
    def numpy_type(self) -> Any:
        if self.name == "bfloat16":
            import ml_dtypes

            return ml_dtypes.bfloat16
        return {"float64": np.float64, "float32": np.float32, "float16": np.float16}[self.name]

    @property
    def bits_type(self) -> Any:
        return {64: np.uint64, 32: np.uint32, 16: np.uint16}[self.width]

    @property
    def width(self) -> int:
        return {"float64": 64, "float32": 32, "float16": 16, "bfloat16": 16}[self.name]

    def ulp(self, r: Fraction) -> Fraction:
        """2^(max(e, emin) − p + 1) for 2^e ≤ |r| < 2^(e+1) (the spacing of the format there)."""
        if r == 0:
            e = self.emin
        else:
            e = _floor_log2(abs(r))
        return Fraction(2) ** (max(e, self.emin) - self.precision + 1)

    @property
    def largest(self) -> Fraction:
        return (2 - Fraction(2) ** (1 - self.precision)) * Fraction(2) ** self.emax


FORMATS: dict[str, FloatFormat] = {
    "float64": FloatFormat("float64", 53, -1022, 1023, "double"),
    "float32": FloatFormat("float32", 24, -126, 127, "float"),
    "float16": FloatFormat("float16", 11, -14, 15, "_Float16"),
    "bfloat16": FloatFormat("bfloat16", 8, -126, 127, "__bf16"),
}
DTYPE_NAMES: tuple[str, ...] = tuple(FORMATS)


def get_format(name: str) -> FloatFormat:
    """The format called ``name``; :class:`InputError` (exit 2) for anything else."""
    try:
        return FORMATS[str(name)]
    except KeyError:
        raise InputError(f"unknown dtype {name!r}; choose one of {', '.join(DTYPE_NAMES)}"
                         ) from None


def _floor_log2(x: Fraction) -> int:
    """floor(log2 x) for a rational x > 0, exactly."""
    e = x.numerator.bit_length() - x.denominator.bit_length()
    if Fraction(2) ** e > x:
        e -= 1
    return e


# ------------------------------------------------------------------------- representables
def exact_value(x: Any) -> Fraction:
    """The exact rational value of a finite float64/float32/float16/bfloat16 scalar."""
    return Fraction(float(x))  # every one of these formats is a subset of float64


def _scalar(fmt: FloatFormat, value: float) -> Any:
    return np.asarray(value, dtype=np.float64).astype(fmt.numpy_type)[()]


def neighbours(fmt: FloatFormat, r: Any) -> tuple[Fraction | None, Fraction | None]:
    """The representable numbers just below and just above the finite scalar ``r`` of
    ``fmt``, by stepping its bit pattern (``None`` past the largest finite number)."""
    arr = np.asarray([r], dtype=fmt.numpy_type)
    bits = arr.view(fmt.bits_type)
    sign_bit = fmt.bits_type(1) << fmt.bits_type(fmt.width - 1)
    out = []
    for step in (-1, 1):
        if float(arr[0]) == 0:  # ±0: the smallest subnormals on either side
            tiny = np.asarray([1], dtype=fmt.bits_type)
            if step < 0:
                tiny = tiny | sign_bit
            value = float(tiny.view(fmt.numpy_type)[0])
        else:
            negative = bool(bits[0] & sign_bit)
            delta = step if not negative else -step  # magnitude grows with the bit pattern
            stepped = np.asarray([int(bits[0]) + delta], dtype=fmt.bits_type)
            value = float(stepped.view(fmt.numpy_type)[0])
        out.append(Fraction(value) if math.isfinite(value) else None)
    return out[0], out[1]


# ------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Rounding:
    """The representable ``value`` of ``dtype`` chosen for an exact constant.

    ``certified``: the ball lies strictly between the rounding boundaries around ``value``
    (module docstring), so ``value`` is the correctly rounded constant and no tie is
    possible.  ``error_ulps`` encloses (value − constant)/ulp(value).  When not certified
    ``value`` is only the format's nearest to the ball midpoint and ``reason`` says why.
    """

    dtype: str
    value: Fraction
    below: Fraction | None
    above: Fraction | None
    error_ulps: tuple[Fraction, Fraction]
    certified: bool
    literal: str
    reason: str = ""

    @property
    def bits(self) -> str:
        fmt = FORMATS[self.dtype]
        raw = np.asarray([float(self.value)], dtype=np.float64).astype(fmt.numpy_type)
        return f"0x{int(raw.view(fmt.bits_type)[0]):0{fmt.width // 4}x}"

    @property
    def hex(self) -> str:
        return float(self.value).hex()

    def to_json(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "literal": self.literal, "exact": format_fraction(self.value),
                "hex": self.hex, "bits": self.bits, "certified": self.certified,
                "error_ulps": [decimal_text(self.error_ulps[0], -1, ULPS_DIGITS),
                               decimal_text(self.error_ulps[1], 1, ULPS_DIGITS)],
                **({"reason": self.reason} if self.reason else {})}


#: Significant digits of printed errors in ulps (rounded outward).
ULPS_DIGITS = 4


def ulps_interval_text(iv: tuple[Fraction, Fraction]) -> str:
    """``[lo, hi]`` or a single value when both ends print the same (4 significant digits)."""
    lo, hi = decimal_text(iv[0], -1, ULPS_DIGITS), decimal_text(iv[1], 1, ULPS_DIGITS)
    return lo if lo == hi else f"[{lo}, {hi}]"


# ------------------------------------------------------------------------- rounding
def round_rational(fmt: FloatFormat, x: Fraction) -> Fraction:
    """x rounded to the nearest number of ``fmt`` (ties to even), exactly — what a C
    compiler does with a decimal literal of that type.  InputError beyond the range."""
    if abs(x) > fmt.largest + fmt.ulp(fmt.largest) / 2:
        raise InputError(f"{format_fraction(x) if x.denominator < 10**40 else float(x)} overflows "
                         f"{fmt.name}")
    start = _scalar(fmt, float(x))  # float(Fraction) is correctly rounded; the cast may
    if not math.isfinite(float(start)):  # double-round: compare the neighbours exactly
        start = _scalar(fmt, float(np.sign(float(x))) * float(fmt.largest))
    candidates = {exact_value(start)}
    for n in neighbours(fmt, start):
        if n is not None:
            candidates.add(n)
    best = min(candidates, key=lambda r: (abs(r - x), _odd(fmt, r)))
    return best


def _odd(fmt: FloatFormat, r: Fraction) -> int:
    raw = np.asarray([float(r)], dtype=np.float64).astype(fmt.numpy_type)
    return int(raw.view(fmt.bits_type)[0]) & 1


def round_ball(x: arb, dtype: str) -> Rounding:
    """The correctly rounded value in ``dtype`` of the constant enclosed by the ball ``x``,
    proven as in the module docstring (``certified``), with its error in ulps."""
    fmt = get_format(dtype)
    if not x.is_finite():
        raise ArithmeticError("the enclosure is not finite")
    lower, upper = ball_endpoints(x)
    mid = (lower + upper) / 2
    value = round_rational(fmt, mid)
    below, above = neighbours(fmt, _scalar(fmt, float(value)))
    ulp = fmt.ulp(value)
    error = ((value - upper) / ulp, (value - lower) / ulp)
    reasons = []
    if below is None or above is None:
        reasons.append("the value is the largest finite number of the format")
    else:
        lo_boundary, hi_boundary = (below + value) / 2, (value + above) / 2
        if not lower > lo_boundary:
            reasons.append(f"the enclosure reaches the rounding boundary {float(lo_boundary)!r}")
        if not upper < hi_boundary:
            reasons.append(f"the enclosure reaches the rounding boundary {float(hi_boundary)!r}")
    certified = not reasons
    return Rounding(fmt.name, value, below, above, error, certified,
                    paste_literal(fmt, value), "; ".join(reasons))


def literal_error(text: str, dtype: str, x: arb) -> tuple[Fraction, tuple[Fraction, Fraction]]:
    """A decimal literal as stored in ``dtype`` (rounded directly to nearest) and its error
    (stored − constant)/ulp in ulps of the correctly rounded constant, for the constant
    enclosed by ``x`` (an interval enclosing the exact error)."""
    fmt = get_format(dtype)
    stored = round_rational(fmt, parse_exact(text, "literal", ratio=False))
    lower, upper = ball_endpoints(x)
    ulp = fmt.ulp(round_rational(fmt, (lower + upper) / 2))
    return stored, ((stored - upper) / ulp, (stored - lower) / ulp)


def paste_literal(fmt: FloatFormat, r: Fraction) -> str:
    """A decimal literal for ``r`` of ``fmt`` (module docstring: which one and why)."""
    if fmt.name == "float64":
        return repr(float(r))
    if fmt.name != "float32":
        return format_fraction(r)
    f64 = FORMATS["float64"]
    for digits in range(1, 18):
        text = f"{float(r):.{digits}g}"
        q = Fraction(text)
        if round_rational(fmt, q) == r and round_rational(fmt, round_rational(f64, q)) == r:
            return _with_point(text)
    return repr(float(r))  # pragma: no cover - the exact float64 value always works


def _with_point(text: str) -> str:
    return text if any(c in text for c in ".eEn") else text + ".0"


# ------------------------------------------------------------------------- solved constants
def named_constant_balls(result: Any) -> dict[str, arb]:
    """The certified balls of a :class:`snn_theory.certify.constants_result.ConstantsResult` by name:
    ``lambda``, ``alpha``, ``alpha_prime`` and ``dropout[R].a`` / ``dropout[R].b``."""
    balls = {"lambda": result.lam, "alpha": result.alpha, "alpha_prime": result.alpha_prime}
    for d in result.dropout:
        balls[f"dropout[{d.rate}].a"] = d.a
        balls[f"dropout[{d.rate}].b"] = d.b
    return balls


def round_constants(result: Any, dtypes: Any) -> dict[str, dict[str, Rounding]]:
    """dtype → constant name → :class:`Rounding` for every certified constant of ``result``
    (see :func:`named_constant_balls`)."""
    names = [get_format(d).name for d in dtypes]
    balls = named_constant_balls(result)
    return {d: {k: round_ball(b, d) for k, b in balls.items()} for d in dict.fromkeys(names)}


__all__ = [
    "DTYPE_NAMES", "FORMATS", "FloatFormat", "Rounding", "named_constant_balls", "exact_value",
    "get_format", "round_constants",
    "literal_error", "neighbours", "paste_literal", "round_ball", "round_rational",
    "ULPS_DIGITS", "ulps_interval_text",
]
