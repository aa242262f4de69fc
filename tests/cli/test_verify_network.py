"""``snn-theory verify-contraction --network``: a proven claim about a network's map with a
certificate that ``check-certificate`` accepts, and bad input → one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SMALL = "mu=-0.01:0.01,omega=-0.01:0.01,nu=0.99:1.01,tau=0.99:1.01"
NET = "dense(selu), alpha_dropout(0.1)"


def test_a_network_claim_is_proven_recorded_and_rechecked(cli, tmp_path: Path) -> None:
    code, out, err = cli(["verify-contraction", "--network", NET, "--domain", SMALL,
                          "--claim", "spectral_norm<0.7", "--json", "-j", "1",
                          "--certificate-dir", str(tmp_path)])
    assert code == 0, err
    (entry,) = json.loads(out)["claims"]
    assert entry["holds"] is True and entry["network"] == "dense(selu), alpha_dropout(0.1)"
    path = Path(entry["certificate"])
    assert json.loads(path.read_text())["network"] == {"spelling": entry["network"]}
    code, out, err = cli(["check-certificate", str(path)])
    assert code == 0, err
    assert "VALID" in out and "for the network dense(selu), alpha_dropout(0.1)" in out
    # the same claim for another network has another default name: no overwrite
    code, out, err = cli(["verify-contraction", "--network", "dense(selu), alpha_dropout(0.05)",
                          "--domain", SMALL, "--claim", "spectral_norm<0.75", "--json", "-j",
                          "1", "--certificate-dir", str(tmp_path)])
    assert code == 0, err
    assert len(list(tmp_path.glob("*.cert.json"))) == 2


def test_the_human_table_names_the_network(cli, tmp_path: Path) -> None:
    code, out, _ = cli(["verify-contraction", "--network", NET, "--domain", SMALL,
                        "--claim", "mean<=0.1", "-j", "1", "--certificate-dir", str(tmp_path)])
    assert code == 0
    assert "network dense(selu), alpha_dropout(0.1)" in " ".join(out.split())


@pytest.mark.parametrize(("args", "message"), [
    (["--network", "dense(selu"], "unbalanced parentheses"),
    (["--network", "alpha_dropout(1)"], "0 <= Q < 1"),
    (["--network", NET, "--activation", "tanh"], "does not combine"),
    (["--network", NET, "--lam", "1.05"], "does not combine"),
    (["--network", NET, "--method", "paper", "--theorem", "1"], "interval search"),
    (["--network", NET, "--domain", SMALL, "--claim", "spectral_norm<1", "--name",
      "theorem1.contraction"], "built-in"),
    (["--network", NET, "--claim", "spectral_norm<1"], "together"),
])
def test_bad_input_is_one_line_exit_2(cli, tmp_path: Path, args: list[str],
                                      message: str) -> None:
    code, out, err = cli(["verify-contraction", *args, "-j", "1", "--certificate-dir",
                          str(tmp_path)])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_a_name_with_another_networks_label_is_refused(cli, tmp_path) -> None:
    from snn_theory.certify.network_enclosure import network_label

    other = network_label("dense(selu), alpha_dropout(0.1)")
    code, out, err = cli(["verify-contraction", "--network", "dense(selu), dropout(0.5)",
                          "--name", f"theorem1_analogue.contraction[{other}]", "--domain",
                          "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1", "--claim",
                          "spectral_norm<3", "--certificate-dir", str(tmp_path)])
    assert code == 2 and len(err.strip().splitlines()) == 1 and other in err, err
    assert not list(tmp_path.glob("*.json"))
