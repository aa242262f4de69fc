"""Shaping certificates: written by ``shape --out``, re-verified by ``check-certificate``
(the Krawczyk test re-run on the recorded box); tampered files are rejected."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from snn_theory.certify import shaping
from snn_theory.certify.shaping_certificate import (
    check_shape_certificate,
    write_shaping_certificate,
)
from snn_theory.derive import activations
from snn_theory.errors import InputError
from snn_theory.precision import working_precision


@pytest.fixture(scope="module")
def elu_certificate(tmp_path_factory):
    path = tmp_path_factory.mktemp("shape") / "elu.json"
    with working_precision(digits=20):
        result = shaping.shape(activations.builtin("elu"), "dks", 3, {"zeta": Fraction(3, 2)})
        write_shaping_certificate(result, path, 10)
    return path


def _tampered(path, tmp_path, edit) -> str:
    data = json.loads(path.read_text())
    edit(data)
    out = tmp_path / "tampered.json"
    out.write_text(json.dumps(data))
    return str(out)


def test_certificate_checks_and_tampering_is_rejected(elu_certificate, tmp_path) -> None:
    assert check_shape_certificate(elu_certificate).valid
    with pytest.raises(InputError, match="exists"):
        with working_precision(digits=10):
            write_shaping_certificate(shaping.shape_leaky_relu(activations.builtin("relu"), 30,
                                                       Fraction(9, 10)), elu_certificate, 5)

    def narrower(data):  # a recorded interval that no longer holds the enclosure
        data["parameters"]["output_scale"]["upper"] = data["parameters"]["output_scale"][
            "lower"]

    def moved(data):  # a box beside the root
        lo, hi = (Fraction(t) for t in data["box"][0])
        data["box"][0] = [str(lo + Fraction(1, 100)), str(hi + Fraction(1, 100))]

    def other_target(data):
        data["targets"]["zeta"] = "1.6"

    def edited_formula(data):
        data["activation"]["formula"] = "Piecewise((exp(x) - 1, x <= 0), (2*x, True))"

    def leaky_box(data):  # DKS with a one-coordinate box
        data["box"] = data["box"][:1]

    for edit in (narrower, moved, other_target, edited_formula, leaky_box):
        report = check_shape_certificate(_tampered(elu_certificate, tmp_path, edit))
        assert not report.valid, edit.__name__
        assert "REJECTED" in report.line() or "not inside" in report.line()


def test_check_certificate_command_reads_shape_certificates(cli, tmp_path) -> None:
    path = tmp_path / "leaky.json"
    out = cli(["shape", "--method", "tat", "--activation", "leaky_relu", "--depth", "40",
               "--digits", "12", "--out", path])
    assert out.code == 0, out.err
    checked = cli(["check-certificate", path])
    assert checked.code == 0 and checked.out.startswith("VALID") and "Krawczyk" in checked.out
    data = json.loads(path.read_text())
    data["targets"]["eta"] = "0.91"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    assert cli(["check-certificate", bad]).code == 1
    again = cli(["shape", "--method", "tat", "--activation", "leaky_relu", "--depth", "40",
                 "--out", path])
    assert again.code == 2 and "exists" in again.err


def test_edited_unchecked_fields_are_rejected(elu_certificate, tmp_path) -> None:
    """Every field is a claim the checker confirms: the names of the box's coordinates, the
    printed decimals."""
    def unknowns(data):
        data["unknowns"].reverse()

    def digits(data):
        data["digits"] = "many"

    for edit in (unknowns, digits):
        report = check_shape_certificate(_tampered(elu_certificate, tmp_path, edit))
        assert not report.valid, edit.__name__


def test_affine_leaky_relu_certificate_is_rejected(tmp_path) -> None:
    """TAT's leaky-ReLU form takes the plain leaky ReLU: a certificate relabelled to
    2*leaky_relu + 1 (formula edited consistently) must not be VALID for it."""
    path = tmp_path / "leaky.json"
    with working_precision(digits=10):
        write_shaping_certificate(shaping.shape_leaky_relu(activations.builtin("relu"), 30,
                                                   Fraction(9, 10)), path, 5)
    affine = activations.builtin("leaky_relu").with_affine(Fraction(2), Fraction(1))

    def relabel(data):
        data["activation"] = affine.to_json()

    assert not check_shape_certificate(_tampered(path, tmp_path, relabel)).valid
    # the depth is an integer: JSON true (== 1 in Python) is not the depth 1
    one = tmp_path / "one.json"
    with working_precision(digits=10):
        write_shaping_certificate(shaping.shape_leaky_relu(activations.builtin("relu"), 1,
                                                   Fraction(3, 10)), one, 5)
    assert check_shape_certificate(one).valid
    assert not check_shape_certificate(
        _tampered(one, tmp_path, lambda data: data.update(depth=True))).valid
