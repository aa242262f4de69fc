"""Claims about other activations: proofs, refutations, certificates, tampering, CLI contract.

* a true claim for a non-SELU activation is proven and its certificate re-checks;
* a false claim is refuted with a counterexample that the checker re-evaluates, and that an
  independent mpmath quadrature confirms;
* certificates whose activation definition, scale or boxes were edited are rejected;
* options that only make sense for SELU are refused (exit 2).
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest

from snn_theory.certify import activation_cells
from snn_theory.certify.certificate.check import check_certificate
from snn_theory.certify.certificate.io import checksum, write_certificate
from snn_theory.certify.claims import Claim, Domain
from snn_theory.certify.search.loop import verify_claim
from snn_theory.certify.search.model_bounders import GaussianBounder
from snn_theory.certify.search.result import ClaimResult
from snn_theory.certify.search.settings import Settings
from snn_theory.derive import activations
from snn_theory.errors import InputError
from snn_theory.evaluate import activation_functions

SMALL = Domain.parse("mu=0.5:1,omega=0.5:1,nu=0.5:1,tau=0.5:1")
THEOREM1 = Domain.parse("mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1")


def _verify(act: activations.Activation, claim: Claim, max_boxes: int) -> ClaimResult:
    """The one search, with the activation's Gaussian per-box bound."""
    return verify_claim(claim, Settings(max_boxes=max_boxes, bounder=GaussianBounder.of(act)))


def _write(directory: Path, result: ClaimResult) -> Path:
    return write_certificate(directory, result.certificate_data())


def _quad_variance(act: activations.Activation, point: list[Fraction]) -> mpmath.mpf:
    mu, omega, nu, tau = (mpmath.mpf(x.numerator) / x.denominator for x in point)
    m, s = mu * omega, mpmath.sqrt(nu * tau)
    f1 = mpmath.quad(lambda z: activation_functions.value_mpmath(act, m + s * z) * mpmath.npdf(z), [-12, -2, 0, 2, 12])
    f2 = mpmath.quad(lambda z: activation_functions.value_mpmath(act, m + s * z) ** 2 * mpmath.npdf(z), [-12, -2, 0, 2, 12])
    return f2 - f1 * f1


def test_true_claim_proven_and_certificate_checks(tmp_path: Path) -> None:
    act = activations.get("gelu")
    claim = Claim.parse("mean>0.1", SMALL, name="user")
    result = _verify(act, claim, max_boxes=2000)
    assert result.verdict == "holds", result.reason
    path = _write(tmp_path, result)
    report = check_certificate(path)
    assert report.valid, report.message
    # the proven lower bound is below the true minimum (at the domain's low corner, where
    # m = 0.25, v = 0.25: mpmath quadrature)
    with mpmath.workdps(20):
        m, s = mpmath.mpf("0.25"), mpmath.mpf("0.5")
        true_min = mpmath.quad(lambda z: activation_functions.value_mpmath(act, m + s * z) * mpmath.npdf(z), [-12, 0, 12])
    assert 0.1 < float(result.extremum[0]) <= float(true_min) + 1e-12

    # tampering 1: the formula no longer follows from the definition
    data = json.loads(path.read_text())
    data["activation"]["formula"] = "x*(erf(x) + 1)/2"
    data["checksum"] = checksum(data)
    edited = tmp_path / "edited.cert.json"
    edited.write_text(json.dumps(data))
    report = check_certificate(edited)
    assert not report.valid and "edited" in report.message

    # tampering 2: a consistent edit (another scale) with a fixed checksum: the recomputed
    # values no longer are the recorded ones (the mean of −gelu is negative: the witness's
    # value and every box bound change)
    data = json.loads(path.read_text())
    data["activation"]["scale"] = "-1"
    data["activation"]["formula"] = activations.get("gelu", scale=-1).to_json()["formula"]
    data["checksum"] = checksum(data)
    edited.write_text(json.dumps(data))
    report = check_certificate(edited)
    assert not report.valid and ("witness" in report.message or "not proven" in report.message)

    # tampering 3: plain edit without a new checksum; 4: a box removed
    data = json.loads(path.read_text())
    data["claim"]["threshold"] = "0.2"
    edited.write_text(json.dumps(data))
    assert "checksum" in check_certificate(edited).message
    data = json.loads(path.read_text())
    data["boxes"] = data["boxes"][1:]
    data["checksum"] = checksum(data)
    edited.write_text(json.dumps(data))
    assert "tile" in check_certificate(edited).message
    # 5: a field of the claim that its statement does not give (checksum recomputed)
    data = json.loads(path.read_text())
    data["claim"]["statement"] = "variance <= 0.1 on everything"
    data["checksum"] = checksum(data)
    edited.write_text(json.dumps(data))
    report = check_certificate(edited)
    assert not report.valid and "unknown key" in report.message
    # another statement under the same name never overwrites this certificate
    other = _verify(act, Claim.parse("mean>0.05", SMALL, name="user"), max_boxes=2000)
    before = path.read_text()
    with pytest.raises(InputError, match="another statement"):
        _write(tmp_path, other)
    assert path.read_text() == before


