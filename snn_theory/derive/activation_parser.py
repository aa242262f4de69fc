"""THE parser of user activations: an expression in x, read safely, with its growth bound.

User expressions (``--activation "1.59*tanh(x)"``) are read by :func:`parse_pieces`, a
small recursive-descent parser (no ``eval``) over a whitelist of functions; it derives the
growth bound structurally while parsing, so the bound holds by construction.  Beside |·| ≤ P
it derives a range [L, U] ⊇ {u(x)} (either end may be unknown) by interval arithmetic:
constants by their arb enclosure, x unbounded, sums and constant multiples end by end,
products by the interval product (a product of two equal factors and even powers are ≥ 0),
tanh, erf, sin, cos ∈ [−1, 1], erfc ∈ [0, 2], sigmoid ∈ [0, 1], eᵘ ∈ [0, e^U],
softplus(u) ∈ [0, log(1 + e^U)], abs ≥ 0, max/min end by end.  So exp(−x·x), exp(−abs(x))
and exp(−x²/2)·x are accepted, and exp(x), exp(x·x), exp(x − x²) (no upper end derivable)
are not:

====================  =========================================================
x, numbers, pi, e     |x| ≤ |x|; constants by an arb upper bound of |c|
+, −, ·               bounds add / multiply
/ c, ^ n              only by nonzero constants / non-negative integer powers
tanh, erf, sin, cos,  bounded by 1 (erfc by 2), for any argument
sigmoid, erfc
exp                   of arguments bounded above (u ≤ U gives 0 < eᵘ ≤ e^U)
sinh, cosh            only of arguments that are themselves bounded
softplus(u)           log(1 + e^u) ≤ log 2 + |u| < 7/10 + |u|
abs, max, min         of arguments linear in x (so the kinks are exact rationals)
sqrt, log             of positive constants only
====================  =========================================================

The parser returns the expression split at its kinks (the exact rational points where an
abs, max or min changes branch) with one analytic expression per piece, and the growth bound;
:func:`snn_theory.derive.activations.parse_expression` makes an activation of them.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

import sympy as sp
from flint import arb, fmpq

from snn_theory.derive.codegen import compile_function
from snn_theory.errors import InputError
from snn_theory.precision import working_precision

x = sp.Symbol("x", real=True)

#: Largest accepted length of a user expression.
MAX_EXPRESSION_LENGTH = 500


class Softplus(sp.Function):
    """softplus(u) = log(1 + eᵘ), a primitive so that each number system evaluates it stably
    (float: logaddexp(0, u); arb: log1p(eᵘ); acb: log(1 + eᵘ) with the branch cut checked)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (1 + sp.exp(-self.args[0]))


def _arb(t: Any) -> arb:
    return t if isinstance(t, arb) else arb(t)


#: The functions a constant of an expression may use, in arb (its enclosure, for the bounds).
_CONSTANT_NAMESPACE: dict[str, Any] = {
    "exp": lambda t: _arb(t).exp(), "sqrt": lambda t: _arb(t).sqrt(),
    "log": lambda t: _arb(t).log(), "erf": lambda t: _arb(t).erf(),
    "erfc": lambda t: _arb(t).erfc(), "tanh": lambda t: _arb(t).tanh(),
    "Softplus": lambda t: _arb(t).exp().log1p(), "sinh": lambda t: _arb(t).sinh(),
    "cosh": lambda t: _arb(t).cosh(), "sin": lambda t: _arb(t).sin(),
    "cos": lambda t: _arb(t).cos(), "POW": lambda t, n: _arb(t) ** n,
    "Q": lambda p, q: arb(fmpq(p, q)), "PI": arb.pi, "E": arb.const_e,
}


_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|"
                    r"([A-Za-z_][A-Za-z_0-9]*)|(\*\*|[-+*/^(),]))")

Poly = tuple[Fraction, ...]  # bound coefficients a_0, a_1, ... of P(|x|)


def poly_add(a: Poly, b: Poly) -> Poly:
    """The sum of two polynomials given by their coefficient tuples (lowest degree first)."""
    n = max(len(a), len(b))
    return tuple((a[i] if i < len(a) else 0) + (b[i] if i < len(b) else 0) for i in range(n))


