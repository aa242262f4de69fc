"""``verify-contraction --activation``: options that only make sense for SELU are refused
(exit 2, one line); a refuted claim for tanh exits 1 and its certificate passes
``check-certificate`` in JSON and in text."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest


@pytest.mark.parametrize("args", [
    ["--activation", "tanh", "--method", "paper", "--theorem", "1"],
    ["--activation", "tanh", "--lam", "1.05"],
    ["--activation", "tanh", "--grid", "paper"],
    ["--activation", "nosuch(x)"],
    ["--activation", "x*y"],
])
def test_verify_selu_only_options_exit_2(args: list[str], tmp_path: Path, cli) -> None:
    code, _, err = cli(["verify-contraction", "--certificate-dir", str(tmp_path), *args])
    assert code == 2, err
    assert err.count("\n") == 1


def test_verify_cli_refutation_and_check(tmp_path: Path, cli) -> None:
    proc = cli.process(["verify-contraction", "--activation", "tanh", "--domain",
                        "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1", "--claim",
                        "variance<=0.3", "--certificate-dir", str(tmp_path), "--json", "-j", "1"])
    assert proc.code == 1, proc.err
    data = json.loads(proc.out)
    entry = data["claims"][0]
    assert entry["holds"] is False and entry["activation"]["definition"] == "tanh"
    check = cli.process(["check-certificate", entry["certificate"], "--json"])
    assert check.code == 0, check.out + check.err
    assert json.loads(check.out)["all_valid"] is True
    human = cli.process(["check-certificate", entry["certificate"]])
    assert human.code == 0, human.out + human.err
    assert human.out.startswith("VALID ")
    # the statement, its threshold and domain, and the exact counterexample point, as the
    # command's help promises (not only the value's interval)
    line = " ".join(human.out.split())
    assert ("FALSE for tanh: variance <= 0.3 on mu ∈ [-0.1, 0.1], omega ∈ [-0.1, 0.1], "
            "nu ∈ [0.8, 1.5], tau ∈ [0.95, 1.1]") in line
    point = ", ".join(f"{n}={entry['counterexample'][n]}" for n in ("mu", "omega", "nu", "tau"))
    assert f"counterexample {point}, value ∈ " in line
    lo, hi = entry["counterexample"]["value"]
    assert f"∈ [{lo}, {hi}]" in line and Fraction(lo) > Fraction("0.3")
    checked = json.loads(check.out)["certificates"][0]
    assert checked["statement"]["threshold"] == "0.3"
    assert checked["counterexample"]["value"] == [lo, hi]
