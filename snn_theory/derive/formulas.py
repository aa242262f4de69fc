"""The SELU moment map and its derivatives, written once, symbolically (sympy).

Every number system in snn-theory (mpmath, arb balls, arb forward-mode duals, numpy, JAX)
evaluates the expressions defined here; nothing else in the package spells out a formula.
See ``docs/mathematics.md`` §1–3 and Klambauer et al. (2017), eqs. (4)–(5) and Appendix A3.

Variables: ``mu, omega, nu, tau`` (mean and variance of the inputs, sum and sum of squares
of the weights) and the SELU parameters ``lam, alpha``.  Abbreviations (docs/mathematics.md §1):

    m = mu*omega, v = nu*tau, s = sqrt(2 v), r = m/s, X = (m+v)/s, Y = (m+2v)/s.

The products ``exp(m + v/2)·erfc(X)`` and ``exp(2(m+v))·erfc(Y)`` overflow/underflow in
floating point long before their value does, and enclosing each factor separately makes
interval enclosures useless.  They are therefore written with the two-argument primitive
:class:`ExpErfc` ``(a, x, q) = exp(a)·erfc(x)`` with ``q = a − x² = −r²``, which each
backend evaluates stably (``exp(q)·erfcx(x)`` for x ≥ 0, docs/mathematics.md §1 "stable forms").
"""

from __future__ import annotations

import functools

import sympy as sp

mu, omega, nu, tau = sp.symbols("mu omega nu tau", real=True)
lam, alpha = sp.symbols("lam alpha", positive=True)

#: The variables of the moment map, in the order every evaluator takes them.
VARIABLES: tuple[sp.Symbol, ...] = (mu, omega, nu, tau)
#: Their names, in the same order (domains, claims, certificates and figures spell them so).
VARIABLE_NAMES: tuple[str, ...] = tuple(v.name for v in VARIABLES)
#: How each variable is displayed: μ, ω, ν, τ.
VARIABLE_SYMBOLS: dict[str, str] = dict(zip(VARIABLE_NAMES, ("μ", "ω", "ν", "τ"), strict=True))
#: The SELU parameters.
PARAMETERS: tuple[sp.Symbol, ...] = (lam, alpha)
ARGUMENTS: tuple[sp.Symbol, ...] = VARIABLES + PARAMETERS


class ExpErfc(sp.Function):
    """``ExpErfc(a, x, q) = exp(a)·erfc(x)``, where the caller guarantees ``q = a − x²``.

    ``q`` is redundant information, passed so that backends never have to form a − x² by
    cancellation: for x ≥ 0 they evaluate ``exp(q)·erfcx(x)`` (docs/mathematics.md §1 stable forms),
    whose factors do not grow together.  In the moment map q = −r² ≤ 0.  Derivatives are
    taken on the manifold q = a − x² (∂/∂q = 0), which is where the formulas live:

        ∂/∂a = ExpErfc(a, x, q),   ∂/∂x = −2/√π·exp(q).
    """

    nargs = 3

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        a, x, q = self.args
        if argindex == 1:
            return self
        if argindex == 2:
            return -2 / sp.sqrt(sp.pi) * sp.exp(q)
        if argindex == 3:
            return sp.S.Zero
        raise sp.ArgumentIndexError(self, argindex)

    def _eval_rewrite_as_erfc(self, a: sp.Expr, x: sp.Expr, q: sp.Expr, **kw: object) -> sp.Expr:
        return sp.exp(a) * sp.erfc(x)


# --- abbreviations (docs/mathematics.md §1) ---------------------------------------------------------
m = mu * omega
v = nu * tau
s = sp.sqrt(2 * v)
r = m / s
X = (m + v) / s
Y = (m + 2 * v) / s
#: exp(m + v/2)·erfc(X) and exp(2(m+v))·erfc(Y)
E1 = ExpErfc(m + v / 2, X, -(r**2))  # (m + v/2) − X² = −r²
E2 = ExpErfc(2 * (m + v), Y, -(r**2))  # 2(m + v) − Y² = −r²
GAUSS = sp.sqrt(2 / sp.pi) * sp.sqrt(v) * sp.exp(-(r**2))

