"""``snn-theory reproduce --activation``: one real --quick run for ReLU (a few seconds) into
a temporary directory, checked against closed forms computed here with mpmath and against
the independent checker; bad input."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest

from snn_theory.certify.certificate.io import checksum
from snn_theory.derive import activations
from snn_theory.show.reproduce import results as res


@pytest.fixture(scope="module")
def relu(tmp_path_factory: pytest.TempPathFactory, cli) -> tuple[Path, int, dict, str]:
    """One real reproduction for ReLU, in a fresh process (as a user runs it)."""
    out = tmp_path_factory.mktemp("reproduce-relu")
    proc = cli.process(
        ["reproduce", "--quick", "--activation", "relu", "--out", out, "--jobs", "1", "--json"],
        timeout=300,
    )
    return out, proc.code, json.loads(proc.out) if proc.out.strip() else {}, proc.err


def _verdict(entry: dict) -> str:
    """A claim's verdict from its ``--json`` entry."""
    return {True: "holds", False: "refuted", None: "undecided"}[entry["holds"]]


def _ball_contains(text: str, x: mpmath.mpf) -> bool:
    """Whether arb's printed ball "[m +/- r]" contains x."""
    mid, rad = text.strip("[]").split("+/-")
    return abs(mpmath.mpf(mid.strip()) - x) <= mpmath.mpf(rad.strip())


def test_relu_writes_only_its_own_folder_and_exits_3(relu) -> None:
    out, code, data, err = relu
    # ReLU is refuted (S > 1 at the fixed point): reported honestly, exit 3, not 0 or 1
    assert code == 3, err[-2000:]
    assert data["outcome"] == "not certified" and data["ok"] is False
    assert sorted(p.name for p in (out / "proofs").iterdir()) == ["relu"]
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["relu"]
    assert (out / "proofs" / "relu" / "REPORT.md").is_file()
    assert set(data["stages"]) == set(res.stage_names("quick", activation=True))
    for stage in res.stage_names("quick", activation=True):
        assert f"stage {stage}: " in err


def test_relu_parameters_and_gains_match_closed_forms(relu) -> None:
    """For c·relu + d with fixed point (0, 1) at ω = 0, τ = 1: Var[c·relu(Z)] = 1 gives
    c = 1/√(1/2 − 1/(2π)) (= γ_var of relu) and E = 0 gives d = −c/√(2π); the Jacobian
    there is [[0, c/(2√(2π))], [0, c²(1/2 − 1/(2π))]], so S = √(1 + c²/(8π)) > 1."""
    _, _, data, _ = relu
    with mpmath.workdps(40):
        _check_parameters_and_gains(data)


def _check_parameters_and_gains(data: dict) -> None:
    analogue = data["stages"]["analogue"]
    scale = Fraction(analogue["activation"]["scale"])
    shift = Fraction(analogue["activation"]["shift"])
    gamma_var = 1 / mpmath.sqrt(mpmath.mpf(1) / 2 - 1 / (2 * mpmath.pi))
    assert abs(mpmath.mpf(scale.numerator) / scale.denominator - gamma_var) < 1e-20
    assert (
        abs(
            mpmath.mpf(shift.numerator) / shift.denominator + gamma_var / mpmath.sqrt(2 * mpmath.pi)
        )
        < 1e-20
    )
    c = mpmath.mpf(scale.numerator) / scale.denominator
    s_exact = mpmath.sqrt(1 + c**2 / (8 * mpmath.pi))
    assert s_exact > 1
    assert _ball_contains(analogue["spectral_norm_at_fixed_point"], s_exact)
    verdicts = {c["name"].split(".")[1].split("[")[0]: _verdict(c) for c in analogue["claims"]}
    assert verdicts["contraction"] == "refuted" and analogue["verdict"] == "refuted"

    gains = data["stages"]["gains"]["gains"]
    for key, exact in (
        ("variance_gain", gamma_var),
        ("second_moment_gain", mpmath.sqrt(2)),
        ("mean", 1 / mpmath.sqrt(2 * mpmath.pi)),
        ("second_moment", mpmath.mpf(1) / 2),
    ):
        lo, hi = (mpmath.mpf(gains[key][k]) for k in ("lower", "upper"))
        assert lo <= exact <= hi and hi - lo < 1e-18, key


