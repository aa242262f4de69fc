"""``snn-theory map-domain --plane/--region``: the plane, range and resume errors are bad
input — exit 2 with one line on stderr (the pavings themselves: tests/test_domain_planes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--plane", "nu,nu"], "repeated"),
        (["--plane", "nu,foo"], "unknown variable"),
        (["--plane", "lam,tau"], "together"),
        (["--plane", "nu"], "two variables"),
        (["--plane", "nu,tau", "--region", "nu=1:1"], "empty or inverted"),
        (["--plane", "nu,tau", "--region", "nu=1.2:0.9"], "empty or inverted"),
        (["--plane", "nu,tau", "--region", "lam=1:2"], "not a variable of the plane"),
        (["--plane", "nu,tau", "--region", "nu=0.9:1,nu=1:1.1"], "twice"),
        (["--plane", "nu,tau", "--region", "nu=0:1"], "> 0"),
        (["--plane", "lam,alpha", "--activation", "tanh"], "SELU"),
        (["--cells", "0"], "resolution"),
        (["--resume"], "no state file"),
    ],
)
def test_plane_errors_exit_2(args: list[str], needle: str, cli, tmp_path: Path) -> None:
    out_file = tmp_path / "p.json"
    code, out, err = cli(["map-domain", "--out", out_file, *args])
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and needle in err
