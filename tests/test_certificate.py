"""The independent certificate checker: it accepts a genuine proof and rejects every tampering.

The certificate used here is produced by a minimal bisection written in this test (not by
the search engine), so the checker is tested on its own.
"""

from __future__ import annotations

import copy
import gzip
import itertools
import json
from fractions import Fraction

import pytest
from flint import ctx
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_theory.certify.certificate.check import check_certificate
from snn_theory.certify.certificate.io import (
    checksum,
    closed_form_constants,
    read_certificate,
    write_certificate,
)
from snn_theory.certify.certificate.tiling import tiling_error
from snn_theory.certify.claims import BUILTIN_CLAIMS, Claim, Domain
from snn_theory.certify.enclosure import bound, point_value
from snn_theory.exact import format_fraction

BITS = 64


def _bisect_proof(claim: Claim, grid: tuple[int, ...]) -> list[tuple[list, Fraction]]:
    """Plain recursive bisection until enclosure.bound proves the claim on each box."""
    lam, alpha = closed_form_constants(BITS)
    side = 1 if claim.kind == "max" else -1
    d = claim.domain.bounds
    leaves: list[tuple[list, Fraction]] = []
    old = ctx.prec
    ctx.prec = BITS

    def solve(box: list, depth: int) -> None:
        assert depth < 40
        try:
            b, _ = bound(claim.quantity, box, lam, alpha, side)
            if claim.satisfied_by(b):
                leaves.append((box, b))
                return
        except ArithmeticError:
            pass
        i = max(range(4), key=lambda i: (box[i][1] - box[i][0]) / (d[i][1] - d[i][0]))
        lo, hi = box[i]
        mid = (lo + hi) / 2
        solve([iv if k != i else (lo, mid) for k, iv in enumerate(box)], depth + 1)
        solve([iv if k != i else (mid, hi) for k, iv in enumerate(box)], depth + 1)

    try:
        for idx in itertools.product(*[range(k) for k in grid]):
            solve([(d[i][0] + (d[i][1] - d[i][0]) * j / grid[i],
                    d[i][0] + (d[i][1] - d[i][0]) * (j + 1) / grid[i]) for i, j in enumerate(idx)], 0)
    finally:
        ctx.prec = old
    return leaves


def _certificate_data(claim: Claim, leaves: list, witness: list[str]) -> dict:
    side = 1 if claim.kind == "max" else -1
    lam, alpha = closed_form_constants(BITS)
    old = ctx.prec
    ctx.prec = BITS
    try:
        wv = point_value(claim.quantity, [Fraction(x) for x in witness], lam, alpha)
    finally:
        ctx.prec = old
    from snn_theory.certify.enclosure import lower, upper

    decided = max(b for _, b in leaves) if side > 0 else min(b for _, b in leaves)
    other = lower(wv) if side > 0 else upper(wv)
    lo, hi = (other, decided) if side > 0 else (decided, other)
    return {
        "claim": claim.to_json(), "verdict": "holds", "constants": {"source": "closed-form"},
        "precision_bits": BITS,
        "extremum": {"kind": claim.kind, "lower": format_fraction(lo), "upper": format_fraction(hi)},
        "witness": {"point": witness, "value": [format_fraction(lower(wv)), format_fraction(upper(wv))]},
        "counterexample": None,
        "boxes": [[[format_fraction(x) for x in iv] for iv in box] + [format_fraction(b)]
                  for box, b in leaves],
        "stats": {"boxes": len(leaves)},
    }


@pytest.fixture(scope="module")
def contraction_certificate(tmp_path_factory) -> tuple[dict, object]:
    claim = BUILTIN_CLAIMS["theorem1.contraction"]
    leaves = _bisect_proof(claim, (2, 2, 4, 2))
    # S is largest at mu = omega = -0.1 (docs/mathematics.md §4 counterexample direction), nu = 0.8
    data = _certificate_data(claim, leaves, ["-0.1", "-0.1", "0.8", "1.1"])
    path = write_certificate(tmp_path_factory.mktemp("certs"), data)
    return read_certificate(path), path


def _rewrite(tmp_path, content: dict, fix_checksum: bool = True, name: str = "t.cert.json"):
    content = copy.deepcopy(content)
    if fix_checksum:
        content["checksum"] = checksum(content)
    path = tmp_path / name
    path.write_text(json.dumps(content))
    return path


def test_genuine_certificate_is_valid(contraction_certificate):
    content, path = contraction_certificate
    report = check_certificate(path)
    assert report.valid, report.message
    assert report.boxes == len(content["boxes"]) > 100
    # the decided end of the extremum is below 1; the witness (the corner where a float grid
    # finds max S ≈ 0.89761) attains more than 0.8976
    assert Fraction(content["extremum"]["upper"]) < 1
    assert Fraction(content["extremum"]["lower"]) > Fraction("0.8976")