# --- the moments (docs/mathematics.md §1; paper eq. (4) and (5)) -------------------------------------
# μ̃ = E[selu(z)],  z ~ N(m, v).  m·erf(r) + m is written m·erfc(−r) (no cancellation).
MEAN = lam / 2 * (m * sp.erfc(-r) + alpha * (E1 - sp.erfc(r)) + GAUSS)
# ξ̃ = E[selu(z)²].  (m²+v)(2 − erfc(r)) is written (m²+v)·erfc(−r).
SECOND_MOMENT = lam**2 / 2 * (
    (m**2 + v) * sp.erfc(-r) + alpha**2 * (sp.erfc(r) - 2 * E1 + E2) + m * GAUSS
)

# --- compact partials with respect to m = μω and v = ντ (docs/mathematics.md §2) -----------------------
# μ̃ and ξ̃ depend on (μ, ω, ν, τ) only through m and v, so ∂/∂μ = ω ∂/∂m, ∂/∂ω = μ ∂/∂m,
# ∂/∂ν = τ ∂/∂v, ∂/∂τ = ν ∂/∂v.  The forms below have the terms that cancel analytically
# cancelled (as in the paper's Appendix A3.1), which keeps interval enclosures over boxes
# tight (docs/mathematics.md §5, first trap); tests prove them equal to sympy's derivatives of MEAN and
# SECOND_MOMENT.  The paper's 2 − erfc(r) is written erfc(−r): equal, without cancellation.
MEAN_M = lam / 2 * (alpha * E1 + sp.erfc(-r))
MEAN_V = lam / 4 * (alpha * E1 - (alpha - 1) * sp.sqrt(2 / (sp.pi * v)) * sp.exp(-(r**2)))
SECOND_M = lam**2 * (-(alpha**2) * E1 + alpha**2 * E2 + m * sp.erfc(-r) + GAUSS)
SECOND_V = lam**2 / 2 * (-(alpha**2) * E1 + 2 * alpha**2 * E2 + sp.erfc(-r))

# --- the Jacobian J of (μ, ν) ↦ (μ̃, ξ̃) (docs/mathematics.md §2; paper Appendix A3.1) ---------------
J11 = omega * MEAN_M
J12 = tau * MEAN_V
J21 = omega * SECOND_M
J22 = tau * SECOND_V

#: The base quantities every backend computes in one pass (shared subexpressions).
BASE: dict[str, sp.Expr] = {
    "mean": MEAN,
    "second_moment": SECOND_MOMENT,
    "J11": J11,
    "J12": J12,
    "J21": J21,
    "J22": J22,
}

# --- quantities derived from the base ones (docs/mathematics.md §2) ----------------------------------
_b = {k: sp.Symbol(k, real=True) for k in BASE}
_nu = nu
H11 = _b["J11"]
H12 = _b["J12"]
# ν̃ = ξ̃ − μ̃²  ⇒  ∂ν̃/∂x = ∂ξ̃/∂x − 2 μ̃ ∂μ̃/∂x
H21 = _b["J21"] - 2 * _b["mean"] * _b["J11"]
H22 = _b["J22"] - 2 * _b["mean"] * _b["J12"]
# Largest singular value of a 2×2 matrix (docs/mathematics.md §2).
SPECTRAL_NORM = (
    sp.sqrt((H11 + H22) ** 2 + (H21 - H12) ** 2) + sp.sqrt((H11 - H22) ** 2 + (H21 + H12) ** 2)
) / 2
VARIANCE = _b["second_moment"] - _b["mean"] ** 2

#: Everything a caller can ask for, as expressions in the base quantities and ν.
DERIVED: dict[str, sp.Expr] = {
    "mean": _b["mean"],
    "second_moment": _b["second_moment"],
    "variance": VARIANCE,
    "variance_change": VARIANCE - _nu,
    "J11": _b["J11"],
    "J12": _b["J12"],
    "J21": _b["J21"],
    "J22": _b["J22"],
    "H11": H11,
    "H12": H12,
    "H21": H21,
    "H22": H22,
    "spectral_norm": SPECTRAL_NORM,
}
BASE_SYMBOLS: tuple[sp.Symbol, ...] = tuple(_b[k] for k in BASE)

