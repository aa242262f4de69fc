"""``snn-theory propagate`` for SELU's depth scales and edge of chaos and for other
activations (``--activation``): the messages, the JSON and the claims, and bad input → exit 2
with one line (the certified values themselves: tests/test_propagation_activations.py)."""

from __future__ import annotations

import json

import pytest
from flint import arb


def test_depth_scales_and_edge_messages(cli) -> None:
    code, out, err = cli(["propagate", "--json", "--digits", "12", "--edge-tau", "1.5"])
    assert code == 0, err
    data = json.loads(out)
    one = [f for f in data["correlation_fixed_points"] if f["stable"] is False][0]
    assert one["depth_scale"] is None and "unstable" in one["depth_scale_note"]
    edge = data["edge_of_chaos_tau"][0]
    assert edge["nu_star"] is None and "no fixed point" in edge["fixed_point_note"]
    code, out, err = cli(["propagate", "--digits", "12", "--edge-tau", "1.5"])
    assert code == 0 and "None" not in out and "none (unstable" in out
    for value in out.split("│"):  # no negative depth scale printed anywhere
        assert "[-" not in value or "ξ" not in value


def test_cli_activation_json_and_claims(cli) -> None:
    args = ["propagate", "--activation", "tanh", "--tau", "2", "--digits", "12", "--json"]
    code, out, err = cli([*args, "--edge-tau", "2"])
    assert code == 0, err
    data = json.loads(out)
    assert data["activation_definition"]["definition"] == "tanh"
    assert data["no_other_fixed_points"]["proven"]
    edge = data["edge_of_chaos_tau"][0]
    # chi1 > 1 at the fixed point and E[f′²] decreases in v: the edge lies above nu*
    assert arb(edge["nu"]) > arb(edge["nu_star"]) and "unique" in edge["certificate"]
    code, out, err = cli([*args, "--claim", "ordered"])
    assert code == 1 and json.loads(out)["claim"]["status"] == "refuted"


@pytest.mark.parametrize(
    "args",
    [
        ["--activation", "relu"],  # no isolated fixed point
        ["--activation", "tanh"],  # tau = 1: only nu = 0
        ["--activation", "tanh", "--tau", "2", "--lam", "1"],
        ["--activation", "tanh", "--tau", "2", "--edge-alpha", "1"],
        ["--activation", "x*erf(x)", "--tau", "2"],  # f' = erf + exp(-x^2)...: no bound
        ["--activation", "nope(x)"],
    ],
)
def test_bad_activation_input_exit_2(args: list[str], cli) -> None:
    code, out, err = cli(["propagate", "--digits", "12", *args])
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
