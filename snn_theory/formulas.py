"""The SELU moment map and its derivatives, written once, symbolically (sympy).

Every number system in snn-theory (mpmath, arb balls, arb forward-mode duals, numpy, JAX)
evaluates the expressions defined here; nothing else in the package spells out a formula.
See ``MATH.md`` §1–3 and Klambauer et al. (2017), eqs. (4)–(5) and Appendix A3.

Variables: ``mu, omega, nu, tau`` (mean and variance of the inputs, sum and sum of squares
of the weights) and the SELU parameters ``lam, alpha``.  Abbreviations (MATH.md §1):

    m = mu*omega, v = nu*tau, s = sqrt(2 v), r = m/s, X = (m+v)/s, Y = (m+2v)/s.

The products ``exp(m + v/2)·erfc(X)`` and ``exp(2(m+v))·erfc(Y)`` overflow/underflow in
floating point long before their value does, and enclosing each factor separately makes
interval enclosures useless.  They are therefore written with the two-argument primitive
:class:`ExpErfc` ``(a, x, q) = exp(a)·erfc(x)`` with ``q = a − x² = −r²``, which each
backend evaluates stably (``exp(q)·erfcx(x)`` for x ≥ 0, MATH.md §1 "stable forms").
"""

from __future__ import annotations

import functools

import sympy as sp

mu, omega, nu, tau = sp.symbols("mu omega nu tau", real=True)
lam, alpha = sp.symbols("lam alpha", positive=True)

#: The variables of the moment map, in the order every evaluator takes them.
VARIABLES: tuple[sp.Symbol, ...] = (mu, omega, nu, tau)
#: The SELU parameters.
PARAMETERS: tuple[sp.Symbol, ...] = (lam, alpha)
ARGUMENTS: tuple[sp.Symbol, ...] = VARIABLES + PARAMETERS


