"""``snn-theory reproduce --activation``: one real --quick run for ReLU (a few seconds) into
a temporary directory, checked against closed forms computed here with mpmath and against
the independent checker run afresh; bad input; and the domain-map stage fed tampered
pavings (rejected before anything is drawn)."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest

from snn_theory.certify import activation_verify
from snn_theory.cli.main import main
from snn_theory.derive import activations
from snn_theory.show.reproduce import stages as rp

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def relu(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, dict, str]:
    out = tmp_path_factory.mktemp("reproduce-relu")
    proc = subprocess.run([sys.executable, "-m", "snn_theory.cli.main", "reproduce", "--quick",
                           "--activation", "relu", "--out", str(out), "--jobs", "1", "--json"],
                          capture_output=True, text=True, timeout=300)
    return out, proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, \
        proc.stderr


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
    assert set(data["stages"]) == set(rp.stage_names("quick", activation=True))
    for stage in rp.stage_names("quick", activation=True):
        assert f"stage {stage}: " in err


def test_relu_parameters_and_gains_match_closed_forms(relu) -> None:
    """For c·relu + d with fixed point (0, 1) at ω = 0, τ = 1: Var[c·relu(Z)] = 1 gives
    c = 1/√(1/2 − 1/(2π)) (= γ_var of relu) and E = 0 gives d = −c/√(2π); the Jacobian
    there is [[0, c/(2√(2π))], [0, c²(1/2 − 1/(2π))]], so S = √(1 + c²/(8π)) > 1."""
    _, _, data, _ = relu
    mpmath.mp.dps = 40
    analogue = data["stages"]["analogue"]
    scale = Fraction(analogue["activation"]["scale"])
    shift = Fraction(analogue["activation"]["shift"])
    gamma_var = 1 / mpmath.sqrt(mpmath.mpf(1) / 2 - 1 / (2 * mpmath.pi))
    assert abs(mpmath.mpf(scale.numerator) / scale.denominator - gamma_var) < 1e-20
    assert abs(mpmath.mpf(shift.numerator) / shift.denominator
               + gamma_var / mpmath.sqrt(2 * mpmath.pi)) < 1e-20
    c = mpmath.mpf(scale.numerator) / scale.denominator
    s_exact = mpmath.sqrt(1 + c**2 / (8 * mpmath.pi))
    assert s_exact > 1
    assert _ball_contains(analogue["spectral_norm_at_fixed_point"], s_exact)
    verdicts = {c["name"].split(".")[1]: c["verdict"] for c in analogue["claims"]}
    assert verdicts["contraction"] == "refuted" and analogue["verdict"] == "refuted"

    gains = data["stages"]["gains"]["gains"]
    for key, exact in (("variance_gain", gamma_var), ("second_moment_gain", mpmath.sqrt(2)),
                       ("mean", 1 / mpmath.sqrt(2 * mpmath.pi)),
                       ("second_moment", mpmath.mpf(1) / 2)):
        lo, hi = (mpmath.mpf(gains[key][k]) for k in ("lower", "upper"))
        assert lo <= exact <= hi and hi - lo < 1e-18, key


def test_relu_certificates_pass_the_checker_and_tampering_is_caught(relu, tmp_path) -> None:
    out, _, data, _ = relu
    files = [c["certificate"] for c in data["stages"]["analogue"]["claims"] if c["certificate"]]
    assert len(files) == 5 and all(Path(f).parent == out / "proofs" / "relu" for f in files)
    assert all(r["valid"] for r in data["stages"]["check"]["certificates"])
    proc = subprocess.run([sys.executable, "-m", "snn_theory.cli.main", "check-certificate",
                           "--json", *files], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["all_valid"] is True
    # the counterexample claimed for another activation (checksum redone): rejected
    refuted = next(f for f, c in zip(files, data["stages"]["analogue"]["claims"], strict=True)
                   if c["verdict"] == "refuted")
    cert = json.loads(Path(refuted).read_text())
    # another activation (c = 1, same d; consistent formula and checksum), for which S < 1
    # at the recorded point: the checker re-evaluates it and finds no violation
    cert["activation"] = activations.get("relu", "1", cert["activation"]["shift"]).to_json()
    cert["checksum"] = activation_verify._checksum(cert)
    bad = tmp_path / Path(refuted).name
    bad.write_text(json.dumps(cert))
    proc = subprocess.run([sys.executable, "-m", "snn_theory.cli.main", "check-certificate",
                           "--json", str(bad)], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    checked = json.loads(proc.stdout)["certificates"][0]
    assert checked["valid"] is False and "does not violate" in checked["message"], checked


def test_relu_report_lists_every_claim_with_its_checked_certificate(relu) -> None:
    out, _, data, _ = relu
    report = (out / "proofs" / "relu" / "REPORT.md").read_text()
    assert "`snn-theory reproduce --quick --activation relu`: **NOT everything holds**" in report
    for c in data["stages"]["analogue"]["claims"]:
        line = next(x for x in report.splitlines() if x.startswith(f"| {c['name']} |"))
        assert Path(c["certificate"]).name in line and line.rstrip().endswith("| valid |")
        assert ("FALSE at" in line) == (c["verdict"] == "refuted")
        assert ("holds (certified)" in line) == (c["verdict"] == "holds")


@pytest.mark.parametrize("args, fragment", [
    (["--activation", "relu", "--scale", "2"], "--scale"),
    (["--activation", "x**"], "activation"),
    (["--activation", "relu", "--quick", "--full"], "exclude"),
])
def test_bad_activation_input_exits_2(tmp_path: Path, capsys, args: list[str],
                                      fragment: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["reproduce", "--out", str(tmp_path), *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("snn-theory reproduce: error:")
    assert fragment in err
    assert not (tmp_path / "proofs").exists()


# --------------------------------------------------------------------------- domain map
def _tampered_paving(out: Path, edit) -> None:
    from snn_theory.certify.certificate.io import checksum

    content = json.loads(gzip.decompress((REPO / rp.PAVING).read_bytes()))
    edit(content)
    content["checksum"] = checksum({k: v for k, v in content.items() if k != "checksum"})
    (out / "proofs").mkdir(parents=True)
    (out / rp.PAVING).write_bytes(gzip.compress(json.dumps(content).encode(), mtime=0))


@pytest.mark.parametrize("edit, fragment", [
    (lambda c: c["constants"]["lam"].__setitem__(0, "1.05"), "constants"),
    (lambda c: c["cells"].pop(), "tile"),
])
def test_domain_stage_rejects_a_tampered_paving(tmp_path: Path, edit, fragment: str) -> None:
    """The committed paving is re-derived, never trusted: a re-checksummed edit is caught,
    and nothing is drawn from it."""
    _tampered_paving(tmp_path, edit)
    assert rp.paving_certificate(tmp_path) == tmp_path / rp.PAVING
    result = rp.stage_domain(tmp_path, tmp_path / "figures", rp._Tell(None, "domain-map"))
    assert result.report.valid is False and fragment in result.report.message
    assert result.ok is False and result.figure is None
    assert "REJECTED" in result.summary
    assert not (tmp_path / "figures" / "domain_map.png").exists()


def test_domain_stage_refuses_an_edited_file(tmp_path: Path) -> None:
    (tmp_path / "proofs").mkdir()
    shutil.copy(REPO / rp.PAVING, tmp_path / rp.PAVING)
    raw = bytearray(gzip.decompress((tmp_path / rp.PAVING).read_bytes()))
    raw[raw.index(b'"proven"')] = ord(" ")  # one byte of the body changed
    (tmp_path / rp.PAVING).write_bytes(gzip.compress(bytes(raw), mtime=0))
    result = rp.stage_domain(tmp_path, tmp_path / "figures", rp._Tell(None, "domain-map"))
    assert result.report.valid is False and not result.ok
