"""``verify-contraction --activation``: ``--resume``, ``--tolerance`` and ``--name``.

* A run stopped by its box budget saves the boxes of its partition; ``--resume`` re-bounds
  every saved box (the verdict is re-derived, never read) and finishes the proof;
* tampered states are unusable and ignored (reported, the search starts afresh and still
  gives the right verdict): boxes that do not tile the domain, a box outside it, a state of
  another activation or claim, damaged JSON, duplicate keys;
* ``--tolerance`` refines a proven claim's extremum enclosure; the proven end stays a
  rigorous bound (below the true minimum, computed by mpmath quadrature) and the refined
  leaves still form a valid certificate;
* ``--name`` names a user claim; the default name is ``user.<quantity>.<hash>`` (the hash of
  the statement and the activation's definition) and differs for another activation or
  statement; ``--name`` on built-in claims is bad input.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest

from snn_theory.certify import activation_cells
from snn_theory.certify.certificate.check import check_certificate
from snn_theory.certify.certificate.io import write_certificate
from snn_theory.certify.claims import Claim, Domain
from snn_theory.certify.search.loop import verify_claim
from snn_theory.certify.search.model_bounders import GaussianBounder
from snn_theory.certify.search.result import ClaimResult
from snn_theory.certify.search.settings import Settings
from snn_theory.certify.search.state import state_path
from snn_theory.cli.main import main
from snn_theory.cli.verify import claims_for
from snn_theory.derive import activations
from snn_theory.errors import InputError
from snn_theory.evaluate import activation_functions

DOMAIN = "mu=0.5:1,omega=0.5:1,nu=0.5:1,tau=0.5:1"
ACT = activations.get("relu", scale="3/2")
BOUNDER = GaussianBounder.of(ACT)
CLAIM = Claim.parse("mean>0", Domain.parse(DOMAIN), name="user")


def _verify(claim: Claim = CLAIM, *, max_boxes: int, state_dir: Path | None = None,
            resume: bool = False, tolerance: Fraction | None = None,
            rounds: list | None = None) -> ClaimResult:
    """The one search with the activation's Gaussian per-box bound (``rounds``: one entry
    appended per round of splitting)."""
    settings = Settings(max_boxes=max_boxes, bounder=BOUNDER, state_dir=state_dir,
                        resume=resume, tolerance=tolerance)
    progress = None if rounds is None else (lambda claim, status: rounds.append(status))
    return verify_claim(claim, settings, progress=progress)


def _true_min() -> mpmath.mpf:
    """min of E[1.5·relu(x)], x ~ N(μω, ντ), over the domain: at the low corner (the mean
    increases in m and v), m = v = 1/4, by quadrature."""
    with mpmath.workdps(20):
        return mpmath.quad(lambda z: activation_functions.value_mpmath(ACT, 0.25 + 0.5 * z) * mpmath.npdf(z),
                           [-12, -0.5, 12])


def test_resume_rebounds_saved_boxes(tmp_path: Path) -> None:
    state = state_path(tmp_path, CLAIM)
    first = _verify(max_boxes=40, state_dir=tmp_path)
    assert first.verdict == "undecided" and state.exists()
    saved = json.loads(state.read_text())
    assert saved["key"] == Settings(bounder=BOUNDER).key(CLAIM)
    assert saved["key"]["activation"] == ACT.to_json()
    resumed_rounds: list = []
    resumed = _verify(max_boxes=2000, state_dir=tmp_path, resume=True, rounds=resumed_rounds)
    assert resumed.resume == "resumed" and resumed.verdict == "holds"
    assert not state.exists()  # decided: nothing left to resume
    # resumed from the saved partition: fewer rounds of splitting than a fresh run needs
    fresh_rounds: list = []
    fresh = _verify(max_boxes=2000, rounds=fresh_rounds)
    assert len(resumed_rounds) < len(fresh_rounds) and fresh.verdict == "holds"
    assert Fraction(0) < resumed.extremum[0] <= Fraction(str(_true_min()))
    path = write_certificate(tmp_path, resumed.certificate_data())
    assert check_certificate(path).valid


def _tamper(state: Path, how: str) -> None:
    data = json.loads(state.read_text())
    if how == "drop a box":
        data["boxes"] = data["boxes"][1:]
    elif how == "box outside":
        data["boxes"][0][0] = ["0.25", data["boxes"][0][0][1]]
    elif how == "overlap":
        data["boxes"].append(data["boxes"][0])
    elif how == "other activation":
        data["key"]["activation"] = activations.get("relu").to_json()
    elif how == "other claim":
        data["key"]["claim"]["threshold"] = "-1"
    elif how == "damaged":
        state.write_text(state.read_text()[:-20])
        return
    elif how == "duplicate key":
        text = json.dumps(data)
        state.write_text('{"boxes": [], ' + text[1:])
        return
    state.write_text(json.dumps(data))


def test_a_file_that_is_not_a_state_is_refused_and_kept(tmp_path: Path) -> None:
    """Duplicate keys (or any file without the state's tag) is not a state this command
    wrote: refused before any work, never written over or removed."""
    state = state_path(tmp_path, CLAIM)
    _verify(max_boxes=40, state_dir=tmp_path)
    _tamper(state, "duplicate key")
    before = state.read_text()
    for resume in (True, False):
        with pytest.raises(InputError, match="not a state file this command wrote"):
            _verify(max_boxes=2000, state_dir=tmp_path, resume=resume)
    assert state.read_text() == before


@pytest.mark.parametrize("how", ["drop a box", "box outside", "overlap", "other activation",
                                 "other claim", "damaged"])
def test_tampered_state_is_ignored(tmp_path: Path, how: str) -> None:
    state = state_path(tmp_path, CLAIM)
    _verify(max_boxes=40, state_dir=tmp_path)
    _tamper(state, how)
    result = _verify(max_boxes=2000, state_dir=tmp_path, resume=True)
    assert result.resume == "unusable state" and result.verdict == "holds"


def test_a_state_claiming_a_false_claim_cannot_prove_it(tmp_path: Path) -> None:
    """The state holds boxes only: a state saved for a claim is no evidence for it."""
    false = Claim.parse("mean>1", Domain.parse(DOMAIN), name="user")
    state = state_path(tmp_path, CLAIM)
    _verify(max_boxes=40, state_dir=tmp_path)
    data = json.loads(state.read_text())
    data["key"] = Settings(bounder=BOUNDER).key(false)  # re-keyed for the false claim
    state.write_text(json.dumps(data))
    result = _verify(false, max_boxes=200, state_dir=tmp_path, resume=True)
    assert result.resume == "resumed" and result.verdict == "refuted"


def test_tolerance_refines_and_certificate_checks(tmp_path: Path) -> None:
    plain = _verify(max_boxes=3000)
    refined = _verify(max_boxes=3000, tolerance=Fraction(1, 10))
    assert refined.verdict == "holds" and refined.tolerance == Fraction(1, 10)
    lo, hi = refined.extremum
    truth = Fraction(str(_true_min()))
    assert lo <= truth <= hi + Fraction(1, 10**12)  # the proven end is a rigorous bound
    assert lo > plain.extremum[0]  # refining tightened the proven end
    assert refined.tolerance_met is (hi - lo <= Fraction(1, 10))
    if not refined.tolerance_met:
        assert "tolerance not met" in refined.reason
    report = check_certificate(write_certificate(tmp_path, refined.certificate_data()))
    assert report.valid and Fraction(report.extremum["exact"][0]) == lo


def test_default_and_given_names() -> None:
    relu = GaussianBounder.of(activations.get("relu"))
    a = claims_for("1", DOMAIN, "mean>0", None, BOUNDER)[0]
    b = claims_for("1", DOMAIN, "mean>0", None, relu)[0]
    c = claims_for("1", DOMAIN, "mean>0.1", None, BOUNDER)[0]
    assert a.name.startswith("user.mean.") and len(a.name.split(".")[-1]) == 12
    assert len({a.name, b.name, c.name}) == 3
    named = claims_for("1", DOMAIN, "mean>0", "my.claim", BOUNDER)[0]
    assert named.name == "my.claim"
    # built-in claims carry the activation in their names
    assert claims_for("1", None, None, None, BOUNDER)[0].name == (
        "theorem1_analogue.contraction[" + BOUNDER.claim_suffix()[1:])
    assert BOUNDER.claim_suffix().startswith("[1.5_relu.")


@pytest.mark.parametrize("args,message", [
    (["--name", "my.claim"], "--name names a user claim"),
    (["--domain", DOMAIN, "--claim", "mean>0", "--name", "bad name!"], "not a valid name"),
    (["--domain", DOMAIN, "--claim", "mean>0", "--tolerance", "-1"], "--tolerance must be"),
])
def test_bad_input_exits_2(args: list[str], message: str, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["verify-contraction", "--activation", "relu", "--certificate-dir",
              str(tmp_path), *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_cli_resume_name_and_tolerance(tmp_path: Path, capsys) -> None:
    common = ["verify-contraction", "--activation", "relu", "--scale", "1.5", "--domain",
              DOMAIN, "--claim", "mean>0", "--name", "r.mean", "--certificate-dir",
              str(tmp_path), "-j", "1", "--json"]
    with pytest.raises(SystemExit) as exc:
        main([*common, "--max-boxes", "40"])
    assert exc.value.code == 3  # undecided within the budget
    assert (tmp_path / ".state" / "r.mean.json").exists()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([*common, "--resume", "--tolerance", "0.1"])
    assert exc.value.code == 0
    captured = capsys.readouterr()
    entry = json.loads(captured.out)["claims"][0]
    assert entry["name"] == "r.mean" and "--resume:" not in captured.err  # resumed
    assert entry["holds"] is True and entry["tolerance"] == "0.1"
    assert Path(entry["certificate"]).name.startswith("r.mean.")
    assert not list((tmp_path / ".state").glob("*.json"))


def test_interrupt_saves_a_tiling_and_says_so(tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C between boxes of a batch: the boxes of the batch not yet decided are saved too,
    so the state tiles the domain and a resume uses it."""
    from snn_theory.certify.certificate.tiling import tiling_error
    from snn_theory.errors import Interrupted

    state = state_path(tmp_path, CLAIM)
    calls = {"n": 0}
    bound = activation_cells.box_bound

    def interrupted_bound(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 21:  # the second box of a round after the initial grid's 16
            raise KeyboardInterrupt
        return bound(*args, **kwargs)

    monkeypatch.setattr(activation_cells, "box_bound", interrupted_bound)
    with pytest.raises(Interrupted) as exc:
        _verify(max_boxes=2000, state_dir=tmp_path)
    monkeypatch.setattr(activation_cells, "box_bound", bound)
    assert exc.value.saved == (state,) and f"boxes of user in {state}" in exc.value.message()
    saved = [[(Fraction(a), Fraction(b)) for a, b in entry[0]]
             for entry in json.loads(state.read_text())["boxes"]]
    assert tiling_error(CLAIM.domain.bounds, saved) is None  # a tiling
    resumed = _verify(max_boxes=2000, state_dir=tmp_path, resume=True)
    assert resumed.resume == "resumed" and resumed.verdict == "holds"
