"""``check-certificate`` and ``verify-contraction`` on certificates: exit 0 for a valid file,
1 when any is invalid (JSON says which), 2 for a missing one; a claim verified with other
constants than λ01, α01 is renamed after them and its certificate re-checks."""

from __future__ import annotations

import json

from snn_theory.certify.certificate.check import check_certificate
from tests.test_certificate import contraction_certificate  # noqa: F401 (a fixture)


def test_cli_exit_codes(contraction_certificate, tmp_path, cli):  # noqa: F811
    _, path = contraction_certificate
    code, out, _ = cli(["check-certificate", str(path), "--jobs", "1"])
    assert code == 0
    assert out.startswith("VALID")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    code, out, _ = cli(["check-certificate", str(path), str(bad), "--json"])
    assert code == 1
    out = json.loads(out)
    assert [c["valid"] for c in out["certificates"]] == [True, False]
    code, _, err = cli(["check-certificate", str(tmp_path / "missing.json")])
    assert code == 2
    err = err.strip()
    assert err.count("\n") == 0 and "no such file" in err


def test_verify_with_user_constants_renames_the_claim(tmp_path, cli):
    code, out, _ = cli(["verify-contraction", "--theorem", "2", "--lam", "2", "--jobs", "1",
                        "--json", "--certificate-dir", str(tmp_path)])
    assert code == 1  # false for λ = 2
    (entry,) = json.loads(out)["claims"]
    assert entry["name"] == "theorem2.variance_decreases[lam=2,alpha=alpha01]"
    assert entry["holds"] is False
    assert check_certificate(entry["certificate"]).valid
    assert not list(tmp_path.glob("theorem2.variance_decreases.cert.json*"))
