"""Activations as data: a formula in x, its exact kinks, a growth bound, and an affine wrapper.

An :class:`Activation` is the function

    f(x) = c·g(x) + d,        g(x) = g_i(x) for x in the i-th piece (lo_i, hi_i],

where the pieces' break points (the *kinks*) are exact rationals, each piece g_i is a sympy
expression in ``x`` that is analytic on a complex neighbourhood of its real interval (so the
rigorous integrator :mod:`snn_theory.evaluate.gaussian` can integrate it piece by piece), and the
growth bound

    |g(x)| ≤ P(|x|) = Σ_k a_k·|x|^k        (a_k ≥ 0 rationals, for every real x)

controls the Gaussian tails the integrator does not integrate.  The formula is written once,
in sympy; :mod:`snn_theory.evaluate.activation_functions` evaluates it in the number systems
(arb/acb balls, mpmath, numpy, JAX).  This module holds no number system.

Built-in activations (parameters exact; the growth bounds are proven in :data:`BUILTINS`'
docstrings and checked by ``tests/test_activations.py``): selu (λ01, α01 from their closed
forms), elu (α = 1), relu, leaky_relu (slope 1/100), tanh, gelu (erf form), silu/swish,
mish, softplus.  Each is also available in the affine family ``c·f + d``.

User expressions (``--activation "1.59*tanh(x)"``) are read by THE parser,
:mod:`snn_theory.derive.activation_parser` (no ``eval``, a whitelist of functions), which
derives the growth bound while parsing, so that the bound holds by construction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy as sp

from snn_theory.derive import formulas
from snn_theory.derive.activation_parser import Softplus, parse_pieces, x
from snn_theory.errors import InputError
from snn_theory.exact import format_fraction, parse_exact


# ----------------------------------------------------------------------------- data
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
    #: what the number systems compiled for this activation (a cache that
    #: :mod:`snn_theory.evaluate.activation_functions` fills; not part of the value)
    compiled: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

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


def parse_expression(text: str) -> Activation:
    """The activation of a user expression in x (what is allowed:
    :mod:`snn_theory.derive.activation_parser`)."""
    pieces, growth = parse_pieces(text)
    return Activation(text.strip(), text.strip(), tuple(Piece(*p) for p in pieces), growth,
                      description="user expression")


def growth_bound_value(act: Activation, t: Any) -> Any:
    """P(|t|) = Σ a_k |t|^k for the base function g (any number type)."""
    return sum(a * abs(t) ** k for k, a in enumerate(act.growth)) if act.growth else 0
