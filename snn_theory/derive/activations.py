"""Activations as data: a formula in x, its exact kinks, a growth bound, and an affine wrapper.

An :class:`Activation` is the function

    f(x) = c·g(x) + d,        g(x) = g_i(x) for x in the i-th piece (lo_i, hi_i],

where the pieces' break points (the *kinks*) are exact rationals, each piece g_i is a sympy
expression in ``x`` that is analytic on a complex neighbourhood of its real interval (so the
rigorous integrator :mod:`snn_theory.evaluate.gaussian` can integrate it piece by piece), and the
growth bound

    |g(x)| ≤ P(|x|) = Σ_k a_k·|x|^k        (a_k ≥ 0 rationals, for every real x)

controls the Gaussian tails the integrator does not integrate.  The formula is written once,
in sympy, and evaluated by several number systems (arb/acb balls, mpmath, numpy, JAX) through
:mod:`snn_theory.derive.codegen`.

Built-in activations (parameters exact; the growth bounds are proven in :data:`BUILTINS`'
docstrings and checked by ``tests/test_activations.py``): selu (λ01, α01 from their closed
forms), elu (α = 1), relu, leaky_relu (slope 1/100), tanh, gelu (erf form), silu/swish,
mish, softplus.  Each is also available in the affine family ``c·f + d``.

User expressions (``--activation "1.59*tanh(x)"``) are read by :func:`parse_expression`, a
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
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from flint import acb, arb, fmpq

from snn_theory.derive import formulas
from snn_theory.derive.codegen import compile_function
from snn_theory.errors import InputError
from snn_theory.evaluate import backends
from snn_theory.exact import format_fraction, parse_exact
from snn_theory.precision import working_precision

x = sp.Symbol("x", real=True)

#: Largest accepted length of a user expression.
MAX_EXPRESSION_LENGTH = 500


# ----------------------------------------------------------------------------- data
class Softplus(sp.Function):
    """softplus(u) = log(1 + eᵘ), a primitive so that each number system evaluates it stably
    (float: logaddexp(0, u); arb: log1p(eᵘ); acb: log(1 + eᵘ) with the branch cut checked)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (1 + sp.exp(-self.args[0]))


@dataclass(frozen=True)
class Piece:
    """g(x) = ``expr`` for lo < x ≤ hi (``None`` = unbounded end)."""

    lo: Fraction | None
    hi: Fraction | None
    expr: sp.Expr


