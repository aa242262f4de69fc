"""The symbolic formulas): closed forms against their definitions, and derivatives.

* the evaluated (stable erfcx) forms of μ̃ and ξ̃ equal mpmath quadrature of the defining
  integrals E[selu(z)], E[selu(z)²] to 30 digits at 50 points (fixed seed) covering
  ν·τ ∈ [1e-6, 1e3] and |μω| ≤ 10 (docs/mathematics.md §1);
* they equal sympy's own integration of the definition (:func:`formulas.moments_by_integration`);
* J11..J22 are the sympy derivatives of MEAN and SECOND_MOMENT, H21, H22 those of the
  variance (docs/mathematics.md §2);
* forward-mode interval differentiation (:mod:`snn_theory.evaluate.dual`) of H and S(H) at a point
  ball encloses the sympy-derived partials — two independent methods for second partials;
* g(0, 1) = (0, 1) at ω = 0, τ = 1 with λ01, α01, and H, S(H) there as in docs/mathematics.md §2;
* the committed straight-line code of S and its gradient is what the code generator writes
  from these formulas now, byte for byte (change a formula without regenerating: this fails).
"""

from __future__ import annotations

import random

import mpmath
import pytest
import sympy as sp
from flint import arb

from snn_theory import working_precision
from snn_theory.derive import codegen, formulas
from snn_theory.evaluate import backends
from snn_theory.evaluate.dual import Dual
from snn_theory.evaluate.moment_map import closed_form_quantities, mpf_to_arb
from tests._reference import PARTIAL_NAMES, partial_function, quad_moments, random_points


def _mpf_point(point: tuple[str, ...]) -> tuple[mpmath.mpf, ...]:
    return tuple(mpmath.mpf(x) for x in point)


def test_closed_forms_equal_quadrature_to_30_digits() -> None:
    """50 points, fixed seed, including the corners |μω| ∈ {0, 10}, ν·τ ∈ {1e-6, 1e3}.

    "30 digits" is measured against the scale of the integrand, λ(|m| + √v + α) for μ̃ and
    its square for ξ̃ (μ̃ is 0 at the fixed point, so a purely relative test is undefined).
    """
    points = random_points(seed=20170612, count=50)
    worst = mpmath.mpf(0)
    with working_precision(digits=34):
        lam, alpha = backends.constants_function("mpmath")()
        f = backends.evaluator("mpmath", ("mean", "second_moment"))
        for point in points:
            mu, omega, nu, tau = _mpf_point(point)
            mean, second = f(mu, omega, nu, tau, lam, alpha)
            q_mean, q_second = quad_moments(mu * omega, nu * tau, lam, alpha)
            scale = lam * (abs(mu * omega) + mpmath.sqrt(nu * tau) + alpha)
            err = max(abs(mean - q_mean) / scale, abs(second - q_second) / scale**2)
            assert err < mpmath.mpf("1e-30"), (point, err)
            worst = max(worst, err)
    print(f"closed forms vs quadrature: worst scaled error {mpmath.nstr(worst, 3)}")


def test_closed_forms_equal_sympy_integration() -> None:
    """sympy's integration of the definition (a different closed form, with exp(X²)·erf(X)
    terms that cancel: evaluated at 80 digits) agrees with the stable forms to 40 digits."""
    mean_int, second_int = formulas.moments_by_integration()
    f_int = sp.lambdify(formulas.ARGUMENTS, [mean_int, second_int], modules="mpmath")
    rng = random.Random(2)
    with working_precision(digits=80):
        f = backends.evaluator("mpmath", ("mean", "second_moment"))
        for _ in range(6):
            # generic points: the sympy form divides by m, m + v and m + 2v
            args = [mpmath.mpf(rng.uniform(-3, 3)), mpmath.mpf(rng.uniform(-2, 2)),
                    mpmath.mpf(rng.uniform(0.1, 5)), mpmath.mpf(rng.uniform(0.2, 2)),
                    mpmath.mpf(rng.uniform(0.5, 2)), mpmath.mpf(rng.uniform(0.5, 3))]
            for stable, derived in zip(f(*args), f_int(*args), strict=True):
                assert abs(stable - derived) <= mpmath.mpf("1e-40") * (1 + abs(stable))


