"""``snn-theory shape``: the JSON the reference package's keys name, checked against the
closed-form leaky-ReLU C-map; the text fits 80 columns; bad input exits 2 in one line and
impossible mathematics exits 3 with nothing labelled certified."""

from __future__ import annotations

import json
from fractions import Fraction

import mpmath
import pytest

from snn_theory.derive import activations
from snn_theory.evaluate import activation_functions


def test_shape_tat_leaky_relu_json(cli) -> None:
    out = cli(["shape", "--method", "tat", "--activation", "leaky_relu", "--depth", "30",
               "--eta", "0.8", "--digits", "15", "--json"])
    assert out.code == 0, out.err
    data = json.loads(out.out)
    assert {"input_scale", "input_shift", "output_scale", "output_shift",
            "negative_slope"} <= set(data) and data["certified"] is True
    assert data["activation"]["definition"] == "leaky_relu" and data["depth"] == 30
    assert data["targets"] == {"eta": "0.8"}
    enc = data["enclosures"]["negative_slope"]
    with mpmath.workdps(30):
        lo, hi = mpmath.mpf(enc["lower"]), mpmath.mpf(enc["upper"])
        assert hi - lo <= 2 * mpmath.mpf(10) ** -15 + mpmath.mpf(10) ** -25

        def chain(s):
            k = (1 - s) ** 2 / (mpmath.pi * (1 + s * s))
            c = mpmath.mpf(0)
            for _ in range(30):
                c = c + k * (mpmath.sqrt(1 - c * c) - c * mpmath.acos(c))
            return c - mpmath.mpf("0.8")

        # the network's C(0) is decreasing in s: it changes sign across the printed interval
        assert chain(lo - mpmath.mpf(10) ** -15) > 0 > chain(hi + mpmath.mpf(10) ** -15)
        s = mpmath.mpf(data["negative_slope"])
        assert abs(mpmath.mpf(data["output_scale"]) - mpmath.sqrt(2 / (1 + s * s))) < 1e-14
    # the float form is an activation expression: psi(x) = scale*LReLU_s(x)
    psi = activations.get(data["float_expression"])
    s, g = float(data["negative_slope"]), float(data["output_scale"])
    assert abs(float(activation_functions.value_numpy(psi, -2.0)) + 2 * s * g) < 1e-12
    assert abs(float(activation_functions.value_numpy(psi, 3.0)) - 3 * g) < 1e-12


def test_shape_dks_text_fits_80_columns(cli) -> None:
    out = cli(["shape", "--method", "dks", "--activation", "elu", "--depth", "6",
               "--digits", "12"])
    assert out.code == 0, out.err
    assert all(len(line) <= 80 for line in out.out.splitlines())
    assert "input_scale" in out.out and "Krawczyk" in out.out
    zeta = [line for line in out.out.splitlines() if line.strip().startswith("C'(1)")][-1]
    lo, hi = (Fraction(t) for t in zeta.split("[")[1].rstrip("]").split(", "))
    assert lo <= Fraction(3, 2) <= hi


@pytest.mark.parametrize("args", [
    ["--method", "dks", "--activation", "tanh", "--depth", "5", "--zeta", "1"],
    ["--method", "dks", "--activation", "tanh", "--depth", "5", "--zeta", "0.5"],
    ["--method", "tat", "--activation", "leaky_relu", "--depth", "5", "--eta", "1"],
    ["--method", "tat", "--activation", "relu", "--depth", "5", "--eta", "-0.1"],
    ["--method", "dks", "--activation", "tanh", "--depth", "0"],
    ["--method", "dks", "--activation", "tanh", "--depth", "5", "--curvature", "0.3"],
    ["--method", "tat", "--activation", "tanh", "--depth", "5", "--eta", "0.5"],
    ["--method", "tat", "--activation", "selu", "--depth", "5"],
    ["--method", "dks", "--activation", "foo(x)", "--depth", "5"],
    ["--method", "ntk", "--activation", "tanh", "--depth", "5"],
    ["--method", "dks", "--activation", "tanh", "--depth", "5", "--zeta", "nan"],
    ["--method", "dks", "--activation", "tanh", "--depth", "5", "--digits", "0"],
    ["--method", "dks", "--activation", "tanh", "--network", "3*dense(tanh)"],
    ["--method", "dks", "--activation", "tanh", "--network", "dense(psi), act(psi)"],
    ["--method", "dks", "--activation", "tanh", "--network", "dense(psi), dropout(0.1)"],
    ["--method", "dks", "--activation", "tanh", "--network", "residual(1.2, dense(psi))"],
    ["--method", "dks", "--activation", "tanh", "--network", "residual(0.5, dense(psi)"],
    ["--method", "dks", "--activation", "tanh", "--network", "dense(psi)", "--depth", "3"],
    ["--method", "dks", "--activation", "tanh"],
    ["--method", "tat", "--activation", "relu", "--network", "residual(0.5, dense(psi))"],
])
def test_shape_bad_input_exits_2(args: list[str], cli) -> None:
    out = cli(["shape", *args])
    assert out.code == 2, out.err
    assert out.err.count("\n") == 1 and "error:" in out.err and not out.out


