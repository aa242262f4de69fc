"""Independent reference computations shared by the foundation tests).

Nothing here uses the evaluated (stable) formulas of :mod:`snn_theory.derive.formulas`:

* :func:`quad_moments` integrates selu(z) and selu(z)² against the Gaussian density with
  mpmath quadrature (the defining integrals, docs/mathematics.md §1);
* :func:`partial_function` lambdifies sympy's derivatives of the quantities
  (:func:`snn_theory.derive.formulas.partial`), rewritten into plain exp·erfc products, with
  sympy's own mpmath printer — not through :mod:`snn_theory.derive.codegen` / the backends.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable

import mpmath
import sympy as sp

from snn_theory.derive import formulas


def quad_moments(m: mpmath.mpf, v: mpmath.mpf, lam: mpmath.mpf, alpha: mpmath.mpf
                 ) -> tuple[mpmath.mpf, mpmath.mpf]:
    """E[selu(z)], E[selu(z)²] for z ~ N(m, v) by mpmath.quad at the current precision.

    Substituting z = m + √v·t, each branch of selu is integrated against the standard
    normal density on its own side of the kink t0 = −m/√v (split again at the peak t = 0),
    over |t| ≤ 16: the omitted tails are below e^{−128}·(|m| + 16√v)² ≈ 1e−50 relative to
    the moments for |m| ≤ 10, ν·τ ≤ 1e3, far below the 30 digits compared.
    """
    sv = mpmath.sqrt(v)
    t0 = -m / sv
    end = mpmath.mpf(16)
    norm = 1 / mpmath.sqrt(2 * mpmath.pi)

    def density(t: mpmath.mpf) -> mpmath.mpf:
        return mpmath.exp(-t * t / 2) * norm

    def pos1(t: mpmath.mpf) -> mpmath.mpf:
        return lam * (m + sv * t) * density(t)

    def neg1(t: mpmath.mpf) -> mpmath.mpf:
        return lam * alpha * mpmath.expm1(m + sv * t) * density(t)

    def pos2(t: mpmath.mpf) -> mpmath.mpf:
        return (lam * (m + sv * t)) ** 2 * density(t)

    def neg2(t: mpmath.mpf) -> mpmath.mpf:
        return (lam * alpha * mpmath.expm1(m + sv * t)) ** 2 * density(t)

    kink = min(max(t0, -end), end)
    zero = mpmath.mpf(0)
    negative = [-end] + ([zero] if kink > 0 else []) + [kink]  # z ≤ 0
    positive = [kink] + ([zero] if kink < 0 else []) + [end]  # z > 0
    mean = second = mpmath.mpf(0)
    if kink > -end:
        mean += mpmath.quad(neg1, negative)
        second += mpmath.quad(neg2, negative)
    if kink < end:
        mean += mpmath.quad(pos1, positive)
        second += mpmath.quad(pos2, positive)
    return mean, second


@functools.cache
def partial_function(names: tuple[str, ...]) -> Callable[..., list[mpmath.mpf]]:
    """f(mu, omega, nu, tau, lam, alpha) -> [∂q/∂x for q in names for x in (μ, ω, ν, τ)]."""
    expressions = [formulas.partial(n, x).rewrite(sp.erfc)
                   for n in names for x in formulas.VARIABLES]
    return sp.lambdify(formulas.ARGUMENTS, expressions, modules="mpmath")


def random_points(seed: int, count: int) -> list[tuple[str, str, str, str]]:
    """Decimal-string points (μ, ω, ν, τ) with |μω| ≤ 10 and ν·τ ∈ [1e-6, 1e3], log-uniform
    in ν·τ, plus the corners of that region (the "hard" points of the foundation tests)."""
    rng = random.Random(seed)
    corners = [(m, v) for m in (-10.0, -1e-3, 0.0, 2.5, 10.0) for v in (1e-6, 1e-3, 1.0, 1e3)]
    points = []
    for m, v in corners:
        points.append(_split(rng, m, v))
    while len(points) < count:
        m = rng.uniform(-10, 10) if rng.random() < 0.7 else rng.uniform(-1, 1)
        v = 10 ** rng.uniform(-6, 3)
        points.append(_split(rng, m, v))
    return points


def _split(rng: random.Random, m: float, v: float) -> tuple[str, str, str, str]:
    omega = rng.choice((-1, 1)) * rng.uniform(0.2, 2.0)
    tau = rng.uniform(0.5, 2.0)
    return (repr(m / omega), repr(omega), repr(v / tau), repr(tau))


#: Quantities whose sympy partials the Dual tests compare against (one compile, shared).
PARTIAL_NAMES: tuple[str, ...] = ("mean", "variance", "H11", "H12", "H21", "H22",
                                  "spectral_norm")


def term_scale(expression: sp.Expr) -> sp.Expr:
    """A condition-aware size of ``expression``: every sum replaced by the sum of the
    absolute values of its terms, and each elementary function's value multiplied by the
    relative condition number of that function with respect to its argument
    (exp(u): 1 + |u|; erfc(u): 1 + 2u²; ExpErfc(a, x, q) = e^q·erfcx(x): 1 + |q| + |x|).

    Rounding errors of a float evaluation are at most a modest multiple of
    eps·term_scale: this is the yardstick where a result cancels (|value| ≪ term_scale)
    and a relative criterion measures the problem, not the code.
    """
    if expression.is_Add:
        return sp.Add(*[term_scale(a) for a in expression.args])
    if expression.is_Mul:
        return sp.Mul(*[term_scale(a) for a in expression.args])
    if expression.is_Pow:
        return sp.Pow(term_scale(expression.args[0]), expression.args[1])
    if isinstance(expression, sp.exp):
        return sp.Abs(expression) * (1 + term_scale(expression.args[0]))
    if isinstance(expression, sp.erfc):
        return sp.Abs(expression) * (1 + 2 * term_scale(expression.args[0]) ** 2)
    if isinstance(expression, formulas.ExpErfc):
        _, x, q = expression.args
        return sp.Abs(expression) * (1 + term_scale(q) + term_scale(x))
    return sp.Abs(expression)


@functools.cache
def term_scale_function(names: tuple[str, ...]) -> Callable[..., tuple[mpmath.mpf, ...]]:
    """mpmath evaluator of :func:`term_scale` of the quantities ``names``."""
    from snn_theory.derive.codegen import compile_function
    from snn_theory.evaluate.backends import MPMATH_NAMESPACE

    expressions = [term_scale(formulas.derived_expression(n)) for n in names]
    return compile_function(formulas.ARGUMENTS, expressions,
                            {**MPMATH_NAMESPACE, "Abs": abs}, name="term_scale")