@dataclass(frozen=True)
class Activation:
    """f(x) = c·g(x) + d with g given piecewise (see the module docstring).

    ``definition`` is the text the activation was built from (a built-in name or a user
    expression); together with ``scale`` c and ``shift`` d it determines the activation
    completely and is what certificates record (:meth:`to_json`, :func:`from_json`).
    ``parameters`` maps the symbols used in the pieces (e.g. SELU's λ, α) to exact sympy
    constants; ``growth`` are the coefficients a_0, a_1, … of the bound P on |g|.
    """

    name: str
    definition: str
    pieces: tuple[Piece, ...]
    growth: tuple[Fraction, ...]
    parameters: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()
    scale: Fraction = Fraction(1)
    shift: Fraction = Fraction(0)
    description: str = ""
    free_parameters: tuple[str, str] = ("c", "d")
    _cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    # -- structure
    @property
    def kinks(self) -> tuple[Fraction, ...]:
        return tuple(p.hi for p in self.pieces[:-1])  # type: ignore[misc]

    @property
    def is_selu(self) -> bool:
        return self.definition == "selu" and self.scale == 1 and self.shift == 0

    def with_affine(self, scale: Fraction, shift: Fraction) -> Activation:
        """The member c·g + d of this activation's affine family (c, d exact)."""
        return Activation(self.name, self.definition, self.pieces, self.growth,
                          self.parameters, Fraction(scale), Fraction(shift),
                          self.description, self.free_parameters)

    def label(self) -> str:
        """Human-readable name including the affine parameters when not (1, 0)."""
        base = self.name
        if self.scale == 1 and self.shift == 0:
            return base
        shift = "" if not self.shift else (f" + {format_fraction(self.shift)}" if self.shift > 0
                                           else f" - {format_fraction(-self.shift)}")
        return f"{format_fraction(self.scale)}*{base}{shift}"

    def sympy_expression(self) -> sp.Expr:
        """f as one sympy Piecewise expression in x (parameters substituted exactly)."""
        subs = dict(self.parameters)
        if len(self.pieces) == 1:
            g = self.pieces[0].expr
        else:
            cases = [(p.expr, x <= sp.Rational(p.hi.numerator, p.hi.denominator))
                     for p in self.pieces[:-1]]
            g = sp.Piecewise(*cases, (self.pieces[-1].expr, True))
        return sp.Rational(self.scale.numerator, self.scale.denominator) * g.subs(subs) + \
            sp.Rational(self.shift.numerator, self.shift.denominator)

    def to_json(self) -> dict[str, Any]:
        """The definition as certificates record it (re-derivable by :func:`from_json`)."""
        return {"definition": self.definition, "scale": format_fraction(self.scale),
                "shift": format_fraction(self.shift), "formula": str(self.sympy_expression()),
                "growth": [format_fraction(a) for a in self.growth]}

    # -- evaluation of g (not c·g + d) in the number systems
    def parameter_values(self, backend: str) -> tuple[Any, ...]:
        key = ("params", backend, _prec(backend))
        if key not in self._cache:
            if not self.parameters:
                self._cache[key] = ()
            else:
                fn = compile_function((), [v for _, v in self.parameters], _namespace(backend))
                self._cache[key] = fn()
        return self._cache[key]

    def piece_functions(self, backend: str) -> tuple[Callable[..., Any], ...]:
        """g_i compiled for ``backend``: each ``fn(x, *parameter values) -> (value,)``."""
        key = ("pieces", backend)
        if key not in self._cache:
            args = (x, *(s for s, _ in self.parameters))
            self._cache[key] = tuple(
                compile_function(args, [p.expr], _namespace(backend), name=f"{backend}_piece{i}")
                for i, p in enumerate(self.pieces))
        return self._cache[key]

    def base_mpmath(self, t: Any) -> Any:
        """g(t) in mpmath at the working precision."""
        params = self.parameter_values("mpmath")
        fns = self.piece_functions("mpmath")
        for piece, fn in zip(self.pieces, fns):
            if piece.hi is None or t <= mpmath.mpf(piece.hi.numerator) / piece.hi.denominator:
                return fn(t, *params)[0]
        raise AssertionError("unreachable")

    def mpmath(self, t: Any) -> Any:
        """f(t) = c·g(t) + d in mpmath."""
        return (mpmath.mpf(self.scale.numerator) / self.scale.denominator * self.base_mpmath(t)
                + mpmath.mpf(self.shift.numerator) / self.shift.denominator)

    def numpy(self, t: Any) -> Any:
        """f(t) in float64, vectorised (also the evaluator simulations use)."""
        t = np.asarray(t, dtype=np.float64)
        params = self.parameter_values("numpy")
        fns = self.piece_functions("numpy")
        out = np.zeros_like(t)
        lo = -np.inf
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for piece, fn in zip(self.pieces, fns):
                hi = np.inf if piece.hi is None else float(piece.hi)
                mask = (t > lo) & (t <= hi)
                if piece.lo is None:
                    mask = t <= hi
                value = np.broadcast_to(np.asarray(fn(np.where(mask, t, 0.0), *params)[0],
                                                   dtype=np.float64), t.shape)
                out = np.where(mask, value, out)
                lo = hi
        return float(self.scale) * out + float(self.shift)

    def jax(self, t: Any) -> Any:
        """f(t) in JAX (jit/vmap compatible; pieces selected with ``where``)."""
        import jax.numpy as jnp

        params = self.parameter_values("jax")
        fns = self.piece_functions("jax")
        out = jnp.zeros_like(t)
        for piece, fn in zip(self.pieces, fns):
            hi = None if piece.hi is None else float(piece.hi)
            lo = None if piece.lo is None else float(piece.lo)
            mask = jnp.ones_like(t, dtype=bool)
            if hi is not None:
                mask = mask & (t <= hi)
            if lo is not None:
                mask = mask & (t > lo)
            safe = jnp.where(mask, t, (lo if lo is not None else hi - 1.0) if hi is not None
                             else (lo + 1.0 if lo is not None else 0.0))
            out = jnp.where(mask, fn(safe, *params)[0], out)
        return float(self.scale) * out + float(self.shift)

    def growth_arb(self) -> tuple[arb, ...]:
        return tuple(arb(fmpq(a.numerator, a.denominator)) for a in self.growth)


def _prec(backend: str) -> int:
    if backend in ("arb", "acb"):
        from flint import ctx

        return ctx.prec
    if backend == "mpmath":
        return mpmath.mp.prec
    return 53


# ----------------------------------------------------------------------------- namespaces
class Analytic:
    """The ``analytic`` flag of the current acb.integral call (see :mod:`snn_theory.evaluate.gaussian`):
    functions with branch cuts must return a non-finite ball where they are not analytic."""

    flag = False


