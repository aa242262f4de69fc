"""``simulate --pairs/--gradients --activation`` and ``plot gradients/correlation-map
--activation`` through the command line (tanh at ω = 0, τ = 2: a fixed point with ν* > 0)."""

from __future__ import annotations

import json
from pathlib import Path

import mpmath
import pytest
from flint import arb

SMALL = ["--width", "32", "--depth", "1", "--batch", "4", "--tau", "2"]
FIG = ["--width", "300", "--height", "200", "--dpi", "50", "--json"]


def _tanh_chi1(tau: float) -> mpmath.mpf:
    """χ₁ = τ·E[sech⁴(√(τν*)Y)] with ν* = E[tanh²(√(τν*)Y)] (mpmath, 30 digits)."""
    with mpmath.workdps(30):
        t = mpmath.mpf(tau)

        def gauss(h):
            return mpmath.quad(
                lambda y: h(y) * mpmath.exp(-y * y / 2), [-mpmath.inf, 0, mpmath.inf]
            ) / mpmath.sqrt(2 * mpmath.pi)

        nu = mpmath.findroot(
            lambda v: gauss(lambda y: mpmath.tanh(mpmath.sqrt(t * v) * y) ** 2) - v,
            mpmath.mpf("0.3"),
        )
        return t * gauss(lambda y: mpmath.sech(mpmath.sqrt(t * nu) * y) ** 4)


def test_simulate_gradients_and_pairs_with_tanh(cli) -> None:
    code, out, err = cli(["simulate", "--gradients", "--activation", "tanh", *SMALL, "--json"])
    assert code == 0, err
    data = json.loads(out)
    assert abs(data["chi1"] - float(_tanh_chi1(2.0))) < 1e-12
    assert data["config"]["activation"]["definition"] == "tanh"
    assert len(data["layers"]) == 2 and "not a proof" in data["evidence"]
    code, out, err = cli(["simulate", "--pairs", "0.5", "--activation", "tanh", *SMALL])
    assert code == 0, err
    assert "tanh, 4 pairs" in out and "Monte Carlo evidence" in out


@pytest.mark.parametrize(
    "args,message",
    [
        (["--gradients", "--lam", "1.1"], "--lam and --alpha are SELU's parameters"),
        (["--pairs", "1.5"], "[-1, 1]"),
        (["--pairs", "0.5", "--gradients"], "cannot be combined"),
        (["--gradients", "--dropout-rate", "0.1", "--tau", "2"], "dropout"),
        (["--out", "x.npz"], "--out is for the JAX simulations"),
    ],
)
def test_simulate_bad_combinations_exit_2(args: list[str], message: str, cli) -> None:
    code, out, err = cli(
        ["simulate", "--activation", "tanh", "--width", "8", "--depth", "2", "--batch", "2", *args]
    )
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert "Traceback" not in err


def test_simulate_without_a_fixed_point_says_why(cli) -> None:
    """tanh at tau = 0.5: the variance falls to nu* = 0, so there is no fixed point with
    nu* > 0 to simulate against: one line, exit 3 (the mathematics, not the input), naming
    the cause and the remedy."""
    code, _, err = cli(["simulate", "--activation", "tanh", "--width", "8", "--depth", "2",
                        "--batch", "2", "--pairs", "0.5", "--tau", "0.5"])
    assert code == 3 and err.count("\n") == 1, err
    assert "nu* = 0" in err and "--scale" in err and "Traceback" not in err


def test_plot_gradients_of_two_activations(tmp_path: Path, cli) -> None:
    out = tmp_path / "g.png"
    code, text, err = cli(
        [
            "plot",
            "gradients",
            "--activation",
            "selu",
            "--activation",
            "tanh",
            "--taus",
            "1.3",
            "--depth",
            "3",
            "--mc-width",
            "16",
            "--mc-batch",
            "4",
            "--out",
            str(out),
            *FIG,
        ]
    )
    assert code == 0, err
    data = json.loads(text)
    assert out.exists() and data["activations"] == ["SELU", "tanh"]
    curves = {c["activation"]: c for c in data["curves"]}
    assert set(curves) == {"SELU", "tanh"} and "certified" in data["certified"]
    ball = arb(curves["tanh"]["chi1"].replace("±", "+/-"))
    assert ball.overlaps(arb(mpmath.nstr(_tanh_chi1(1.3), 25)))
    # tanh has no fixed point with ν* > 0 at τ = 1: one line, exit 3 (the mathematics), no figure
    out2 = tmp_path / "h.png"
    code, _, err = cli(
        [
            "plot",
            "gradients",
            "--activation",
            "tanh",
            "--taus",
            "1",
            "--depth",
            "2",
            "--out",
            str(out2),
        ]
    )
    assert code == 3 and err.count("\n") == 1 and "nu* = 0" in err and "--scale" in err, err
    assert not out2.exists()
    code, _, err = cli(
        ["plot", "gradients", "--activation", "tanh", "--activation", "tanh", "--out", str(out2)]
    )
    assert code == 2 and err.count("\n") == 1 and "once" in err


def test_plot_correlation_map_with_tanh(tmp_path: Path, cli) -> None:
    out = tmp_path / "c.png"
    code, text, err = cli(
        [
            "plot",
            "correlation-map",
            "--activation",
            "tanh",
            "--tau",
            "2",
            "--grid",
            "3",
            "--starts",
            "0.5",
            "--depth",
            "1",
            "--mc-width",
            "32",
            "--mc-batch",
            "4",
            "--out",
            str(out),
            *FIG,
        ]
    )
    assert code == 0, err
    data = json.loads(text)
    assert out.exists() and data["activation"]["definition"] == "tanh"
    assert data["phase"] == "chaotic" and data["no_other_fixed_points"]
    fps = {round(f["c"], 9): f for f in data["fixed_points"]}
    # c* = 0 stable (χ_c(0) < 1), c* = ±1 unstable with slope χ₁ (the fixed point's χ₁)
    assert fps[0.0]["stable"] and fps[0.0]["slope"] < 1
    assert not fps[1.0]["stable"] and abs(fps[1.0]["slope"] - float(_tanh_chi1(2.0))) < 1e-12