def test_jacobian_entries_are_the_sympy_derivatives() -> None:
    """J11 = ∂μ̃/∂μ, J12 = ∂μ̃/∂ν, J21 = ∂ξ̃/∂μ, J22 = ∂ξ̃/∂ν (compact forms of docs/mathematics.md §2),
    and H21, H22 = ∂ν̃/∂μ, ∂ν̃/∂ν, checked at 40 digits at random points."""
    mu, nu = formulas.mu, formulas.nu
    derivatives = [sp.diff(formulas.MEAN, mu), sp.diff(formulas.MEAN, nu),
                   sp.diff(formulas.SECOND_MOMENT, mu), sp.diff(formulas.SECOND_MOMENT, nu),
                   formulas.partial("variance", mu), formulas.partial("variance", nu)]
    f_diff = sp.lambdify(formulas.ARGUMENTS, [d.rewrite(sp.erfc) for d in derivatives],
                         modules="mpmath")
    names = ("J11", "J12", "J21", "J22", "H21", "H22")
    rng = random.Random(3)
    with working_precision(digits=50):
        f = backends.evaluator("mpmath", names)
        for _ in range(20):
            args = [mpmath.mpf(rng.uniform(-3, 3)), mpmath.mpf(rng.uniform(-2, 2)),
                    mpmath.mpf(10 ** rng.uniform(-2, 1.5)), mpmath.mpf(rng.uniform(0.2, 2)),
                    mpmath.mpf(rng.uniform(0.5, 2)), mpmath.mpf(rng.uniform(0.5, 3))]
            for name, compact, derived in zip(names, f(*args), f_diff(*args), strict=True):
                assert abs(compact - derived) <= mpmath.mpf("1e-40") * (1 + abs(derived)), name


DUAL_NAMES = PARTIAL_NAMES


@pytest.mark.parametrize("point", [("0", "0", "1", "1"), ("0.1", "-0.05", "1.2", "0.97"),
                                   ("-0.7", "1.3", "0.4", "1.1"), ("2", "0.5", "3", "0.8")])
def test_dual_gradient_point_ball_contains_sympy_partials(point: tuple[str, ...]) -> None:
    """Second method for the second partials: the forward-mode arb gradient of H and S(H) at a
    point ball contains the 50-digit value of the sympy derivative (formulas.partial)."""
    with working_precision(digits=50):
        x = _mpf_point(point)
        lam, alpha = backends.constants_function("mpmath")()
        reference = partial_function(DUAL_NAMES)(*x, lam, alpha)
    with working_precision(digits=30):
        variables = Dual.variables([mpf_to_arb(z) for z in x])
        lam_b, alpha_b = backends.constants_function("arb")()
        duals = backends.evaluator("dual", DUAL_NAMES)(*variables, lam_b, alpha_b)
        for i, (name, d) in enumerate(zip(DUAL_NAMES, duals, strict=True)):
            for j, var in enumerate(formulas.VARIABLES):
                ref = reference[4 * i + j]
                assert d.grad[j].contains(mpf_to_arb(ref)), (name, var, d.grad[j], ref)
                assert d.grad[j].rad() < 1e-25 * (1 + abs(float(ref))), (name, var)


def test_fixed_point_of_lambda01_alpha01() -> None:
    """g(0, 1) = (0, 1) at ω = 0, τ = 1 (the defining property of λ01, α01, docs/mathematics.md §3):
    the arb balls contain 0 and 1; H and S(H) as in docs/mathematics.md §2."""
    with working_precision(digits=40):
        q = closed_form_quantities("0", "0", "1", "1", backend="arb")
        assert q["mean"].contains(0) and q["mean"].rad() < 1e-40
        assert q["variance"].contains(1) and q["variance"].rad() < 1e-40
        assert q["H11"].contains(0) and q["H21"].contains(0)
        # docs/mathematics.md §2: H = [[0, 0.0888…], [0, 0.7826…]], S ≈ 0.7877
        assert arb("0.0888") < q["H12"] < arb("0.0889")
        assert arb("0.7826") < q["H22"] < arb("0.7827")
        assert arb("0.78765") < q["spectral_norm"] < arb("0.78775")
        # the exact relation S = sqrt(H12² + H22²) when the first column vanishes
        s = (q["H12"] ** 2 + q["H22"] ** 2).sqrt()
        assert q["spectral_norm"].overlaps(s)


