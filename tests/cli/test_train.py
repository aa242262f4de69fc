"""``snn-theory train`` and ``plot training``: bad input → exit 2 with one line; the JSON
records, saved weights and the figure drawn from the records; tampered records refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from snn_theory.simulate.training import RunResult


@pytest.mark.parametrize("args, text", [
    (["--dataset", "mnist"], "unknown data set"),
    (["--variants", "selu,swish"], "unknown variant"),
    (["--depths", "4,0"], "depth must be"),
    (["--width", "0"], "width must be"),
    (["--lr", "0"], "learning rate"),
    (["--lr", "-0.1"], "learning rate"),
    (["--lr", "nan"], "learning rate"),
    (["--dropout-rate", "1"], "dropout rate"),
    (["--dropout-rate", "-0.01"], "dropout rate"),
    (["--epochs", "0"], "epochs must be"),
    (["--optimizer", "lbfgs"], "unknown optimizer"),
    (["--depths", "x"], "depths must be integers"),
    (["--save-weights", "w.txt"], ".npz"),
    (["--out", "."], "is a directory"),
    (["--activation", "tanh(x"], "cannot parse the activation"),
    (["--activation", "nosuch"], "unknown name"),
    (["--activation", "tanh", "--scale", "0"], "scale must be nonzero"),
    (["--scale", "2"], "need --activation"),
    (["--variants", "selu,selu"], "more than once"),
    (["--depths", "4,04"], "more than once"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], text: str,
                                          cli) -> None:
    code, out, err = cli(["train", *args])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("snn-theory train: error:") and text in err


def test_cli_json_out_and_plot_from_results(tmp_path, cli) -> None:
    rec = tmp_path / "runs.json"
    wts = tmp_path / "w.npz"
    # the shapes of TINY: the compiled epoch is reused
    code, out, _ = cli(["train", "--variants", "selu,relu-bn", "--depths", "3", "--width", "128",
                        "--epochs", "2", "--lr", "3e-3", "--seed", "1", "--json", "--out", str(rec),
                        "--save-weights", str(wts)])
    assert code == 0
    data = json.loads(out)
    assert [r["config"]["variant"] for r in data["runs"]] == ["selu", "relu-bn"]
    assert data["region"] == {"omega": [-0.1, 0.1], "tau": [0.95, 1.1]}
    assert json.loads(rec.read_text()) == data
    back = RunResult.from_json(data["runs"][0])
    assert back.act_var.shape == (3, 4) and back.tau_quantiles.shape == (3, 3, 3)
    np.testing.assert_array_equal(back.act_var, np.array(data["runs"][0]["act_var"]))
    with np.load(wts) as z:
        assert z["run0/hidden2.weight"].shape == (128, 128) and "run1/bn1.mean" in z
    png = tmp_path / "training.png"
    code, out, _ = cli(["plot", "training", "--results", str(rec), "--out", str(png), "--width",
                        "900", "--height", "550", "--dpi", "100"])
    assert code == 0 and png.exists() and "wrote" in out
    from matplotlib.image import imread

    assert imread(png).shape[:2] == (550, 900)
    # tampered records are rejected with one line, exit 2
    bad = tmp_path / "bad.json"
    broken = json.loads(rec.read_text())
    broken["runs"][0]["config"]["depth"] = 0
    bad.write_text(json.dumps(broken))
    code, _, err = cli(["plot", "training", "--results", str(bad), "--out", str(png)])
    assert code == 2 and err.count("\n") == 1
    broken = json.loads(rec.read_text())
    del broken["runs"][0]["act_var"]
    bad.write_text(json.dumps(broken))
    code, _, err = cli(["plot", "training", "--results", str(bad), "--out", str(png)])
    assert code == 2 and err.count("\n") == 1


def test_constraint_bad_input_is_one_line_and_exit_2(tmp_path, cli) -> None:
    import gzip
    from pathlib import Path

    committed = Path(__file__).resolve().parents[2] / "proofs" / "domain.paving.json.gz"
    content = json.loads(gzip.decompress(committed.read_bytes()))
    content["cells"][0]["omega"][0] = "-0.31"  # one bound edited
    tampered = tmp_path / "tampered.paving.json.gz"
    tampered.write_bytes(gzip.compress(json.dumps(content).encode()))
    for args, text in ((["--constraint", "weird"], "unknown constraint"),
                       (["--constraint", str(tmp_path / "no.json.gz")], "no such file"),
                       (["--constraint", str(tampered)], "fails its check")):
        code, out, err = cli(["train", *args])
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and text in err, err


def test_seconds_attribute_the_shared_compilation(cli, monkeypatch) -> None:
    """Two variants sharing one compiled program (no batch norm, same shapes; shapes no other
    test uses): the first run carries the compilation, the second reuses it; the table shows
    both times instead of a bare 0 s for the second."""
    args = ["train", "--variants", "selu,relu", "--depths", "2", "--width", "40", "--epochs",
            "1", "--seed", "2"]
    code, out, err = cli([*args, "--json"])
    assert code == 0, err
    first, second = (r["summary"] for r in json.loads(out)["runs"])
    for run in (first, second):
        assert 0 <= run["compile_seconds"] <= run["seconds"]
    assert first["compile_seconds"] > 0.1 and second["compile_seconds"] < first["compile_seconds"] / 5
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = cli(args)
    assert code == 0 and "compile s" in out and "spends about 0 there" in " ".join(out.split())
    assert all(len(line) <= 80 for line in out.splitlines())


@pytest.mark.parametrize("option, name", [("--out", "runs.json"),
                                          ("--save-weights", "w.npz")])
@pytest.mark.parametrize("content", [b"a user's notes", b'{"runs": []}', b"PK\x03\x04"])
def test_outputs_never_replace_a_file_train_did_not_write(option: str, name: str,
                                                          content: bytes, tmp_path, cli) -> None:
    """An existing --out / --save-weights file without train's format tag (a user's file,
    records of another program, a numpy archive without the tag) is refused before any
    training: one line, exit 2, the file byte for byte as it was."""
    target = tmp_path / name
    target.write_bytes(content)
    code, out, err = cli(["train", "--variants", "selu", "--depths", "2", "--epochs", "1",
                          option, str(target)])
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "not a file this command wrote" in err and target.read_bytes() == content


def test_outputs_carry_their_format_tag(tmp_path) -> None:
    """What train writes is recognised as its own (so a second run may replace it), and a
    numpy archive without the tag is not."""
    from snn_theory.cli.train import RUNS_FORMAT, WEIGHTS_FORMAT
    from snn_theory.files import tagged_json, tagged_numpy_archive

    records = tmp_path / "r.json"
    records.write_text(json.dumps({"format": RUNS_FORMAT, "runs": []}))
    assert tagged_json(RUNS_FORMAT)(records)
    assert not tagged_json(RUNS_FORMAT)(tmp_path / "absent.json")
    ours, theirs = tmp_path / "w.npz", tmp_path / "x.npz"
    np.savez(ours, format=np.array(WEIGHTS_FORMAT), w=np.zeros(2))
    np.savez(theirs, w=np.zeros(2))
    assert tagged_numpy_archive(WEIGHTS_FORMAT)(ours)
    assert not tagged_numpy_archive(WEIGHTS_FORMAT)(theirs)
    assert not tagged_numpy_archive(RUNS_FORMAT)(ours)


@pytest.mark.parametrize("content, text", [
    (None, "No such file or directory"),
    (b'{"my": "data"}', "not a file of training records"),
    (b"\x00\xffnot json", "not a file of training records"),
    (b"", "not a file of training records"),
])
def test_plot_training_names_what_is_wrong_with_the_records(content, text, tmp_path,
                                                            cli) -> None:
    """A missing or foreign --results file: one line saying so, not a Python exception
    name (it was "KeyError: 'runs'", "FileNotFoundError: [Errno 2] …")."""
    records = tmp_path / "r.json"
    if content is not None:
        records.write_bytes(content)
    code, out, err = cli(["plot", "training", "--results", str(records), "--out",
                          str(tmp_path / "t.png")])
    assert code == 2 and out == "" and err.count("\n") == 1 and text in err
    assert "Error:" not in err and "Errno" not in err
