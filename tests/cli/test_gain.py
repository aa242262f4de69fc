"""``snn-theory gain``: the certified gains in JSON against closed forms (50-digit mpmath),
the human table, and every bad input → exit 2 with one line."""

from __future__ import annotations

import json

import mpmath
import pytest


def test_gain_command_json_and_errors(cli) -> None:
    out = cli(["gain", "--activation", "relu", "--digits", "25", "--json"])
    assert out.code == 0, out.err
    data = json.loads(out.out)
    with mpmath.workdps(40):
        want = 1 / mpmath.sqrt(mpmath.mpf(1) / 2 - 1 / (2 * mpmath.pi))
        assert mpmath.mpf(data["variance_gain"]["lower"]) <= want <= \
            mpmath.mpf(data["variance_gain"]["upper"])
    human = cli(["gain", "--activation", "tanh"])
    assert human.code == 0 and "E[f(Z)]" in human.out and "nfnets" in human.out


@pytest.mark.parametrize("args", [["--activation", "foo(x)"], ["--activation", "x*y"],
                                  ["--activation", "exp(x)"], ["--digits", "0"],
                                  ["--activation", "tanh", "--scale", "0"]])
def test_gain_bad_input_exits_2(args: list[str], cli) -> None:
    proc = cli.process(["gain", *args])
    assert proc.code == 2, proc.err
    assert proc.err.count("\n") == 1 and "error:" in proc.err