#: Quantity names accepted by the library and the CLI.
QUANTITIES: tuple[str, ...] = tuple(DERIVED)


def derived_expression(name: str) -> sp.Expr:
    """The quantity ``name`` as an explicit expression in (μ, ω, ν, τ, λ, α)."""
    return DERIVED[name].subs({_b[k]: BASE[k] for k in BASE}, simultaneous=True)


# --- gradients in compact form (for enclosures over boxes, docs/mathematics.md §7) -------------------
_m_sym, _v_sym = sp.symbols("m v", positive=True)


def _to_mv(expr: sp.Expr) -> sp.Expr:
    """A function of m = μω and v = ντ only, written in the symbols m, v."""
    return expr.subs({mu: _m_sym, omega: 1, nu: _v_sym, tau: 1}, simultaneous=True)


def _from_mv(expr: sp.Expr) -> sp.Expr:
    return expr.subs({_m_sym: mu * omega, _v_sym: nu * tau}, simultaneous=True)


def _tidy(expr: sp.Expr) -> sp.Expr:
    """Collect the Gaussian factor and factor its coefficient, so that terms which cancel
    analytically (e.g. α·T − T) are evaluated once, as (α − 1)·T."""
    gauss = sp.exp(-(_m_sym**2) / (2 * _v_sym))
    parts = sp.collect(sp.expand(expr), [gauss], evaluate=False)
    return sp.Add(*(sp.factor(c) * (k if k != 1 else 1) for k, c in parts.items()))


@functools.cache
def _second_partials() -> dict[tuple[str, str], sp.Expr]:
    """∂F/∂m and ∂F/∂v of the compact partials F (second partials of μ̃, ξ̃), derived by sympy
    from the compact forms and tidied; in (μ, ω, ν, τ)."""
    forms = {"MEAN_M": MEAN_M, "MEAN_V": MEAN_V, "SECOND_M": SECOND_M, "SECOND_V": SECOND_V}
    out = {}
    for name, form in forms.items():
        f_mv = _to_mv(form)
        for var, sym in (("m", _m_sym), ("v", _v_sym)):
            out[(name, var)] = _from_mv(_tidy(sp.diff(f_mv, sym)))
    return out


def _chain(d_m: sp.Expr, d_v: sp.Expr) -> tuple[sp.Expr, ...]:
    """(∂/∂μ, ∂/∂ω, ∂/∂ν, ∂/∂τ) of a function of (m, v) from its m- and v-partials."""
    return (omega * d_m, mu * d_m, tau * d_v, nu * d_v)


@functools.cache
def _base_gradients() -> dict[str, tuple[sp.Expr, ...]]:
    """Gradients of the base quantities in compact form: J11 = ω·MEAN_M(m, v) etc."""
    second = _second_partials()
    grads = {"mean": _chain(MEAN_M, MEAN_V), "second_moment": _chain(SECOND_M, SECOND_V)}
    for base, factor, form in (("J11", omega, "MEAN_M"), ("J12", tau, "MEAN_V"),
                               ("J21", omega, "SECOND_M"), ("J22", tau, "SECOND_V")):
        inner = _chain(second[(form, "m")], second[(form, "v")])
        f = {"MEAN_M": MEAN_M, "MEAN_V": MEAN_V, "SECOND_M": SECOND_M, "SECOND_V": SECOND_V}[form]
        grads[base] = tuple(sp.diff(factor, x) * f + factor * d for x, d in zip(VARIABLES, inner))
    return grads