def test_generated_s_gradient_module_is_what_the_formulas_generate(tmp_path) -> None:
    """The committed module of S and its compact gradient is byte for byte what
    ``write_s_gradient_module`` writes now; a copy with one constant changed is told apart;
    and the module, bound to mpmath, gives the value of S that the compiled formula gives."""
    source = codegen.s_gradient_module_source()
    committed = codegen.s_gradient_module_path()
    assert committed.read_bytes() == source.encode(), (
        "snn_theory/derive/s_gradient.py is stale: run write_s_gradient_module()")
    written = codegen.write_s_gradient_module(tmp_path / "s_gradient.py")
    assert written.read_bytes() == committed.read_bytes()
    tampered = tmp_path / "tampered.py"
    assert "Q(3, 2)" in source
    tampered.write_text(source.replace("Q(3, 2)", "Q(3, 4)", 1))  # one exponent changed
    assert codegen.s_gradient_module_is_current(written, source)
    assert not codegen.s_gradient_module_is_current(tampered, source)
    # backends use the committed code, and it evaluates the formula
    from snn_theory.derive import s_gradient

    point = [mpmath.mpf(x) for x in ("0.07", "-0.03", "1.3", "1.02", "1.05", "1.67")]
    with working_precision(digits=30):
        value = backends.value_and_gradient("mpmath", "spectral_norm")(*point)[0]
        bound = s_gradient.bind(backends.namespace("mpmath"))(*point)
        compiled = backends.evaluator("mpmath", ("spectral_norm",))(*point)[0]
        assert value == bound[0] and abs(value - compiled) < mpmath.mpf(10) ** -28
        assert len(bound) == 5


def test_generated_claim_code_module_is_current_and_is_the_compiled_code(tmp_path) -> None:
    """The committed evaluators of the claim quantities are byte for byte what
    ``write_claim_code_module`` writes now (a copy with one constant changed differs), and the
    backends' evaluators of those quantities, bound from it, give exactly what compiling the
    formulas at run time gives (the same straight-line code), gradients included, and the
    gradient agrees with mpmath's numerical derivative of the value."""
    source = codegen.claim_code_module_source()
    committed = codegen.claim_code_module_path()
    assert committed.read_bytes() == source.encode(), (
        "snn_theory/derive/claim_code.py is stale: run write_claim_code_module()")
    written = codegen.write_claim_code_module(tmp_path / "claim_code.py")
    assert written.read_bytes() == committed.read_bytes()
    assert "(2)" in source and source.replace("(2)", "(3)", 1) != source
    point = [mpmath.mpf(x) for x in ("0.07", "-0.03", "1.3", "1.02", "1.05", "1.67")]
    ns = backends.namespace("mpmath")
    with working_precision(digits=30):
        for names in codegen.CLAIM_VALUE_TUPLES:
            runtime = codegen.compile_function(
                formulas.ARGUMENTS, [formulas.derived_expression(n) for n in names], ns)
            assert backends.evaluator("mpmath", names)(*point) == runtime(*point)
        for name in codegen.CLAIM_QUANTITIES:
            expression = formulas.derived_expression(name)
            runtime = codegen.compile_function(
                formulas.ARGUMENTS, [expression, *formulas.compact_gradient(name)], ns)
            got = backends.value_and_gradient("mpmath", name)(*point)
            assert got == runtime(*point)
            value = backends.evaluator("mpmath", (name,))
            for i, partial in enumerate(got[1:]):
                def along(t, i=i, value=value):
                    return value(*point[:i], t, *point[i + 1:])[0]

                assert abs(partial - mpmath.diff(along, point[i])) < mpmath.mpf(10) ** -20
