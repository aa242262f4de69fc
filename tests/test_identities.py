"""The identities the monotonicity reduction rests on, proven symbolically (not sampled).

:func:`snn_theory.certify.enclosure.bound` trusts the compact gradients of
:func:`snn_theory.derive.formulas.compact_gradient`: if their ball enclosure over a box excludes 0,
the quantity is taken to be monotone there.  So these must *be* the derivatives:

1. each base quantity's compact gradient (MEAN_M, MEAN_V, … through the chain rule in
   m = μω, v = ντ) minus sympy's derivative of the base quantity is simplified to 0 by
   sympy, with ExpErfc rewritten as exp·erfc (so nothing depends on ExpErfc.fdiff) and
   ν, τ > 0 (the domains' standing assumption);
2. for every derived quantity, sympy's chain rule through abstract functions B_k(μ, ω, ν, τ)
   equals the formula compact_gradient applies (Σ_k ∂q/∂b_k · ∇B_k + explicit ∂q/∂x), and
   compact_gradient is exactly that formula with the base gradients of (1) inserted;
3. every ExpErfc(a, x, q) in every quantity and gradient has q ≡ a − x² (sympy simplifies
   the difference to 0): the stable evaluation exp(q)·erfcx(x) is then exp(a)·erfc(x).
"""

from __future__ import annotations

import pytest
import sympy as sp

from snn_theory.derive import formulas as F

POSITIVE = {F.nu: sp.Symbol("nu_p", positive=True), F.tau: sp.Symbol("tau_p", positive=True)}


def _zero(expr: sp.Expr) -> bool:
    expr = expr.subs(POSITIVE)
    return expr == 0 or sp.cancel(sp.expand(expr)) == 0 or sp.simplify(expr) == 0


@pytest.mark.parametrize("base", list(F.BASE))
def test_compact_base_gradients_are_the_derivatives(base):
    grads = F._base_gradients()[base]
    expr = F.BASE[base].rewrite(sp.erfc)
    assert not expr.atoms(F.ExpErfc)
    for i, x in enumerate(F.VARIABLES):
        compact = grads[i].rewrite(sp.erfc)
        assert not compact.atoms(F.ExpErfc)
        assert _zero(compact - sp.diff(expr, x)), (base, x)


@pytest.mark.parametrize("name", F.QUANTITIES)
def test_compact_gradients_follow_by_the_chain_rule(name):
    grads = F._base_gradients()
    functions = {k: sp.Function("B_" + k)(*F.VARIABLES) for k in F.BASE}
    slots = {(k, i): sp.Symbol(f"g_{k}_{i}") for k in F.BASE for i in range(4)}
    composite = F.DERIVED[name].subs({F._b[k]: functions[k] for k in F.BASE}, simultaneous=True)
    compact = F.compact_gradient(name)
    for i, x in enumerate(F.VARIABLES):
        # sympy's own chain rule, with ∂B_k/∂x left as slots
        chain = sp.diff(composite, x).subs(
            {sp.Derivative(functions[k], x): slots[(k, i)] for k in F.BASE})
        chain = chain.subs({functions[k]: F._b[k] for k in F.BASE})
        formula = sp.diff(F.DERIVED[name], x) + sum(
            sp.diff(F.DERIVED[name], F._b[k]) * slots[(k, i)] for k in F.BASE)
        assert _zero(chain - formula), (name, x)
        # compact_gradient is that formula with the (proven) base gradients inserted
        inserted = formula.xreplace({slots[(k, i)]: grads[k][i] for k in F.BASE})
        inserted = inserted.subs({F._b[k]: F.BASE[k] for k in F.BASE}, simultaneous=True)
        assert _zero(inserted - compact[i]), (name, x)


def test_every_experfc_has_q_equal_a_minus_x_squared():
    atoms: set = set()
    for name in F.QUANTITIES:
        atoms |= F.derived_expression(name).atoms(F.ExpErfc)
        for g in F.compact_gradient(name):
            atoms |= g.atoms(F.ExpErfc)
    for grads in F._base_gradients().values():
        for g in grads:
            atoms |= g.atoms(F.ExpErfc)
    assert len(atoms) >= 2  # E1 and E2 at least
    for atom in atoms:
        a, x, q = atom.args
        assert sp.simplify((q - (a - x**2)).subs(POSITIVE)) == 0, atom
