"""Certified domain maps: tiny pavings of the (ω, τ) plane, their certificate and checker,
executors (local processes, a Dask LocalCluster), resume, tampering, bad input."""

from __future__ import annotations

import dataclasses
import gzip
import json
from fractions import Fraction as F
from pathlib import Path

import mpmath
import numpy as np
import pytest

from snn_theory.certify import domains
from snn_theory.certify.certificate.io import checksum
from snn_theory.errors import InputError, Interrupted
from tests._reference import quad_moments

LAM01 = mpmath.mpf("1.0507009873554804934193349852946")
ALPHA01 = mpmath.mpf("1.6732632423543772848170429916717")

#: 2 × 2 cells: τ ∈ [0.9375, 0.975] (variance can fall below 0.8: refuted) and
#: τ ∈ [0.975, 1.0125] (inside Theorem 1's rectangle in τ: proven).
TINY = domains.PavingSpec((F(-1, 10), F(1, 10)), (F(8, 10), F(15, 10)), (F(0), F(1, 10)),
                          (F(9375, 10000), F(10125, 10000)), cells=2, depth=0, max_boxes=200)
#: Refuted-only paving, cheap enough to run on every executor.
FAST = domains.PavingSpec((F(-1, 10), F(1, 10)), (F(8, 10), F(15, 10)), (F(0), F(1, 10)),
                          (F(85, 100), F(95, 100)), cells=2, depth=1, max_boxes=64)


def mp(x: F | mpmath.mpf) -> mpmath.mpf:
    return mpmath.mpf(x.numerator) / x.denominator if isinstance(x, F) else mpmath.mpf(x)


