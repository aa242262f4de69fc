"""``snn-theory map``): human and JSON output, and every bad input → exit 2, one line."""

from __future__ import annotations

import json

import mpmath
import pytest
from flint import arb

from snn_theory import working_precision
from snn_theory.evaluate import backends
from snn_theory.evaluate.moment_map import mpf_to_arb


def _mp_reference(mu: str, omega: str, nu: str, tau: str,
                  dps: int = 50) -> dict[str, mpmath.mpf]:
    names = ("mean", "second_moment", "variance", "H11", "H12", "H21", "H22", "spectral_norm")
    with working_precision(digits=dps):
        lam, alpha = backends.constants_function("mpmath")()
        values = backends.evaluator("mpmath", names)(
            *(mpmath.mpf(x) for x in (mu, omega, nu, tau)), lam, alpha)
    return dict(zip(names, values, strict=True))


POINT = {"mu": "0.1", "nu": "1.2", "omega": "0.05", "tau": "1.1"}
ARGS = [f"--{k}={v}" for k, v in POINT.items()]


def _flatten(obj: dict) -> dict[str, object]:
    (h11, h12), (h21, h22) = obj["jacobian"]
    return {"mean": obj["mean"], "second_moment": obj["second_moment"],
            "variance": obj["variance"], "H11": h11, "H12": h12, "H21": h21, "H22": h22,
            "spectral_norm": obj["spectral_norm"]}


def test_human_output(cli) -> None:
    code, out, err = cli(["map", "--mu", "0", "--nu", "1"])
    assert code == 0 and err == ""
    assert "spectral norm" in out and "0.787673360465715602059395582595" in out
    assert "H12" in out and "0.0888347551068901234827506146205" in out


def test_human_output_with_trajectory(cli) -> None:
    code, out, _ = cli(["map", *ARGS, "--iterate", "3", "--backend", "numpy"])
    assert code == 0 and "trajectory" in out and "numpy float64" in out


def test_json_mpmath(cli) -> None:
    code, out, _ = cli(["map", *ARGS, "--json", "--digits", "40"])
    assert code == 0
    obj = json.loads(out)
    assert set(obj) == {"mean", "second_moment", "variance", "jacobian", "spectral_norm",
                        "working_bits", "zero_to_working_precision"}
    ref = _mp_reference(**{k: POINT[k] for k in ("mu", "omega", "nu", "tau")})
    with mpmath.workdps(50):
        for name, text in _flatten(obj).items():
            assert isinstance(text, str)
            assert abs(mpmath.mpf(text) - ref[name]) <= mpmath.mpf("1e-38") * abs(ref[name])


def test_json_arb_balls_contain_the_value(cli) -> None:
    code, out, _ = cli(["map", *ARGS, "--json", "--backend", "arb", "--iterate", "2"])
    assert code == 0
    obj = json.loads(out)
    ref = _mp_reference(**{k: POINT[k] for k in ("mu", "omega", "nu", "tau")})
    with working_precision(digits=60):
        for name, text in _flatten(obj).items():
            assert isinstance(text, str) and text.startswith("[") and "+/-" in text
            ball = arb(text)
            assert ball.contains(mpf_to_arb(ref[name])), (name, text)
            assert ball.rad() < 1e-28 * abs(ball.mid())  # about 30 digits shown, not fewer
    assert len(obj["trajectory"]) == 3
    assert arb(obj["trajectory"][0][0]).contains(arb("0.1"))


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_json_float_backends(backend: str, cli) -> None:
    code, out, _ = cli(["map", *ARGS, "--json", "--backend", backend, "--iterate", "1"])
    assert code == 0
    obj = json.loads(out)
    ref = _mp_reference(**{k: POINT[k] for k in ("mu", "omega", "nu", "tau")})
    for name, value in _flatten(obj).items():
        assert isinstance(value, float)
        assert abs(value - float(ref[name])) <= 1e-13 * abs(float(ref[name]))
    trajectory = obj["trajectory"]
    assert len(trajectory) == 2 and trajectory[0] == [0.1, 1.2]
    assert trajectory[1] == [obj["mean"], obj["variance"]]


BAD = [
    (["--mu", "0", "--nu", "0"], "--nu"),
    (["--mu", "0", "--nu", "-1"], "--nu"),
    (["--mu", "0", "--nu", "1", "--tau", "0"], "--tau"),
    (["--mu", "0", "--nu", "1", "--tau", "-2"], "--tau"),
    (["--mu", "nan", "--nu", "1"], "--mu"),
    (["--mu", "0", "--nu", "inf"], "--nu"),
    (["--mu", "0", "--nu", "1", "--omega", "-Infinity"], "--omega"),
    (["--mu", "abc", "--nu", "1"], "--mu"),
    (["--mu", "0", "--nu", "1,5"], "--nu"),
    (["--mu", "0", "--nu", "0x10"], "--nu"),
    (["--mu", "", "--nu", "1"], "--mu"),
    (["--mu", "1e400000000", "--nu", "1"], "--mu"),
    (["--mu", "0", "--nu", "1", "--lam", "0"], "--lam"),
    (["--mu", "0", "--nu", "1", "--alpha", "nan"], "--alpha"),
    (["--mu", "0", "--nu", "1", "--backend", "float128"], "--backend"),
    (["--mu", "0", "--nu", "1", "--digits", "0"], "--digits"),
    (["--mu", "0", "--nu", "1", "--digits", "-3"], "--digits"),
    (["--mu", "0", "--nu", "1", "--digits", "1000000"], "--digits"),
    (["--mu", "0", "--nu", "1", "--digits", "many"], "--digits"),
    (["--mu", "0", "--nu", "1", "--iterate", "-1"], "--iterate"),
    (["--mu", "0", "--nu", "1", "--iterate", "x"], "--iterate"),
    (["--nu", "1"], "--mu"),
]


