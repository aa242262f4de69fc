"""File-system helpers shared by the commands."""

from __future__ import annotations

import tempfile
from pathlib import Path

from snn_theory.moment_map import InputError


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
