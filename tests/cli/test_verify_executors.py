"""``snn-theory verify-contraction --scheduler``: an unreachable or wrong peer and bad usage
are bad input (exit 2, one line, fast, nothing written); a real in-process Dask cluster writes
the same certificate bytes as a local run."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest

from tests.test_verify_executors import DOMAIN

if TYPE_CHECKING:
    from tests.conftest import CliResult


def _verify(cli, *args: str) -> CliResult:
    """``verify-contraction`` of the executors' small claim."""
    return cli(["verify-contraction", "--domain", DOMAIN, "--claim", "J22<0.892", *args])


def test_unreachable_scheduler_fails_fast(tmp_path, cli) -> None:
    start = time.perf_counter()
    code, _, err = _verify(
        cli, "--certificate-dir", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9"
    )
    assert code == 2 and "cannot reach the Dask scheduler" in err
    assert len(err.strip().splitlines()) == 1 and time.perf_counter() - start < 10
    assert not list(tmp_path.glob("*.cert.json"))


def test_a_peer_that_is_not_a_scheduler_is_bad_input(tmp_path, cli) -> None:
    """Something answers at the address, with bytes that are not Dask's protocol."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def garble() -> None:
        try:
            conn, _ = server.accept()
            conn.sendall(b"\xff" * 256)
            conn.close()
        except OSError:
            pass

    threading.Thread(target=garble, daemon=True).start()
    port = server.getsockname()[1]
    try:
        code, _, err = _verify(
            cli, "--certificate-dir", str(tmp_path), "--scheduler", f"tcp://127.0.0.1:{port}"
        )
    finally:
        server.close()
    assert code == 2 and "Dask scheduler" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--scheduler", "localhost:8786"], "expected an address like tcp://HOST:8786"),
        (["--scheduler", "tcp://127.0.0.1:9", "--jobs", "2"], "does not combine with --jobs"),
    ],
)
def test_bad_scheduler_usage_is_one_line_exit_2(args, fragment, tmp_path, cli) -> None:
    code, _, err = _verify(cli, "--certificate-dir", str(tmp_path), *args)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1


def test_cli_scheduler_writes_the_local_certificate(tmp_path, cli) -> None:
    from distributed import LocalCluster

    code, _, _ = _verify(cli, "--jobs", "1", "--json", "--certificate-dir", str(tmp_path / "a"))
    assert code == 0
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        code, out, _ = _verify(
            cli,
            "--json",
            "--scheduler",
            cluster.scheduler_address,
            "--certificate-dir",
            str(tmp_path / "b"),
        )
    assert code == 0 and json.loads(out)["claims"][0]["holds"] is True
    (a,) = (tmp_path / "a").glob("*.cert.json")
    (b,) = (tmp_path / "b").glob("*.cert.json")
    assert a.name == b.name and a.read_bytes() == b.read_bytes()


def test_any_activation_runs_on_processes_and_on_a_cluster(tmp_path, cli) -> None:
    """The one search serves another activation on every executor: a Dask cluster with one
    thread writes the bytes of a local run with one process, and two local processes prove
    the claim too (their certificate re-checked)."""
    from distributed import LocalCluster

    from snn_theory.certify.certificate.check import check_certificate

    args = ["verify-contraction", "--activation", "relu", "--scale", "3/2", "--domain",
            "mu=0.5:0.75,omega=0.5:0.75,nu=0.5:0.75,tau=0.5:0.75", "--claim", "mean>0.2",
            "--json", "--certificate-dir"]
    code, _, err = cli([*args, str(tmp_path / "a"), "--jobs", "1"])
    assert code == 0, err
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        code, out, err = cli([*args, str(tmp_path / "b"), "--scheduler",
                              cluster.scheduler_address])
    assert code == 0 and json.loads(out)["claims"][0]["holds"] is True, err
    (a,) = (tmp_path / "a").glob("*.cert.json")
    (b,) = (tmp_path / "b").glob("*.cert.json")
    assert a.name == b.name and a.read_bytes() == b.read_bytes()
    code, out, err = cli([*args, str(tmp_path / "c"), "--jobs", "2"])
    assert code == 0 and json.loads(out)["claims"][0]["holds"] is True, err
    (c,) = (tmp_path / "c").glob("*.cert.json")
    assert check_certificate(c).valid
