"""An interrupted run of several claims keeps its finished work (snn_theory/certify/search/).

The interrupt is raised deterministically by the progress callback once the first claim is
through; the claims are cheap (a few hundred boxes).  What is kept is never trusted: the
finished claim is re-proven from its saved boxes, and a tampered saved bound does not survive.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from snn_theory.certify.certificate.check import check_certificate
from snn_theory.certify.claims import THEOREM_DOMAINS, Claim, Domain
from snn_theory.certify.search.loop import verify_claim, verify_claims
from snn_theory.certify.search.settings import Settings
from snn_theory.errors import Interrupted

SMALL = Domain.parse("mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1")
#: decided on the initial grid (16 boxes), then one that needs about 100 rounds
FIRST = Claim.parse("spectral_norm<5", SMALL, name="first")
SECOND = Claim.parse("spectral_norm<1.2", THEOREM_DOMAINS["theorem1"], name="second")


def interrupt_in(claim_name: str, after_rounds: int):
    """A progress callback raising Ctrl-C after ``after_rounds`` rounds of that claim."""
    seen = {"n": 0}

    def progress(claim, _status) -> None:
        if claim.name == claim_name:
            seen["n"] += 1
            if seen["n"] == after_rounds:
                raise KeyboardInterrupt

    return progress


def test_interrupt_after_a_finished_claim_keeps_it_and_resume_reproves_it(tmp_path):
    state_dir = tmp_path / ".state"
    settings = Settings(jobs=1, state_dir=state_dir, save_every=1e9)
    fresh = verify_claims([FIRST, SECOND], Settings(jobs=1), None)
    with pytest.raises(Interrupted) as exc:
        verify_claims([FIRST, SECOND], settings, tmp_path,
                      progress=interrupt_in("second", 5))
    # exactly what was saved: the finished claim (certificate and final boxes) and the
    # running claim's boxes (the grid plus one box per finished round)
    first_state, second_state = state_dir / "first.json", state_dir / "second.json"
    assert exc.value.saved == (first_state, second_state)
    message = exc.value.message()
    assert "1 finished claim (first" in message and str(tmp_path / "first.cert.json") in message
    assert f"21 boxes of second in {second_state}" in message and "--resume" in message
    assert "nothing" not in message
    assert json.loads(first_state.read_text())["done"] is True
    assert check_certificate(tmp_path / "first.cert.json").valid

    # tamper with the finished claim's saved bounds: a resume re-derives them
    state = json.loads(first_state.read_text())
    for entry in state["boxes"]:
        entry[1] = "-1000"
    first_state.write_text(json.dumps(state))
    settings.resume = True
    rounds = {"first": 0, "second": 0}

    def count(claim, _status) -> None:
        rounds[claim.name] += 1

    first, second = verify_claims([FIRST, SECOND], settings, tmp_path, progress=count)
    assert (first.resume, second.resume) == ("resumed", "resumed")
    assert [r.verdict for r in (first, second)] == [r.verdict for r in fresh] == ["holds"] * 2
    assert first.extremum == fresh[0].extremum and second.extremum == fresh[1].extremum
    assert min(leaf.bound for leaf in first.leaves) > 0  # the tampered -1000 did not survive
    assert len(second.leaves) == len(fresh[1].leaves)
    assert rounds["second"] + 5 == len(fresh[1].leaves) - 16  # no finished round redone
    assert not state_dir.exists()  # the run is through: its states are gone
    assert check_certificate(first.certificate).valid and check_certificate(second.certificate).valid


def test_interrupt_in_the_first_boxes_of_a_later_claim_still_reports_the_finished_one(tmp_path):
    """Ctrl-C before the running claim saved anything: the finished claim is still kept and
    the message says so (not "nothing was written")."""
    settings = Settings(jobs=1, state_dir=tmp_path / ".state")

    def stop(result) -> None:  # right after the first claim's certificate is written
        raise KeyboardInterrupt

    with pytest.raises(Interrupted) as exc:
        verify_claims([FIRST, SECOND], settings, tmp_path, done=stop)
    assert exc.value.saved == (tmp_path / ".state" / "first.json",)
    assert "1 finished claim (first" in exc.value.message()
    settings.resume = True
    first, second = verify_claims([FIRST, SECOND], settings, tmp_path)
    assert (first.resume, second.resume) == ("resumed", "no state")


def test_a_single_claim_leaves_no_state_and_nothing_saved_is_said(tmp_path):
    def stop(*_):
        raise KeyboardInterrupt

    # interrupted in its very first round with no state directory: nothing is saved
    with pytest.raises(Interrupted) as exc:
        verify_claim(SECOND, Settings(jobs=1), progress=stop)
    assert exc.value.saved == () and "before anything was written" in exc.value.message()
    result = verify_claims([SECOND], Settings(jobs=1, state_dir=tmp_path / "s"), None)
    assert result[0].verdict == "holds" and not (tmp_path / "s").exists()


def test_a_file_that_is_not_a_search_state_is_never_touched(tmp_path):
    state_dir = tmp_path / ".state"
    state_dir.mkdir()
    mine = state_dir / "first.json"
    mine.write_text('{"my": "data"}')
    for resume in (False, True):
        with pytest.raises(Exception, match="not a state file this command wrote") as exc:
            verify_claims([FIRST], Settings(jobs=1, state_dir=state_dir, resume=resume), None)
        assert type(exc.value).__name__ == "InputError"
    assert mine.read_text() == '{"my": "data"}'
    assert Fraction(5) == FIRST.threshold
