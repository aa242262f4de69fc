"""Human tables never wrap long numbers: a 50-digit constant is one unbroken run of digits
that copy and paste returns whole, even on an 80-column terminal."""

from __future__ import annotations

import json

import mpmath


def test_solve_constants_table_keeps_each_constant_on_one_line(cli, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = cli(["solve-constants", "--digits", "50"])
    assert code == 0
    lines = out.splitlines()
    lam_line = next(line for line in lines if line.startswith("│ λ "))
    printed = lam_line.split("│")[2].strip()
    # the whole certified decimal of λ01 on that line: compare with its closed form at 60 digits
    with mpmath.workdps(60):
        from snn_theory.evaluate import backends

        lam01, alpha01 = backends.constants_function("mpmath")()
        assert abs(mpmath.mpf(printed) - lam01) < mpmath.mpf("1e-49")
    assert len(printed.replace("-", "").replace(".", "")) >= 51  # 1 + 50 decimals, not cut
    alpha_line = next(line for line in lines if line.startswith("│ α "))
    with mpmath.workdps(60):
        assert abs(mpmath.mpf(alpha_line.split("│")[2].strip()) - alpha01) < mpmath.mpf("1e-49")


def test_map_table_keeps_each_value_on_one_line(cli, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    args = ["map", "--mu", "0.1", "--omega", "0.05", "--nu", "1.2", "--digits", "70"]
    code, out, _ = cli(args)
    assert code == 0
    code, js, _ = cli([*args, "--json"])
    expected = json.loads(js)["spectral_norm"]
    row = next(line for line in out.splitlines() if "spectral norm" in line)
    assert row.split("│")[2].strip() == expected and len(expected) > 70
