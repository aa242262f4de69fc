"""Files: atomic writes, JSON with non-finite floats, and writability checks.

* :func:`atomic_write` — the one way snn-theory writes a file that others read (certificates,
  resume states, pavings, reports): a reader sees the old file or the complete new one, never
  a part of it, and a failed write leaves no partial file behind.
* :class:`StateFile` — the one way a long command keeps its resume state: the file carries a
  tag (``"format": "snn-theory-state"`` and the command's ``"kind"``), and a file without
  this command's tag is never written over or removed; a tagged file that cannot be used is
  reported and kept.  :func:`check_overwrite` is the same rule for output files; figures
  carry :data:`FIGURE_MARK` (:func:`is_own_figure`) and JSON outputs a ``"format"`` tag
  (:func:`tagged_json`).
* :func:`json_value` / :func:`dumps_json` — the one rule for non-finite floats in JSON:
  strict JSON has no NaN or infinity, so every non-finite float (Python or numpy) is written
  as ``null``; finite floats are written exactly (``repr`` round-trips a float64).
"""

from __future__ import annotations

import gzip
import json
import math
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snn_theory.errors import InputError


def atomic_write(path: str | Path, data: str | bytes, *, compress: bool = False) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; returns the path.

    The bytes go to a new temporary file in the same directory (created exclusively, with the
    permissions an ordinary write would give), are flushed to disk and then renamed over
    ``path`` (``os.replace``, atomic on POSIX and Windows).  If anything fails — the write, the
    disk, an interrupt — the temporary file is removed, ``path`` keeps its old content (or
    stays absent) and the exception propagates.  ``compress``: gzip with mtime 0 and no file
    name in the header, so the same data give the same bytes.  The parent directory is created
    if needed.
    """
    path = Path(path)
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if compress:
        raw = gzip.compress(raw, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def json_value(value: Any) -> Any:
    """``value`` as strict-JSON data: non-finite floats (NaN, ±infinity; Python or numpy)
    become ``None``; numpy arrays and scalars become lists and Python numbers; tuples become
    lists; dicts and lists are converted item by item.  Everything else is returned as it is.

    >>> json_value({"a": float("nan"), "b": (1.5, float("-inf")), "c": [2, None, "x"]})
    {'a': None, 'b': [1.5, None], 'c': [2, None, 'x']}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):  # numpy
        return json_value(value.tolist())
    return value


def dumps_json(value: Any, **options: Any) -> str:
    """``json.dumps`` of :func:`json_value` ``(value)``, strict (``allow_nan=False``): the
    text never holds ``NaN`` or ``Infinity``.  ``options`` go to :func:`json.dumps`.

    >>> dumps_json([float("inf"), 0.1])
    '[null, 0.1]'
    """
    return json.dumps(json_value(value), allow_nan=False, **options)


def writable_directory(path: str | Path, what: str) -> Path:
    """Create ``path`` if needed and prove it writable by writing a file there.

    (A real write, not ``os.access``: as root, access() says yes to read-only directories.)
    Raises :class:`InputError` naming ``what`` otherwise.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise InputError(f"{what} {str(path)!r} is not writable ({exc.strerror or exc})") from None
    return path


def writable_file(path: str | Path, what: str) -> Path:
    """Check, before any work, that a file can be written at ``path``: its directory exists
    and takes a real write, and ``path`` is not a directory.  Raises :class:`InputError`."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} {str(path)!r} is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{what} {str(path)!r}: directory {str(parent)!r} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise InputError(f"{what} {str(path)!r} is not writable ({exc.strerror or exc})") from None
    return path


