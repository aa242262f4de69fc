"""``solve-constants --dtype/--format``, ``rounding`` and ``initializers``: C, Python and JSON
output, every bad input → exit 2, and exit 3 when rounded constants have no fixed point."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import ml_dtypes
import mpmath
import numpy as np
import pytest
from scipy import stats

from snn_theory.evaluate import backends
from snn_theory.precision import working_precision


# ----------------------------------------------------------------------- solve-constants CLI
def test_cli_c_and_python_and_json(cli) -> None:
    code, out, _ = cli(["solve-constants", "--digits", "30", "--dtype", "float32", "--dtype",
                        "bfloat16", "--format", "c"])
    assert code == 0
    found = dict(re.findall(r"SELU_(\w+) = ([-0-9.e]+)f?;", out))
    assert float(np.float32(found["LAMBDA_F32"])) == float(np.float32(1.0507010221481323))
    assert float(ml_dtypes.bfloat16(float(found["ALPHA_BF16"]))) == 1.671875
    assert "static const float SELU_LAMBDA_F32 = 1.050701f;" in out
    code, out, _ = cli(["solve-constants", "--digits", "30", "--dtype", "float16", "--format",
                        "python"])
    assert code == 0 and "LAMBDA_F16 = np.float16(1.05078125)" in out
    code, out, _ = cli(["solve-constants", "--digits", "30", "--dtype", "float32", "--dropout-rate",
                        "0.1", "--format", "json"])
    data = json.loads(out)
    r = data["rounded"]["float32"]
    assert r["lambda"]["exact"] == "1.05070102214813232421875" and r["lambda"]["certified"]
    assert set(r) == {"lambda", "alpha", "alpha_prime", "dropout[0.1].a", "dropout[0.1].b"}
    lo, hi = (float(x) for x in r["lambda"]["error_ulps"])
    assert 0.29 < lo <= hi < 0.3


@pytest.mark.parametrize("args", [["--dtype", "float8"], ["--format", "xml"],
                                  ["--dtype", ""]])
def test_cli_bad_dtype_or_format_exit_2(args: list[str],
                                        cli) -> None:
    code, out, err = cli(["solve-constants", *args])
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1


def test_rounding_cli_json_and_claims(cli) -> None:
    code, out, _ = cli(["rounding", "--dtype", "bfloat16", "--json"])
    assert code == 0
    (res,) = json.loads(out)["results"]
    verdicts = {c["name"].split("[")[0]: c["holds"] for c in res["claims"]}
    assert verdicts["theorem1.contraction"] is True
    assert verdicts["theorem1.mean_upper"] is False  # bfloat16 constants break μ̃ ≤ 0.06773
    assert all("[lam=1.046875,alpha=1.671875]" in c["name"] for c in res["claims"])
    ce = next(c for c in res["claims"] if c["name"].startswith("theorem1.mean_upper"))
    point = {k: mpmath.mpf(Fraction(ce["counterexample"][k]).numerator)
             / Fraction(ce["counterexample"][k]).denominator
             for k in ("mu", "omega", "nu", "tau")}
    with working_precision(digits=30):
        m = backends.evaluator("mpmath", ("mean",))(point["mu"], point["omega"], point["nu"],
                                                     point["tau"], mpmath.mpf("1.046875"),
                                                     mpmath.mpf("1.671875"))[0]
    assert m > mpmath.mpf("0.06773")
    lo = float(res["distance_from_0_1"]["lower"])
    assert 0.03 < lo < 0.04


@pytest.mark.parametrize("args", [["--lam", "abc"], ["--lam", "0"], ["--lam", "-1.05"],
                                  ["--alpha", "nan"], ["--dtype", "fp8"], [],
                                  ["--stored-as", "float32"],
                                  ["--lam", "1.05", "--stored-as", "int8"]])
def test_rounding_bad_input_exit_2(args: list[str], cli) -> None:
    code, out, err = cli(["rounding", "--no-claims", *args])
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("snn-theory rounding: error:")


@pytest.mark.parametrize("args", [["--truncation", "0"], ["--truncation", "-2"], ["--truncation", "1e-40"],
                                  ["--truncation", "two"], ["--fan-in", "0"],
                                  ["--monte-carlo", "--depth", "0"]])
def test_initializers_bad_input_exit_2(args: list[str],
                                       cli) -> None:
    code, out, err = cli(["initializers", *args])
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1


def test_initializers_json(cli) -> None:
    code, out, _ = cli(["initializers", "--fan-in", "64", "--truncation", "3", "--json"])
    data = json.loads(out)
    assert code == 0 and data["fan_in"] == 64
    tn = next(r for r in data["laws"] if r["law"].startswith("truncated_normal"))
    lo, hi = float(tn["variance_factor"]["lower"]), float(tn["variance_factor"]["upper"])
    assert lo <= stats.truncnorm.var(-3, 3) <= hi or abs(lo - stats.truncnorm.var(-3, 3)) < 1e-15


def test_rounding_without_a_fixed_point_exits_3(cli) -> None:
    code, out, err = cli(["rounding", "--no-claims", "--lam", "2"])
    assert code == 3 and out == "" and "no fixed point" in err
    assert len(err.strip().splitlines()) == 1
