"""Suite-wide invariants, and the one way the tests run the command line (the ``cli``
fixture)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from collections.abc import Mapping, Sequence
from os import PathLike
from typing import NamedTuple

import pytest
from flint import ctx


@pytest.fixture(autouse=True)
def _arb_precision_is_restored(request: pytest.FixtureRequest):
    """python-flint's precision is process-global: no library call may change the caller's
    (every function sets its own precision in a scope and restores it), so that no result
    depends on what ran before it."""
    before = ctx.prec
    yield
    after = ctx.prec
    ctx.prec = before
    if after != before:
        pytest.fail(f"{request.node.nodeid} left arb's precision at {after} bits (was {before})")


class CliResult(NamedTuple):
    """What one run of ``snn-theory`` left behind: its exit status, stdout and stderr."""

    code: int
    out: str
    err: str


class Cli:
    """Runs ``snn-theory ARGS``.

    ``cli(args)`` runs it in this process through the console-script entry point
    (``snn_theory.cli.main.main``) with stdout and stderr captured; the entry point must end with
    an exit status, as it does under a shell.  ``cli.process(args)`` runs it in a fresh
    interpreter (``python -m snn_theory.cli.main``), for what only a real process shows: the exit
    status the shell sees, no traceback, signals.  ``cli.command`` is that interpreter's
    command line, for tests that drive the process themselves.
    """

    command: tuple[str, ...] = (sys.executable, "-m", "snn_theory.cli.main")

    def __call__(self, args: Sequence[str | PathLike[str]]) -> CliResult:
        from snn_theory.cli.main import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main([str(a) for a in args])
            except SystemExit as exc:
                code = exc.code
            else:
                pytest.fail(f"snn-theory {' '.join(map(str, args))} returned without an exit "
                            "status")
        return CliResult(int(code or 0), out.getvalue(), err.getvalue())

    def process(self, args: Sequence[str | PathLike[str]], *, timeout: float | None = None,
                env: Mapping[str, str] | None = None) -> CliResult:
        done = subprocess.run([*self.command, *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, env=env)
        return CliResult(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="session")
def cli() -> Cli:
    """The command line, run in this process (``cli(args)``) or in a fresh one
    (``cli.process(args)``); see :class:`Cli`."""
    return Cli()