def _pmul(a: Poly, b: Poly) -> Poly:
    out = [Fraction(0)] * (len(a) + len(b) - 1)
    for i, ai in enumerate(a):
        for j, bj in enumerate(b):
            out[i + j] += ai * bj
    return tuple(out)


def _pscale(a: Poly, c: Fraction) -> Poly:
    return tuple(c * ai for ai in a)


def _const_bounds(expr: sp.Expr) -> tuple[Fraction, Fraction, Fraction]:
    """(L, U, A) with L ≤ expr ≤ U and A ≥ |expr|, exact rationals, for a constant sympy
    expression (an arb enclosure at 64 bits)."""
    with working_precision(bits=64):
        value = compile_function((), [expr], _CONSTANT_NAMESPACE)()[0]
        value = value if isinstance(value, arb) else arb(value)
        if not value.is_finite():
            raise InputError(f"the constant {expr} is not finite")
        return (_arb_fraction(arb(value.lower())), _arb_fraction(arb(value.upper())),
                _arb_fraction(value.abs_upper()))


def constant_upper(expr: sp.Expr) -> Fraction:
    """A rational ≥ |expr| for a constant sympy expression (arb upper bound)."""
    return _const_bounds(expr)[2]


def _const_interval(expr: sp.Expr) -> tuple[Fraction, Fraction]:
    """Rationals L ≤ expr ≤ U for a constant sympy expression (arb enclosure)."""
    lo, hi, _ = _const_bounds(expr)
    return lo, hi


def _arb_fraction(value: arb) -> Fraction:
    man, exp = value.mid().man_exp()
    man, exp = int(man), int(exp)
    return Fraction(man * 2**exp) if exp >= 0 else Fraction(man, 2**-exp)


End = Fraction | None  # a range end; None: not known to be finite


def _add_end(a: End, b: End) -> End:
    return None if a is None or b is None else a + b


def _mul_range(a: tuple[End, End], b: tuple[End, End]) -> tuple[End, End]:
    """Interval product, ends None where unbounded (sign-aware when both are bounded)."""
    if None not in a and None not in b:
        products = [p * q for p in a for q in b]  # type: ignore[operator]
        return min(products), max(products)
    if a[0] is not None and b[0] is not None and a[0] >= 0 and b[0] >= 0:
        return a[0] * b[0], None  # both non-negative
    return None, None


def _scale_range(r: tuple[End, End], c: Fraction, c_hi: Fraction | None = None
                 ) -> tuple[End, End]:
    """c·r for a constant c ∈ [c, c_hi] of one sign."""
    lo, hi = r
    c_hi = c if c_hi is None else c_hi
    if c >= 0:
        return (None if lo is None else min(lo * c, lo * c_hi),
                None if hi is None else max(hi * c, hi * c_hi))
    if c_hi <= 0:
        return (None if hi is None else min(hi * c, hi * c_hi),
                None if lo is None else max(lo * c, lo * c_hi))
    return (None, None) if None in r else _mul_range(r, (c, c_hi))


class _Node:
    """Parser value: the sympy expression, the growth bound P (None: constant) and a range
    [lo, hi] ⊇ {u(x) : x real} (an end None: not known)."""

    __slots__ = ("expr", "bound", "lo", "hi")

    def __init__(self, expr: sp.Expr, bound: Poly | None, lo: End = None, hi: End = None):
        self.expr = expr
        self.bound = bound
        if bound is None:  # constants: their enclosure
            lo, hi = _const_interval(expr)
        elif len(bound) == 1:  # |u| ≤ a_0
            lo = -bound[0] if lo is None else max(lo, -bound[0])
            hi = bound[0] if hi is None else min(hi, bound[0])
        self.lo, self.hi = lo, hi

    @property
    def range(self) -> tuple[End, End]:
        return self.lo, self.hi

    @property
    def constant(self) -> bool:
        return self.bound is None

    def poly(self) -> Poly:
        return (constant_upper(self.expr),) if self.bound is None else self.bound


_BOUNDED = {"tanh": (sp.tanh, 1), "erf": (sp.erf, 1), "erfc": (sp.erfc, 2),
            "sin": (sp.sin, 1), "cos": (sp.cos, 1),
            "sigmoid": (lambda u: 1 / (1 + sp.exp(-u)), 1)}
