"""Turn the sympy expressions of :mod:`snn_theory.formulas` into straight-line Python.

The generated function calls only names from a *namespace*: ``exp, sqrt, erf, erfc, ExpErfc``
plus ``Q(p, q)`` for the rational p/q, ``PI()`` and ``E()`` for π and e.  Each number system
(:mod:`snn_theory.backends`) supplies its own namespace, so the same generated code evaluates
in mpmath, arb balls, forward-mode duals over arb, numpy or JAX.  Constants are functions so
that they are evaluated at the working precision in force at *call* time.

Common subexpressions are shared (``sympy.cse``), so e.g. the spectral norm evaluates each
erfc once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter


class _NamespacePrinter(StrPrinter):
    """Prints expressions with exact constants and namespace-neutral function calls."""

    def _print_Rational(self, expr: sp.Rational) -> str:
        return f"Q({expr.p}, {expr.q})"

    def _print_Integer(self, expr: sp.Integer) -> str:
        return f"({expr.p})"

    def _print_Pi(self, expr: sp.Expr) -> str:
        return "PI()"

    def _print_Exp1(self, expr: sp.Expr) -> str:
        return "E()"

    def _print_Function(self, expr: sp.Function) -> str:
        name = type(expr).__name__
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        base, e = expr.args
        b = f"({self._print(base)})"
        if e == sp.S.Half:
            return f"sqrt{b}"
        if e == -sp.S.Half:
            return f"(1/sqrt{b})"
        if e.is_Integer:
            n = int(e)
            if n == -1:
                return f"(1/{b})"
            if n < 0:
                return f"(1/POW({b}, {-n}))"
            return f"POW({b}, {n})"
        return f"({b}**({self._print(e)}))"

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return expr.name


def generate_source(
    name: str, arguments: Sequence[sp.Symbol], expressions: Sequence[sp.Expr]
) -> str:
    """Python source of ``def name(*arguments): return (expr_0, expr_1, ...)``."""
    printer = _NamespacePrinter()
    replacements, reduced = sp.cse(
        list(expressions), symbols=sp.numbered_symbols("_t"), optimizations="basic"
    )
    lines = [f"def {name}({', '.join(a.name for a in arguments)}):"]
    for symbol, value in replacements:
        lines.append(f"    {symbol.name} = {printer.doprint(value)}")
    lines.append(f"    return ({', '.join(printer.doprint(e) for e in reduced)},)")
    return "\n".join(lines)


def compile_function(
    arguments: Sequence[sp.Symbol],
    expressions: Sequence[sp.Expr],
    namespace: Mapping[str, Any],
    name: str = "generated",
) -> Callable[..., tuple[Any, ...]]:
    """Compile ``expressions`` to a function of ``arguments`` that evaluates in ``namespace``."""
    source = generate_source(name, arguments, expressions)
    scope: dict[str, Any] = dict(namespace)
    exec(compile(source, f"<snn_theory.codegen:{name}>", "exec"), scope)  # noqa: S102
    function = scope[name]
    function.__doc__ = source
    return function
