"""``verify-contraction --method paper``: the paper's own method behind the verifier's
command keeps the error contract, and the command (not the library) exposes the CPU cores to
JAX."""

from __future__ import annotations

import os
import sys

import jax  # noqa: F401  (imported first: this process keeps JAX's default devices)
import pytest


def test_cli_method_paper_bad_input_if_wired(cli) -> None:
    """`verify-contraction --method paper` (dispatched by the verify command) rejects a theorem
    the paper's method does not cover with exit 2 and one line, no traceback."""
    proc = cli.process(["verify-contraction", "--method", "paper", "--theorem", "2", "--grid",
                        "coarse"], timeout=120)
    assert proc.code == 2
    assert len(proc.err.strip().splitlines()) == 1 and "Traceback" not in proc.err


def test_cli_exposes_the_cpu_cores_before_jax_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI (not the library) makes every CPU core a JAX device, and only while JAX has
    not started (afterwards its devices are fixed).  (sys.modules and the environment are
    restored after the test.)"""
    from snn_theory.cli.verify_paper import expose_cpu_cores

    monkeypatch.delenv("XLA_FLAGS", raising=False)
    expose_cpu_cores()  # JAX runs in this process: nothing changes
    assert "XLA_FLAGS" not in os.environ
    monkeypatch.delitem(sys.modules, "jax")  # as before JAX starts
    expose_cpu_cores()
    assert os.environ["XLA_FLAGS"] == f"--xla_force_host_platform_device_count={os.cpu_count()}"
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=3")
    expose_cpu_cores()  # a count the user chose is kept
    assert os.environ["XLA_FLAGS"] == "--xla_force_host_platform_device_count=3"
