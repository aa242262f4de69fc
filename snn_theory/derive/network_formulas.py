"""The (μ, ν) maps of the weightless blocks of a network, written once (sympy).

A unit's input has mean μ and variance ν; each block below maps (μ, ν) to its output's
(mean, variance) using only those two moments (docs/networks.md derives each):

* alpha dropout, keep probability q, dropped value α′, affine a·y + b:
  mean a(qμ + (1−q)α′) + b,  variance a²(qν + q(1−q)(μ − α′)²);
* inverted dropout, keep probability q:  mean μ,  variance (ν + μ²)/q − μ²;
* the residual sum y = √(1−w²)·x + w·u with the branch output u (mean μ_u, variance ν_u)
  uncorrelated with x:  mean √(1−w²)μ + wμ_u,  variance (1−w²)ν + w²ν_u.

The Jacobians are the derivatives of these expressions (:func:`partials`), and the largest
singular value of any 2×2 matrix is :data:`MATRIX_SPECTRAL_NORM`, the one layer's
S(H) of :mod:`snn_theory.derive.formulas` with H replaced by a general matrix (so the
network's S is enclosed the way one layer's is).  Layers with weights and activations are
the moment model's (:mod:`snn_theory.evaluate.model`); layer normalisation is the constant
(0, 1) and needs no formula.
"""

from __future__ import annotations

import sympy as sp

from snn_theory.derive import formulas

mu, nu = formulas.mu, formulas.nu
#: keep probability q = 1 − drop rate (the symbol of the alpha-dropout constants)
keep = formulas.keep
alpha_prime, a, b = sp.symbols("alpha_prime a b", real=True)
#: the residual branch weight w and the branch output's mean, variance
w = sp.Symbol("w", nonnegative=True)
mu_u, nu_u = sp.symbols("mu_u nu_u", real=True)

ALPHA_DROPOUT_ARGUMENTS: tuple[sp.Symbol, ...] = (mu, nu, keep, alpha_prime, a, b)
ALPHA_DROPOUT: tuple[sp.Expr, sp.Expr] = (
    a * (keep * mu + (1 - keep) * alpha_prime) + b,
    a**2 * (keep * nu + keep * (1 - keep) * (mu - alpha_prime) ** 2),
)

DROPOUT_ARGUMENTS: tuple[sp.Symbol, ...] = (mu, nu, keep)
DROPOUT: tuple[sp.Expr, sp.Expr] = (mu, (nu + mu**2) / keep - mu**2)

RESIDUAL_ARGUMENTS: tuple[sp.Symbol, ...] = (mu, nu, mu_u, nu_u, w)
RESIDUAL: tuple[sp.Expr, sp.Expr] = (
    sp.sqrt(1 - w**2) * mu + w * mu_u,
    (1 - w**2) * nu + w**2 * nu_u,
)

#: the entries of a general 2×2 matrix M, row by row
M11, M12, M21, M22 = sp.symbols("M11 M12 M21 M22", real=True)
MATRIX: tuple[sp.Symbol, ...] = (M11, M12, M21, M22)
#: its largest singular value: S(H) with H = M (the mean μ̃ set to 0 turns H21, H22 into J21, J22)
MATRIX_SPECTRAL_NORM: sp.Expr = formulas.SPECTRAL_NORM.subs(
    {sp.Symbol("J11", real=True): M11, sp.Symbol("J12", real=True): M12,
     sp.Symbol("J21", real=True): M21, sp.Symbol("J22", real=True): M22,
     sp.Symbol("mean", real=True): 0}, simultaneous=True)


def partials(outputs: tuple[sp.Expr, sp.Expr], variables: tuple[sp.Symbol, sp.Symbol]
             ) -> tuple[sp.Expr, ...]:
    """∂(outputs)/∂(variables), row by row (four expressions)."""
    return tuple(sp.diff(f, x) for f in outputs for x in variables)


__all__ = ["ALPHA_DROPOUT", "ALPHA_DROPOUT_ARGUMENTS", "DROPOUT", "DROPOUT_ARGUMENTS",
           "MATRIX", "MATRIX_SPECTRAL_NORM", "RESIDUAL", "RESIDUAL_ARGUMENTS", "partials"]
