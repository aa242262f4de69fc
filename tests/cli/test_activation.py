"""``map`` and ``solve-constants`` with ``--activation``, against independent quadrature.

* solve-constants for tanh and gelu at (0, 1) and at a target with ω ≠ 0: the printed c, d
  substituted back give residuals below 10^−(digits − 5) (mpmath quadrature of the moments);
* map --activation: arb balls contain the quadrature values; float backends are refused.
"""

from __future__ import annotations

import json

import mpmath
import pytest

from snn_theory.derive import activations
from snn_theory.evaluate import activation_functions


def _moments(name: str, c: mpmath.mpf, d: mpmath.mpf, m: mpmath.mpf, v: mpmath.mpf
             ) -> tuple[mpmath.mpf, mpmath.mpf]:
    act = activations.get(name)
    s = mpmath.sqrt(v)
    cuts = [-14, -6, -3, -1, 0, 1, 3, 6, 14]
    e1 = mpmath.quad(lambda z: activation_functions.value_mpmath(act, m + s * z) * mpmath.npdf(z), cuts)
    e2 = mpmath.quad(lambda z: activation_functions.value_mpmath(act, m + s * z) ** 2 * mpmath.npdf(z), cuts)
    return c * e1 + d, c * c * (e2 - e1 * e1)


@pytest.mark.parametrize("name,target", [
    ("tanh", ("0", "1", "0", "1")), ("gelu", ("0", "1", "0", "1")),
    ("gelu", ("0.1", "1.2", "0.5", "1.1")), ("tanh", ("-0.2", "0.7", "-1", "1.3")),
])
def test_solve_constants_residuals(name: str, target: tuple[str, ...], cli) -> None:
    digits = 25
    mean, variance, omega, tau = target
    out = cli(["solve-constants", "--activation", name, "--mean", mean, "--variance", variance,
               "--omega", omega, "--tau", tau, "--digits", str(digits), "--json"])
    assert out.code == 0, out.err
    data = json.loads(out.out)
    assert data["certified"] is True
    with mpmath.workdps(digits + 12):
        c, d = mpmath.mpf(data["scale"]["value"]), mpmath.mpf(data["shift"]["value"])
        mu, nu = mpmath.mpf(mean), mpmath.mpf(variance)
        got_mean, got_var = _moments(name, c, d, mu * mpmath.mpf(omega), nu * mpmath.mpf(tau))
        tol = mpmath.mpf(10) ** -(digits - 5)
        assert abs(got_mean - mu) < tol and abs(got_var - nu) < tol, (got_mean, got_var)


def test_solve_constants_activation_bad_input(cli) -> None:
    for args in (["--activation", "tanh", "--dropout-rate", "0.1"],
                 ["--activation", "tanh", "--variance", "-1"],
                 ["--activation", "tanh", "--digits", "5000"],
                 ["--activation", "foo"]):
        proc = cli.process(["solve-constants", *args])
        assert proc.code == 2, (args, proc.err)
        assert proc.err.count("\n") == 1
    assert cli(["solve-constants", "--activation", "tanh", "--format",
                "python"]).code == 3  # d = 0 straddles float boundaries


def test_map_activation_contains_quadrature(cli) -> None:
    out = cli(["map", "--mu", "0.3", "--nu", "1.4", "--omega", "0.7", "--tau", "0.9",
               "--activation", "mish", "--backend", "arb", "--digits", "25", "--json"])
    assert out.code == 0, out.err
    data = json.loads(out.out)
    assert data["activation"]["definition"] == "mish"
    with mpmath.workdps(35):
        m, v = mpmath.mpf("0.3") * mpmath.mpf("0.7"), mpmath.mpf("1.4") * mpmath.mpf("0.9")
        mean, var = _moments("mish", mpmath.mpf(1), mpmath.mpf(0), m, v)
        for key, want in (("mean", mean), ("variance", var)):
            mid, rad = data[key].strip("[]").split(" +/- ")
            assert abs(mpmath.mpf(mid) - want) <= mpmath.mpf(rad) * 1.01 + mpmath.mpf("1e-28")
    with_iter = cli(["map", "--mu", "0", "--nu", "1", "--activation", "gelu", "--iterate", "3",
                     "--json"])
    assert with_iter.code == 0 and len(json.loads(with_iter.out)["trajectory"]) == 4


@pytest.mark.parametrize("args", [["--backend", "numpy"], ["--backend", "jax"],
                                  ["--lam", "1.1"], ["--activation", "exp(x)"]])
def test_map_activation_bad_input(args: list[str], cli) -> None:
    full = ["map", "--mu", "0", "--nu", "1", "--activation", "tanh", *args]
    proc = cli.process(full)
    assert proc.code == 2 and proc.err.count("\n") == 1, proc.err


def test_table_parameters_and_bad_input(cli) -> None:
    from snn_theory.certify.activation_table import normalized

    act, params = normalized("tanh")
    # c·tanh with Var = 1 at N(0, 1): c = 1/√E[tanh(Z)²] (quadrature), d = 0
    with mpmath.workdps(30):
        second = mpmath.quad(lambda z: mpmath.tanh(z) ** 2 * mpmath.npdf(z),
                             [-mpmath.inf, -3, 0, 3, mpmath.inf])
        assert abs(mpmath.mpf(act.scale.numerator) / act.scale.denominator
                   - 1 / mpmath.sqrt(second)) < mpmath.mpf("1e-19")
    assert act.shift == 0 and "c = 1.5925374197" in params
    selu, text = normalized("selu")
    assert selu.is_selu and "λ01" in text
    proc = cli.process(["activation-table", "--only", "nosuch"])
    assert proc.code == 2 and proc.err.count("\n") == 1


def test_simulate_activation_follows_g_and_refuses_selu_options(cli) -> None:
    out = cli(["simulate", "--activation", "gelu", "--scale", "1.7", "--shift", "-0.48", "--width",
               "256", "--depth", "5", "--batch", "128", "--mean0", "0.3", "--var0", "1.5",
               "--json"])
    assert out.code == 0, out.err
    data = json.loads(out.out)
    assert data["activation"]["scale"] == "1.7" and "not a proof" in data["evidence"]
    # finite width 256 × batch 128: deviations of a few 1e-2 at most
    assert data["max_deviation"]["mean"] < 0.05 and data["max_deviation"]["variance"] < 0.1
    layers = data["layers"]
    assert abs(layers[1]["predicted_variance"] - layers[1]["variance"]) < 0.1
    for args in (["--lam", "1.1"], ["--dropout-rate", "0.1"], ["--width", "1"]):
        proc = cli.process(["simulate", "--activation", "tanh", *args])
        assert proc.code == 2 and proc.err.count("\n") == 1, (args, proc.err)
