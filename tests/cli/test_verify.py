"""``snn-theory verify-contraction``: JSON fields and certificates, exit codes 0/1/3, bad input
and unwritable certificate directories → exit 2, the human table, and a real Ctrl-C (exit 130,
the queue saved, --resume continues from it)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest


def test_cli_json_and_certificates(tmp_path, cli):
    code, out, err = cli(["verify-contraction", "--domain",
                          "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1", "--claim",
                          "variance<=1.48617", "--jobs", "1", "--json", "--certificate-dir",
                          str(tmp_path)])
    assert code == 0, err
    data = json.loads(out)
    (entry,) = data["claims"]
    assert set(entry) == {"name", "statement", "holds", "proof", "constants", "extremum",
                          "counterexample", "boxes", "boxes_decided", "tolerance",
                          "tolerance_met", "reason", "erratum", "seconds", "certificate"}
    assert entry["boxes_decided"] == entry["boxes"] and entry["tolerance"] is None
    assert entry["holds"] is True and entry["counterexample"] is None
    assert set(entry["extremum"]) == {"kind", "lower", "upper"}
    assert Fraction(entry["extremum"]["upper"]) <= Fraction("1.48617")
    from snn_theory.certify.certificate.check import check_certificate

    assert check_certificate(entry["certificate"]).valid


def test_theorem1_names_the_known_erratum(tmp_path, cli):
    """The paper's false bound is refuted (exit 1, as for any false claim) and the user is
    told, in the text and the JSON, that it is the paper's known erratum."""
    from snn_theory.certify.claims import EXPECTED_FALSE

    args = ["verify-contraction", "--theorem", "1", "--jobs", "1", "--certificate-dir",
            str(tmp_path)]
    code, out, err = cli(args)
    assert code == 1, err
    flat = " ".join(out.split())
    assert ("theorem1.mean_lower is FALSE as expected, a known erratum of the paper: "
            + " ".join(EXPECTED_FALSE["theorem1.mean_lower"].split())) in flat
    assert flat.count("erratum") == 1  # only the erratum, no other claim
    code, out, err = cli([*args, "--json"])
    assert code == 1, err
    errata = {c["name"]: c["erratum"] for c in json.loads(out)["claims"]}
    assert errata.pop("theorem1.mean_lower") == EXPECTED_FALSE["theorem1.mean_lower"]
    assert set(errata.values()) == {None} and len(errata) == 4


def test_cli_exit_codes(tmp_path, cli):
    base = ["--domain", "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.02:0.16,tau=0.8:1.25", "--jobs", "1",
            "--json", "--certificate-dir", str(tmp_path)]
    code, out, _ = cli(["verify-contraction", *base, "--claim", "variance_change<0"])
    assert code == 1 and json.loads(out)["claims"][0]["holds"] is False
    code, out, _ = cli(["verify-contraction", *base, "--claim", "variance_change>0", "--max-boxes",
                        "20"])
    assert code == 3 and json.loads(out)["claims"][0]["holds"] is None


@pytest.mark.parametrize("args", [
    ["--domain", "mu=0.1:-0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1", "--claim", "mean<1"],
    ["--domain", "mu=0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1", "--claim", "mean<1"],
    ["--domain", "mu=-0.1:0.1,omega=-0.1:0.1,nu=0:1.5,tau=0.95:1.1", "--claim", "mean<1"],
    ["--domain", "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=-1:1.1", "--claim", "mean<1"],
    ["--domain", "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1", "--claim", "foo<1"],
    ["--domain", "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1", "--claim", "mean=1"],
    ["--domain", "mu=-0.1:0.1;omega=-0.1:0.1", "--claim", "mean<1"],
    ["--domain", "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5", "--claim", "mean<1"],
    ["--domain", "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1"],
    ["--tolerance", "0"],
    ["--tolerance", "abc"],
    ["--lam", "2:1"],
    ["--jobs", "0"],
    ["--grid", "paper"],
    ["--method", "paper", "--theorem", "2"],
])
def test_bad_input_exit_2(tmp_path, cli, args):
    code, out, err = cli(["verify-contraction", *args, "--certificate-dir", str(tmp_path)])
    assert code == 2
    assert err.count("\n") == 1 and "error:" in err and "Traceback" not in err


def test_non_writable_certificate_dir(tmp_path, cli):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, _, err = cli(["verify-contraction", "--theorem", "2", "--certificate-dir",
                        str(blocker / "sub")])
    assert code == 2 and err.count("\n") == 1 and "not writable" in err


def test_cli_table(tmp_path, cli):
    code, out, err = cli(["verify-contraction", "--theorem", "2", "--jobs", "1",
                          "--certificate-dir", str(tmp_path)])
    assert code == 0, err
    assert "theorem2.variance_decreases" in out and "holds" in out
    assert "certificate:" in out and (tmp_path / "theorem2.variance_decreases.cert.json").exists()


def test_ctrl_c_saves_state_and_resume_continues(tmp_path, cli):
    """A real SIGINT to the command: exit 130 with one line, the queue saved; --resume
    starts from the saved queue (here: stops at once, the box budget being below it)."""
    import signal
    import subprocess
    import time

    args = ["verify-contraction", "--domain", "mu=-1:1,omega=-1:1,nu=0.1:10,tau=0.5:2",
            "--claim", "spectral_norm<3", "--name", "ctrlc", "--jobs", "2", "--json",
            "--certificate-dir", str(tmp_path)]
    proc = subprocess.Popen([*cli.command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = tmp_path / ".state" / "ctrlc.json"
    deadline = time.monotonic() + 60
    while not state.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert state.exists(), proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    # (click echoes a bare newline on Ctrl-C before cli.main's one-line message)
    assert err.strip().count("\n") == 0 and "interrupted" in err and "Traceback" not in err
    saved = json.loads(state.read_text())
    assert saved["done"] is False and len(saved["boxes"]) > 16
    budget = len(saved["boxes"]) - 1
    res = cli.process([*args, "--resume", "--max-boxes", str(budget)], timeout=120)
    assert res.code == 3, res.err
    entry = json.loads(res.out)["claims"][0]
    assert entry["holds"] is None and entry["boxes"] == len(saved["boxes"])