#: the ranges of the bounded functions (for any argument)
_BOUNDED_RANGE = {"tanh": (-1, 1), "erf": (-1, 1), "erfc": (0, 2), "sin": (-1, 1),
                  "cos": (-1, 1), "sigmoid": (0, 1)}
_OF_BOUNDED = {"exp": sp.exp, "sinh": sp.sinh, "cosh": sp.cosh}
_CONSTANT_ONLY = {"sqrt": sp.sqrt, "log": sp.log}
_KINKED = {"abs": "abs", "max": "max", "min": "min"}
FUNCTIONS: tuple[str, ...] = tuple(sorted([*_BOUNDED, *_OF_BOUNDED, *_CONSTANT_ONLY,
                                           *_KINKED, "softplus"]))


def _constant_ratio(a: _Node, b: _Node) -> Fraction | None:
    """q with a = q·b for a nonzero rational q (so a·b = q·b²), else None."""
    if a.constant or b.constant:
        return None
    q = sp.cancel(a.expr / b.expr)
    if q.has(x) or not q.is_Rational or q == 0:
        return None
    return Fraction(int(q.p), int(q.q))


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if not match:
                raise InputError(f"cannot parse the activation {text!r} at {text[pos:].strip()[:10]!r}")
            number, name, op = match.groups()
            self.tokens.append(("num", number) if number else ("name", name) if name
                               else ("op", op))
            pos = match.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            want = f"{value!r}" if value else "more input"
            raise InputError(f"cannot parse the activation {self.text!r}: expected {want}")
        self.i += 1
        return tok

    def parse(self) -> _Node:
        node = self.expr()
        if self.peek() is not None:
            raise InputError(f"cannot parse the activation {self.text!r}: unexpected "
                             f"{self.peek()[1]!r}")
        return node

    def expr(self) -> _Node:
        node = self.term()
        while (tok := self.peek()) and tok[1] in "+-" and tok[0] == "op":
            self.take()
            rhs = self.term()
            e = node.expr + rhs.expr if tok[1] == "+" else node.expr - rhs.expr
            r = rhs.range if tok[1] == "+" else (None if rhs.hi is None else -rhs.hi,
                                                 None if rhs.lo is None else -rhs.lo)
            node = _Node(e, None if node.constant and rhs.constant
                         else poly_add(node.poly(), rhs.poly()),
                         _add_end(node.lo, r[0]), _add_end(node.hi, r[1]))
        return node

    def term(self) -> _Node:
        node = self.unary()
        while (tok := self.peek()) and tok[0] == "op" and tok[1] in ("*", "/"):
            self.take()
            rhs = self.unary()
            if tok[1] == "*":
                bound = None if node.constant and rhs.constant else _pmul(node.poly(), rhs.poly())
                r = _mul_range(node.range, rhs.range)
                ratio = _constant_ratio(node, rhs)
                if ratio is not None and ratio > 0:  # c·u² with c > 0: ≥ 0
                    r = (Fraction(0) if r[0] is None else max(r[0], Fraction(0)), r[1])
                elif ratio is not None and ratio < 0:  # c·u² with c < 0: ≤ 0
                    r = (r[0], Fraction(0) if r[1] is None else min(r[1], Fraction(0)))
                node = _Node(node.expr * rhs.expr, bound, *r)
            else:
                if not rhs.constant:
                    raise InputError("division is allowed only by constants (write "
                                     "sigmoid(u) for 1/(1 + exp(-u)))")
                if rhs.expr == 0 or constant_upper(rhs.expr) == 0:
                    raise InputError("division by zero in the activation")
                inv = 1 / rhs.expr
                bound = None if node.constant else _pscale(node.poly(), constant_upper(inv))
                r = _scale_range(node.range, *_const_interval(inv))
                node = _Node(node.expr * inv, bound, *r)
        return node

    def unary(self) -> _Node:
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in "+-":
            self.take()
            node = self.unary()
            return node if tok[1] == "+" else _Node(
                -node.expr, node.bound, None if node.hi is None else -node.hi,
                None if node.lo is None else -node.lo)
        return self.power()

    def power(self) -> _Node:
        base = self.atom()
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in ("^", "**"):
            self.take()
            exponent = self.unary()
            if not exponent.constant:
                raise InputError("exponents must be constants (write exp(u) for e^u)")
            if base.constant:
                return _Node(base.expr ** exponent.expr, None)
            n = exponent.expr
            if not (n.is_Integer and 0 <= int(n) <= 16):
                raise InputError("powers of expressions in x must be integers 0..16")
            bound: Poly = (Fraction(1),)
            r: tuple[End, End] = (Fraction(1), Fraction(1))
            for _ in range(int(n)):
                bound = _pmul(bound, base.poly())
                r = _mul_range(r, base.range)
            if int(n) % 2 == 0:  # an even power: ≥ 0
                r = (Fraction(0) if r[0] is None else max(r[0], Fraction(0)), r[1])
            return _Node(base.expr ** n, bound, *r)
        return base

    def atom(self) -> _Node:
        kind, value = self.take()
        if kind == "num":
            q = Fraction(value)
            return _Node(sp.Rational(q.numerator, q.denominator), None)
        if kind == "op":
            if value != "(":
                raise InputError(f"cannot parse the activation {self.text!r}: unexpected {value!r}")
            node = self.expr()
            self.take(")")
            return node
        name = value
        low = name.lower()
        if self.peek() == ("op", "("):
            self.take("(")
            args = [self.expr()]
            while self.peek() == ("op", ","):
                self.take(",")
                args.append(self.expr())
            self.take(")")
            return self.call(low, name, args)
        if name == "x":
            return _Node(x, (Fraction(0), Fraction(1)), None, None)
        if low == "pi":
            return _Node(sp.pi, None)
        if name == "e":
            return _Node(sp.E, None)
        raise InputError(f"unknown name {name!r} in the activation (the variable is x; "
                         "constants pi, e)")

    def call(self, low: str, name: str, args: list[_Node]) -> _Node:
        def one() -> _Node:
            if len(args) != 1:
                raise InputError(f"{name}() takes one argument")
            return args[0]

        if low in _BOUNDED:
            fn, b = _BOUNDED[low]
            a = one()
            lo, hi = _BOUNDED_RANGE[low]
            return _Node(fn(a.expr), None if a.constant else (Fraction(b),), Fraction(lo),
                         Fraction(hi))
        if low in _OF_BOUNDED:
            a = one()
            if a.constant:
                return _Node(_OF_BOUNDED[low](a.expr), None)
            bounded = not (len(a.poly()) > 1 and any(a.poly()[1:]))
            if bounded:  # |u| ≤ a_0: |eᵘ|, |sinh u|, |cosh u| ≤ e^{a_0}
                bound = Fraction(math.ceil(math.exp(float(a.poly()[0])) * 1.001 + 1))
                lo = Fraction(0) if low == "exp" else Fraction(1) if low == "cosh" else -bound
                return _Node(_OF_BOUNDED[low](a.expr), (bound,), lo, bound)
            if low == "exp" and a.hi is not None:
                # u ≤ U: 0 < eᵘ ≤ e^U (an upper bound of e^U from arb)
                top = constant_upper(sp.exp(sp.Rational(a.hi.numerator, a.hi.denominator)))
                return _Node(sp.exp(a.expr), (top,), Fraction(0), top)
            what = "not bounded above" if low == "exp" else "unbounded"
            raise InputError(f"{name}() of an argument {what} grows too fast: the Gaussian "
                             "tails need |f(x)| ≤ polynomial in |x|")
        if low in _CONSTANT_ONLY:
            a = one()
            if not a.constant:
                raise InputError(f"{name}() is allowed only of constants (branch cuts); use "
                                 "softplus(u) for log(1 + exp(u))")
            if not constant_upper(a.expr) > 0 or not bool(a.expr.is_positive):
                raise InputError(f"{name}() of a non-positive constant")
            return _Node(_CONSTANT_ONLY[low](a.expr), None)
        if low == "softplus":
            a = one()
            e = Softplus(a.expr)
            if a.constant:
                return _Node(e, None)
            hi = None if a.hi is None else constant_upper(
                sp.log(1 + sp.exp(sp.Rational(a.hi.numerator, a.hi.denominator))))
            return _Node(e, poly_add((Fraction(7, 10),), a.poly()), Fraction(0), hi)
        if low in _KINKED:
            if low == "abs":
                a = one()
                _linear(a)
                return _Node(sp.Abs(a.expr), a.bound, Fraction(0), None)
            if len(args) < 2:
                raise InputError(f"{name}() takes at least two arguments")
            for a in args:
                _linear(a)
            fn = sp.Max if low == "max" else sp.Min
            bound: Poly | None = None
            for a in args:
                bound = a.poly() if bound is None else poly_add(bound, a.poly())
            const = all(a.constant for a in args)
            if const:
                return _Node(fn(*(a.expr for a in args)), None)
            pick = max if low == "max" else min
            los = [a.lo for a in args]
            his = [a.hi for a in args]
            # max: lower end = the largest known lower end; upper end known iff all are
            lo = (max((v for v in los if v is not None), default=None) if low == "max"
                  else (None if None in los else pick(los)))
            hi = ((None if None in his else pick(his)) if low == "max"
                  else min((v for v in his if v is not None), default=None))
            return _Node(fn(*(a.expr for a in args)), bound, lo, hi)
        raise InputError(f"unknown function {name!r} in the activation; allowed: "
                         f"{', '.join(FUNCTIONS)}")