def test_shape_impossible_mathematics_exits_3(cli) -> None:
    out = cli(["shape", "--method", "tat", "--activation", "relu", "--depth", "4", "--json"])
    assert out.code == 3 and "not certified" in out.err and out.err.count("\n") == 1
    assert not out.out  # no JSON, nothing labelled certified


def test_shape_help_teaches(cli) -> None:
    out = cli(["shape", "--help"])
    assert out.code == 0
    for word in ("input_scale", "Krawczyk", "zeta", "eta", "curvature"):
        assert word in out.out


def test_shape_deep_network_retries_at_higher_precision(cli) -> None:
    """Depth 100000: γ ≈ 468 and Var φ ≈ 5e-6, so 18 working digits lose the Krawczyk test;
    the command retries with more guard digits instead of reporting "not certified"."""
    out = cli(["shape", "--method", "dks", "--activation", "tanh", "--depth", "100000",
               "--digits", "8", "--json"])
    assert out.code == 0, out.err
    data = json.loads(out.out)
    lo, hi = (Fraction(data["enclosures"]["output_scale"][k]) for k in ("lower", "upper"))
    assert 468 < lo <= hi < 469 and hi - lo <= Fraction(2, 10**8)


def test_shape_json_box_is_the_proven_box(cli) -> None:
    """Uniqueness holds in the Krawczyk box X, not in a larger one: the JSON box must not be
    rounded outward (it is printed exactly), and it holds the certified enclosure."""
    out = cli(["shape", "--method", "tat", "--activation", "leaky_relu", "--depth", "30",
               "--eta", "0.8", "--digits", "3", "--json"])
    assert out.code == 0, out.err
    data = json.loads(out.out)
    box = data["box"]["negative_slope"]
    lo, hi = Fraction(box["lower"]), Fraction(box["upper"])
    # the box is ~10^-11 wide at this precision: rounded outward to digits + 5 = 8 decimals
    # it would be at least 10^-8 wide (a box in which uniqueness is not proven); its exact
    # ends are dyadic numbers
    assert 0 < hi - lo < Fraction(1, 10**8)
    assert all(x.denominator & (x.denominator - 1) == 0 for x in (lo, hi))
    enc = data["enclosures"]["negative_slope"]
    assert Fraction(enc["lower"]) <= hi and lo <= Fraction(enc["upper"])


def test_shape_help_claims_no_search_proof(cli) -> None:
    """Exit 3 after a float search proves nothing about a region: the help must not say
    there is 'no solution in the searched region'."""
    out = cli(["shape", "--help"])
    assert out.code == 0 and "searched region" not in out.out
    assert "float" in out.out and "grid of starts" in out.out


def test_shape_non_finite_newton_step_is_exit_3(cli) -> None:
    """A tiny activation scale makes the arb Newton step meet NaN midpoints: 'not certified'
    (exit 3), not an internal error from the linear solver."""
    out = cli(["shape", "--method", "dks", "--activation", "1e-49*tanh(x)", "--depth", "2",
               "--digits", "6"])
    assert out.code == 3 and "not certified" in out.err and "internal" not in out.err


def test_shape_network_chain_is_depth_and_residual_is_spelled(cli) -> None:
    common = ["shape", "--method", "dks", "--activation", "tanh", "--digits", "12", "--json"]
    by_depth = json.loads(cli([*common, "--depth", "3"]).out)
    chain = json.loads(cli([*common, "--network", "3*dense(psi)"]).out)
    for key in ("enclosures", "box", "local", "network", "depth", "targets"):
        assert by_depth[key] == chain[key], key
    assert by_depth["network_spec"] is None and chain["network_spec"] == "3*dense(psi)"
    out = cli(["shape", "--method", "dks", "--activation", "tanh", "--digits", "12",
               "--network", "2*residual(0.5, dense(psi))"])
    assert out.code == 0, out.err
    assert "the network 2*residual(0.5, dense(psi)) (2 dense(psi)):" in out.out
    assert max(len(line) for line in out.out.splitlines()) <= 80
    # the network's C'(1) line encloses zeta = 1.5 and differs from the chain's local C'(1)
    line = next(x for x in out.out.splitlines()[out.out.splitlines().index(
        "the network 2*residual(0.5, dense(psi)) (2 dense(psi)):"):] if "C'(1)" in x)
    lo, hi = (Fraction(v) for v in line.split("[")[1].rstrip("]").split(", "))
    assert lo <= Fraction(3, 2) <= hi
