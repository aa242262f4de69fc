"""``snn-theory map --network``: one dense(selu) block prints today's map digit for digit,
the certified fixed point, and bad input → one line, exit 2."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

POINTS = [["--mu", "0", "--nu", "1"],
          ["--mu", "0.1", "--nu", "1.2", "--omega", "0.05", "--tau", "1.1"]]
KEYS = ("mean", "variance", "jacobian", "spectral_norm")


@pytest.mark.parametrize("backend", ["arb", "mpmath", "numpy"])
@pytest.mark.parametrize("point", POINTS)
def test_one_dense_selu_block_prints_todays_map(cli, point: list[str], backend: str) -> None:
    args = [*point, "--backend", backend, "--digits", "30", "--json"]
    code, out, err = cli(["map", *args])
    assert code == 0, err
    code, net_out, err = cli(["map", "--network", "dense(selu)", *args])
    assert code == 0, err
    today, network = json.loads(out), json.loads(net_out)
    assert network["network"] == "dense(selu)"
    for key in KEYS:
        assert network[key] == today[key], key


def test_alpha_dropout_network_and_its_certified_fixed_point(cli) -> None:
    code, out, err = cli(["map", "--network", "dense(selu), alpha_dropout(0.1)", "--mu", "0",
                          "--nu", "1", "--backend", "arb", "--digits", "20", "--json",
                          "--fixed-point"])
    assert code == 0, err
    data = json.loads(out)
    fp = data["fixed_point"]
    assert fp["certified"] is True
    lo, hi = (Fraction(x) for x in fp["variance"].strip("[]").split(","))
    assert lo <= 1 <= hi and hi - lo < Fraction(1, 10**18)
    lo, hi = (Fraction(x) for x in fp["mean"].strip("[]").split(","))
    assert lo <= 0 <= hi


def test_human_output_names_the_network(cli) -> None:
    code, out, err = cli(["map", "--network", "residual(0.3, dense(selu), dense(selu))",
                          "--mu", "0", "--nu", "1", "--backend", "arb", "--digits", "15"])
    assert code == 0 and err == ""
    assert "residual(0.3, dense(selu), dense(selu))" in out and "spectral norm S" in out


def test_an_uncertified_fixed_point_is_exit_3(cli) -> None:
    code, out, err = cli(["map", "--network", "dense(tanh)", "--mu", "0", "--nu", "1",
                          "--digits", "10", "--fixed-point"])
    assert code == 3 and out == "" and err.count("\n") == 1 and "not certified" in err
    assert "trivial fixed point" in err


@pytest.mark.parametrize(("args", "message"), [
    (["--network", "dense(selu"], "unbalanced parentheses"),
    (["--network", "conv(selu)"], "unknown block"),
    (["--network", "alpha_dropout(1)"], "0 <= Q < 1"),
    (["--network", "dropout(1.5)"], "0 <= Q < 1"),
    (["--network", "residual(2, dense(selu))"], "0 <= W <= 1"),
    (["--network", "0*dense(selu)"], "1..1000"),
    (["--network", "dense(sin(x)+)"], "activation"),
    (["--network", "dense(tanh)", "--backend", "numpy"], "SELU closed forms only"),
    (["--network", "dense(selu)", "--backend", "jax"], "arb, mpmath, numpy"),
    (["--network", "dense(selu)", "--lam", "1.1"], "--lam/--alpha"),
    (["--network", "dense(selu)", "--activation", "tanh"], "each block names"),
    (["--network", "dense(selu)", "--iterate", "3"], "--iterate"),
    (["--fixed-point"], "needs --network"),
])
def test_bad_input_is_one_line_exit_2(cli, args: list[str], message: str) -> None:
    code, out, err = cli(["map", "--mu", "0", "--nu", "1", *args])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_a_zero_input_variance_is_exit_2(cli) -> None:
    code, _, err = cli(["map", "--network", "dense(selu), layer_norm()", "--mu", "0",
                        "--nu", "0"])
    assert code == 2 and err.count("\n") == 1
