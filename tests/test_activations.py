"""Activations as data: built-in formulas, growth bounds, the expression parser.

* every built-in's growth bound |g(x)| ≤ P(|x|) holds at sampled points (40-digit mpmath,
  from 1e-6 to 1e4 in magnitude, both signs, at and around the kinks);
* the pieces agree with independent definitions (mpmath's own functions);
* the parser accepts whitelisted expressions, derives growth bounds that hold, and rejects
  unknown names, code, functions of other variables and fast-growing expressions;
* certificate records re-derive the activation, edited records are rejected.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest

from snn_theory.derive import activations
from snn_theory.derive.activations import get
from snn_theory.errors import InputError
from snn_theory.evaluate import activation_functions

SAMPLES = sorted({s * mpmath.mpf(10) ** e * k for s in (-1, 1) for e in range(-6, 5)
                  for k in (1, 2, 5)} | {mpmath.mpf(0), mpmath.mpf("1e-30"), mpmath.mpf("-1e-30")})


def _independent(name: str, t: mpmath.mpf) -> mpmath.mpf:
    """Each built-in written with mpmath's functions, not through the package."""
    if name == "selu":
        lam = mpmath.mpf("1.0507009873554804934193349852946")
        alpha = mpmath.mpf("1.6732632423543772848170429916717")
        return lam * t if t > 0 else lam * alpha * mpmath.expm1(t)
    return {
        "elu": lambda: t if t > 0 else mpmath.expm1(t),
        "relu": lambda: max(t, 0),
        "leaky_relu": lambda: t if t > 0 else t / 100,
        "tanh": lambda: mpmath.tanh(t),
        "gelu": lambda: t * mpmath.ncdf(t),
        "silu": lambda: t / (1 + mpmath.exp(-t)),
        "mish": lambda: t * mpmath.tanh(mpmath.log1p(mpmath.exp(t))),
        "softplus": lambda: mpmath.log1p(mpmath.exp(t)),
    }[name]()


@pytest.mark.parametrize("name", activations.NAMES)
def test_builtin_matches_independent_definition_and_growth_bound(name: str) -> None:
    act = get(name)
    with mpmath.workdps(40):
        for t in SAMPLES:
            value = activation_functions.value_mpmath(act, t)
            want = _independent(name, t)
            assert abs(value - want) <= mpmath.mpf("1e-25") * (1 + abs(want)), (name, t)
            assert abs(value) <= activations.growth_bound_value(act, t), (name, t)


def test_numpy_evaluator_matches_mpmath() -> None:
    t = np.linspace(-30, 30, 601)
    for name in activations.NAMES:
        act = get(name)
        got = activation_functions.value_numpy(act, t)
        with mpmath.workdps(30):
            want = np.array([float(activation_functions.value_mpmath(act, mpmath.mpf(float(u)))) for u in t])
        # absolute 1e-15: gelu's x·(1 + erf(x/√2))/2 cancels for x ≪ 0 in float64
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=name)


def test_affine_family_and_aliases() -> None:
    a = get("tanh", scale="1.59", shift="-0.25")
    assert a.scale == Fraction(159, 100) and a.shift == Fraction(-1, 4)
    with mpmath.workdps(30):
        assert abs(activation_functions.value_mpmath(a, mpmath.mpf(1)) - (mpmath.mpf("1.59") * mpmath.tanh(1) - 0.25)) < 1e-25
    assert get("swish").name == "silu"
    assert get("selu").is_selu and not get("selu", scale=2).is_selu