def moments(mu, omega, nu, tau) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(mean, variance) of g by quadrature (independent of snn_theory.derive.formulas)."""
    m, s = quad_moments(mp(mu) * mp(omega), mp(nu) * mp(tau), LAM01, ALPHA01)
    return m, s - m * m


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[domains.Paving, Path]:
    paving = domains.map_domain(TINY)
    path = domains.write_paving(tmp_path_factory.mktemp("paving") / "tiny.paving.json", paving)
    return paving, path


def _rewrite(path: Path, content: dict, out: Path) -> Path:
    content["checksum"] = checksum(content)
    out.write_text(json.dumps(content))
    return out


def test_tiny_paving_verdicts_agree_with_quadrature(tiny: tuple[domains.Paving, Path]) -> None:
    paving, _ = tiny
    verdicts = {(e["omega"][0], e["tau"][0]): e for e in paving.entries}
    assert len(verdicts) == 4
    mpmath.mp.dps = 20
    for (_, t0), e in verdicts.items():
        if t0 == "0.9375":
            assert e["verdict"] == "refuted" and e["failed"] == "variance_lower"
            point = [F(x) for x in e["claims"][0]["counterexample"]["point"]]
            cell = domains.entry_cell(e)
            assert cell[0][0] <= point[1] <= cell[0][1] and cell[1][0] <= point[3] <= cell[1][1]
            _, var = moments(*point)
            assert var < mpmath.mpf("0.8")  # independently: the variance leaves B
        else:
            assert e["verdict"] == "proven"
            (a, b), (c, d) = domains.entry_cell(e)
            # sampled points of B × cell: g stays in B and the Jacobian contracts
            for mu, omega, nu, tau in [(F(-1, 10), a, F(8, 10), c), (F(1, 10), b, F(3, 2), d),
                                       (F(-1, 10), b, F(3, 2), d), (F(0), (a + b) / 2, F(1), c)]:
                mean, var = moments(mu, omega, nu, tau)
                assert -0.1 <= mean <= 0.1 and 0.8 <= var <= 1.5
                h = mpmath.mpf("1e-10")
                jac = np.zeros((2, 2))
                for j, (dm, dn) in enumerate(((h, 0), (0, h))):
                    up = moments(mp(mu) + dm, omega, mp(nu) + dn, tau)
                    dw = moments(mp(mu) - dm, omega, mp(nu) - dn, tau)
                    jac[:, j] = [float((up[i] - dw[i]) / (2 * h)) for i in range(2)]
                assert np.linalg.norm(jac, 2) < 1
    assert paving.areas["proven"] == F(1, 10) * F(375, 10000)
    assert paving.largest is not None and paving.largest[1] == (F(975, 1000), F(10125, 10000))


def test_certificate_checks_and_summarises(tiny: tuple[domains.Paving, Path]) -> None:
    paving, path = tiny
    report = domains.check_paving(path)
    assert report.valid, report.message
    assert report.counts == {"proven": 2, "refuted": 2, "undecided": 0}
    assert report.areas["proven"] == "0.00375"
    assert "2 proven" in report.line() and "largest certified rectangle" in report.line()


@pytest.mark.parametrize("edit, why", [
    (lambda c: c["cells"][0].update(verdict="proven"), "proven cell needs"),
    (lambda c: c["cells"][1].update(verdict="refuted", failed="contraction"), "refuted cell"),
    (lambda c: c["cells"].pop(), "tile"),
    (lambda c: c["spec"]["box"].update(nu=["0.79", "1.5"]), "cell"),
    (lambda c: c["cells"][0].update(omega=["0", "0.06"]), "tile"),
])
def test_tampered_pavings_are_rejected(tiny: tuple[domains.Paving, Path], tmp_path: Path,
                                       edit, why: str) -> None:
    _, path = tiny
    content = json.loads(path.read_text())
    # cells are sorted by (omega_lo, tau_lo): 0 is refuted, 1 is proven
    assert content["cells"][0]["verdict"] == "refuted"
    assert content["cells"][1]["verdict"] == "proven"
    edit(content)
    report = domains.check_paving(_rewrite(path, content, tmp_path / "t.json"))
    assert not report.valid and why in report.message, report.message


def test_tampered_bound_and_counterexample_are_rejected(tiny: tuple[domains.Paving, Path],
                                                        tmp_path: Path) -> None:
    _, path = tiny
    content = json.loads(path.read_text())
    box = content["cells"][1]["claims"][4]["boxes"][0]  # a contraction leaf box
    box[4] = str(F(box[4]) - F(1, 10**6))  # a sharper bound than computed
    report = domains.check_paving(_rewrite(path, content, tmp_path / "b.json"))
    assert not report.valid and "domain.contraction" in report.message
    content = json.loads(path.read_text())
    content["cells"][0]["claims"][0]["counterexample"]["point"][3] = "0.99"  # proven region
    report = domains.check_paving(_rewrite(path, content, tmp_path / "c.json"))
    assert not report.valid
    raw = path.read_text().replace('"proven"', '"undecided"', 1)  # no checksum update
    (tmp_path / "d.json").write_text(raw)
    assert "checksum" in domains.check_paving(tmp_path / "d.json").message


def test_executors_give_identical_certificates(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    serial = domains.map_domain(FAST)
    assert {e["verdict"] for e in serial.entries} == {"refuted"}
    bytes_serial = domains.write_paving(tmp_path / "a.json.gz", serial).read_bytes()
    local = domains.map_domain(FAST, jobs=2)
    assert domains.write_paving(tmp_path / "b.json.gz", local).read_bytes() == bytes_serial
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster):
        dask = domains.map_domain(FAST, scheduler=cluster.scheduler_address)
    assert domains.write_paving(tmp_path / "c.json.gz", dask).read_bytes() == bytes_serial
    assert gzip.decompress(bytes_serial)  # a real gzip stream
    assert domains.check_paving(tmp_path / "c.json.gz").valid


def test_resume_rechecks_saved_cells(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    calls = []

    def stop_after_two(p: domains.PavingProgress) -> None:
        calls.append(p)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as exc:
        domains.map_domain(FAST, state=state, progress=stop_after_two)
    assert exc.value.saved == (state,)  # and it says exactly what
    assert f"saved 2 decided cells in {state}" in exc.value.message()
    saved = json.loads(state.read_text())
    assert len(saved["entries"]) == 2
    fresh = domains.map_domain(FAST)
    resumed = domains.map_domain(FAST, state=state, resume=True)
    assert resumed.resumed == 2 and resumed.entries == fresh.entries
    assert not state.exists()
    # a tampered state (a refuted cell claimed proven) is re-checked, rejected and redone
    with pytest.raises(KeyboardInterrupt):
        calls.clear()
        domains.map_domain(FAST, state=state, progress=stop_after_two)
    saved = json.loads(state.read_text())
    saved["entries"][0]["verdict"] = "proven"
    state.write_text(json.dumps(saved))
    again = domains.map_domain(FAST, state=state, resume=True)
    assert again.resumed == 1 and again.entries == fresh.entries


def test_largest_rectangle_against_brute_force() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        n = 5
        mask = rng.random((n, n)) < 0.7
        mask[2, 2] = True  # the cell [0, 1] x [1, 2] around the point after scaling
        cells = [((F(i - 2), F(i - 1)), (F(j - 1), F(j))) for i in range(n) for j in range(n)
                 if mask[i, j]]
        best = F(0)
        for i1 in range(n):
            for i2 in range(i1, n):
                for j1 in range(n):
                    for j2 in range(j1, n):
                        if (i1 - 2 <= 0 <= i2 - 1 and j1 - 1 <= 1 <= j2
                                and mask[i1:i2 + 1, j1:j2 + 1].all()):
                            best = max(best, F((i2 - i1 + 1) * (j2 - j1 + 1)))
        rect = domains.largest_rectangle(cells)
        assert rect is not None and domains.area(rect) == best


def test_largest_box_is_a_checked_paving(tmp_path: Path) -> None:
    result = domains.largest_box((F(0), F(1, 20)), (F(975, 1000), F(10125, 10000)),
                                 (F(-1, 10), F(1, 10)), (F(8, 10), F(15, 10)), F(11, 10),
                                 steps=0, cells=1, depth=0, max_boxes=200)
    assert result.proven_scale in (F(1), F(11, 10)) and result.proven is not None
    mu, nu = result.box(result.proven_scale)
    assert result.proven.spec.mu == mu and result.proven.spec.nu == nu
    assert mu[1] == result.proven_scale / 10 and nu[0] == 1 - result.proven_scale / 5
    path = domains.write_paving(tmp_path / "box.json", result.proven)
    report = domains.check_paving(path)
    assert report.valid and report.counts["proven"] == len(result.proven.entries)
    with pytest.raises(InputError, match="symmetric"):
        domains.largest_box((F(0), F(1, 20)), (F(1), F(11, 10)), (F(-1, 10), F(2, 10)),
                            (F(8, 10), F(15, 10)), F(2))


def test_a_state_that_cannot_be_used_is_reported_and_kept(tmp_path: Path) -> None:
    """--resume with a state of another paving or a damaged one: InputError, the file kept
    as it was (it is not silently ignored, and never deleted)."""
    state = tmp_path / "state.json"

    def stop(p: domains.PavingProgress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        domains.map_domain(FAST, state=state, progress=stop)
    saved = state.read_text()
    other = dataclasses.replace(FAST, max_boxes=FAST.max_boxes + 1)
    with pytest.raises(InputError, match="other settings.*kept"):
        domains.map_domain(other, state=state, resume=True)
    assert state.read_text() == saved
    damaged = json.loads(saved)
    damaged["entries"] = "garbage"
    state.write_text(json.dumps(damaged))
    with pytest.raises(InputError, match="cannot be read.*kept"):
        domains.map_domain(FAST, state=state, resume=True)
    assert json.loads(state.read_text()) == damaged