def test_relu_certificates_pass_the_checker_and_tampering_is_caught(relu, tmp_path, cli) -> None:
    out, _, data, _ = relu
    files = [c["certificate"] for c in data["stages"]["analogue"]["claims"] if c["certificate"]]
    assert len(files) == 5 and all(Path(f).parent == out / "proofs" / "relu" for f in files)
    assert all(r["valid"] for r in data["stages"]["check"]["certificates"])
    proc = cli(["check-certificate", "--json", *files])
    assert proc.code == 0, proc.err
    assert json.loads(proc.out)["all_valid"] is True
    # the counterexample claimed for another activation (checksum redone): rejected
    refuted = next(
        f
        for f, c in zip(files, data["stages"]["analogue"]["claims"], strict=True)
        if _verdict(c) == "refuted"
    )
    cert = json.loads(Path(refuted).read_text())
    # another activation (c = 1, same d; consistent formula and checksum), for which S < 1
    # at the recorded point: the checker re-evaluates it and finds no violation
    cert["activation"] = activations.get("relu", "1", cert["activation"]["shift"]).to_json()
    cert["checksum"] = checksum(cert)
    bad = tmp_path / Path(refuted).name
    bad.write_text(json.dumps(cert))
    proc = cli(["check-certificate", "--json", bad])
    assert proc.code != 0
    checked = json.loads(proc.out)["certificates"][0]
    assert checked["valid"] is False and "does not violate" in checked["message"], checked


def test_relu_report_lists_every_claim_with_its_checked_certificate(relu) -> None:
    out, _, data, _ = relu
    report = (out / "proofs" / "relu" / "REPORT.md").read_text()
    assert "`snn-theory reproduce --quick --activation relu`: **NOT everything holds**" in report
    for c in data["stages"]["analogue"]["claims"]:
        line = next(x for x in report.splitlines() if x.startswith(f"| {c['name']} |"))
        assert Path(c["certificate"]).name in line and line.rstrip().endswith("| valid |")
        assert ("FALSE at" in line) == (_verdict(c) == "refuted")
        assert ("holds (certified)" in line) == (_verdict(c) == "holds")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--activation", "relu", "--scale", "2"], "--scale"),
        (["--activation", "x**"], "activation"),
        (["--activation", "relu", "--quick", "--full"], "exclude"),
    ],
)
def test_bad_activation_input_exits_2(tmp_path: Path, cli, args: list[str], fragment: str) -> None:
    code, _, err = cli(["reproduce", "--out", tmp_path, *args])
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("snn-theory reproduce: error:")
    assert fragment in err
    assert not (tmp_path / "proofs").exists()


def test_relu_figures_are_drawn_for_the_normalised_activation(relu) -> None:
    """The figures of `plot … --activation` (not "0/0 figures written"), into figures/relu/,
    for c·relu + d, and the report shows them."""
    out, _, data, _ = relu
    figures = data["stages"]["figures"]
    assert figures["ok"] and figures["summary"].startswith("5/5 figures written")
    names = {"flow_field", "contraction", "variance_change", "fixed_points", "convergence"}
    assert {p.stem for p in (out / "figures" / "relu").glob("*.png")} == names
    assert set(figures["figures"]) == names
    # drawn for c·relu + d (the analogue's member), not for relu itself
    assert figures["figures"]["flow_field"]["activation"]["scale"] == \
        data["stages"]["analogue"]["activation"]["scale"] != "1"
    report = (out / "proofs" / "relu" / "REPORT.md").read_text()
    assert "![flow_field](../../figures/relu/flow_field.png)" in report