@pytest.mark.parametrize("text,name,kinks", [
    ("1.59*tanh(x)", None, ()),
    ("x*erfc(-x/sqrt(2))/2", "gelu", ()),
    ("max(x, 0)", "relu", (Fraction(0),)),
    ("max(x, x/100)", "leaky_relu", (Fraction(0),)),
    ("x*sigmoid(x)", "silu", ()),
    ("x*tanh(softplus(x))", "mish", ()),
    ("abs(x - 1/2) + 2^3*erf(x)", None, (Fraction(1, 2),)),
    ("-(x**2)*exp(-1) + cos(3*x)", None, ()),
    ("exp(-x*x)", None, ()),
    ("x*exp(-x^2/2)", None, ()),
    ("exp(-abs(x))", None, (Fraction(0),)),
    ("3*exp(2 - (x - 1)*(x - 1))*sin(5*x)", None, ()),
    ("exp(min(x, 0))", None, (Fraction(0),)),
    ("exp(-softplus(x))*x", None, ()),
])
def test_parser_accepts_whitelisted_expressions(text: str, name: str | None, kinks: tuple) -> None:
    act = get(text)
    assert act.kinks == kinks
    with mpmath.workdps(30):
        for t in SAMPLES:
            if abs(t) > 1e3:
                continue
            value = activation_functions.value_mpmath(act, t)
            assert abs(value) <= activations.growth_bound_value(act, t) * (1 + mpmath.mpf("1e-20"))
            if name:
                want = _independent(name, t)
                assert abs(value - want) <= mpmath.mpf("1e-20") * (1 + abs(want)), (text, t)


@pytest.mark.parametrize("text,message", [
    ("y*x", "unknown name"),
    ("x + a", "unknown name"),
    ("foo(x)", "unknown function"),
    ("__import__('os').system('true')", "cannot parse"),
    ("__import__(x)", "unknown function"),
    ("x.real", "cannot parse"),
    ("exp(x)", "grows too fast"),
    ("cosh(x)*x", "grows too fast"),
    ("exp(x*x)", "not bounded above"),
    ("exp(-x)", "not bounded above"),
    ("exp(-x*x*x)", "not bounded above"),
    ("exp(max(x, 0))", "not bounded above"),
    ("exp(x*(x - 1))", "not bounded above"),
    ("exp(-x*x)*exp(x*x)", "not bounded above"),
    ("exp(sin(x)*x*x)", "not bounded above"),
    ("cosh(-x*x)", "grows too fast"),
    ("1/x", "division is allowed only by constants"),
    ("x/(1+tanh(x))", "division is allowed only by constants"),
    ("sqrt(x)", "only of constants"),
    ("log(x)", "only of constants"),
    ("abs(tanh(x))", "linear in x"),
    ("max(x*x, 0)", "linear in x"),
    ("2*pi", "does not depend on x"),
    ("x +", "expected"),
    ("(x", "expected"),
    ("x^x", "exponents must be constants"),
    ("x/0", "division by zero"),
    ("", "built-in name or an expression"),
    ("x" * 600, "longer than"),
])
def test_parser_rejects(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        get(text)


def test_scale_validation() -> None:
    with pytest.raises(InputError, match="nonzero"):
        get("tanh", scale=0)
    with pytest.raises(InputError, match="finite decimal"):
        get("tanh", scale="nan")


def test_record_round_trip_and_edits_rejected() -> None:
    act = get("tanh", scale="159/100")
    record = act.to_json()
    again = activations.from_json(record)
    assert again.to_json() == record and again.scale == act.scale
    edited = dict(record, formula="159/100*tanh(2*x)")
    with pytest.raises(InputError, match="edited"):
        activations.from_json(edited)
    edited = dict(record, growth=["1/100"])
    with pytest.raises(InputError, match="edited"):
        activations.from_json(edited)
    with pytest.raises(InputError):
        activations.from_json({"definition": "nosuch", "scale": "1", "shift": "0"})


def test_decaying_growth_bounds_are_derived_and_hold() -> None:
    """exp of an argument bounded above is bounded: the derived bound holds at sampled
    points (40 digits), is a constant (no |x|ᵏ term), and an edited smaller bound is refused."""
    for text, bound in (("exp(-x*x)", 1), ("exp(3 - x*x)", 21), ("exp(-(x - 1)*(x - 1)/2)", 1)):
        act = get(text)
        assert len(act.growth) == 1 and act.growth[0] <= bound, (text, act.growth)
        with mpmath.workdps(40):
            for t in [mpmath.mpf(k) / 8 for k in range(-80, 81)]:
                assert abs(activation_functions.value_mpmath(act, t)) <= activations.growth_bound_value(act, t), (text, t)
    record = get("exp(3 - x*x)").to_json()
    with pytest.raises(InputError, match="edited"):
        activations.from_json(dict(record, growth=["1"]))  # e^3 > 1: violated at x = 0

