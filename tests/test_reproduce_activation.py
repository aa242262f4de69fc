"""The domain-map stage of ``reproduce`` fed tampered pavings: rejected before anything is
drawn (the command's ReLU run, its closed forms and bad input:
tests/cli/test_reproduce_activation.py)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from snn_theory.show.reproduce import results as res
from snn_theory.show.reproduce import stages as rp

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- domain map
def _tampered_paving(out: Path, edit) -> None:
    from snn_theory.certify.certificate.io import checksum

    content = json.loads(gzip.decompress((REPO / res.PAVING).read_bytes()))
    edit(content)
    content["checksum"] = checksum({k: v for k, v in content.items() if k != "checksum"})
    (out / "proofs").mkdir(parents=True)
    (out / res.PAVING).write_bytes(gzip.compress(json.dumps(content).encode(), mtime=0))


@pytest.mark.parametrize("edit, fragment", [
    (lambda c: c["constants"]["lam"].__setitem__(0, "1.05"), "constants"),
    (lambda c: c["cells"].pop(), "tile"),
])
def test_domain_stage_rejects_a_tampered_paving(tmp_path: Path, edit, fragment: str) -> None:
    """The committed paving is re-derived, never trusted: a re-checksummed edit is caught,
    and nothing is drawn from it."""
    _tampered_paving(tmp_path, edit)
    assert rp.paving_certificate(tmp_path) == tmp_path / res.PAVING
    result = rp.stage_domain(tmp_path, tmp_path / "figures", res.Tell(None, "domain-map"))
    assert result.report.valid is False and fragment in result.report.message
    assert result.ok is False and result.figure is None
    assert "REJECTED" in result.summary
    assert not (tmp_path / "figures" / "domain_map.png").exists()


def test_domain_stage_refuses_an_edited_file(tmp_path: Path) -> None:
    (tmp_path / "proofs").mkdir()
    shutil.copy(REPO / res.PAVING, tmp_path / res.PAVING)
    raw = bytearray(gzip.decompress((tmp_path / res.PAVING).read_bytes()))
    raw[raw.index(b'"proven"')] = ord(" ")  # one byte of the body changed
    (tmp_path / res.PAVING).write_bytes(gzip.compress(bytes(raw), mtime=0))
    result = rp.stage_domain(tmp_path, tmp_path / "figures", res.Tell(None, "domain-map"))
    assert result.report.valid is False and not result.ok