def test_parallel_check_agrees(contraction_certificate, monkeypatch):
    from snn_theory.certify.certificate import check

    _, path = contraction_certificate
    monkeypatch.setattr(check, "PARALLEL_ABOVE", 10)  # force the process pool
    assert check_certificate(path, jobs=2).valid


def test_edit_without_checksum_is_rejected(contraction_certificate, tmp_path):
    content, _ = contraction_certificate
    edited = copy.deepcopy(content)
    edited["boxes"][0][4] = "0.5"
    report = check_certificate(_rewrite(tmp_path, edited, fix_checksum=False))
    assert not report.valid and "checksum" in report.message


def test_removed_box_is_a_gap(contraction_certificate, tmp_path):
    content, _ = contraction_certificate
    edited = copy.deepcopy(content)
    del edited["boxes"][17]
    report = check_certificate(_rewrite(tmp_path, edited))
    assert not report.valid and "gap" in report.message


def test_duplicated_box_is_an_overlap(contraction_certificate, tmp_path):
    content, _ = contraction_certificate
    edited = copy.deepcopy(content)
    edited["boxes"].append(copy.deepcopy(edited["boxes"][3]))
    report = check_certificate(_rewrite(tmp_path, edited))
    assert not report.valid and "overlap" in report.message


def test_edited_bound_is_not_proven(contraction_certificate, tmp_path):
    content, _ = contraction_certificate
    edited = copy.deepcopy(content)
    edited["boxes"][5][4] = "0.5"  # still below 1, but false for that box
    report = check_certificate(_rewrite(tmp_path, edited))
    assert not report.valid and "not proven" in report.message


def test_bound_that_violates_claim_is_rejected(contraction_certificate, tmp_path):
    content, _ = contraction_certificate
    edited = copy.deepcopy(content)
    edited["boxes"][5][4] = "1.5"
    report = check_certificate(_rewrite(tmp_path, edited))
    assert not report.valid and "does not prove" in report.message


def test_edited_domain_is_rejected(contraction_certificate, tmp_path):
    content, _ = contraction_certificate
    edited = copy.deepcopy(content)
    edited["claim"]["domain"]["tau"] = ["0.95", "1.6"]
    report = check_certificate(_rewrite(tmp_path, edited))
    assert not report.valid and "built-in" in report.message
    # renamed to a user claim, the boxes no longer tile the larger domain
    edited["claim"]["name"] = "user"
    report = check_certificate(_rewrite(tmp_path, edited))
    assert not report.valid and "tile" in report.message


def test_edited_threshold_is_rejected(contraction_certificate, tmp_path):
    content, _ = contraction_certificate
    edited = copy.deepcopy(content)
    edited["claim"]["name"] = "user"
    edited["claim"]["threshold"] = "0.9"
    report = check_certificate(_rewrite(tmp_path, edited))
    assert not report.valid


def test_edited_constants_are_rejected(contraction_certificate, tmp_path):
    content, _ = contraction_certificate
    edited = copy.deepcopy(content)
    edited["constants"]["lam"] = ["1.07", "1.07"]
    report = check_certificate(_rewrite(tmp_path, edited))
    assert not report.valid and "closed forms" in report.message
    # declared as user constants, the stored bounds are not proven for λ = 1.07
    edited["constants"]["source"] = "user"
    report = check_certificate(_rewrite(tmp_path, edited))
    assert not report.valid


def test_edited_extremum_is_rejected(contraction_certificate, tmp_path):
    content, _ = contraction_certificate
    edited = copy.deepcopy(content)
    edited["extremum"]["upper"] = "0.95"  # below some proven box bounds
    assert not check_certificate(_rewrite(tmp_path, edited)).valid
    edited = copy.deepcopy(content)
    edited["extremum"]["lower"] = "0.95"  # the witness (S ≈ 0.8976) does not attain this
    report = check_certificate(_rewrite(tmp_path, edited))
    assert not report.valid and "witness" in report.message