def _acb(z: Any) -> acb:
    return z if isinstance(z, acb) else acb(z)


def _acb_pow(z: Any, n: int) -> acb:
    z = _acb(z)
    result = acb(1)
    for _ in range(n):
        result = result * z
    return result


ACB_NAMESPACE: dict[str, Any] = {
    "exp": lambda z: _acb(z).exp(),
    "log": lambda z: _acb(z).log(analytic=Analytic.flag),
    "sqrt": lambda z: _acb(z).sqrt(analytic=Analytic.flag),
    "tanh": lambda z: _acb(z).tanh(),
    "Softplus": lambda z: (1 + _acb(z).exp()).log(analytic=Analytic.flag),
    "sinh": lambda z: _acb(z).sinh(),
    "cosh": lambda z: _acb(z).cosh(),
    "sin": lambda z: _acb(z).sin(),
    "cos": lambda z: _acb(z).cos(),
    "erf": lambda z: _acb(z).erf(),
    "erfc": lambda z: _acb(z).erfc(),
    "POW": _acb_pow,
    "Q": lambda p, q: acb(arb(fmpq(p, q))),
    "PI": lambda: acb(arb.pi()),
    "E": lambda: acb(arb.const_e()),
}


def _with(namespace: dict[str, Any], **extra: Any) -> dict[str, Any]:
    out = dict(namespace)
    out.update(extra)
    return out


@functools.cache
def _namespace(backend: str) -> dict[str, Any]:
    if backend == "acb":
        return ACB_NAMESPACE
    if backend == "mpmath":
        return _with(backends.MPMATH_NAMESPACE, log=mpmath.log, tanh=mpmath.tanh,
                     Softplus=lambda t: mpmath.log1p(mpmath.exp(t)),
                     sinh=mpmath.sinh, cosh=mpmath.cosh, sin=mpmath.sin, cos=mpmath.cos)
    if backend == "arb":
        a = backends.ARB_NAMESPACE
        return _with(a, log=lambda t: arb(t).log(), tanh=lambda t: arb(t).tanh(),
                     Softplus=lambda t: arb(t).exp().log1p(),
                     sinh=lambda t: arb(t).sinh(), cosh=lambda t: arb(t).cosh(),
                     sin=lambda t: arb(t).sin(), cos=lambda t: arb(t).cos())
    if backend == "numpy":
        return _with(backends.NUMPY_NAMESPACE, log=np.log, tanh=np.tanh, sinh=np.sinh,
                     Softplus=lambda t: np.logaddexp(0.0, t),
                     cosh=np.cosh, sin=np.sin, cos=np.cos)
    if backend == "jax":
        import jax.numpy as jnp

        ns = backends.namespace("jax")
        import jax

        return _with(ns, log=jnp.log, tanh=jnp.tanh, sinh=jnp.sinh, cosh=jnp.cosh,
                     Softplus=jax.nn.softplus,
                     sin=jnp.sin, cos=jnp.cos)
    raise ValueError(f"unknown backend {backend!r}")


# ----------------------------------------------------------------------------- built-ins
def _q(text: str) -> Fraction:
    return Fraction(text)


def _single(expr: sp.Expr) -> tuple[Piece, ...]:
    return (Piece(None, None, expr),)


def _split0(neg: sp.Expr, pos: sp.Expr) -> tuple[Piece, ...]:
    return (Piece(None, Fraction(0), neg), Piece(Fraction(0), None, pos))


_softplus = Softplus(x)

