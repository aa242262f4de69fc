"""Tests of ``snn-theory reproduce``: one real ``--quick`` run (module fixture) checked
against the JSON of the underlying commands run afresh, the independent checker, the figures;
plus the failure path and bad input (cheap, with the expensive stages replaced)."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from snn_theory.certify import claims as registry
from snn_theory.show.reproduce import report as rep
from snn_theory.show.reproduce import results as res
from snn_theory.show.reproduce import stages as rp

FIGURES = ("flow_field", "contraction", "variance_change", "fixed_points", "convergence")


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory, cli) -> tuple[Path, tuple, dict]:
    """One real reproduction, in a fresh process (as a user runs it: JAX, worker processes
    and the exit status all as under a shell)."""
    out = tmp_path_factory.mktemp("reproduce")
    proc = cli.process(["reproduce", "--quick", "--out", out, "--json"], timeout=600)
    return out, proc, json.loads(proc.out) if proc.out.strip() else {}


def table_rows(report: str, header_start: str) -> list[list[str]]:
    """Cells of the Markdown table whose header row starts with ``header_start``."""
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return rows


def test_quick_run_holds_and_prints_stage_times(quick) -> None:
    out, proc, data = quick
    assert proc.code == 0, proc.err[-2000:]
    assert data["ok"] is True and data["mode"] == "quick"
    assert set(data["stages"]) == set(res.stage_names("quick"))
    assert all(s["ok"] for s in data["stages"].values())
    for stage in ("constants", "claims", "check", "monte-carlo", "figures", "report"):
        assert re.search(rf"stage {stage}: \d+\.\d s", proc.err), stage
    assert (out / "proofs" / "REPORT.md").is_file()
    assert data["report"] == str(out / "proofs" / "REPORT.md")


def test_repeat_run_rewrites_committed_outputs_byte_for_byte(quick, cli) -> None:
    """A second reproduction (here with another --jobs) leaves every committed output as it
    was, so `git diff` after a reproduction shows exactly what changed; timings and
    versions go to the git-ignored timings file only."""
    out, proc, _ = quick
    assert proc.code == 0, proc.err[-2000:]
    timings = out / "proofs" / rep.TIMINGS_FILE

    def snapshot() -> dict[str, bytes]:
        return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
                if p.is_file() and p != timings}

    before = snapshot()
    first_timings = json.loads(timings.read_text())
    again = cli.process(["reproduce", "--quick", "--out", out, "--jobs", "1"], timeout=600)
    assert again.code == 0, again.err[-2000:]
    after = snapshot()
    assert sorted(after) == sorted(before)
    changed = [name for name in before if before[name] != after[name]]
    assert changed == []
    committed = (out / "proofs" / "reproduce.json").read_text()
    assert '"seconds"' not in committed and '"software"' not in committed
    assert "seconds" not in (out / "proofs" / "REPORT.md").read_text()
    assert set(first_timings["stage_seconds"]) == set(res.stage_names("quick"))
    assert "python-flint" in first_timings["software"]
    assert rep.TIMINGS_FILE in Path(__file__).resolve().parents[2].joinpath(
        ".gitignore").read_text()


def test_all_figures_written(quick) -> None:
    out, _, data = quick
    for name in FIGURES:
        path = out / "figures" / f"{name}.png"
        assert path.stat().st_size > 10_000, name
        h, w = mpimg.imread(path).shape[:2]
        assert w >= 1000 and h >= 500
    assert sorted(data["stages"]["figures"]["figures"]) == sorted(FIGURES)


def test_certificates_are_accepted_by_the_checker(quick, cli) -> None:
    from snn_theory.certify.claims import BUILTIN_CLAIMS

    out, _, data = quick
    claims = data["stages"]["claims"]["verify"]["claims"]
    expected = res.MODES["quick"].claims
    assert [c["name"] for c in claims] == list(expected)
    assert set(expected) == set(BUILTIN_CLAIMS)
    files = [c["certificate"] for c in claims]
    assert all(Path(f).parent == out / "proofs" for f in files)
    proc = cli(["check-certificate", "--jobs", "1", "--json", *files])
    assert proc.code == 0, proc.err
    checked = json.loads(proc.out)
    assert checked["all_valid"] is True
    assert len(checked["certificates"]) == len(expected)
    # reproduce's own check stage saw the same
    assert all(r["valid"] for r in data["stages"]["check"]["certificates"])


def test_report_claims_table_matches_the_verifier_json(quick) -> None:
    out, _, data = quick
    report = (out / "proofs" / "REPORT.md").read_text()
    rows = table_rows(report, "| claim |")
    verify = {c["name"]: c for c in data["stages"]["claims"]["verify"]["claims"]}
    assert [r[0] for r in rows] == list(verify)
    for row in rows:
        name, paper, statement, kind, enclosure, verdict, boxes, cert, checker, figs = row
        c = verify[name]
        assert paper == registry.PAPER_STATEMENTS[name].replace("|", "\\|")
        assert kind == (c.get("extremum") or {}).get("kind", "")
        assert verdict == rep.verdict_text(c)
        assert int(boxes) == c["boxes"]
        assert cert == Path(c["certificate"]).name and checker == "valid"
        if c["holds"] is False:  # a known erratum, refuted with a checked counterexample
            assert name in registry.EXPECTED_FALSE and c["counterexample"]
            continue
        assert c["holds"] is True
        lo, hi = (Fraction(x.strip()) for x in enclosure.strip("[]").split(","))
        assert lo <= hi
        assert (lo, hi) == (Fraction(str(c["extremum"]["lower"])),
                            Fraction(str(c["extremum"]["upper"])))
        # the enclosure proves the claim on the proven side of the threshold
        m = re.match(r"\s*(\w+)\s*(<=|>=|<|>)\s*([^\s,;]+)", c["statement"])
        assert m, c["statement"]
        threshold = Fraction(m.group(3))
        bound = hi if m.group(2).startswith("<") else lo
        assert {"<": bound < threshold, "<=": bound <= threshold, ">": bound > threshold,
                ">=": bound >= threshold}[m.group(2)]
        for link in re.findall(r"\]\(([^)]+)\)", figs):
            assert (out / "proofs" / link).resolve().is_file()


def test_report_constants_match_solve_constants(quick, cli) -> None:
    out, _, _ = quick
    mode = res.MODES["quick"]
    args = ["solve-constants", "--digits", str(mode.digits), "--json"]
    for rate in mode.dropout_rates:
        args += ["--dropout-rate", rate]
    code, out_text, _ = cli(args)
    fresh = json.loads(out_text)
    assert code == 0 and fresh["certified"] is True
    rows = {r[0]: r for r in table_rows((out / "proofs" / "REPORT.md").read_text(),
                                        "| constant |")}
    for key, name in (("lambda", "λ01"), ("alpha", "α01")):
        lo, hi = (x.strip() for x in rows[name][1].strip("[]").split(","))
        assert (lo, hi) == (fresh[key]["lower"], fresh[key]["upper"])
        assert rows[name][2] == fresh[key]["value"]
        assert Fraction(lo) <= Fraction(rows[name][2]) <= Fraction(hi)
    assert fresh["lambda"]["value"].startswith("1.0507009873554804934193349852946")


def test_report_monte_carlo_matches_simulate(quick, cli) -> None:
    out, _, data = quick
    mode = res.MODES["quick"]
    rows = table_rows((out / "proofs" / "REPORT.md").read_text(), "| width |")
    assert [int(r[0]) for r in rows] == list(mode.mc_widths)
    width = mode.mc_widths[0]
    code, out_text, _ = cli(["simulate", "--width", str(width), "--depth", str(mode.mc_depth),
                             "--batch", str(mode.mc_batch), "--mean0", str(mode.mc_start[0]),
                             "--var0", str(mode.mc_start[1]), "--dtype", rp.MC_DTYPE,
                             "--json"])
    fresh = json.loads(out_text)
    assert code == 0
    row = rows[0]  # the deviations to the digits the report keeps
    assert float(row[3]) == float(f"{fresh['max_deviation']['mean']:.2g}")
    assert float(row[4]) == float(f"{fresh['max_deviation']['variance']:.2g}")
    decimals = rp.mc_decimals(width, mode.mc_batch)
    for kept, run in zip(data["stages"]["monte-carlo"]["runs"][0]["layers"], fresh["layers"],
                         strict=True):
        assert kept["mean"] == round(run["mean"], decimals)
        assert kept["variance"] == round(run["variance"], decimals)
        assert kept["predicted_variance"] == pytest.approx(run["predicted_variance"],
                                                           rel=1e-9)


# --------------------------------------------------------------------------- cheap paths
def test_failure_path_exits_1_and_reports_false_claim(tmp_path: Path, monkeypatch,
                                                      cli) -> None:
    from snn_theory.certify.claims import BUILTIN_CLAIMS
    from snn_theory.certify.search import loop as verify
    from snn_theory.certify.search.bounders import ClosedFormBounder
    from snn_theory.certify.search.result import ClaimResult

    def fake_verify(claims, settings, certificate_dir, progress=None, done=None):
        # a refuted contraction claim that is not a known erratum
        claim = BUILTIN_CLAIMS["theorem1.contraction"]
        value = (Fraction(101, 100), Fraction(102, 100))
        result = ClaimResult(
            claim=claim, verdict="refuted", extremum=value, witness=None,
            counterexample=([Fraction(0), Fraction(0), Fraction(1), Fraction(1)], value),
            leaves=[], seconds=0.1, max_depth=0, precision=64, bounder=ClosedFormBounder())
        if done is not None:
            done(result)
        return [result]

    def no_simulator(mode, tell):
        raise res.StageError("no sim")

    monkeypatch.setattr(verify, "verify_claims", fake_verify)
    monkeypatch.setattr(rp, "stage_monte_carlo", no_simulator)
    monkeypatch.setattr(rp, "stage_figures",
                        lambda *a: res.FiguresStage((), (), note="skipped"))
    code, out, _ = cli(["reproduce", "--quick", "--out", tmp_path])
    assert code == 1
    assert "NOT everything holds" in out
    report = (tmp_path / "proofs" / "REPORT.md").read_text()
    row = table_rows(report, "| claim |")[0]
    assert row[0] == "theorem1.contraction" and row[5] == "FALSE"
    assert "failed: no sim" in report
    saved = json.loads((tmp_path / "proofs" / "reproduce.json").read_text())
    assert saved["ok"] is False and saved["stages"]["check"]["ok"] is False


def test_an_enclosure_that_does_not_decide_exits_3(tmp_path: Path, monkeypatch,
                                                   cli) -> None:
    """An ArithmeticError in a stage (the mathematics, not the input) is 'not certified':
    exit 3, the stage reported failed with the reason, nothing printed as certified."""
    import numpy as np

    from snn_theory.certify.claims import BUILTIN_CLAIMS
    from snn_theory.certify.search.bounders import ClosedFormBounder
    from snn_theory.certify.search.result import ClaimResult

    def undecided(mode, tell):
        raise ArithmeticError("the Krawczyk test did not succeed")

    holds = ClaimResult(
        claim=BUILTIN_CLAIMS["theorem1.contraction"], verdict="holds",
        extremum=(Fraction(9, 10), Fraction(95, 100)), witness=None, counterexample=None,
        leaves=[], seconds=0.1, max_depth=0, precision=64, bounder=ClosedFormBounder())
    monkeypatch.setattr(rp, "stage_constants", undecided)
    monkeypatch.setattr(rp, "stage_claims", lambda *a: res.ClaimsStage((holds,)))
    monkeypatch.setattr(rp, "stage_check", lambda *a: res.CheckStage((), ()))
    monkeypatch.setattr(rp, "stage_monte_carlo", lambda *a: res.MonteCarloStage(
        (), 0, (), (), {1: np.array([[0.0, 1.0]])}, True, None, None))
    monkeypatch.setattr(rp, "stage_figures", lambda *a: res.FiguresStage((), ()))
    code, out, _ = cli(["reproduce", "--quick", "--out", tmp_path, "--json"])
    assert code == 3
    data = json.loads(out)
    assert data["stages"]["constants"]["ok"] is False
    assert "not certified: the Krawczyk test" in data["stages"]["constants"]["summary"]
    assert all(s["ok"] for n, s in data["stages"].items() if n != "constants")
    report = (tmp_path / "proofs" / "REPORT.md").read_text()
    assert "Not certified: failed: not certified" in report and "| λ01 |" not in report


@pytest.mark.parametrize("args, fragment", [
    (["--quick", "--full"], "exclude"),
    (["--jobs", "0"], "--jobs"),
    (["--bogus"], "No such option"),
])
def test_bad_input_exits_2(tmp_path: Path, cli, args: list[str], fragment: str) -> None:
    code, _, err = cli(["reproduce", "--out", tmp_path, *args])
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("snn-theory reproduce: error:")
    assert fragment in err


def test_out_must_be_a_directory(tmp_path: Path, cli) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    code, _, err = cli(["reproduce", "--quick", "--out", f])
    assert code == 2
    assert err.count("\n") == 1 and "is a file" in err


def test_help_reads_as_sentences(cli) -> None:
    """No words dropped from the options' help (it once read "wider networks, the and the
    training figure"); --activation's figures are named."""
    code, out, _ = cli(["reproduce", "--help"])
    text = " ".join(out.split())
    assert code == 0
    assert "the and" not in text and "wider networks and the training figure" in text
    assert "fixed points, convergence; --full also the training figure" in text