@functools.cache
def compact_gradient(name: str) -> tuple[sp.Expr, ...]:
    """(∂q/∂μ, ∂q/∂ω, ∂q/∂ν, ∂q/∂τ) of quantity ``name`` by the chain rule through the base
    quantities, each base gradient in its compact form.  Equal to ``partial(name, x)``
    (tests check it), but without the analytically cancelling terms, so its enclosures over
    boxes are much tighter than those of term-by-term differentiation."""
    base_grads = _base_gradients()
    outer = DERIVED[name]
    substitution = {_b[k]: BASE[k] for k in BASE}
    result = []
    for i, x in enumerate(VARIABLES):
        total = sp.diff(outer, x)  # explicit dependence (the −ν of variance_change)
        for k in BASE:
            d_outer = sp.diff(outer, _b[k])
            if d_outer != 0:
                total += d_outer * base_grads[k][i]
        result.append(total.subs(substitution, simultaneous=True))
    return tuple(result)


# --- the SELU constants (docs/mathematics.md §3; paper eq. (14)) --------------------------------------
_e1 = sp.erfc(1 / sp.sqrt(2))
ALPHA01 = -sp.sqrt(2 / sp.pi) / (_e1 * sp.sqrt(sp.E) - 1)
LAMBDA01 = (1 - _e1 * sp.sqrt(sp.E)) * sp.sqrt(2 * sp.pi) / sp.sqrt(
    2 * sp.erfc(sp.sqrt(2)) * sp.E**2
    + sp.pi * _e1**2 * sp.E
    - 2 * (2 + sp.pi) * _e1 * sp.sqrt(sp.E)
    + sp.pi
    + 2
)


# --- alpha dropout (docs/mathematics.md §3; paper Section 4, "Alpha-dropout") -------------------------
#: keep probability q = 1 − drop rate
keep = sp.Symbol("q", positive=True)
#: Dropped units are set to α′ = −λα, the SELU's limit for x → −∞; then y ↦ a·y + b restores
#: the fixed point (μ, ν) = (mu, nu) (here mu, nu stand for the fixed point's mean, variance).
ALPHA_PRIME = -lam * alpha
DROPOUT_A = sp.sqrt(nu / (keep * ((1 - keep) * (ALPHA_PRIME - mu) ** 2 + nu)))
DROPOUT_B = mu - DROPOUT_A * (keep * mu + (1 - keep) * ALPHA_PRIME)
DROPOUT_ARGUMENTS: tuple[sp.Symbol, ...] = (keep, mu, nu, lam, alpha)


# --- derivation from the definition: an independent check of the closed forms (tests) -------
def selu(z: sp.Expr) -> sp.Piecewise:
    """SELU as a sympy expression (paper eq. (2))."""
    return sp.Piecewise((lam * z, z > 0), (lam * alpha * (sp.exp(z) - 1), True))


@functools.cache
def moments_by_integration() -> tuple[sp.Expr, sp.Expr]:
    """μ̃ and ξ̃ derived by integrating selu(z) and selu(z)² against N(m, v) on both half-lines.

    Independent of :data:`MEAN` and :data:`SECOND_MOMENT`: sympy does the integrals.
    Returned in terms of ``mu, omega, nu, tau, lam, alpha`` (with ``nu, tau > 0``).
    """
    z = sp.Symbol("z", real=True)
    mm = sp.Symbol("m", real=True)
    vv = sp.Symbol("v", positive=True)
    density = sp.exp(-((z - mm) ** 2) / (2 * vv)) / sp.sqrt(2 * sp.pi * vv)
    pos = sp.integrate(lam * z * density, (z, 0, sp.oo))
    neg = sp.integrate(lam * alpha * (sp.exp(z) - 1) * density, (z, -sp.oo, 0))
    pos2 = sp.integrate(lam**2 * z**2 * density, (z, 0, sp.oo))
    neg2 = sp.integrate(lam**2 * alpha**2 * (sp.exp(z) - 1) ** 2 * density, (z, -sp.oo, 0))
    sub = {mm: mu * omega, vv: nu * tau}
    return (pos + neg).subs(sub), (pos2 + neg2).subs(sub)


def partial(name: str, variable: sp.Symbol) -> sp.Expr:
    """∂(quantity)/∂variable, derived symbolically (second partials of the moments included)."""
    return sp.diff(derived_expression(name), variable)


