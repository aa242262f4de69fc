"""``snn-theory simulate``: JSON keys and the saved arrays, the human verdict and what one
run can and cannot tell, the width sweep's verdict from its own numbers, and bad input
(including a too-small memory limit and an unwritable --out, refused before computing) →
exit 2 with one line."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest


def test_cli_json_keys_and_npz(cli, tmp_path) -> None:
    path = tmp_path / "run.npz"
    code, out, err = cli(["simulate", "--width", "64", "--depth", "4", "--batch", "16", "--mean0",
                          "0.5", "--var0", "2", "--json", "--out", str(path)])
    assert code == 0, err
    d = json.loads(out)
    assert set(d) == {"config", "devices", "layers", "max_deviation", "converged_at_layer",
                      "seconds"}
    assert len(d["layers"]) == 5
    assert set(d["layers"][0]) == {"layer", "mean", "variance", "mean_spread",
                                   "variance_spread", "predicted_mean", "predicted_variance"}
    assert set(d["max_deviation"]) == {"mean", "variance"}
    saved = np.load(path)
    np.testing.assert_allclose(saved["variance"], [row["variance"] for row in d["layers"]])


def test_cli_human_output_has_a_verdict(cli) -> None:
    code, out, err = cli(["simulate", "--width", "64", "--depth", "4", "--batch", "16"])
    assert code == 0, err
    # the last paragraph (wrapped for the terminal): the verdict
    text = out.strip()
    last = " ".join(text[max(text.rfind("\nconverged"), text.rfind("\nNOT converged")) + 1:].split())
    assert last.startswith(("converged", "NOT converged")) and "max |empirical − g|" in last
    assert "verified" not in out and "certified" not in out


@pytest.mark.parametrize("args,fragment", [
    (["--width", "0"], "width"),
    (["--depth", "0"], "depth"),
    (["--batch", "0"], "batch"),
    (["--var0", "0"], "var0"),
    (["--var0", "-1"], "var0"),
    (["--tau", "0"], "tau"),
    (["--dropout-rate", "1"], "dropout"),
    (["--dropout-rate", "-0.1"], "dropout"),
    (["--dtype", "float16"], "dtype"),
    (["--input", "cauchy"], "input"),
    (["--weights", "he"], "weights"),
    (["--width", "1000000"], "configuration needs about"),
    (["--width", "512", "--memory-limit", "0.0001"], "configuration needs about"),
    (["--omega", "10", "--tau", "0.5", "--width", "64"], "tau >= omega^2/width"),
    (["--weights", "lecun", "--omega", "0.1"], "normalized weights only"),
    (["--starts", "mu=1"], "--starts"),
    (["--starts", "mu=0:1:2,nu=-1:1:2"], "variances"),
    (["--widths", "64,x"], "--widths"),
    (["--widths", "64"], "at least two"),
    (["--widths", "64,128", "--starts", "mu=0:1:2,nu=1:2:2"], "cannot be combined"),
    (["--mean0", "1e300"], "overflow float32"),
    (["--var0", "1e300"], "overflow float32"),
    (["--var0", "1e306", "--dtype", "float64"], "overflow float64"),
    (["--mean0", "-1e20"], "overflow float32"),
])
def test_bad_input_exits_2_with_one_line(args, fragment, cli) -> None:
    code, out, err = cli(["simulate", "--depth", "2", "--batch", "8", *args])
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("snn-theory simulate: error:")
    assert fragment in err and "Traceback" not in err


def test_memory_message_holds_the_estimate(cli) -> None:
    code, _, err = cli(["simulate", "--width", "512", "--batch", "64", "--memory-limit", "0.0001"])
    assert code == 2 and "MiB" in err and "limit is" in err


def test_width_sweep_verdict_follows_from_its_numbers(cli) -> None:
    """The CLI states the law, fits it, and its verdict is what the printed numbers give."""
    code, out, err = cli(["simulate", "--widths", "64,256,1024", "--depth", "12", "--batch", "64",
                          "--mean0", "0.5", "--var0", "2", "--json"])
    assert code == 0, err
    law = json.loads(out)["law"]
    assert law["law"] == "|empirical − g| ≈ a/√(N·B) + b/N"
    assert law["deviations"] == json.loads(out)["deviation"]
    fitted = [law["a"] / math.sqrt(n * 64) + law["b"] / n for n in law["widths"]]
    ratios = [d / f for d, f in zip(law["deviations"], fitted, strict=True)]
    assert ratios == pytest.approx(law["ratios"], rel=1e-9)
    assert law["consistent"] == all(1 / law["factor"] <= r <= law["factor"] for r in ratios)
    assert law["a"] >= 0 and law["b"] >= 0 and law["a"] + law["b"] > 0
    code, out, err = cli(["simulate", "--widths", "64,256,1024", "--depth", "12", "--batch", "64",
                          "--mean0", "0.5", "--var0", "2"])
    assert code == 0 and "deviation law: " in out
    assert ("NOT consistent" in out) == (law["consistent"] is False)


def test_single_run_says_what_it_can_and_cannot_tell(cli) -> None:
    code, out, err = cli(["simulate", "--width", "64", "--depth", "4", "--batch", "16"])
    assert code == 0, err
    assert "spread mean / spread var: standard deviation over the N units" in out
    assert "one run cannot test it" in out and "(1/√(N·B) + 1/N =" in out


@pytest.mark.parametrize("name", ["/nonexistent/dir/x.npz", "{tmp}"])
def test_out_path_is_checked_before_computing(cli, monkeypatch, tmp_path, name) -> None:
    import snn_theory.cli.simulate as command

    def must_not_run(*args, **kwargs):
        raise AssertionError("simulated although the output cannot be written")

    monkeypatch.setattr(command, "simulate", must_not_run)
    monkeypatch.setattr(command, "width_sweep", must_not_run)
    target = name.format(tmp=tmp_path)  # the second case: an existing directory
    for extra in ([], ["--widths", "64,128"]):
        code, out, err = cli(["simulate", "--width", "64", "--depth", "2", "--batch", "8", *extra,
                              "--out", target])
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
        assert "--out" in err


def test_out_never_overwrites_a_file_it_did_not_write(cli, tmp_path) -> None:
    """An existing --out that is not an archive of this command (a user's notes, another
    program's archive) is refused before computing, and kept; its own archive is replaced."""
    import numpy as np

    notes, foreign, own = tmp_path / "notes.npz", tmp_path / "other.npz", tmp_path / "run.npz"
    notes.write_text("my notes")
    np.savez(foreign, weights=np.ones(3))
    for target in (notes, foreign):
        before = target.read_bytes()
        code, _, err = cli(["simulate", "--width", "16", "--depth", "2", "--batch", "8",
                            "--out", target])
        assert code == 2 and err.count("\n") == 1 and "not a file this command wrote" in err
        assert target.read_bytes() == before
    for _ in range(2):  # the second run replaces the first run's archive
        code, _, err = cli(["simulate", "--width", "16", "--depth", "2", "--batch", "8",
                            "--out", own])
        assert code == 0, err
    assert "mean.npy" in __import__("zipfile").ZipFile(own).namelist()


@pytest.mark.parametrize("args, text", [
    (["--widths", ""], "at least one width"),
    (["--widths", " , "], "at least one width"),
    (["--starts", ""], "--starts"),
])
def test_an_empty_list_is_refused_not_ignored(args: list[str], text: str, cli) -> None:
    """An empty --widths / --starts was taken for "not given" and a plain run followed."""
    code, out, err = cli(["simulate", "--width", "8", "--depth", "2", "--batch", "4", *args])
    assert code == 2 and out == "" and err.count("\n") == 1 and text in err