@pytest.mark.parametrize(("args", "argument"), BAD)
def test_bad_input_exits_2_with_one_line(args: list[str], argument: str,
                                         cli) -> None:
    code, out, err = cli(["map", *args])
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("snn-theory map: error:"), err
    assert argument.lstrip("-") in lines[0], (argument, lines[0])
    assert "Traceback" not in err


def test_trajectory_leaving_the_domain_exits_2(cli) -> None:
    """ν̃ = ξ̃ − μ̃² cancels to 0 in float64 for ν·τ ≪ (μω)²: the next step has ν = 0."""
    code, _, err = cli(["map", "--mu", "3", "--omega", "1", "--nu", "1e-50", "--iterate", "3",
                        "--backend", "numpy"])
    assert code == 2 and "--iterate" in err and len(err.strip().splitlines()) == 1


def test_console_script_end_to_end(cli) -> None:
    """The installed entry point: a bad value gives exit 2 and exactly one stderr line."""
    done = cli.process(["map", "--mu", "0", "--nu", "-1"], timeout=120)
    assert done.code == 2 and done.out == ""
    assert done.err.strip().splitlines() == [
        "snn-theory map: error: --nu must be > 0 (got '-1')"]


def test_mpmath_precision_follows_the_inputs(cli) -> None:
    """μ = 1e19: ν̃ = ξ̃ − μ̃² cancels ~38 digits; a fixed 30-digit precision printed
    8.39e-21714724095162591382556445945830254097.  The value must match an independent
    200-digit mpmath evaluation to the 30 digits printed."""
    code, out, err = cli(["map", "--mu", "1e19", "--omega", "1", "--nu", "1", "--json"])
    assert code == 0, err
    obj = json.loads(out)
    assert obj["working_bits"] > 140  # raised above 30 digits + guard bits
    ref = _mp_reference(mu="1e19", omega="1", nu="1", tau="1", dps=200)
    with mpmath.workdps(60):
        for name in ("mean", "second_moment", "variance", "spectral_norm"):
            assert abs(mpmath.mpf(obj[name]) - ref[name]) <= mpmath.mpf("1e-29") * abs(ref[name])
    assert abs(mpmath.mpf(obj["variance"]) - mpmath.mpf("1.1039725648")) < mpmath.mpf("1e-9")
    code, out, err = cli(["map", "--mu", "1e19", "--omega", "1", "--nu", "1"])
    assert code == 0 and "working precision was raised" in err


@pytest.mark.parametrize("args,flagged", [
    (["--mu", "-20", "--omega", "1", "--nu", "0.01", "--backend", "numpy"], "variance"),
    (["--mu", "0", "--nu", "1e-50", "--backend", "jax"], "mean"),
])
def test_float_backends_flag_ill_conditioned_results(cli, args, flagged) -> None:
    """Known-bad float64 results (ν̃ = 0 where it is ~1e-5; μ̃ with the wrong sign) are
    flagged in JSON and warned about in human output; the reference is 50-digit mpmath."""
    code, out, err = cli(["map", *args, "--json"])
    assert code == 0
    obj = json.loads(out)
    assert flagged in obj["ill_conditioned"]
    point = dict(zip(args[0:-2:2], args[1:-2:2]))
    ref = _mp_reference(mu=point["--mu"], omega=point.get("--omega", "0"), nu=point["--nu"],
                        tau="1", dps=50)
    value = obj[flagged]
    assert value == 0 or (value > 0) != (ref[flagged] > 0) or \
        abs(value - float(ref[flagged])) > 1e-6 * abs(float(ref[flagged]))  # really wrong
    code, out, err = cli(["map", *args])
    assert code == 0 and f"warning: float64 {flagged} is ill-conditioned" in err


def test_float_backends_quiet_where_well_conditioned(cli) -> None:
    code, out, err = cli(["map", "--mu", "0.1", "--omega", "0.1", "--nu", "1.2", "--tau", "1.1",
                          "--backend", "numpy", "--json"])
    assert code == 0 and json.loads(out)["ill_conditioned"] == []


def test_non_ascii_digits_are_bad_input(cli) -> None:
    """Python reads a full-width '１' as 1, arb cannot: one line, exit 2, never an internal
    error, in every command."""
    for args in (["map", "--mu", "１", "--nu", "1"], ["propagate", "--tau", "１"]):
        code, _, err = cli(args)
        assert code == 2 and err.count("\n") == 1 and "ASCII" in err, args


def test_a_failed_enclosure_is_not_certified_exit_3(cli, monkeypatch) -> None:
    """When the mathematics (not the input) fails — here an enclosure that cannot be made
    finite — the CLI says "not certified" on one line and exits 3."""
    from snn_theory.evaluate.model import ClosedFormModel

    def fail(*args, **kwargs):
        raise ArithmeticError("enclosure is not finite")

    monkeypatch.setattr(ClosedFormModel, "evaluate", fail)
    code, _, err = cli(["map", "--mu", "0", "--nu", "1", "--backend", "arb"])
    assert code == 3 and err.count("\n") == 1 and "not certified" in err
