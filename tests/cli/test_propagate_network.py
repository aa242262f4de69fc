"""``snn-theory propagate --network``: one dense(selu) block prints today's ``propagate``
digit for digit; dropout, the table, the phase claim; bad input one line exit 2, a collapse
to ν* = 0 exit 3."""

from __future__ import annotations

import json

import pytest


def test_one_dense_selu_block_prints_todays_propagate(cli) -> None:
    args = ["--omega", "0.05", "--tau", "1.1", "--digits", "25", "--json"]
    code, out, err = cli(["propagate", *args])
    assert code == 0, err
    code, net_out, err = cli(["propagate", "--network", "dense(selu)", *args])
    assert code == 0, err
    today, network = json.loads(out), json.loads(net_out)
    assert network["network"] == "dense(selu)"
    for key in ("fixed_point", "chi_mean", "phase", "dnu_dnu", "depth_scale_q", "omega", "tau"):
        if key == "phase":
            assert network[key]["rate"] == today[key]["rate"]
            assert network[key]["phase"] == today[key]["phase"]
        else:
            assert network[key] == today[key], key
    assert network["chi"] == today["chi1"]
    for f, g in zip(today["correlation_fixed_points"], network["correlation_fixed_points"],
                    strict=True):
        assert [f[k] for k in ("c", "slope", "stable", "depth_scale")] == \
            [g[k] for k in ("c", "slope", "stable", "depth_scale")]
    assert network["no_other_fixed_points"]["proven"] is True


def test_alpha_dropout_table_and_claim(cli) -> None:
    code, out, err = cli(["propagate", "--network", "dense(selu), alpha_dropout(0.1)",
                          "--claim", "ordered", "--correlation", "0.5"])
    assert code == 0, err
    assert "χ of the network" in out and "alpha_dropout(0.1)" in out
    assert "claim 'ordered': PROVEN" in " ".join(out.split())
    code, out, err = cli(["propagate", "--network", "dense(selu), alpha_dropout(0.1)",
                          "--claim", "chaotic", "--json"])
    assert code == 1, err
    data = json.loads(out)
    assert data["claim"]["status"] == "refuted"
    assert [f["c"] for f in data["correlation_fixed_points"]] == ["0"]


def test_collapse_is_exit_3(cli) -> None:
    code, out, err = cli(["propagate", "--network", "dense(selu), act(tanh(0.5*x))"])
    assert code == 3 and out == ""
    assert "nu* = 0" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args,message", [
    (["--network", "dense(selu"], "unbalanced"),
    (["--network", "dense(selu), dropout(1)"], "0 <= Q < 1"),
    (["--network", "residual(1.5, dense(selu))"], "0 <= W <= 1"),
    (["--network", "dense(selu)", "--activation", "tanh"], "each block names"),
    (["--network", "dense(selu)", "--edge-tau", "1"], "edge"),
    (["--network", "dense(selu)", "--lam", "1.1"], "--lam"),
    (["--network", "dense(selu)", "--correlation", "2"], "[-1, 1]"),
    (["--network", "dense(selu)", "--digits", "5"], "--digits"),
])
def test_bad_input_is_one_line_exit_2(cli, args: list[str], message: str) -> None:
    code, out, err = cli(["propagate", *args])
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_layer_norm_alone_prints_only_what_is_proven(cli) -> None:
    # layer_norm() maps every input to (0, 1): dnu~/dnu = 0 exactly, so |dnu~/dnu| < 1 IS
    # proven (there is no depth scale because ln 0 is not finite), and its c-map is the
    # identity: every c is a fixed point, nothing is excluded
    code, out, err = cli(["propagate", "--network", "layer_norm()", "--json"])
    assert code == 0, err
    data = json.loads(out)
    assert data["dnu_dnu"] == "0" and data["depth_scale_q"] is None
    assert "0 < |dnu~/dnu| < 1 is not proven" in data["depth_scale_q_note"]
    assert data["no_other_fixed_points"]["proven"] is False
    code, out, err = cli(["propagate", "--network", "layer_norm()"])
    text = " ".join(out.split())
    assert "NOT proven: no other fixed points" in text and "(0 pieces excluded" in text