#: name → (pieces, growth coefficients, parameters, description).  Growth bounds (proofs):
#:
#: * selu: x > 0: λx ≤ λ|x|; x ≤ 0: |λα(eˣ − 1)| ≤ λα; so |selu| ≤ λα + λ|x| < 1.76 + 1.06|x|.
#: * elu (α = 1): |x| for x > 0, |eˣ − 1| ≤ 1 for x ≤ 0: ≤ 1 + |x|.
#: * relu, leaky_relu (slope 1/100), gelu = xΦ(x) (Φ ∈ [0,1]), silu = x·σ(x) (σ ∈ (0,1)),
#:   mish = x·tanh(softplus x) (tanh ∘ softplus ∈ (0,1)): ≤ |x|.
#: * tanh: ≤ 1.   softplus: log(1 + eˣ) ≤ log 2 + max(x, 0) ≤ 7/10 + |x|.
BUILTINS: dict[str, tuple[tuple[Piece, ...], tuple[Fraction, ...],
                          tuple[tuple[sp.Symbol, sp.Expr], ...], str]] = {
    "selu": (_split0(formulas.lam * formulas.alpha * (sp.exp(x) - 1), formulas.lam * x),
             (_q("176/100"), _q("106/100")),
             ((formulas.lam, formulas.LAMBDA01), (formulas.alpha, formulas.ALPHA01)),
             "λ01·x (x > 0), λ01·α01·(eˣ − 1) (x ≤ 0)"),
    "elu": (_split0(sp.exp(x) - 1, x), (Fraction(1), Fraction(1)), (),
            "x (x > 0), eˣ − 1 (x ≤ 0)"),
    "relu": (_split0(sp.S.Zero, x), (Fraction(0), Fraction(1)), (), "max(x, 0)"),
    "leaky_relu": (_split0(x / 100, x), (Fraction(0), Fraction(1)), (),
                   "x (x > 0), x/100 (x ≤ 0)"),
    "tanh": (_single(sp.tanh(x)), (Fraction(1),), (), "tanh(x)"),
    "gelu": (_single(x * (1 + sp.erf(x / sp.sqrt(2))) / 2), (Fraction(0), Fraction(1)), (),
             "x·Φ(x) = x·(1 + erf(x/√2))/2"),
    "silu": (_single(x / (1 + sp.exp(-x))), (Fraction(0), Fraction(1)), (),
             "x·σ(x) = x/(1 + e^{−x})"),
    "mish": (_single(x * sp.tanh(_softplus)), (Fraction(0), Fraction(1)), (),
             "x·tanh(log(1 + eˣ))"),
    "softplus": (_single(_softplus), (_q("7/10"), Fraction(1)), (), "log(1 + eˣ)"),
}
ALIASES = {"swish": "silu", "leakyrelu": "leaky_relu", "leaky-relu": "leaky_relu"}
NAMES: tuple[str, ...] = tuple(BUILTINS)


def builtin(name: str) -> Activation:
    key = ALIASES.get(name.lower(), name.lower())
    pieces, growth, params, description = BUILTINS[key]
    free = ("lam", "alpha") if key == "selu" else ("c", "d")
    return Activation(key, key, pieces, growth, params, description=description,
                      free_parameters=free)


@functools.cache
def _cached(text: str) -> Activation:
    name = text.strip()
    if name.lower() in BUILTINS or name.lower() in ALIASES:
        return builtin(name)
    return parse_expression(name)


def get(text: str, scale: Any = 1, shift: Any = 0) -> Activation:
    """The activation named or written ``text`` (built-in name or expression in x), in the
    affine family with scale c = ``scale`` and shift d = ``shift`` (exact rationals).

    Raises :class:`InputError` for unknown names, expressions that do not parse, use
    functions outside the whitelist, or are not functions of x alone."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("the activation must be a built-in name or an expression in x")
    act = _cached(text)
    c, d = parse_exact(scale, "the activation's scale"), parse_exact(shift, "the activation's shift")
    if c == 0:
        raise InputError("the activation's scale must be nonzero")
    return act if (c, d) == (1, 0) else act.with_affine(c, d)


def from_json(data: Any) -> Activation:
    """Rebuild an activation from its recorded definition (certificates): re-derived from
    ``definition``, ``scale``, ``shift``; the recorded ``formula`` and ``growth`` must match
    what the definition gives, otherwise :class:`InputError` (an edited definition)."""
    if not isinstance(data, dict) or not {"definition", "scale", "shift"} <= set(data):
        raise InputError("the activation record must have definition, scale and shift")
    act = get(data["definition"], data["scale"], data["shift"])
    recorded = {k: data.get(k) for k in ("formula", "growth")}
    derived = {k: act.to_json()[k] for k in ("formula", "growth")}
    if recorded != derived:
        raise InputError("the recorded activation formula or growth bound does not follow "
                         "from its definition (edited?)")
    return act


# ----------------------------------------------------------------------------- parser
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
        value = compile_function((), [expr], _namespace("arb"))()[0]
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


def parse_expression(text: str) -> Activation:
    """Parse a user expression in x (see the module docstring for what is allowed)."""
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
        pieces.append(Piece(lo, hi, _resolve(expr, sample)))
    bound = tuple(node.bound or ())
    return Activation(text.strip(), text.strip(), tuple(pieces), bound,
                      description="user expression")


def growth_bound_value(act: Activation, t: Any) -> Any:
    """P(|t|) = Σ a_k |t|^k for the base function g (any number type)."""
    return sum(a * abs(t) ** k for k, a in enumerate(act.growth)) if act.growth else 0


def describe_builtins() -> Sequence[tuple[str, str]]:
    return [(name, BUILTINS[name][3]) for name in NAMES]
