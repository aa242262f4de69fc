"""``snn-theory map-domain``, ``check-certificate`` on pavings and ``plot domain-map``: bad
input and an unreachable scheduler → exit 2 with one line (fast); JSON output; tampered
pavings refused by the checker and by the plot."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from snn_theory.certify import domains
from tests.test_domains import FAST, _rewrite, tiny  # noqa: F401 (tiny: a fixture)


@pytest.mark.parametrize("args, fragment", [
    (["--plane", "omega,kappa"], "unknown variable"),
    (["--plane", "tau,tau"], "repeated"),
    (["--plane", "lam,nu"], "together"),
    (["--omega", "0.1:0.1"], "empty or inverted"),
    (["--tau", "1.2:0.9"], "empty or inverted"),
    (["--mu", "0.05:0.1"], "fixed point"),
    (["--cells", "0"], "resolution"),
])
def test_bad_input_one_line_exit_2(args: list[str], fragment: str, tmp_path: Path,
                                   cli) -> None:
    code, _, err = cli(["map-domain", "--out", str(tmp_path / "p.json"), *args])
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1


def test_unreachable_scheduler_fails_fast(tmp_path: Path, cli) -> None:
    start = time.perf_counter()
    code, _, err = cli(["map-domain", "--out", str(tmp_path / "p.json"), "--scheduler",
                        "tcp://127.0.0.1:9"])
    assert code == 2 and "cannot reach the Dask scheduler" in err
    assert len(err.strip().splitlines()) == 1 and time.perf_counter() - start < 10


def test_cli_check_and_plot(tiny: tuple[domains.Paving, Path], tmp_path: Path,  # noqa: F811
                            cli) -> None:
    _, path = tiny
    code, out, err = cli(["check-certificate", "--json", str(path)])
    assert code == 0, err
    entry = json.loads(out)["certificates"][0]
    assert entry["kind"] == "paving" and entry["counts"]["proven"] == 2
    content = json.loads(path.read_text())
    content["cells"][0]["verdict"] = "undecided"  # a refuted cell with evidence, now undecided
    bad = _rewrite(path, content, tmp_path / "bad.json")
    code, out, _ = cli(["check-certificate", str(bad)])
    assert code == 1 and out.startswith("INVALID")
    png = tmp_path / "map.png"
    code, _, err = cli(["plot", "domain-map", str(path), "--out", str(png)])
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = cli(["plot", "domain-map", str(bad), "--out", str(tmp_path / "x.png")])
    assert code == 2 and "not a valid paving" in err


def test_cli_map_domain_json(tmp_path: Path, cli) -> None:
    out = tmp_path / "fast.paving.json.gz"
    code, stdout, err = cli(["map-domain", "--omega", "0:0.1", "--tau", "0.85:0.95", "--cells", "2",
                             "--depth", "1", "--max-boxes", "64", "--jobs", "1", "--out", str(out),
                             "--json"])
    assert code == 0, err
    data = json.loads(stdout)
    assert data["refuted"] == 4 and data["largest_rectangle"] is None
    assert out.read_bytes() == domains.write_paving(tmp_path / "again.json.gz",
                                                    domains.map_domain(FAST)).read_bytes()
    code, stdout, err = cli(["check-certificate", str(out)])  # gzip, dispatched
    assert code == 0 and stdout.startswith("VALID") and "4 refuted" in stdout, err


def test_a_file_that_is_not_its_state_is_never_touched(tmp_path: Path, cli) -> None:
    """--state naming a user's file, with or without --resume, and --out naming one: one
    line, exit 2, the file as it was, nothing written."""
    mine = tmp_path / "important.json"
    out = tmp_path / "s.json.gz"
    for content in ('{"my":"data"}\n', "garbage\n"):
        mine.write_text(content)
        for extra in ([], ["--resume"]):
            code, _, err = cli(["map-domain", "--cells", "1", "--depth", "0", "--state", mine,
                                "--out", out, *extra])
            assert code == 2 and len(err.strip().splitlines()) == 1, err
            assert "not a state file this command wrote" in err and "untouched" in err
            assert mine.read_text() == content and not out.exists()
    notes = tmp_path / "notes.json.gz"
    notes.write_bytes(b"a user's file")
    code, _, err = cli(["map-domain", "--cells", "1", "--depth", "0", "--out", notes])
    assert code == 2 and "--out" in err and "not a file this command wrote" in err
    assert notes.read_bytes() == b"a user's file"
    code, _, err = cli(["map-domain", "--cells", "1", "--depth", "0", "--out", out,
                        "--state", out])
    assert code == 2 and "same file" in err


def test_largest_box_never_overwrites_a_file_it_did_not_write(tmp_path: Path, cli) -> None:
    notes = tmp_path / "notes.json.gz"
    notes.write_bytes(b"a user's file")
    code, _, err = cli(["largest-box", "--out", notes])
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "not a file this command wrote" in err and notes.read_bytes() == b"a user's file"


def test_cli_says_what_the_cell_counts_count(tmp_path: Path, cli) -> None:
    """The human summary's counts add up: the paving's cells are the proven, refuted and
    undecided ones; the cells evaluated are those plus the parents cut into four (each parent
    has four children: evaluated = initial + 4·parents)."""
    import re

    out = tmp_path / "fast.paving.json.gz"
    code, stdout, err = cli(["map-domain", "--omega", "-0.1:0.1", "--tau", "0.95:1.1",
                             "--cells", "2", "--depth", "1", "--max-boxes", "16", "--jobs", "1",
                             "--out", str(out)])  # 16 boxes decide nothing: all four are cut
    assert code == 0, err
    text = " ".join(stdout.split())
    cells, proven, refuted, undecided = map(int, re.search(
        r"(\d+) cells, (\d+) proven, (\d+) refuted, (\d+) undecided", text).groups())
    assert proven + refuted + undecided == cells
    evaluated, leaves, parents = map(int, re.search(
        r"(\d+) cells evaluated over all levels \((\d+) in the paving, (\d+) cut into four\)",
        text).groups())
    assert leaves == cells and evaluated == leaves + parents == 2 * 2 + 4 * parents
    assert parents > 0
    assert "cells decided" not in text


def test_readme_paving_counts_match_the_committed_certificate() -> None:
    """README's sentence on the default paving states the counts of the committed
    proofs/domain.paving.json.gz: its cells by verdict, and the cells evaluated over all levels
    (each parent cut into four: leaves = 16 + 3·parents for the 4 × 4 start)."""
    import re
    from collections import Counter

    root = Path(__file__).resolve().parents[2]
    paving = domains.read_paving(root / "proofs" / "domain.paving.json.gz")
    verdicts = Counter(e["verdict"] for e in paving["cells"])
    start = paving["spec"]["cells"] ** 2
    parents, rest = divmod(len(paving["cells"]) - start, 3)
    assert rest == 0
    readme = " ".join((root / "README.md").read_text().split())
    found = re.search(r"evaluates (\d+) cells over its three levels: the (\d+) cells of the "
                      r"paving, (\d+) proven, (\d+) refuted and (\d+) undecided, and the (\d+) "
                      r"cells that were cut into four", readme)
    assert found, "README's sentence on the default paving changed"
    evaluated, leaves, proven, refuted, undecided, cut = map(int, found.groups())
    assert (leaves, proven, refuted, undecided) == (
        len(paving["cells"]), verdicts["proven"], verdicts["refuted"], verdicts["undecided"])
    assert cut == parents and evaluated == leaves + parents
    assert paving["spec"]["depth"] == 2  # "three levels"