def test_false_claim_refuted_with_checked_counterexample(tmp_path: Path) -> None:
    act = activations.get("tanh")
    claim = Claim.parse("variance<=0.3", THEOREM1, name="user")
    result = _verify(act, claim, max_boxes=500)
    assert result.verdict == "refuted"
    point, (lo, hi) = result.counterexample
    assert lo > Fraction(3, 10)
    with mpmath.workdps(25):
        value = _quad_variance(act, point)
    assert float(lo) - 1e-15 <= value <= float(hi) + 1e-15
    path = _write(tmp_path, result)
    report = check_certificate(path)
    assert report.valid, report.message
    # a counterexample moved to where the claim holds is rejected
    data = json.loads(path.read_text())
    data["claim"]["threshold"] = "0.9"  # a consistent edit
    data["checksum"] = checksum(data)
    path.write_text(json.dumps(data))
    report = check_certificate(path)
    assert not report.valid and "does not violate" in report.message


def test_theorem1_analogue_scaled_tanh_contraction_small_budget() -> None:
    """The contraction part for 1.5925·tanh on a sub-box of the paper's domain."""
    act = activations.get("tanh", scale="1.5925374197228314")
    domain = Domain.parse("mu=-0.1:0.1,omega=-0.1:0.1,nu=1.2:1.5,tau=0.95:1.1")
    result = _verify(act, Claim.parse("spectral_norm<1", domain), max_boxes=3000)
    assert result.verdict == "holds", result.reason


def test_cell_tasks_carry_their_state() -> None:
    """A cell task is a pure function of its explicit state (activation record, precision)
    and its cell: the same packed enclosure whatever the caller's precision (which it leaves
    as it was), interleaved with another activation's state, and in spawned worker
    processes; and the enclosure of E[g] contains mpmath quadrature at the cell's corners."""
    from flint import ctx

    relu, gelu = activations.get("relu"), activations.get("gelu")
    keys = activation_cells.cover(Fraction(1, 4), Fraction(1, 2), Fraction(1, 2), Fraction(1))
    tasks = [(2, key) for key in keys]
    state, other = activation_cells.CellState.of(relu, 64), activation_cells.CellState.of(gelu, 64)
    old = ctx.prec
    try:
        results = []
        for bits in (30, 300):
            ctx.prec = bits
            results.append([activation_cells._compute_cell(state, t) for t in tasks])
            activation_cells._compute_cell(other, tasks[0])
            assert ctx.prec == bits
    finally:
        ctx.prec = old
    assert results[0] == results[1]
    assert activation_cells._compute_cell(other, tasks[0]) != results[0][0]

    in_process, pooled = activation_cells.CellCache(relu, 64), activation_cells.CellCache(relu, 64, jobs=2)
    try:
        in_process.ensure(keys, order=2)
        pooled.ensure(keys, order=2)
    finally:
        pooled.close()
    assert pooled.cells == in_process.cells == dict(results[0])

    with mpmath.workdps(30):
        for (_, key), packed in results[0]:
            mean = activation_cells._unpack(packed[(1, 0)])
            m_lo, m_hi, v_lo, v_hi = activation_cells.cell_bounds(key)
            for m, v in ((m_lo, v_lo), (m_hi, v_hi)):
                m_mp = mpmath.mpf(m.numerator) / m.denominator
                s_mp = mpmath.sqrt(mpmath.mpf(v.numerator) / v.denominator)
                ref = mpmath.quad(lambda z, m_=m_mp, s_=s_mp: max(m_ + s_ * z, 0)
                                  * mpmath.npdf(z), [-12, -m_mp / s_mp, 12])
                lo = mpmath.mpf(mean.lower().str(40, radius=False))
                hi = mpmath.mpf(mean.upper().str(40, radius=False))
                assert lo - mpmath.mpf(10) ** -25 <= ref <= hi + mpmath.mpf(10) ** -25