def _linear(node: _Node) -> None:
    e = sp.expand(node.expr)
    message = ("abs, max and min need arguments linear in x with rational coefficients "
               "(so that the kinks are exact)")
    try:
        poly = sp.Poly(e, x) if e.has(x) else None
    except sp.PolynomialError:
        raise InputError(message) from None
    if poly is not None and (poly.degree() > 1 or not all(c.is_Rational for c in poly.all_coeffs())):
        raise InputError(message)
    if poly is None and not e.is_Rational:
        raise InputError(message)


def _kinks(expr: sp.Expr) -> list[Fraction]:
    points: set[Fraction] = set()
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Abs):
            pairs = [(node.args[0], sp.S.Zero)]
        elif isinstance(node, sp.Max | sp.Min):
            pairs = [(a, b) for i, a in enumerate(node.args) for b in node.args[i + 1:]]
        else:
            continue
        for a, b in pairs:
            diff = sp.expand(a - b)
            if diff.has(x):
                root = sp.solve(diff, x)
                for r in root:
                    if r.is_Rational:
                        points.add(Fraction(int(r.p), int(r.q)))
    return sorted(points)


def _resolve(expr: sp.Expr, point: sp.Rational) -> sp.Expr:
    """Replace abs/max/min by the branch they take on the open interval around ``point``."""
    def pick(node: sp.Expr) -> sp.Expr:
        if isinstance(node, sp.Abs):
            a = node.args[0]
            return a if a.subs(x, point) >= 0 else -a
        values = [a.subs(x, point) for a in node.args]
        best = max(values) if isinstance(node, sp.Max) else min(values)
        return node.args[values.index(best)]

    return expr.replace(lambda n: isinstance(n, sp.Abs | sp.Max | sp.Min), pick)


