"""Number systems that evaluate the formulas of :mod:`snn_theory.derive.formulas`.

Each backend is a *namespace* for :mod:`snn_theory.derive.codegen`: the elementary functions
``exp, sqrt, erf, erfc``, the stable primitive ``ExpErfc(a, x, q) = exp(a)·erfc(x)`` (with
q = a − x²), ``POW(x, n)``, and the
exact constants ``Q(p, q)``, ``PI()``, ``E()``.

========  =========================================================================
mpmath    any precision (``mpmath.mp`` context); point values, not enclosures
arb       python-flint balls: every result *contains* the exact value for every input
          point in the input balls (rigorous; outward rounding by construction)
dual      forward-mode derivatives over arb balls (:mod:`snn_theory.evaluate.dual`): value and
          gradient enclosures over a box
numpy     float64, vectorised over arrays (scipy.special)
jax       float32/float64 (x64 flag), jit/vmap/grad-compatible
========  =========================================================================

Precision is a context, not a parameter: use :func:`snn_theory.precision.working_precision`.

Accuracy of the float backends (measured by ``tests/test_backends.py`` against 50-digit
mpmath on 200 stress points with ν·τ ∈ [1e-6, 1e3], |μω| ≤ 10, corners included):

* numpy and JAX float64 (jit, ``jax.enable_x64``): relative error ≤ 1e-12 (measured
  ≤ 2.3e-15) wherever a quantity is well conditioned, i.e. its *term scale* (each sum
  replaced by the sum of the absolute values of its terms, times the condition numbers of
  exp/erfc/erfcx, ``tests/_reference.term_scale``) is at most 10× its value.  Relative
  1e-12 fails — for mathematical reasons, in every float64 evaluation of these formulas —
  in these regions, where the tests assert |error| ≤ 1e-12·term_scale + 2.3e-308 instead
  (measured ≤ 5.2e-16·term_scale):

  - μ̃ near its zeros (at the fixed point (0, 1) μ̃ = 0 exactly; float64 gives ~1e-16);
  - ξ̃ and ν̃ for ν·τ ≪ 1 with small |μω|: the α² terms erfc(r) − 2E1 + E2 cancel to
    O(ν·τ) (relative error ≈ 1e-16/(ν·τ));
  - ν̃ = ξ̃ − μ̃², H21 = J21 − 2μ̃J11 and H22 where r² = (μω)²/(2ντ) is large (relative
    error ≈ 1e-16·r²; ν̃ even becomes 0 for r² ≳ 1e16);
  - J12, H12 (and anything with a factor e^{−r²}) where the value is below float64's
    normal range, e.g. r² ≳ 708: the result underflows to 0 (XLA also flushes subnormals).

* JAX float32 (float32 inputs): max error 2.1e-7 × term scale; max relative error 6.2e-7
  where well conditioned (test bound 2e-6); results below ~1e-30 are lost (e^{−r²} factors
  reach float32's subnormal range, flushed to 0).
* The JAX erfcx zero band (float64 x ≈ 26.55–26.64, float32 x ≈ 9.17–9.42) is guarded by
  the asymptotic series above :data:`JAX_ERFCX_SWITCH`; checked against mpmath on
  [26.5, 26.7] (relative 1e-14) and [9.1, 9.5] (relative 2e-6), gradients included.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from functools import cache
from typing import Any

import mpmath
import numpy as np
import scipy.special as sps
import sympy as sp
from flint import arb, fmpq

from snn_theory.derive import formulas
from snn_theory.derive.codegen import (
    CLAIM_GRADIENT_TUPLES,
    CLAIM_QUANTITIES,
    CLAIM_VALUE_TUPLES,
    compile_function,
)
from snn_theory.evaluate.dual import DUAL_NAMESPACE, arb_exp_erfc, arb_pow, arb_sqrt

BACKENDS: tuple[str, ...] = ("mpmath", "arb", "numpy", "jax")


# --------------------------------------------------------------------------- mpmath
def mp_erfcx(x: Any) -> Any:
    """erfcx(x) = exp(x²)·erfc(x) for x ≥ 0 in mpmath, accurate to working precision.

    mpmath has no erfcx.  For x < 10^8 the product is formed with 2·log2(x) + 20 extra bits
    (so that x² and exp(x²) carry the working precision); beyond, the asymptotic series
    1/(x√π)·Σ (−1)^k (2k−1)!!/(2x²)^k is summed until a term is below 2^−(prec+10)
    (for real x > 0 the error is below the first omitted term, DLMF 7.12.1).
    """
    x = mpmath.mpf(x)
    prec = mpmath.mp.prec
    if x < 10**8:
        with mpmath.workprec(prec + 2 * max(int(mpmath.mag(x)) if x else 0, 0) + 20):
            value = mpmath.exp(x * x) * mpmath.erfc(x)
        return +value
    with mpmath.workprec(prec + 20):
        y = 1 / (2 * x * x)
        total = term = mpmath.mpf(1)
        k = 1
        tolerance = mpmath.ldexp(1, -(prec + 10))
        while abs(term) > tolerance:
            term = -term * (2 * k - 1) * y
            total += term
            k += 1
        value = total / (x * mpmath.sqrt(mpmath.pi))
    return +value


def _mp_exp_erfc(a: Any, x: Any, q: Any) -> Any:
    """exp(a)·erfc(x), q = a − x² (docs/mathematics.md §1).

    x < 0: the direct product (erfc(x) ∈ (1, 2], exp(a) ≤ 1 in the moment map).  x ≥ 0:
    exp(q)·erfcx(x).  The direct product is *not* safe here even with unbounded exponents:
    a ≈ x² carries an absolute rounding error of about |a|·2^−prec, so exp(a)·erfc(x) loses
    log2|a| bits (all of them for ν·τ ≈ 10^100), while q = −r² is formed without that error.
    """
    if x < 0:
        return mpmath.exp(a) * mpmath.erfc(x)
    return mpmath.exp(q) * mp_erfcx(x)


MPMATH_NAMESPACE: dict[str, Any] = {
    "exp": mpmath.exp,
    "sqrt": mpmath.sqrt,
    "erf": mpmath.erf,
    "erfc": mpmath.erfc,
    "ExpErfc": _mp_exp_erfc,
    "POW": operator.pow,
    "Q": lambda p, q: mpmath.mpf(p) / q,
    "PI": lambda: +mpmath.pi,
    "E": lambda: mpmath.e(),
}


# --------------------------------------------------------------------------- arb
def _as_arb(x: Any) -> arb:
    return x if isinstance(x, arb) else arb(x)


ARB_NAMESPACE: dict[str, Any] = {
    "exp": lambda x: _as_arb(x).exp(),
    "sqrt": arb_sqrt,
    "erf": lambda x: _as_arb(x).erf(),
    "erfc": lambda x: _as_arb(x).erfc(),
    "ExpErfc": arb_exp_erfc,
    "POW": arb_pow,
    "Q": lambda p, q: arb(fmpq(p, q)),
    "PI": arb.pi,
    "E": arb.const_e,
}


# --------------------------------------------------------------------------- numpy
def _np_exp_erfc(a: Any, x: Any, q: Any) -> Any:
    """exp(a)·erfc(x) in float64 without spurious overflow (docs/mathematics.md §1).

    x < 0: erfc(x) ∈ (1, 2], the direct product is safe.  x ≥ 0: exp(q)·erfcx(x) with
    q = a − x² = −r² ≤ 0 in the moment map, so nothing overflows or cancels.
    """
    a = np.asarray(a, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return np.where(x < 0, np.exp(a) * sps.erfc(x), np.exp(q) * sps.erfcx(np.maximum(x, 0.0)))


NUMPY_NAMESPACE: dict[str, Any] = {
    "exp": np.exp,
    "sqrt": np.sqrt,
    "erf": sps.erf,
    "erfc": sps.erfc,
    "ExpErfc": _np_exp_erfc,
    "POW": operator.pow,
    "Q": lambda p, q: p / q,
    "PI": lambda: math.pi,
    "E": lambda: math.e,
}


# --------------------------------------------------------------------------- jax
#: Above these arguments JAX's erfcx is replaced by its asymptotic series: jax's erfcx
#: returns 0 in a band near x ≈ 26.6 (float64) and x ≈ 9.2–9.4 (float32), docs/mathematics.md §5.
JAX_ERFCX_SWITCH = {"float64": 25.0, "float32": 8.0, "bfloat16": 8.0, "float16": 8.0}


def _erfcx_asymptotic(x: Any, terms: int = 10) -> Any:
    """erfcx(x) ~ 1/(x√π)·Σ_k (−1)^k (2k−1)!!/(2x²)^k; error < next term (~1e-17 for x≥25
    with 10 terms, ~1e-12 for x ≥ 8)."""
    import jax.numpy as jnp

    y = 1.0 / (2.0 * x * x)
    total = jnp.ones_like(x)
    term = jnp.ones_like(x)
    for k in range(1, terms):
        term = -term * (2 * k - 1) * y
        total = total + term
    return total / (x * math.sqrt(math.pi))


def jax_erfcx(x: Any) -> Any:
    """erfcx with the JAX zero band guarded (double ``where`` keeps gradients finite)."""
    import jax.numpy as jnp
    import jax.scipy.special as jss

    x = jnp.asarray(x)
    switch = JAX_ERFCX_SWITCH.get(jnp.dtype(x.dtype).name, 25.0)
    # The inner masks overlap the switch by ±1, where both branches are accurate: under
    # jit, XLA may recompute x in separate fusions with different rounding, so masks that
    # use the same threshold as the final select can disagree with it exactly at the switch.
    small_x = jnp.where(x > switch + 1.0, 0.0, x)
    big_x = jnp.where(x > switch - 1.0, x, switch)
    return jnp.where(x > switch, _erfcx_asymptotic(big_x), jss.erfcx(small_x))


def _jax_exp_erfc(a: Any, x: Any, q: Any) -> Any:
    """As the numpy version; each branch only sees arguments where it is finite, so that
    gradients through the unselected branch stay finite (the double-``where`` idiom)."""
    import jax.numpy as jnp
    import jax.scipy.special as jss

    a, x, q = jnp.asarray(a), jnp.asarray(x), jnp.asarray(q)
    # Both branches are accurate for |x| ≤ 1/2; the masks that keep the unselected branch
    # finite overlap there.  They must not share the threshold 0 of the final select:
    # under jit XLA recomputes x = (m+v)/s in several fusions with different rounding, and
    # at x ≈ 0 the masks then disagreed with the select (measured: ν̃ wrong by 10^3
    # relative at m = −v, i.e. X = 0).
    use_neg = x < 0.5
    use_pos = x > -0.5
    a_neg, x_neg = jnp.where(use_neg, a, 0.0), jnp.where(use_neg, x, -1.0)
    q_pos, x_pos = jnp.where(use_pos, q, 0.0), jnp.where(use_pos, x, 1.0)
    return jnp.where(x < 0, jnp.exp(a_neg) * jss.erfc(x_neg), jnp.exp(q_pos) * jax_erfcx(x_pos))


@cache
def _jax_namespace() -> dict[str, Any]:
    import jax.numpy as jnp
    import jax.scipy.special as jss

    return {
        "exp": jnp.exp,
        "sqrt": jnp.sqrt,
        "erf": jss.erf,
        "erfc": jss.erfc,
        "ExpErfc": _jax_exp_erfc,
        "POW": operator.pow,
        "Q": lambda p, q: p / q,
        "PI": lambda: math.pi,
        "E": lambda: math.e,
    }


def namespace(backend: str) -> dict[str, Any]:
    """The namespace that makes generated code evaluate in ``backend``."""
    if backend == "mpmath":
        return MPMATH_NAMESPACE
    if backend == "arb":
        return ARB_NAMESPACE
    if backend == "numpy":
        return NUMPY_NAMESPACE
    if backend == "jax":
        return _jax_namespace()
    if backend == "dual":
        return DUAL_NAMESPACE
    raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


@cache
def _claim_code(backend: str) -> dict[str, Callable[..., tuple[Any, ...]]]:
    """The committed straight-line code of the claims' evaluators
    (:mod:`snn_theory.derive.claim_code`) bound to ``backend``'s namespace."""
    from snn_theory.derive import claim_code

    return claim_code.bind(namespace(backend))


