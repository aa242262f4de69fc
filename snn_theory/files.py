"""File-system helpers shared by the commands."""

from __future__ import annotations

import tempfile
from pathlib import Path

from snn_theory.errors import InputError


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
