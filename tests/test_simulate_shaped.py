"""The shaped activation in JAX: its floats round the certified balls, and a wide random
network's correlations follow the certified network C-map (Monte Carlo: evidence, loose
tolerances of a few 1/√width)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from flint import arb

from snn_theory.certify import hermite_cmap, shaping
from snn_theory.derive import activations
from snn_theory.evaluate import activation_functions
from snn_theory.precision import working_precision
from snn_theory.simulate.shaped import correlation_chain, float_expression, shaped_jax


def test_dks_tanh_network_follows_the_certified_cmap() -> None:
    tanh = activations.builtin("tanh")
    depth = 6
    with working_precision(digits=12):
        result = shaping.shape(tanh, "dks", depth, {"zeta": Fraction(3, 2)})
        p = result.parameters
        cmap = hermite_cmap.hermite_cmap(tanh, p["input_scale"], p["input_shift"],
                                         p["output_scale"], p["output_shift"], 16)
        want = [float(cmap.network(arb("0.5"), k).mid()) for k in range(depth + 1)]
        zero = cmap.network(arb(0), depth)
    psi = shaped_jax(result)
    for k, v in p.items():
        assert abs(psi.floats[k] - float(v.mid())) <= 1e-15 * max(1.0, abs(psi.floats[k]))
    z = np.linspace(-3, 3, 7)
    a, b = psi.floats["input_scale"], psi.floats["input_shift"]
    g, d = psi.floats["output_scale"], psi.floats["output_shift"]
    assert np.allclose(np.asarray(psi(z)), g * (np.tanh(a * z + b) + d), rtol=1e-5, atol=1e-5)
    assert abs(float(zero.mid())) < 1e-8  # C(0) = 0 is a fixed point under DKS
    # the float form for --activation is the same function
    expr = activations.get(float_expression(result))
    assert np.allclose(activation_functions.value_numpy(expr, z), g * (np.tanh(a * z + b) + d), rtol=1e-13, atol=1e-13)
    got = np.mean([correlation_chain(psi, depth, 0.5, width=1000, seed=k)
                   for k in range(8)], axis=0)
    assert np.max(np.abs(got - np.array(want))) < 0.04, (got, want)
    # the network moves c: shaped tanh is not the identity map
    assert want[-1] < want[0] - 0.05


def test_tat_leaky_relu_jax_function() -> None:
    with working_precision(digits=12):
        result = shaping.shape(activations.builtin("leaky_relu"), "tat", 12,
                               {"eta": Fraction(3, 4)})
    psi = shaped_jax(result)
    s, g = psi.floats["negative_slope"], psi.floats["output_scale"]
    assert abs(g - np.sqrt(2 / (1 + s * s))) < 1e-14
    assert np.allclose(np.asarray(psi(np.array([-2.0, 3.0]))), [-2 * s * g, 3 * g])
    got = np.mean([correlation_chain(psi, 12, 0.0, width=1000, seed=k) for k in range(4)],
                  axis=0)
    assert abs(got[-1] - 0.75) < 0.05, got


def test_float_expressions_of_kinked_and_user_activations() -> None:
    """The --activation text of ψ (floats) agrees with the JAX function, kinks included."""
    z = np.linspace(-4, 4, 17)
    for name in ("elu", "selu", "1.5*tanh(x) + 0.1"):
        with working_precision(digits=10):
            result = shaping.shape(activations.get(name), "dks", 3, {"zeta": Fraction(3, 2)})
        expr = float_expression(result)
        assert expr is not None, name
        got = activation_functions.value_numpy(activations.get(expr), z)
        assert np.allclose(got, np.asarray(shaped_jax(result)(z)), rtol=1e-5, atol=1e-5), name
