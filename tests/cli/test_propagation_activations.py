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
        ["--activation", "tanh", "--tau", "2", "--lam", "1"],
        ["--activation", "tanh", "--tau", "2", "--edge-alpha", "1"],
        ["--activation", "nope(x)"],
    ],
)
def test_bad_activation_input_exit_2(args: list[str], cli) -> None:
    code, out, err = cli(["propagate", "--digits", "12", *args])
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("extra", [
    ["--activation", "tanh"], ["--activation", "tanh", "--digits", "100"],
    ["--activation", "gelu"],
    ["--activation", "relu"],  # nu~ = nu/2 at tau = 1
    ["--activation", "x*erf(x)", "--tau", "2"],  # x·erf(x) ~ x² near 0
])
def test_activation_without_a_useful_fixed_point_says_why(cli, extra) -> None:
    """tanh at ω = 0, τ = 1 has only the trivial fixed point ν* = 0 (so have GELU, ReLU, …):
    the message says so (not "raise the precision", "Krawczyk test failed" or "Newton's
    method left the domain"), suggests --scale, and exits 3 (the mathematics, not the
    input)."""
    code, out, err = cli(["propagate", *extra])
    assert code == 3 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "trivial fixed point nu* = 0" in err and "float evidence" in err
    assert "--scale" in err and f"solve-constants --activation {extra[1]}" in err
    assert "precision" not in err and "Krawczyk" not in err and "Newton" not in err


def test_flow_field_does_not_mark_the_trivial_fixed_point(cli, tmp_path) -> None:
    out_png = tmp_path / "f.png"
    code, out, err = cli(["plot", "flow-field", "--activation", "tanh", "--grid", "5",
                          "--steps", "2", "--out", out_png, "--json"])
    assert code == 0, err
    fp = json.loads(out)["fixed_point"]
    assert fp["mu"] is None and "ν* = 0" in fp["note"]
    code, out, _ = cli(["plot", "flow-field", "--activation", "tanh", "--grid", "5",
                        "--steps", "2", "--out", out_png])
    assert code == 0 and "μ* ∈" not in out and "no fixed point with ν* > 0" in out