class ExpErfc(sp.Function):
    """``ExpErfc(a, x, q) = exp(a)·erfc(x)``, where the caller guarantees ``q = a − x²``.

    ``q`` is redundant information, passed so that backends never have to form a − x² by
    cancellation: for x ≥ 0 they evaluate ``exp(q)·erfcx(x)`` (MATH.md §1 stable forms),
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


# --- abbreviations (MATH.md §1) ---------------------------------------------------------
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

# --- the moments (MATH.md §1; paper eq. (4) and (5)) -------------------------------------
# μ̃ = E[selu(z)],  z ~ N(m, v).  m·erf(r) + m is written m·erfc(−r) (no cancellation).
MEAN = lam / 2 * (m * sp.erfc(-r) + alpha * (E1 - sp.erfc(r)) + GAUSS)
# ξ̃ = E[selu(z)²].  (m²+v)(2 − erfc(r)) is written (m²+v)·erfc(−r).
SECOND_MOMENT = lam**2 / 2 * (
    (m**2 + v) * sp.erfc(-r) + alpha**2 * (sp.erfc(r) - 2 * E1 + E2) + m * GAUSS
)

# --- the Jacobian J of (μ, ν) ↦ (μ̃, ξ̃) (MATH.md §2; paper Appendix A3.1) ---------------
# Compact forms: the terms that cancel analytically in ∂MEAN/∂μ etc. are cancelled here,
# which keeps interval enclosures tight.  `check_jacobian_forms` proves they are the
# derivatives of MEAN and SECOND_MOMENT.
J11 = lam * omega / 2 * (alpha * E1 + sp.erfc(-r))
J12 = lam * tau / 4 * (alpha * E1 - (alpha - 1) * sp.sqrt(2 / (sp.pi * v)) * sp.exp(-(r**2)))
J21 = lam**2 * omega * (-(alpha**2) * E1 + alpha**2 * E2 + m * sp.erfc(-r) + GAUSS)
J22 = lam**2 * tau / 2 * (-(alpha**2) * E1 + 2 * alpha**2 * E2 + sp.erfc(-r))
# (the paper's 2 − erfc(r) is written erfc(−r) throughout: equal, and without cancellation)

# --- compact partials with respect to m = μω and v = ντ ------------------------------------
# μ̃ and ξ̃ depend on (μ, ω, ν, τ) only through m and v, so ∂/∂μ = ω ∂/∂m, ∂/∂ω = μ ∂/∂m,
# ∂/∂ν = τ ∂/∂v, ∂/∂τ = ν ∂/∂v.  Written with the same cancellations as J (J11 = ω·MEAN_M
# etc.), these give gradient enclosures over boxes far tighter than differentiating MEAN and
# SECOND_MOMENT term by term (whose terms cancel analytically, MATH.md §5 first trap).
MEAN_M = lam / 2 * (alpha * E1 + sp.erfc(-r))
MEAN_V = lam / 4 * (alpha * E1 - (alpha - 1) * sp.sqrt(2 / (sp.pi * v)) * sp.exp(-(r**2)))
SECOND_M = lam**2 * (-(alpha**2) * E1 + alpha**2 * E2 + m * sp.erfc(-r) + GAUSS)
SECOND_V = lam**2 / 2 * (-(alpha**2) * E1 + 2 * alpha**2 * E2 + sp.erfc(-r))


def _chain(d_m: sp.Expr, d_v: sp.Expr) -> tuple[sp.Expr, ...]:
    """(∂/∂μ, ∂/∂ω, ∂/∂ν, ∂/∂τ) of a function of (m, v) from its m- and v-partials."""
    return (omega * d_m, mu * d_m, tau * d_v, nu * d_v)


_mean_grad = _chain(MEAN_M, MEAN_V)
_second_grad = _chain(SECOND_M, SECOND_V)
_variance_grad = tuple(ds - 2 * MEAN * dm for ds, dm in zip(_second_grad, _mean_grad))

#: Gradients in compact form for the quantities that are first-order in the moments
#: (`check`: tests compare them with sympy's own derivatives).  Jacobian entries and the
#: spectral norm have none: their box gradients come from forward-mode duals (dual.py).
COMPACT_GRADIENTS: dict[str, tuple[sp.Expr, ...]] = {
    "mean": _mean_grad,
    "second_moment": _second_grad,
    "variance": _variance_grad,
    "variance_change": (_variance_grad[0], _variance_grad[1], _variance_grad[2] - 1,
                        _variance_grad[3]),
}

#: The base quantities every backend computes in one pass (shared subexpressions).
BASE: dict[str, sp.Expr] = {
    "mean": MEAN,
    "second_moment": SECOND_MOMENT,
    "J11": J11,
    "J12": J12,
    "J21": J21,
    "J22": J22,
}

# --- quantities derived from the base ones (MATH.md §2) ----------------------------------
_b = {k: sp.Symbol(k, real=True) for k in BASE}
_nu = nu
H11 = _b["J11"]
H12 = _b["J12"]
# ν̃ = ξ̃ − μ̃²  ⇒  ∂ν̃/∂x = ∂ξ̃/∂x − 2 μ̃ ∂μ̃/∂x
H21 = _b["J21"] - 2 * _b["mean"] * _b["J11"]
H22 = _b["J22"] - 2 * _b["mean"] * _b["J12"]
# Largest singular value of a 2×2 matrix (MATH.md §2).
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


# --- the SELU constants (MATH.md §3; paper eq. (14)) --------------------------------------
_e1 = sp.erfc(1 / sp.sqrt(2))
ALPHA01 = -sp.sqrt(2 / sp.pi) / (_e1 * sp.sqrt(sp.E) - 1)
LAMBDA01 = (1 - _e1 * sp.sqrt(sp.E)) * sp.sqrt(2 * sp.pi) / sp.sqrt(
    2 * sp.erfc(sp.sqrt(2)) * sp.E**2
    + sp.pi * _e1**2 * sp.E
    - 2 * (2 + sp.pi) * _e1 * sp.sqrt(sp.E)
    + sp.pi
    + 2
)


# --- derivation from the definition (used by tests and `derivation_report`) ---------------
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