@cache
def evaluator(backend: str, names: tuple[str, ...]) -> Callable[..., tuple[Any, ...]]:
    """``f(mu, omega, nu, tau, lam, alpha) -> tuple`` of the quantities ``names``.

    Quantity names are those of :data:`snn_theory.derive.formulas.QUANTITIES`.  Compiled once per
    (backend, names) and cached; the tuples the proof search evaluates
    (:data:`snn_theory.derive.codegen.CLAIM_VALUE_TUPLES`) are bound from the committed
    generated module :mod:`snn_theory.derive.claim_code` instead (the same source; a test
    checks that it is current).
    """
    unknown = [n for n in names if n not in formulas.DERIVED]
    if unknown:
        raise ValueError(f"unknown quantity {unknown[0]!r}")
    if names in CLAIM_VALUE_TUPLES:
        return _claim_code(backend)["_".join(names)]
    expressions = [formulas.derived_expression(n) for n in names]
    return compile_function(
        formulas.ARGUMENTS, expressions, namespace(backend), name=f"{backend}_" + "_".join(names)
    )


@cache
def value_and_gradient(backend: str, name: str) -> Callable[..., tuple[Any, ...]]:
    """``f(mu, omega, nu, tau, lam, alpha) -> (q, ∂q/∂μ, ∂q/∂ω, ∂q/∂ν, ∂q/∂τ)`` from the compact
    gradient forms of :func:`snn_theory.derive.formulas.compact_gradient` (compiled once, cached).

    For the spectral norm, whose compilation takes seconds, the same straight-line code is
    committed as the generated module :mod:`snn_theory.derive.s_gradient` and bound to the
    namespace instead (a test checks that it is what the compilation would produce); so are
    the other claim quantities (:mod:`snn_theory.derive.claim_code`)."""
    if name not in formulas.DERIVED:
        raise ValueError(f"unknown quantity {name!r}")
    if name == "spectral_norm":
        from snn_theory.derive import s_gradient

        return s_gradient.bind(namespace(backend))
    if name in CLAIM_QUANTITIES:
        return _claim_code(backend)[f"{name}_with_gradient"]
    expressions = [formulas.derived_expression(name), *formulas.compact_gradient(name)]
    return compile_function(formulas.ARGUMENTS, expressions, namespace(backend),
                            name=f"{backend}_{name}_with_gradient")