# --- signal propagation: slopes of SELU under a Gaussian (docs/propagation.md) -----------
# E[f′(z)] and E[f′(z)²] for z ~ N(m, v); f′ = λ on z > 0 and λα·eᶻ on z < 0 (the kink at 0
# has measure zero).  E[f′(z)] = ∂μ̃/∂m (differentiation under the integral), so it is
# MEAN_M; E[f′(z)²] = λ²·(P(z > 0) + α²·E[e^{2z}; z < 0]) = λ²/2·(erfc(−r) + α²·E2).
SLOPE_MEAN = MEAN_M
SLOPE_SECOND_MOMENT = lam**2 / 2 * (sp.erfc(-r) + alpha**2 * E2)

#: Propagation quantities as explicit expressions in (μ, ω, ν, τ, λ, α), z ~ N(μω, ντ):
#: ``chi1`` = τ·E[f′(z)²] (growth of the squared gradient norm per layer), ``chi_mean`` =
#: ω²·E[f′(z)]² (growth of the squared mean of the backpropagated signal), ``chi_c0`` =
#: v·E[f′(z)]²/ν̃ (slope of the correlation map at c = 0) and ``chi_c1`` = v·E[f′(z)²]/ν̃
#: (its slope at c = 1; equal to chi1 at a fixed point, where ν̃ = ν).
PROPAGATION: dict[str, sp.Expr] = {
    "slope_mean": SLOPE_MEAN,
    "slope_second_moment": SLOPE_SECOND_MOMENT,
    "chi1": tau * SLOPE_SECOND_MOMENT,
    "chi_mean": omega**2 * SLOPE_MEAN**2,
    "chi_c0": v * SLOPE_MEAN**2 / (SECOND_MOMENT - MEAN**2),
    "chi_c1": v * SLOPE_SECOND_MOMENT / (SECOND_MOMENT - MEAN**2),
}

# The inner expectations of the correlation map: for (u₁, u₂) bivariate Gaussian with means m,
# variances v and correlation c, u₂ | u₁ ~ N(a, w) with a = m + c·(u₁ − m), w = (1 − c²)·v.
# E[f(u₂) | u₁] and E[f′(u₂) | u₁] are the mean and the slope formulas at (m, v) = (a, w).
cond_a, cond_w = sp.symbols("a w", real=True)
_conditional = {mu: cond_a, omega: 1, nu: cond_w, tau: 1}
CONDITIONAL_MEAN = MEAN.subs(_conditional, simultaneous=True)
CONDITIONAL_SLOPE = SLOPE_MEAN.subs(_conditional, simultaneous=True)
CONDITIONAL_ARGUMENTS: tuple[sp.Symbol, ...] = (cond_a, cond_w, lam, alpha)

# --- a smooth comparison activation: f = erf (docs/propagation.md) ------------------------
# For zero-mean jointly Gaussian (u₁, u₂) with variances v and covariance c·v (Williams 1998):
# E[erf(u₁)erf(u₂)] = (2/π)·asin(2cv/(1 + 2v)); E[erf′(z)²] = (4/π)/√(1 + 4v).  With m = 0
# the mean is 0, so c̃(c) = asin(2cv/(1 + 2v))/asin(2v/(1 + 2v)).
erf_c = sp.Symbol("c", real=True)
_erf_v = sp.Symbol("v", positive=True)
ERF_ARGUMENTS: tuple[sp.Symbol, ...] = (erf_c, _erf_v, tau)
_erf_map = sp.asin(2 * erf_c * _erf_v / (1 + 2 * _erf_v)) / sp.asin(2 * _erf_v / (1 + 2 * _erf_v))
ERF_PROPAGATION: dict[str, sp.Expr] = {
    "variance": 2 / sp.pi * sp.asin(2 * _erf_v / (1 + 2 * _erf_v)),
    "chi1": tau * 4 / sp.pi / sp.sqrt(1 + 4 * _erf_v),
    "c_map": _erf_map,
    "c_slope": sp.diff(_erf_map, erf_c),
}
