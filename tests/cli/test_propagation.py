"""``snn-theory propagate`` and ``plot gradients``: refuted phase claims exit 1, JSON and
human output agree with the certified library values, bad input → exit 2 with one line."""

from __future__ import annotations

import dataclasses
import json

import pytest
from flint import arb, ctx

from snn_theory.certify import propagation
from tests.test_propagation import results  # noqa: F401 (a fixture)


def test_false_phase_claims_are_refuted(results, cli) -> None:  # noqa: F811
    r = results["1"]
    holds, certificate = propagation.check_phase_claim(r, "ordered")
    assert holds is False and "rho > 1" in certificate
    assert propagation.check_phase_claim(r, "chaotic")[0] is True
    # tampered enclosures: a rate straddling 1 is undecided, one below 1 is ordered
    p = r.point
    straddle = dataclasses.replace(p, chi1=arb(1, 0.01))
    assert propagation.phase_of(straddle).phase == "undecided"
    below = dataclasses.replace(p, chi1=arb("0.9"))
    assert propagation.phase_of(below).phase == "ordered"
    # the mean part of the backpropagated signal decides when it dominates
    mean_part = dataclasses.replace(p, chi1=arb("0.9"), chi_mean=arb("1.2"))
    assert propagation.phase_of(mean_part).phase == "chaotic"
    code, out, err = cli(["propagate", "--claim", "ordered", "--json"])
    assert code == 1 and json.loads(out)["claim"]["status"] == "refuted"


@pytest.mark.parametrize(
    "args",
    [
        ["propagate", "--tau", "0"],
        ["propagate", "--tau", "-1"],
        ["propagate", "--correlation", "1.5"],
        ["propagate", "--correlation", "-1.01"],
        ["propagate", "--tau", "100"],  # no fixed point
        ["propagate", "--edge-tau", "0.1"],  # no edge of chaos there
        ["simulate", "--pairs", "1.5", "--width", "8", "--depth", "2", "--batch", "2"],
        ["simulate", "--pairs", "0.5", "--gradients"],
        ["simulate", "--gradients", "--weights", "lecun"],
        ["simulate", "--pairs", "0.5", "--dropout-rate", "0.1"],
        ["simulate", "--gradients", "--widths", "8,16"],
        ["simulate", "--pairs", "0.2", "--mean0", "0.5"],
    ],
)
def test_bad_input_exit_2(args: list[str], cli) -> None:
    code, out, err = cli(args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "error:" in err


def test_cli_json_and_human_output(cli) -> None:
    code, out, err = cli(["propagate", "--json", "--correlation", "-1"])
    assert code == 0, err
    data = json.loads(out)
    assert data["phase"]["phase"] == "chaotic" and data["no_other_fixed_points"]["proven"]
    chi1 = arb(data["chi1"])
    assert chi1.overlaps(arb(data["correlation_fixed_points"][1]["slope"]))
    # c = −1: the integral with u₂ = 2m − u₁ (no conditioning); |c̃(−1)| < 1 (Mehler).
    # At (0, 1) (m = 0, v = ν̃ = 1, μ̃ = 0) Stein's identity E[u·h(u); u > 0] = E[h′(u); u > 0]
    # for h(u) = e^{−u} − 1 (h(0) = 0) gives E[f(u)f(−u)] = −E[f′(u)f′(−u)]: c̃(−1) = −χ_c(−1).
    ctx.prec, old = 128, ctx.prec  # read the printed balls without rounding them
    c_map, slope = arb(data["correlation"]["c_map"]), arb(data["correlation"]["slope"])
    ctx.prec = old
    assert abs(c_map) < 1
    assert (c_map + slope).contains(0) and (c_map + slope).rad() < 1e-25
    code, out, err = cli(["propagate", "--tau", "1.1"])
    assert code == 0 and "chaotic" in out and "no other fixed points" in out


def test_plot_gradients_command(tmp_path, cli) -> None:
    out = tmp_path / "g.png"
    code, text, err = cli(["plot", "gradients", "--taus", "1", "--depth", "3", "--mc-width", "16",
                           "--mc-batch", "4", "--out", str(out), "--width", "300", "--height",
                           "200", "--dpi", "50", "--json"])
    assert code == 0, err
    data = json.loads(text)
    assert out.exists() and data["figure"] == "gradients"
    assert data["chi1"]["1.0"].startswith("[1.0715749924")
    code, text, err = cli(["plot", "gradients", "--taus", "1,x"])
    assert code == 2 and len(err.strip().splitlines()) == 1