# --------------------------------------------------------------------------- state files
def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object that names no key twice (a state is written by json.dumps of a dict)."""
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


#: The tag of every resume state snn-theory writes (with the command's ``kind``).
STATE_TAG = "snn-theory-state"


@dataclass(frozen=True)
class LoadedState:
    """What :meth:`StateFile.load` found: ``status`` "absent" (no file), "ok" (``data`` is
    the saved document, saved under the key asked for), "other settings" (a state of this
    kind saved under another key) or "damaged" (tagged as this kind but unreadable);
    ``reason`` says why it is not usable."""

    status: str
    data: dict[str, Any] | None = None
    reason: str = ""


@dataclass(frozen=True)
class StateFile:
    """The resume state of one long computation at ``path``, of one ``kind`` (e.g.
    "contraction-search", "domain-paving", "paper-grid-scan").

    The document is ``{"format": STATE_TAG, "kind": kind, "key": key, ...}``; ``key`` is
    what a later run must match to resume it (the computation's settings).  A state is a
    cache, never evidence: whatever is taken from it is re-checked by the caller.

    The rule for files it did not create: a file at ``path`` that is not a state of this
    kind (not JSON, or without the tag) is never written over or removed —
    :meth:`check_target` raises :class:`InputError` before any work, and :meth:`save` and
    :meth:`remove` refuse too.
    """

    path: Path
    kind: str

    def _tagged(self) -> tuple[bool, dict[str, Any] | None]:
        """(the file is a state of this kind, its document or None when it does not parse)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return False, None
        except OSError as exc:
            raise InputError(f"state file {str(self.path)!r} cannot be read "
                             f"({exc.strerror or exc})") from None
        try:
            data = json.loads(raw, object_pairs_hook=_unique_keys)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # not JSON: ours only if it starts with our tag (a write cut short elsewhere)
            head = raw[:200].replace(b" ", b"")
            tag = f'{{"format":"{STATE_TAG}","kind":{json.dumps(self.kind)}'.encode()
            return head.startswith(tag), None
        ours = (isinstance(data, dict) and data.get("format") == STATE_TAG
                and data.get("kind") == self.kind)
        return ours, data if ours else None

    def check_target(self) -> None:
        """Raise :class:`InputError` unless ``path`` is absent or a state of this kind (so a
        user's file given as the state is never touched)."""
        if self.path.is_dir():
            raise InputError(f"state file {str(self.path)!r} is a directory")
        if self.path.exists() and not self._tagged()[0]:
            raise InputError(f"{str(self.path)!r} is not a state file this command wrote "
                             f"({self.kind}); it is left untouched (name another state "
                             "file)")

    def load(self, key: Any) -> LoadedState:
        """The saved document if it is a state of this kind saved under ``key``.  Raises
        :class:`InputError` for a file that is not a state of this kind."""
        if not self.path.exists():
            return LoadedState("absent")
        self.check_target()
        _, data = self._tagged()
        if data is None:
            return LoadedState("damaged", reason="it is not valid JSON")
        if data.get("key") != key:
            return LoadedState("other settings", reason="it was saved for other settings")
        return LoadedState("ok", data)

    def save(self, key: Any, body: dict[str, Any]) -> Path:
        """Write ``{tag, "key": key, **body}`` atomically (never over a file that is not a
        state of this kind); returns the path."""
        self.check_target()
        doc = {"format": STATE_TAG, "kind": self.kind, "key": key, **body}
        return atomic_write(self.path, json.dumps(doc, separators=(",", ":")))

    def remove(self) -> None:
        """Delete the state once it is no longer needed (only a state of this kind)."""
        if self.path.exists() and self._tagged()[0]:
            self.path.unlink(missing_ok=True)


def check_overwrite(path: str | Path, ours: Callable[[Path], bool], what: str) -> Path:
    """Raise :class:`InputError` when ``path`` exists and ``ours(path)`` says it is not a file
    of the kind this command writes there (a command never overwrites a file it did not
    create); returns ``path``."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} {str(path)!r} is a directory")
    if path.exists() and not ours(path):
        raise InputError(f"{what} {str(path)!r} exists and is not a file this command wrote; "
                         "it is left untouched (remove it or choose another name)")
    return path


def numpy_archive_of(names: frozenset[str] | set[str]) -> Callable[[Path], bool]:
    """The ``ours`` test of :func:`check_overwrite` for ``.npz`` outputs: a numpy archive
    holding only arrays named in ``names`` (what the command writes there)."""
    import zipfile

    def ours(path: Path) -> bool:
        try:
            with zipfile.ZipFile(path) as archive:
                members = archive.namelist()
        except (OSError, zipfile.BadZipFile):
            return False
        return bool(members) and all(m.endswith(".npy") and m[:-4] in names for m in members)

    return ours


# --------------------------------------------------------------------------- output marks
#: The mark every figure snn-theory draws carries: PNG's text chunk ``Software``, SVG's and
#: PDF's ``Creator``.  A fixed text (no version, no date): the same figure gives the same bytes.
FIGURE_MARK = "snn-theory"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_text(raw: bytes) -> dict[bytes, bytes]:
    """The ``tEXt`` chunks before the image data of a PNG file (key → text); empty when
    ``raw`` is not a PNG or is cut short."""
    import struct

    texts: dict[bytes, bytes] = {}
    i = len(_PNG_SIGNATURE)
    while i + 8 <= len(raw):
        (length,), kind = struct.unpack(">I", raw[i:i + 4]), raw[i + 4:i + 8]
        if kind in (b"IDAT", b"IEND"):
            break
        if kind == b"tEXt":
            key, _, text = raw[i + 8:i + 8 + length].partition(b"\0")
            texts[key] = text
        i += 12 + length
    return texts


def is_own_figure(path: str | Path) -> bool:
    """The ``ours`` test of :func:`check_overwrite` for figures: a PNG whose ``Software`` text
    is :data:`FIGURE_MARK`, an SVG whose creator or a PDF whose ``/Creator`` is.  (A figure
    written by a version before the mark, or by anything else, is not ours.)"""
    import re

    try:
        raw = Path(path).read_bytes()
    except OSError:
        return False
    mark = FIGURE_MARK.encode()
    if raw.startswith(_PNG_SIGNATURE):
        return _png_text(raw).get(b"Software") == mark
    if raw.startswith(b"%PDF-"):
        return b"/Creator (" + mark + b")" in raw
    return re.search(rb"<dc:creator>\s*<cc:Agent>\s*<dc:title>" + re.escape(mark)
                     + rb"</dc:title>", raw[:20_000]) is not None


def tagged_json(tag: str) -> Callable[[Path], bool]:
    """The ``ours`` test of :func:`check_overwrite` for a JSON output whose top-level object
    carries ``"format": tag``."""

    def ours(path: Path) -> bool:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return False
        return isinstance(data, dict) and data.get("format") == tag

    return ours


def tagged_numpy_archive(tag: str) -> Callable[[Path], bool]:
    """The ``ours`` test of :func:`check_overwrite` for an ``.npz`` output that holds an array
    ``format`` equal to ``tag`` (written beside the command's arrays)."""
    import zipfile

    def ours(path: Path) -> bool:
        import numpy as np

        try:
            with np.load(path, allow_pickle=False) as archive:
                return "format" in archive.files and str(archive["format"]) == tag
        except (OSError, ValueError, zipfile.BadZipFile, EOFError):
            return False

    return ours
