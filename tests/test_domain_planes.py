"""Domain maps in other planes: (ν, τ) at fixed ω and SELU's (λ, α) at fixed weights —
one-cell pavings against independent quadrature, their certificates and tampering (the
plane/range/resume errors of `map-domain` are in tests/cli/test_domain_planes.py)."""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

import mpmath

from snn_theory.certify import domains
from snn_theory.certify.certificate.io import checksum
from tests._reference import quad_moments

LAM01 = mpmath.mpf("1.0507009873554804934193349852946")
ALPHA01 = mpmath.mpf("1.6732632423543772848170429916717")
B_MU, B_NU = (F(-1, 10), F(1, 10)), (F(8, 10), F(15, 10))
OMEGA, TAU = (F(-1, 100), F(1, 100)), (F(99, 100), F(101, 100))


def mp(x: F) -> mpmath.mpf:
    return mpmath.mpf(x.numerator) / x.denominator


def moments(mu: F, omega: F, nu: F, tau: F, lam=LAM01, alpha=ALPHA01):
    """(mean, variance) of one layer by quadrature (independent of snn_theory.derive.formulas)."""
    m, s = quad_moments(mp(mu) * mp(omega), mp(nu) * mp(tau), lam, alpha)
    return m, s - m * m


def _rewrite(content: dict, out: Path) -> Path:
    content["checksum"] = checksum(content)
    out.write_text(json.dumps(content))
    return out


def _one_cell(plane: tuple[str, str], region, tmp_path: Path, name: str):
    spec = domains.PavingSpec(
        B_MU, B_NU, OMEGA, TAU, cells=1, depth=0, max_boxes=200, plane=plane, region=region
    )
    paving = domains.map_domain(spec)
    return paving, domains.write_paving(tmp_path / name, paving)


def test_nu_tau_plane(tmp_path: Path) -> None:
    nu_cell = (F(9, 10), F(11, 10))
    paving, path = _one_cell(("nu", "tau"), (nu_cell, TAU), tmp_path, "nt.json")
    (entry,) = paving.entries
    assert entry["verdict"] == "proven" and set(entry) >= {"nu", "tau"}
    claim = paving.spec.claims(domains.entry_cell(entry, ("nu", "tau")))[0]
    assert claim.domain.bounds == (B_MU, OMEGA, nu_cell, TAU)  # ν from the cell, ω fixed
    mpmath.mp.dps = 20
    for mu, omega, nu, tau in [
        (B_MU[0], OMEGA[0], nu_cell[0], TAU[0]),
        (B_MU[1], OMEGA[1], nu_cell[1], TAU[1]),
    ]:
        mean, var = moments(mu, omega, nu, tau)
        assert mp(B_MU[0]) <= mean <= mp(B_MU[1]) and mp(B_NU[0]) <= var <= mp(B_NU[1])
    report = domains.check_paving(path)
    assert report.valid, report.message
    assert "nu ∈ [0.9, 1.1] x tau" in report.line() and "omega ∈ [-0.01, 0.01]" in report.line()
    # tampered: the fixed ω widened (the checker re-derives the claims: evidence no longer tiles)
    content = json.loads(path.read_text())
    content["spec"]["fixed"]["omega"] = ["-0.5", "0.5"]
    bad = domains.check_paving(_rewrite(content, tmp_path / "bad.json"))
    assert not bad.valid and "tile" in bad.message, bad.message


def test_lam_alpha_plane(tmp_path: Path) -> None:
    region = ((F(105, 100), F(106, 100)), (F(166, 100), F(168, 100)))
    paving, path = _one_cell(("lam", "alpha"), region, tmp_path, "la.json")
    assert [e["verdict"] for e in paving.entries] == ["proven"]
    assert paving.largest is not None  # contains (1.0507, 1.6733)
    assert domains.check_paving(path).valid
    # tampered consistently (region and cell moved to λ ∈ [1.3, 1.31]): the stored evidence
    # is re-checked with the cell's own constants and fails
    content = json.loads(path.read_text())
    content["spec"]["region"]["lam"] = ["1.3", "1.31"]
    content["cells"][0]["lam"] = ["1.3", "1.31"]
    bad = domains.check_paving(_rewrite(content, tmp_path / "bad.json"))
    assert not bad.valid and "cell 0" in bad.message


def test_lam_alpha_refuted_cell_checked_independently(tmp_path: Path) -> None:
    region = ((F(13, 10), F(131, 100)), (F(166, 100), F(168, 100)))
    paving, path = _one_cell(("lam", "alpha"), region, tmp_path, "lr.json")
    (entry,) = paving.entries
    assert entry["verdict"] == "refuted" and entry["failed"] == "variance_upper"
    point = [F(x) for x in entry["claims"][0]["counterexample"]["point"]]
    with mpmath.workdps(20):
        for lam in (region[0][0], region[0][1]):  # refuted for every λ, α of the cell
            for alpha in (region[1][0], region[1][1]):
                _, var = moments(*point, lam=mp(lam), alpha=mp(alpha))
                assert var > mp(B_NU[1])
    assert domains.check_paving(path).valid
