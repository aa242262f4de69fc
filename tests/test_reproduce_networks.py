"""Reproduce's networks stage: its certificates are the checker's, its tables are certified
balls that contain independently computed values, and a repeat run writes the same bytes
(small lists of networks here: the real stage takes about 15 s)."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest

from snn_theory.certify.certificate.check import check_certificate
from snn_theory.show.reproduce import networks as net
from snn_theory.show.reproduce.results import Tell

COMMITTED = Path(__file__).resolve().parents[1] / "proofs" / net.NETWORKS_DIR


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, net.NetworksStage, bytes]:
    patch = pytest.MonkeyPatch()
    patch.setattr(net, "ALPHA_DROPOUT_RATES", ("0.2",))
    patch.setattr(net, "RESIDUAL_CLAIM_WEIGHTS", ("0.9",))
    patch.setattr(net, "RESIDUAL_TABLE_WEIGHTS", ("0.5", "0.9"))
    patch.setattr(net, "DYT_ALPHAS", ("0.5",))
    patch.setattr(net, "LAYER_NORM_NETWORKS", ("dense(selu, tau=1.2), layer_norm()",
                                               "dense(tanh)"))
    patch.setattr(net, "CLAIM_TOLERANCE", None)
    try:
        out = tmp_path_factory.mktemp("proofs")
        first = net.stage_networks(out, Tell(None, "networks"), out)
        written = {p.name: p.read_bytes() for p in (out / net.NETWORKS_DIR).glob("*.json")}
        second = net.stage_networks(out, Tell(None, "networks"))
        again = {p.name: p.read_bytes() for p in (out / net.NETWORKS_DIR).glob("*.json")}
    finally:
        patch.undo()
    assert again == written  # a repeat run: byte for byte
    assert second.tables == first.tables
    return out / net.NETWORKS_DIR, first, written[net.TABLES_FILE]


def chi_selu() -> mpmath.mpf:
    """χ₁ = λ²(1/2 + α²e²Φ(−2)) of SELU at (0, 1): E[f′(z)²], z ~ N(0, 1), in closed form."""
    from snn_theory.certify.constants import solve_constants

    mpmath.mp.dps = 40

    c = solve_constants(digits=40).to_json()
    lam, alpha = mpmath.mpf(c["lambda"]["value"]), mpmath.mpf(c["alpha"]["value"])
    return lam**2 * (mpmath.mpf(1) / 2 + alpha**2 * mpmath.e**2 * mpmath.ncdf(-2))


def inside(text: str, x: mpmath.mpf) -> bool:
    lo, hi = (mpmath.mpf(v) for v in text.strip("[]").split(", "))
    return lo <= x <= hi


def test_stage_holds_and_its_certificates_are_valid(small) -> None:
    folder, stage, _ = small
    assert stage.ok, stage.summary
    assert len(stage.reports) == 10 and all(r.valid for r in stage.reports)
    names = {p.name for p in folder.glob("*.cert.json")}
    for row in stage.tables["alpha_dropout"] + stage.tables["residual"][1:]:
        for claim in row["theorem1_analogue"]:
            assert claim["certificate"] in names
    # the residual block's mean leaves Theorem 1's box: refuted with a counterexample
    mean_upper = next(c for c in stage.tables["residual"][1]["theorem1_analogue"]
                      if c["name"].startswith("theorem1_analogue.mean_upper["))
    assert mean_upper["holds"] is False and mean_upper["counterexample"] is not None


def test_tables_file_is_the_stage_tables(small) -> None:
    _, stage, raw = small
    assert json.loads(raw) == stage.tables


def test_residual_chi_contains_the_closed_form(small) -> None:
    """χ of residual(W, dense(selu)) = (1 − W²) + W²χ₁, χ₁ = E[f′(z)²] in closed form."""
    _, stage, _ = small
    chi1 = chi_selu()
    for row in stage.tables["residual"]:
        w = mpmath.mpf(Fraction(row["weight"]).numerator) / Fraction(row["weight"]).denominator
        assert inside(row["chi"], (1 - w**2) + w**2 * chi1), row
    ln = stage.tables["layer_norm"]
    assert ln[0]["S_at_0_1"] == "0" and ln[1]["fixed_point"] is None


def test_report_section_shows_the_verdicts(small) -> None:
    _, stage, _ = small
    text = "\n".join(net.report_lines(stage, stage.summary))
    assert "| `dense(selu), alpha_dropout(0.2)` | holds |" in text
    assert "| `residual(0.9, dense(selu))` | FALSE: mean_upper |" in text
    assert stage.figure is not None and stage.figure.stat().st_size > 10_000
    assert "![dropout_dyt](../figures/dropout_dyt.png)" in text


def test_committed_certificate_checks_and_a_tampered_copy_is_rejected(tmp_path) -> None:
    """A committed certificate of the alpha-dropout analogue is valid; the same file claiming
    another network (the rate 0.2 made 0.1) is rejected."""
    tables = json.loads((COMMITTED / net.TABLES_FILE).read_text())
    row = next(r for r in tables["alpha_dropout"] if r["rate"] == "0.2")
    name = next(c["certificate"] for c in row["theorem1_analogue"]
                if c["name"].startswith("theorem1_analogue.mean_lower["))
    assert check_certificate(COMMITTED / name).valid
    copy = tmp_path / name
    shutil.copy(COMMITTED / name, copy)
    copy.write_text(copy.read_text().replace("alpha_dropout(0.2)", "alpha_dropout(0.1)"))
    report = check_certificate(copy)
    assert not report.valid
