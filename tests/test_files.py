"""snn_theory/files.py: the state-file rule (a file without this command's tag is never
written over or removed; a damaged state of this command is reported and kept) and the
same rule for output files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from snn_theory.errors import InputError
from snn_theory.files import STATE_TAG, StateFile, check_overwrite

KEY = {"version": 1, "settings": [1, 2]}


@pytest.mark.parametrize("content", ['{"my": "data"}', "not json at all", "[1, 2]",
                                     '{"format": "snn-theory-state", "kind": "other"}',
                                     '{"format": "x", "kind": "test-kind"}', ""])
def test_a_foreign_file_is_never_written_or_removed(tmp_path: Path, content: str) -> None:
    path = tmp_path / "important.json"
    path.write_text(content)
    state = StateFile(path, "test-kind")
    for action in (state.check_target, lambda: state.load(KEY),
                   lambda: state.save(KEY, {"boxes": []})):
        with pytest.raises(InputError, match="not a state file this command wrote"):
            action()
    state.remove()
    assert path.read_text() == content


def test_own_states_round_trip_and_are_tagged(tmp_path: Path) -> None:
    state = StateFile(tmp_path / "sub" / "s.json", "test-kind")
    assert state.load(KEY).status == "absent"
    state.save(KEY, {"boxes": [[1, 2]]})
    doc = json.loads(state.path.read_text())
    assert (doc["format"], doc["kind"], doc["key"]) == (STATE_TAG, "test-kind", KEY)
    loaded = state.load(KEY)
    assert loaded.status == "ok" and loaded.data["boxes"] == [[1, 2]]
    assert state.load({"version": 2}).status == "other settings"
    state.save({"version": 2}, {})  # its own kind: replaced
    state.remove()
    assert not state.path.exists()


@pytest.mark.parametrize("damage", ["truncated", "duplicate"])
def test_a_damaged_own_state_is_reported_and_kept(tmp_path: Path, damage: str) -> None:
    state = StateFile(tmp_path / "s.json", "test-kind")
    state.save(KEY, {"boxes": [[1, 2]]})
    text = state.path.read_text()
    text = text[:-5] if damage == "truncated" else text[:-1] + ',"key":1}'
    state.path.write_text(text)
    loaded = state.load(KEY)
    assert loaded.status == "damaged" and loaded.data is None and "JSON" in loaded.reason
    assert state.path.read_text() == text


def test_check_overwrite(tmp_path: Path) -> None:
    mine, theirs = tmp_path / "mine.txt", tmp_path / "theirs.txt"
    mine.write_text("written by us")
    theirs.write_text("a user's notes")

    def ours(p: Path) -> bool:
        return p.read_text() == "written by us"

    assert check_overwrite(mine, ours, "--out") == mine
    assert check_overwrite(tmp_path / "new.txt", ours, "--out") == tmp_path / "new.txt"
    with pytest.raises(InputError, match="not a file this command wrote"):
        check_overwrite(theirs, ours, "--out")
    with pytest.raises(InputError, match="directory"):
        check_overwrite(tmp_path, ours, "--out")
