"""``snn-theory solve-constants``: JSON shape, Python format and table, bad input and
infeasible targets → exit 2, a failed proof → exit 3 with nothing printed as certified."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from snn_theory.certify import constants
from snn_theory.certify.constants import solve_constants
from snn_theory.cli.exit_codes import EXIT_NOT_CERTIFIED
from snn_theory.evaluate import backends
from snn_theory.precision import working_precision
from tests.test_constants import frac


def test_infeasible_target_exit_2(cli) -> None:
    code, out, err = cli(["solve-constants", "--mean", "5", "--variance", "1", "--omega", "0"])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no λ > 0, α > 0" in err and "Traceback" not in err
    with pytest.raises(constants.InfeasibleTarget):
        solve_constants(mean="-3", variance="1", omega="0", tau="1")


@pytest.mark.parametrize("args, words", [
    (["--variance", "0"], "variance must be > 0"),
    (["--variance", "-1"], "variance must be > 0"),
    (["--tau", "0"], "tau must be > 0"),
    (["--tau", "-2"], "tau must be > 0"),
    (["--dropout-rate", "1"], "dropout rate must be in [0, 1)"),
    (["--dropout-rate", "-0.1"], "dropout rate must be in [0, 1)"),
    (["--dropout-rate", "1.5"], "dropout rate must be in [0, 1)"),
    (["--digits", "0"], "digits must be between 1 and 50000"),
    (["--digits", "50001"], "digits must be between 1 and 50000"),
    (["--digits", "ten"], "digits"),
    (["--mean", "nan"], "mean must be a finite decimal"),
    (["--mean", "inf"], "mean must be a finite decimal"),
    (["--omega", "abc"], "omega must be a finite decimal"),
    (["--variance", "1e999999"], "out of range"),
    (["--format", "latex"], "format"),
])
def test_bad_input_exit_2(args: list[str], words: str,
                          cli) -> None:
    code, out, err = cli(["solve-constants", *args])
    assert code == 2, err
    assert out == ""
    assert err.startswith("snn-theory solve-constants: error:") and err.count("\n") == 1
    assert words in err and "Traceback" not in err


def test_failed_proof_exits_3_and_prints_nothing_certified(
        cli, monkeypatch: pytest.MonkeyPatch) -> None:
    real = constants.krawczyk

    def refuse(*a: object, **k: object) -> object:
        res = real(*a, **k)
        return type(res)(False, res.box, res.box)

    monkeypatch.setattr(constants, "krawczyk", refuse)
    code, out, err = cli(["solve-constants", "--digits", "20", "--json"])
    assert code == EXIT_NOT_CERTIFIED == 3
    obj = json.loads(out)
    assert obj["certified"] is False and obj["lambda"] is None and obj["alpha"] is None
    assert "NOT certified" in err and err.count("\n") == 1
    code, out, err = cli(["solve-constants", "--digits", "20"])
    assert code == 3 and out == ""


# --------------------------------------------------------------------------- CLI output
def test_cli_json_shape(cli) -> None:
    code, out, err = cli(["solve-constants", "--digits", "25", "--json", "--dropout-rate", "0.1",
                          "--mean", "0.1", "--omega", "0.5", "--tau", "1.2"])
    assert code == 0, err
    obj = json.loads(out)
    assert obj["certified"] is True
    assert obj["fixed_point"] == {"mean": "0.1", "variance": "1"}
    assert obj["weights"] == {"omega": "0.5", "tau": "1.2"}
    for key in ("lambda", "alpha"):
        v = obj[key]
        assert set(v) == {"value", "lower", "upper"}
        assert all(len(v[k].split(".")[1]) == 25 for k in v)
        assert frac(v["lower"]) <= frac(v["value"]) <= frac(v["upper"])
        assert frac(v["upper"]) - frac(v["lower"]) <= Fraction(2, 10**25)
    (d,) = obj["dropout"]
    assert {"rate", "alpha_prime", "a", "b"} <= set(d) and d["rate"] == "0.1"
    assert all(isinstance(d[k], str) for k in ("alpha_prime", "a", "b"))


def test_cli_python_format_and_table(cli) -> None:
    code, out, _ = cli(["solve-constants", "--format", "python", "--dropout-rate", "0.1"])
    assert code == 0
    ns: dict[str, object] = {}
    exec(out, ns)  # noqa: S102 - our own output, checked to be valid Python
    with working_precision(digits=50):
        lam01, alpha01 = backends.constants_function("mpmath")()
        assert ns["LAMBDA"] == float(lam01) and ns["ALPHA"] == float(alpha01)
        assert ns["ALPHA_PRIME"] == float(-lam01 * alpha01) == -1.7580993408473768
    assert set(ns["ALPHA_DROPOUT"]) == {0.1}  # type: ignore[arg-type]
    code, out, _ = cli(["solve-constants", "--digits", "20"])
    assert code == 0 and "1.05070098735548049342" in out and "certified" in out


def test_digits_beyond_pythons_int_to_str_limit(cli) -> None:
    """--digits above 4300 (Python's int/str conversion limit) prints every digit asked for
    (the values themselves are checked against mpmath in tests/test_constants.py)."""
    code, out, err = cli(["solve-constants", "--digits", "4400", "--json"])
    assert code == 0, err
    j = json.loads(out)
    assert all(len(j[k][end].split(".")[1]) == 4400 for k in ("lambda", "alpha")
               for end in ("value", "lower", "upper"))