def parse_pieces(text: str) -> tuple[tuple[tuple[Fraction | None, Fraction | None, sp.Expr], ...],
                                     tuple[Fraction, ...]]:
    """A user expression in x (see the module docstring for what is allowed) as its pieces
    ((lo, hi, expression on lo < x ≤ hi), None an unbounded end) and the coefficients
    a_0, a_1, … of its growth bound |u(x)| ≤ Σ a_k·|x|^k.  Raises :class:`InputError`."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise InputError(f"the activation expression is longer than {MAX_EXPRESSION_LENGTH} "
                         "characters")
    node = _Parser(text).parse()
    expr = node.expr
    if node.constant or not expr.has(x):
        raise InputError(f"the activation {text!r} does not depend on x")
    if expr.free_symbols - {x}:
        raise InputError(f"the activation {text!r} is not a function of x alone")
    kinks = _kinks(expr)
    bounds: list[Fraction | None] = [None, *kinks, None]
    pieces = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if lo is None and hi is None:
            sample = sp.S.Zero
        elif lo is None:
            sample = sp.Rational(hi.numerator, hi.denominator) - 1
        elif hi is None:
            sample = sp.Rational(lo.numerator, lo.denominator) + 1
        else:
            sample = sp.Rational((lo + hi).numerator, (lo + hi).denominator) / 2
        pieces.append((lo, hi, _resolve(expr, sample)))
    return tuple(pieces), tuple(node.bound or ())
