"""Files: atomic writes, JSON with non-finite floats, and writability checks.

* :func:`atomic_write` — the one way snn-theory writes a file that others read (certificates,
  resume states, pavings, reports): a reader sees the old file or the complete new one, never
  a part of it, and a failed write leaves no partial file behind.
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