@cache
def values_and_gradients(backend: str, names: tuple[str, ...]) -> Callable[..., tuple[Any, ...]]:
    """``f(mu, omega, nu, tau, lam, alpha) -> (q₁, ∂q₁/∂μ, …, ∂q₁/∂τ, q₂, …)``: the quantities
    ``names`` with their compact gradients (:func:`snn_theory.derive.formulas.compact_gradient`),
    five entries per quantity, as one straight-line function whose common subexpressions are
    shared (compiled once per (backend, names), about 2 s for the six quantities of a layer's
    map, and cached; the tuples of :data:`snn_theory.derive.codegen.CLAIM_GRADIENT_TUPLES` are
    bound from the committed module :mod:`snn_theory.derive.claim_code` instead)."""
    unknown = [n for n in names if n not in formulas.DERIVED]
    if unknown:
        raise ValueError(f"unknown quantity {unknown[0]!r}")
    if names in CLAIM_GRADIENT_TUPLES:
        return _claim_code(backend)["_".join(names) + "_with_gradients"]
    expressions: list[sp.Expr] = []
    for name in names:
        expressions += [formulas.derived_expression(name), *formulas.compact_gradient(name)]
    return compile_function(formulas.ARGUMENTS, expressions, namespace(backend),
                            name=f"{backend}_" + "_".join(names) + "_with_gradients")