def test_truncated_and_garbage_files_are_rejected(contraction_certificate, tmp_path):
    _, path = contraction_certificate
    raw = path.read_bytes()
    (tmp_path / "trunc.json").write_bytes(raw[: len(raw) // 2])
    assert "truncated" in check_certificate(tmp_path / "trunc.json").message
    (tmp_path / "trunc.json.gz").write_bytes(gzip.compress(raw)[:200])
    assert not check_certificate(tmp_path / "trunc.json.gz").valid
    (tmp_path / "other.json").write_text('{"hello": 1}')
    assert not check_certificate(tmp_path / "other.json").valid


def test_compressed_certificate_round_trip(contraction_certificate, tmp_path):
    content, path = contraction_certificate
    gz = tmp_path / "c.cert.json.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert check_certificate(gz).valid


def test_refutation_certificate(tmp_path):
    # Contraction with tau up to 1.6 is false: S ≈ 1.19 at mu = omega = -0.1, nu = 0.8.
    claim = Claim.parse("spectral_norm<1",
                        Domain.parse("mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.6"), "user")
    data = {"claim": claim.to_json(), "verdict": "refuted", "constants": {"source": "closed-form"},
            "precision_bits": BITS, "extremum": None, "witness": None, "boxes": [],
            "counterexample": {"point": ["-0.1", "-0.1", "0.8", "1.6"], "value": ["1.1", "1.2"]}}
    path = write_certificate(tmp_path, data)
    assert check_certificate(path).valid
    # a point where the claim holds is no counterexample
    content = read_certificate(path)
    content["counterexample"]["point"] = ["0", "0", "1", "1"]
    report = check_certificate(_rewrite(tmp_path, content))
    assert not report.valid and "does not violate" in report.message
    content["counterexample"]["point"] = ["0", "0", "1", "2"]  # outside the domain
    assert "outside" in check_certificate(_rewrite(tmp_path, content)).message


# ---------------------------------------------------------------- the tiling check alone
def _random_guillotine(draw, region, depth):
    if depth == 0 or draw(st.booleans()) and depth < 3:
        return [region]
    d = draw(st.integers(0, len(region) - 1))
    lo, hi = region[d]
    cut = lo + (hi - lo) * Fraction(draw(st.integers(1, 7)), 8)
    left = tuple((lo, cut) if i == d else iv for i, iv in enumerate(region))
    right = tuple((cut, hi) if i == d else iv for i, iv in enumerate(region))
    return _random_guillotine(draw, left, depth - 1) + _random_guillotine(draw, right, depth - 1)


@st.composite
def tilings(draw):
    domain = ((Fraction(-1, 10), Fraction(1, 10)), (Fraction(0), Fraction(1)),
              (Fraction(8, 10), Fraction(3, 2)))
    return domain, _random_guillotine(draw, domain, 6)


@settings(max_examples=60, deadline=None)
@given(tilings(), st.data())
def test_tiling_check_accepts_tilings_and_rejects_damage(tiling, data):
    domain, boxes = tiling
    assert tiling_error(domain, boxes) is None
    if len(boxes) > 1:
        k = data.draw(st.integers(0, len(boxes) - 1))
        assert "gap" in tiling_error(domain, boxes[:k] + boxes[k + 1:])
    k = data.draw(st.integers(0, len(boxes) - 1))
    assert tiling_error(domain, boxes + [boxes[k]]) is not None
    # shrink one box a little: a gap appears
    box = boxes[k]
    shrunk = ((box[0][0], box[0][1] - (box[0][1] - box[0][0]) / 3),) + tuple(box[1:])
    assert tiling_error(domain, boxes[:k] + [shrunk] + boxes[k + 1:]) is not None


def test_builtin_claim_with_other_constants_is_rejected(tmp_path):
    # λ = 2 makes Theorem 2 false; a certificate of that must not pass as the built-in claim.
    claim = BUILTIN_CLAIMS["theorem2.variance_decreases"]
    data = {"claim": claim.to_json(), "verdict": "refuted",
            "constants": {"source": "user", "lam": ["2", "2"], "alpha": ["1.67", "1.68"]},
            "precision_bits": BITS, "extremum": None, "witness": None, "boxes": [],
            "counterexample": {"point": ["0", "0", "4", "1"], "value": ["0", "1"]}}
    report = check_certificate(write_certificate(tmp_path, data))
    assert not report.valid and "other constants" in report.message
    # under its own name the same refutation is a valid certificate
    data["claim"] = dict(claim.to_json(), name="theorem2.variance_decreases[lam=2]")
    assert check_certificate(write_certificate(tmp_path, data)).valid


def test_huge_numbers_are_refused_quickly(contraction_certificate, tmp_path):
    content, _ = contraction_certificate
    edited = copy.deepcopy(content)
    edited["claim"]["name"] = "user"
    edited["claim"]["threshold"] = "1e999999999"
    report = check_certificate(_rewrite(tmp_path, edited))
    assert not report.valid and "out of range" in report.message
    edited = copy.deepcopy(content)
    edited["boxes"][0].append(10**9)  # per-box precision
    report = check_certificate(_rewrite(tmp_path, edited))
    assert not report.valid and "precision" in report.message
