"""Certified gains against independent values, and the ``gain`` command's contract.

* ReLU: γ_var = 1/√(1/2 − 1/(2π)) and γ_2 = √2 exactly (closed forms, 50-digit mpmath);
* tanh: γ = 1/√E[tanh(Z)²] against mpmath quadrature at 40 digits;
* a user expression equal to a built-in gives overlapping enclosures;
* the shipped framework values and their relative errors; bad input exits 2.
"""

from __future__ import annotations

import mpmath
import pytest
from flint import arb

from snn_theory.certify.gains import certified_gains
from snn_theory.derive import activations
from snn_theory.precision import working_precision


def _inside(ball: arb, value: mpmath.mpf) -> bool:
    lo = mpmath.mpf(ball.lower().str(60, radius=False))
    hi = mpmath.mpf(ball.upper().str(60, radius=False))
    return lo - mpmath.mpf("1e-55") <= value <= hi + mpmath.mpf("1e-55")


def test_relu_gains_closed_forms() -> None:
    with working_precision(digits=45):
        result = certified_gains(activations.get("relu"))
    with mpmath.workdps(50):
        want = 1 / mpmath.sqrt(mpmath.mpf(1) / 2 - 1 / (2 * mpmath.pi))
        assert _inside(result.variance_gain, want)
        assert _inside(result.second_moment_gain, mpmath.sqrt(2))
    assert result.variance_gain.rad() < 1e-40


def test_tanh_gain_against_quadrature() -> None:
    with working_precision(digits=35):
        result = certified_gains(activations.get("tanh"))
    with mpmath.workdps(40):
        second = mpmath.quad(lambda z: mpmath.tanh(z) ** 2 * mpmath.npdf(z),
                             [-mpmath.inf, -3, 0, 3, mpmath.inf])
        assert _inside(result.second_moment_gain, 1 / mpmath.sqrt(second))
        # E[tanh(Z)] = 0 by symmetry: both gains coincide
        assert _inside(result.variance_gain, 1 / mpmath.sqrt(second))
        assert abs(1 / mpmath.sqrt(second) - mpmath.mpf("1.5925374197")) < 1e-9


@pytest.mark.parametrize("text,name", [("max(x, 0)", "relu"), ("x*erfc(-x/sqrt(2))/2", "gelu"),
                                       ("x*sigmoid(x)", "silu")])
def test_user_expression_gain_overlaps_builtin(text: str, name: str) -> None:
    with working_precision(digits=30):
        a = certified_gains(activations.get(text))
        b = certified_gains(activations.get(name))
    assert a.variance_gain.overlaps(b.variance_gain)
    assert a.second_moment_gain.overlaps(b.second_moment_gain)
    assert not a.frameworks  # shipped values belong to the built-in names only


def test_framework_relative_errors() -> None:
    with working_precision(digits=30):
        relu = certified_gains(activations.get("relu"))
        selu = certified_gains(activations.get("selu"))
    nf = {f.framework: f for f in relu.frameworks}
    # NFNets' relu γ 1.7139589 is 6.4e-4 above 1.7128586
    assert 6.3e-4 < float(nf["nfnets gamma"].relative_error.mid()) < 6.5e-4
    torch = {f.framework: f for f in selu.frameworks}["pytorch calculate_gain"]
    # selu preserves E[f²] = 1 at (0, 1), so its exact gain is 1, not 3/4
    assert abs(float(torch.relative_error.mid()) + 0.25) < 1e-12