@cache
def constants_function(backend: str) -> Callable[[], tuple[Any, Any]]:
    """``f() -> (λ01, α01)`` from their closed forms (docs/mathematics.md §3), in ``backend``.

    In arb these are rigorous enclosures at the current precision; never decimal literals.
    """
    return compile_function((), [formulas.LAMBDA01, formulas.ALPHA01], namespace(backend),
                            name=f"{backend}_constants")


@cache
def alpha_dropout_function(backend: str) -> Callable[..., tuple[Any, Any, Any]]:
    """``f(q, mu, nu, lam, alpha) -> (α′, a, b)`` of alpha dropout with keep probability q at
    the fixed point (mu, nu) (docs/mathematics.md §3; :data:`snn_theory.derive.formulas.DROPOUT_A` etc.)."""
    return compile_function(formulas.DROPOUT_ARGUMENTS,
                            [formulas.ALPHA_PRIME, formulas.DROPOUT_A, formulas.DROPOUT_B],
                            namespace(backend), name=f"{backend}_alpha_dropout")


def expression_function(
    backend: str, arguments: tuple[sp.Symbol, ...], expressions: tuple[sp.Expr, ...]
) -> Callable[..., tuple[Any, ...]]:
    """Compile arbitrary formula expressions (e.g. second partials) for ``backend``."""
    return compile_function(arguments, expressions, namespace(backend))


