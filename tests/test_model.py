"""The moment model (snn_theory.evaluate.model): one activation resolved once, one interface.

The two implementations are checked against each other (SELU's closed forms against the
Gaussian engine applied to the same function) and against mpmath quadrature."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from snn_theory.derive import activations
from snn_theory.errors import InputError
from snn_theory.evaluate.model import (
    ClosedFormModel,
    GaussianModel,
    MomentModel,
    resolve,
)
from snn_theory.evaluate.moment_map import arb_to_mpf
from snn_theory.evaluate.point import map_point
from snn_theory.precision import working_precision


def test_resolve_chooses_once() -> None:
    selu = resolve("selu")
    assert isinstance(selu, ClosedFormModel) and selu.closed_form and selu.label == "SELU"
    tanh = resolve("tanh")
    assert isinstance(tanh, GaussianModel) and not tanh.closed_form
    assert resolve(tanh) is tanh and isinstance(resolve(selu), MomentModel)
    assert isinstance(resolve(activations.get("selu")), ClosedFormModel)
    scaled = resolve("selu", scale="2")  # another function than SELU: the Gaussian engine
    assert isinstance(scaled, GaussianModel) and scaled.activation.scale == 2
    twice = resolve(resolve("tanh", scale="2"), scale="3", shift="1")  # 3·(2·tanh) + 1
    assert (twice.activation.scale, twice.activation.shift) == (6, 1)
    assert resolve("1.59*tanh(x)").name == "1.59*tanh(x)"


@pytest.mark.parametrize("spec, kwargs, message", [
    ("tanh", {"lam": "1.05"}, "SELU's parameters"),
    ("nosuch", {}, "nosuch"),
    ("selu", {"scale": "0"}, "nonzero"),
    ("selu", {"scale": "nan"}, "scale"),
])
def test_resolve_refuses_bad_input(spec: str, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        resolve(spec, **kwargs)


def test_closed_forms_and_gaussian_engine_agree_on_selu() -> None:
    """The same function through both implementations: the arb balls must overlap."""
    closed, generic = resolve("selu"), GaussianModel(activations.get("selu"))
    with working_precision(bits=80):
        a = closed.evaluate("0.3", "0.8", "1.1", "1.2", backend="arb")
        b = generic.evaluate("0.3", "0.8", "1.1", "1.2", backend="arb")
        for name in a:
            assert a[name].overlaps(b[name]), name
            assert b[name].rad() < 1e-15
        fa, fb = closed.fixed_point(0.1, 1.1), generic.fixed_point(0.1, 1.1)
        assert fa.proved and fb.proved
        assert fa.mean.overlaps(fb.mean) and fa.variance.overlaps(fb.variance)
    floats_a = closed.evaluate_float([0.3, -0.2], 0.8, [1.1, 0.9], 1.2, ("variance", "H22"))
    floats_b = generic.evaluate_float([0.3, -0.2], 0.8, [1.1, 0.9], 1.2, ("variance", "H22"))
    for name in floats_a:
        np.testing.assert_allclose(floats_a[name], floats_b[name], rtol=1e-10)
    mu_a, nu_a, ok_a = closed.fixed_points_float(np.array([0.0, 0.1]), np.array([1.0, 1.1]))
    mu_b, nu_b, ok_b = generic.fixed_points_float(np.array([0.0, 0.1]), np.array([1.0, 1.1]))
    assert ok_a.all() and ok_b.all()
    np.testing.assert_allclose(nu_a, nu_b, rtol=1e-9)


def test_expectations_of_tanh_against_quadrature() -> None:
    model = resolve("tanh")
    with working_precision(bits=100):
        p = model.expectations("0.3", "0.7", order=0)
        mean, second = p.A[0], p.B[0]
    with mpmath.workdps(30):
        m, v = mpmath.mpf("0.3"), mpmath.mpf("0.7")

        def e(k: int) -> mpmath.mpf:
            return mpmath.quad(lambda t: mpmath.tanh(m + mpmath.sqrt(v) * t) ** k
                               * mpmath.npdf(t), [-20, 0, 20])
        for ball, ref in ((mean, e(1)), (second, e(2))):
            assert abs(arb_to_mpf(ball.mid()) - ref) <= arb_to_mpf(ball.rad()) + 1e-27
            assert ball.rad() < 1e-25


def test_gaussian_model_backends_and_refusals() -> None:
    tanh = resolve("tanh")
    with working_precision(bits=64):
        balls = tanh.evaluate("0.1", "0", "1", "2", quantities=("mean", "variance"))
        points = tanh.evaluate("0.1", "0", "1", "2", quantities=("mean", "variance"),
                               backend="mpmath")
        for name in balls:  # mpmath values: the exact midpoints of the arb enclosures
            assert points[name] == arb_to_mpf(balls[name].mid())
    with pytest.raises(InputError, match="SELU closed forms only"):
        tanh.evaluate("0", "0", "1", "1", backend="numpy")
    with pytest.raises(InputError, match="nu must be > 0"):
        tanh.evaluate("0", "0", "-1", "1")
    with pytest.raises(InputError, match="SELU parameters"):
        map_point(tanh, mu="0", nu="1", lam="1")
    with pytest.raises(InputError, match="not apply"):
        tanh.require_closed_form("does not apply")
    resolve("selu").require_closed_form("never raised for SELU")


def test_map_point_raises_the_precision_for_cancellation() -> None:
    """At a large |μω| the variance cancels digits: the precision policy (in the library)
    raises the working precision and says so."""
    point = map_point("selu", mu="40", omega="1", nu="0.01", tau="1", digits=15)
    assert point.precision_raised and point.unresolved is not None
    assert "15 digits" in repr(point)


def test_the_command_line_does_not_branch_on_selu() -> None:
    """The command line resolves a model and asks it; it never tests which activation it has
    (the library decides: closed forms or Gaussian integrals)."""
    import re
    from pathlib import Path

    import snn_theory.cli

    branches = [f"{path.name}:{n}" for path in Path(snn_theory.cli.__file__).parent.glob("*.py")
                for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if re.search(r"is_selu|== \"selu\"", line)]
    assert branches == []


def test_propagation_quantities_of_both_models_agree() -> None:
    """E[f′], E[f′²] and the χ quantities of SELU: the closed forms (ClosedFormModel) and the
    Gaussian integrals of f′ piece by piece (GaussianModel of the same activation) are two
    independent enclosures of the same numbers."""
    from flint import arb

    from snn_theory.evaluate.model import PROPAGATION_QUANTITIES

    with working_precision(bits=96):
        args = (arb("0.1"), arb("0.05"), arb("1.2"), arb("1.1"))
        closed = ClosedFormModel().propagation(*args)
        integrals = GaussianModel(activations.get("selu")).propagation(*args)
    for name in PROPAGATION_QUANTITIES:
        assert closed[name].overlaps(integrals[name]), name
        assert closed[name].rad() < 1e-20 and integrals[name].rad() < 1e-15, name
    assert closed["chi1"].overlaps(arb("1.1") * closed["slope_second_moment"])
