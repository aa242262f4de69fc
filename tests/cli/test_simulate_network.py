"""``snn-theory simulate --network``: the table (80 columns), --json, --gradients, and bad
input → one line, exit 2 (the mathematics failing: exit 3)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest


def _interval(text: str) -> tuple[Fraction, Fraction]:
    """An outward interval "[a, b]" or an exact point "x" as its two ends."""
    ends = [Fraction(x) for x in text.strip("[]").split(",")]
    return ends[0], ends[-1]


SMALL = ["--width", "64", "--depth", "3", "--batch", "32", "--seeds", "2"]


def test_json_per_application_with_certified_intervals(cli) -> None:
    code, out, err = cli(["simulate", "--network", "dense(selu), alpha_dropout(0.1)", *SMALL,
                          "--mean0", "0.5", "--var0", "2", "--json"])
    assert code == 0, err
    data = json.loads(out)
    assert data["network"] == "dense(selu), alpha_dropout(0.1)"
    assert data["config"]["mean0"] == "0.5" and data["config"]["seeds"] == 2
    assert len(data["steps"]) == 4 and data["agrees"] is True
    assert data["error_law"]["K"] == 5
    first = data["steps"][0]
    lo, hi = _interval(first["certified_variance"])
    assert lo <= 2 <= hi  # the start is exact
    for step in data["steps"]:
        lo, hi = _interval(step["certified_variance"])
        assert hi - lo < Fraction(1, 10**12)
        assert step["mean_se"] is not None and step["agrees"] is True
    assert data["alpha_dropout"]["0.1"]["a"] == pytest.approx(0.9212845161497115, rel=1e-12)


def test_table_fits_80_columns(cli, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = cli(["simulate", "--network", "residual(0.5, dense(selu)), act(tanh)",
                          *SMALL])
    assert code == 0, err
    assert all(len(line) <= 80 for line in out.splitlines())
    flat = " ".join(out.split())
    assert "μₖ" in out and "K = 5" in flat
    assert "every application agrees" in flat or "do NOT agree" in flat
    assert "Gaussian closure" in flat


def test_gradients_json(cli) -> None:
    code, out, err = cli(["simulate", "--network", "residual(0.5, dense(selu))", *SMALL,
                          "--gradients", "--json"])
    assert code == 0, err
    data = json.loads(out)
    assert data["fixed_point"] == pytest.approx([0, 1], abs=1e-12)
    assert len(data["steps"]) == 4 and data["steps"][0]["log_norm_sq"] == 0
    assert 0.9 < data["rate"] < 1.2


def test_no_fixed_point_with_variance_is_exit_3(cli) -> None:
    code, out, err = cli(["simulate", "--network", "dense(tanh)", *SMALL, "--gradients"])
    assert code == 3, err
    assert out == "" and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [
    ["--network", "dense(selu"],
    ["--network", "conv(selu)"],
    ["--network", "dropout(1)"],
    ["--network", "residual(2, dense(selu))"],
    ["--network", "dense(selu)", "--lam", "1.1"],
    ["--network", "dense(selu)", "--dropout-rate", "0.1"],
    ["--network", "dense(selu)", "--activation", "tanh"],
    ["--network", "dense(selu)", "--widths", "8,16"],
    ["--network", "dense(selu)", "--width", "1"],
    ["--network", "dense(selu)", "--dtype", "bfloat16"],
    ["--network", "dense(selu)", "--var0", "0"],
    ["--network", "dense(selu)", "--every", "0"],
    ["--network", "dense(selu)", "--gradients", "--mean0", "1"],
    ["--network", "dense(selu, omega=3)", "--tau", "0.5", "--width", "8"],
    ["--network", "dense(selu), act(0*x), layer_norm()"],  # the map leaves nu > 0
])
def test_bad_input_one_line_exit_2(cli, args: list[str]) -> None:
    code, out, err = cli(["simulate", *args, "--depth", "2", "--width", "16", "--batch", "8"]
                         if "--width" not in args else ["simulate", *args, "--depth", "2"])
    assert code == 2, (args, err)
    assert out == "" and len(err.strip().splitlines()) == 1, err
