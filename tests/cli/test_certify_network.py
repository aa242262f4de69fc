"""``snn-theory certify-network``: a network trained under the theorem1 constraint is proven,
an unconstrained one is refuted with its uncovered units; the certificate is re-derived by
``check-certificate`` and refused when the weights or the certificate are tampered with; bad
input is one line, exit 2."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module", autouse=True)
def _one_paving_check_per_file_content():
    """The committed paving's check takes seconds and three tests need it: within this module
    the checker runs once per distinct file content (keyed by the bytes' sha256), so a tampered
    or different file is still checked for real."""
    import hashlib

    from snn_theory.certify import domains

    check, reports = domains.check_paving, {}

    def once(path, progress=None):
        try:
            key = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            return check(path, progress)
        if progress is not None or key not in reports:
            reports[key] = check(path, progress)
        return reports[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(domains, "check_paving", once)
        yield


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cli) -> dict:
    d = tmp_path_factory.mktemp("net")
    paths = {}
    for constraint in ("theorem1", "none"):
        path = d / f"{constraint}.npz"
        code, _, err = cli(["train", "--dataset", "iris", "--variants", "selu",
                             "--depths", "2", "--width", "8", "--epochs", "2",
                             "--batch-size", "16", "--lr", "0.03", "--constraint",
                             constraint, "--save-weights", str(path), "--json"])
        assert code == 0, err
        paths[constraint] = path
    return paths


def test_a_constrained_network_is_proven_and_its_certificate_checks(trained, cli) -> None:
    code, out, _ = cli(["certify-network", str(trained["theorem1"]), "--domain", "theorem1"])
    assert code == 0, out
    assert "PROVEN" in out and "contraction" in out and "infinite-width mean-field" in out
    cert = trained["theorem1"].parent / "theorem1.npz.network.json"
    content = json.loads(cert.read_text())
    assert content["verdict"] == "proven"
    with np.load(trained["theorem1"]) as z:
        w = z["run0/hidden2.weight"].astype(np.float64)
    layer = content["layers"][1]
    # the exact range recorded is the rational one (independent: Fractions of each float)
    taus = [sum((Fraction(x) ** 2 for x in row), Fraction(0)) for row in w.tolist()]
    assert layer["name"] == "run0/hidden2.weight"
    assert [Fraction(t) for t in layer["tau"]] == [min(taus), max(taus)]
    code, out, _ = cli(["check-certificate", str(cert)])
    assert code == 0 and out.startswith("VALID") and "proven" in out
    # an existing certificate is never overwritten
    code, _, err = cli(["certify-network", str(trained["theorem1"]), "--domain", "theorem1"])
    assert code == 2 and "exists" in err


def test_an_unconstrained_network_is_refuted_with_its_units(trained, cli, tmp_path) -> None:
    cert = tmp_path / "free.json"
    code, out, _ = cli(["certify-network", str(trained["none"]), "--domain", "theorem1",
                        "--out", str(cert)])
    assert code == 1
    assert "outside: run0/hidden1.weight unit" in out and "NOT covered" in out
    content = json.loads(cert.read_text())
    assert content["verdict"] == "not covered"
    i, om, ta = content["layers"][0]["uncovered"][0]
    with np.load(trained["none"]) as z:
        row = z["run0/hidden1.weight"][i].astype(np.float64).tolist()
    assert Fraction(om) == sum((Fraction(x) for x in row), Fraction(0))
    assert not (Fraction(-1, 10) <= Fraction(om) <= Fraction(1, 10)
                and Fraction(95, 100) <= Fraction(ta) <= Fraction(11, 10))
    code, out, _ = cli(["check-certificate", str(cert)])
    assert code == 0 and "not covered" in out  # a valid certificate of a negative verdict


def test_tampered_weights_or_certificate_are_rejected(trained, cli, tmp_path) -> None:
    import shutil

    from snn_theory.certify.certificate.io import checksum

    weights = tmp_path / "w.npz"
    shutil.copy(trained["theorem1"], weights)
    cert = tmp_path / "w.json"
    assert cli(["certify-network", str(weights), "--domain", "theorem1", "--out",
                str(cert)])[0] == 0
    content = json.loads(cert.read_text())
    # a certificate claiming a narrower range, checksum recomputed: re-derived, refused
    forged = dict(content, layers=[dict(content["layers"][0], tau=["1", "1"]),
                                   *content["layers"][1:]])
    forged["checksum"] = checksum(forged)
    bad = tmp_path / "forged.json"
    bad.write_text(json.dumps(forged))
    code, out, _ = cli(["check-certificate", str(bad)])
    assert code == 1 and "REJECTED" in out and "layers" in out
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(dict(content, verdict="covered")))
    code, out, _ = cli(["check-certificate", str(edited)])
    assert code == 1 and "checksum" in out
    # weights changed after certification
    with np.load(weights) as z:
        arrays = dict(z)
    arrays["run0/hidden1.weight"] = arrays["run0/hidden1.weight"] * np.float32(3)
    np.savez(weights, **arrays)
    code, out, _ = cli(["check-certificate", str(cert)])
    assert code == 1 and "sha256" in out


def test_bad_input_is_one_line_and_exit_2(trained, cli, tmp_path) -> None:
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, **{"hidden1.weight": np.zeros(5, np.float32)})
    junk = tmp_path / "junk.npz"
    junk.write_text("not a zip")
    for args, text in (
            ([str(tmp_path / "none.npz"), "--domain", "theorem1"], "no such file"),
            ([str(wrong), "--domain", "theorem1"], "2-D float"),
            ([str(junk), "--domain", "theorem1"], "not a readable .npz"),
            ([str(trained["none"]), "--domain", "omega=1:0,tau=1:2"], "reversed"),
            ([str(trained["none"]), "--domain", "sigma=1:2"], "cannot parse"),
            ([str(trained["none"])], "exactly one of"),
            ([str(trained["none"]), "--paving", str(junk)], "fails its check")):
        code, out, err = cli(["certify-network", *args, "--out", str(tmp_path / "c.json")])
        assert code == 2 and out == "", (args, out)
        assert err.count("\n") == 1 and text.lower() in err.lower(), (args, err)


def test_a_nonzero_bias_is_covered_but_not_proven(trained, cli, tmp_path) -> None:
    with np.load(trained["theorem1"]) as z:
        arrays = dict(z)
    assert not np.any(arrays["run0/hidden1.bias"])  # kept at zero by the constraint
    arrays["run0/hidden2.bias"] = np.full_like(arrays["run0/hidden2.bias"], 0.01)
    biased = tmp_path / "biased.npz"
    np.savez(biased, **arrays)
    code, out, _ = cli(["certify-network", str(biased), "--domain", "theorem1", "--out",
                        str(tmp_path / "b.json")])
    assert code == 0 and "PROVEN" not in out and "nonzero biases" in out
    assert json.loads((tmp_path / "b.json").read_text())["verdict"] == "covered"


def test_plot_constrained_draws_a_study_record_and_refuses_junk(cli, tmp_path) -> None:
    rows = [{"dataset": "wine", "depth": 8, "variant": v, "test_mean": 0.9, "test_std": 0.01,
             "mu_end": 0.01 * k, "nu_end": 1.0 + 0.1 * k,
             "inside_min": None if v == "relu-bn" else float(k % 2),
             "grad_factor_start": 1.0 + 0.1 * k, "grad_factor_end": None}
            for k, v in enumerate(["selu", "selu+theorem1", "relu-bn"])]
    chi1 = {t: {"mid": 1.07, "rad": 1e-14} for t in ("1", "0.95", "1.1")}
    record = tmp_path / "study.json"
    record.write_text(json.dumps({"summary": rows, "chi1": chi1,
                                  "command": "python benchmarks/x.py"}))
    png = tmp_path / "c.png"
    code, out, _ = cli(["plot", "constrained", "--results", str(record), "--out", str(png),
                        "--width", "600", "--height", "300", "--dpi", "100", "--json"])
    assert code == 0 and png.stat().st_size > 1000
    assert json.loads(out)["variants"] == ["selu", "selu+theorem1", "relu-bn"]
    record.write_text(json.dumps({"summary": [{"dataset": "wine"}]}))
    code, out, err = cli(["plot", "constrained", "--results", str(record), "--out", str(png)])
    assert code == 2 and err.count("\n") == 1 and "study record" in err
    code, out, err = cli(["plot", "constrained", "--results", str(tmp_path / "none.json")])
    assert code == 2 and err.count("\n") == 1 and "cannot read the study record" in err


def test_the_domain_map_rectangle_is_derived_from_the_checked_paving(trained, cli,
                                                                     tmp_path) -> None:
    """The largest certified rectangle of the committed paving, as its checker derives it.  It
    does not contain Theorem 1's rectangle (τ₋ = 0.95625 > 0.95): a theorem1-constrained unit
    is outside it exactly when its τ is below 0.95625."""
    from snn_theory.certify.weight_regions import domain_map_region

    region = domain_map_region()
    assert region.cells == (((Fraction(-3, 16), Fraction(3, 16)),
                             (Fraction(153, 160), Fraction(177, 160))),)
    assert region.box == {"mu": (Fraction(-1, 10), Fraction(1, 10)),
                          "nu": (Fraction(4, 5), Fraction(3, 2))}
    cert = tmp_path / "dm.json"
    code, out, _ = cli(["certify-network", str(trained["theorem1"]), "--domain", "domain-map",
                        "--out", str(cert)])
    content = json.loads(cert.read_text())
    assert content["region"]["kind"] == "largest-rectangle"
    outside = [u for layer in content["layers"] for u in layer["uncovered"]]
    assert code == (1 if outside else 0)
    assert all(Fraction(t) < Fraction(153, 160) for _, _, t in outside)
    with np.load(trained["theorem1"]) as z:
        taus = [float(np.sum(z[k].astype(np.float64) ** 2, axis=1).min()) for k in z.files
                if k.endswith("weight") and "hidden" in k]
    assert bool(outside) == (min(taus) < 0.95625 - 1e-12)  # float64 sums: far from the edge


def test_a_paving_certifies_the_units_in_its_proven_cells(trained, cli, tmp_path) -> None:
    """--paving: a unit is covered exactly when its exact (ω, τ) lies in a proven cell of the
    paving (cells read here from the file, membership decided here with Fractions)."""
    import gzip

    from snn_theory.certify.weight_regions import exact_row_statistics

    paving = Path(__file__).resolve().parents[2] / "proofs" / "domain.paving.json.gz"
    cells = [((Fraction(c["omega"][0]), Fraction(c["omega"][1])),
              (Fraction(c["tau"][0]), Fraction(c["tau"][1])))
             for c in json.loads(gzip.decompress(paving.read_bytes()))["cells"]
             if c["verdict"] == "proven"]
    cert = tmp_path / "pv.json"
    code, out, _ = cli(["certify-network", str(trained["theorem1"]), "--paving", str(paving),
                        "--out", str(cert)])
    content = json.loads(cert.read_text())
    assert content["region"]["kind"] == "paving"
    with np.load(trained["theorem1"]) as z:
        for layer in content["layers"]:
            om, ta = exact_row_statistics(z[layer["name"]])
            expected = [i for i, (o, t) in enumerate(zip(om, ta, strict=True))
                        if not any(a <= o <= b and c <= t <= d for (a, b), (c, d) in cells)]
            assert [u[0] for u in layer["uncovered"]] == expected
    covered = all(not layer["uncovered"] for layer in content["layers"])
    assert code == (0 if covered else 1) and (("PROVEN" in out) == covered)


@pytest.mark.parametrize("content", [b"my notes", b"", b"\x80\x04K\x01."])
def test_a_file_that_is_not_an_archive_is_named_so(content: bytes, cli, tmp_path) -> None:
    """A text file (or a pickle) given as WEIGHTS: one line saying it is not an .npz archive,
    not numpy's advice about trusting pickled data."""
    notes = tmp_path / "notes.txt"
    notes.write_bytes(content)
    code, out, err = cli(["certify-network", str(notes), "--domain", "theorem1", "--out",
                          str(tmp_path / "c.json")])
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "not a readable .npz file" in err and "pickle" not in err