# --------------------------------------------------------------------------- acb (complex balls)
def _acb_exp_erfc(a: Any, x: Any, q: Any) -> Any:
    """exp(a)·erfc(x) for complex balls (the integrands of :mod:`snn_theory.certify.propagation`).

    Arb's exponents are unbounded, so the direct product has small relative error at any
    magnitude; it is analytic in (a, x), which ``acb.integral`` needs on complex balls.
    """
    from flint import acb

    a = a if isinstance(a, acb) else acb(a)
    x = x if isinstance(x, acb) else acb(x)
    return a.exp() * x.erfc()


def _acb(x: Any) -> Any:
    from flint import acb

    return x if isinstance(x, acb) else acb(x)


ACB_NAMESPACE: dict[str, Any] = {
    "exp": lambda x: _acb(x).exp(),
    # every square root in the propagation formulas has a real positive argument (w, v, 2/π)
    "sqrt": lambda x: _acb(x).sqrt(),
    "erf": lambda x: _acb(x).erf(),
    "erfc": lambda x: _acb(x).erfc(),
    "ExpErfc": _acb_exp_erfc,
    "POW": operator.pow,
    "Q": lambda p, q: arb(fmpq(p, q)),
    "PI": arb.pi,
    "E": arb.const_e,
}


@cache
def propagation_function(backend: str) -> Callable[..., tuple[Any, ...]]:
    """``f(mu, omega, nu, tau, lam, alpha) -> (slope_mean, slope_second_moment, chi1,
    chi_mean, chi_c0, chi_c1)`` of :data:`snn_theory.derive.formulas.PROPAGATION`."""
    return compile_function(formulas.ARGUMENTS, list(formulas.PROPAGATION.values()),
                            namespace(backend), name=f"{backend}_propagation")


@cache
def conditional_function(backend: str, which: str) -> Callable[..., tuple[Any]]:
    """``f(a, w, lam, alpha) -> (E[f(a + √w·Y)],)`` (``which="mean"``) or ``(E[f′(a + √w·Y)],)``
    (``which="slope"``), Y ~ N(0, 1), in ``backend`` or ``"acb"`` (complex balls, analytic in
    a: the integrands of ``acb.integral``)."""
    expression = {"mean": formulas.CONDITIONAL_MEAN, "slope": formulas.CONDITIONAL_SLOPE}[which]
    ns = ACB_NAMESPACE if backend == "acb" else namespace(backend)
    return compile_function(formulas.CONDITIONAL_ARGUMENTS, [expression], ns,
                            name=f"{backend}_conditional_{which}")


@cache
def erf_propagation_function(backend: str) -> Callable[..., tuple[Any, ...]]:
    """``f(c, v, tau) -> (variance, chi1, c_map, c_slope)`` of the erf activation
    (:data:`snn_theory.derive.formulas.ERF_PROPAGATION`), in ``"arb"``, ``"mpmath"`` or ``"numpy"``."""
    extra = {"arb": lambda x: _as_arb(x).asin(), "mpmath": mpmath.asin, "numpy": np.arcsin}
    ns = dict(namespace(backend), asin=extra[backend])
    return compile_function(formulas.ERF_ARGUMENTS, list(formulas.ERF_PROPAGATION.values()), ns,
                            name=f"{backend}_erf_propagation")
