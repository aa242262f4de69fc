"""`map-domain --activation`: a one-cell paving of another activation, its certificate
(the activation recorded by definition, re-derived by the checker), an independent quadrature
check of the proven conditions, and tampering."""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

import mpmath
import pytest

from snn_theory.certify import domains
from snn_theory.certify.certificate.io import checksum
from snn_theory.derive import activations
from snn_theory.evaluate import activation_functions

#: SELU shifted by 1/1000: not SELU, so the generic verifier decides the cell.
ACT = activations.get("selu", 1, "0.001")
B_MU, B_NU = (F(-1, 10), F(1, 10)), (F(9, 10), F(11, 10))
OMEGA, TAU = (F(-1, 100), F(1, 100)), (F(99, 100), F(101, 100))


def _rewrite(content: dict, out: Path) -> Path:
    content["checksum"] = checksum(content)
    out.write_text(json.dumps(content))
    return out


@pytest.fixture(scope="module")
def paved(tmp_path_factory: pytest.TempPathFactory) -> tuple[domains.Paving, Path]:
    spec = domains.PavingSpec(
        B_MU, B_NU, OMEGA, TAU, cells=1, depth=0, max_boxes=40, activation=ACT
    )
    paving = domains.map_domain(spec)
    path = domains.write_paving(tmp_path_factory.mktemp("act") / "act.json", paving)
    return paving, path


def test_activation_paving_is_proven_and_checkable(paved) -> None:
    paving, path = paved
    (entry,) = paving.entries
    assert entry["verdict"] == "proven"
    content = json.loads(path.read_text())
    assert content["spec"]["activation"]["definition"] == "selu"
    assert content["spec"]["activation"]["shift"] == "0.001"
    report = domains.check_paving(path)
    assert report.valid, report.message
    assert "activation selu (scale 1, shift 0.001)" in report.line()
    # independently: at corners of the domain the moments of f(z) = selu(z) + 0.001 by
    # mpmath quadrature stay inside B
    mpmath.mp.dps = 20
    for mu, omega, nu, tau in [
        (B_MU[0], OMEGA[1], B_NU[0], TAU[0]),
        (B_MU[1], OMEGA[0], B_NU[1], TAU[1]),
    ]:
        m = mpmath.mpf(mu.numerator) / mu.denominator * omega.numerator / omega.denominator
        v = mpmath.mpf(nu.numerator) / nu.denominator * tau.numerator / tau.denominator
        sd = mpmath.sqrt(v)
        cut = [-14, -m / sd, 14]  # the kink z = 0
        e1 = mpmath.quad(lambda x, m=m, sd=sd: activation_functions.value_mpmath(ACT, m + sd * x) * mpmath.npdf(x), cut)
        e2 = mpmath.quad(lambda x, m=m, sd=sd: activation_functions.value_mpmath(ACT, m + sd * x) ** 2 * mpmath.npdf(x), cut)
        assert -0.1 <= e1 <= 0.1 and 0.9 <= e2 - e1**2 <= 1.1


def test_tampered_activation_is_rejected(paved, tmp_path: Path) -> None:
    _, path = paved
    content = json.loads(path.read_text())
    # an edited formula that no longer follows from the definition
    edited = json.loads(json.dumps(content))
    edited["spec"]["activation"]["formula"] = "x"
    bad = domains.check_paving(_rewrite(edited, tmp_path / "a.json"))
    assert not bad.valid and "edited" in bad.message
    # a consistent record of another activation: the evidence is re-checked against it
    other = json.loads(json.dumps(content))
    other["spec"]["activation"] = activations.get("selu", 1, "0.2").to_json()
    bad = domains.check_paving(_rewrite(other, tmp_path / "b.json"))
    assert not bad.valid and "cell 0" in bad.message
