"""``snn-theory dyt-table``: the certified table as JSON, bad α → one line, exit 2."""

from __future__ import annotations

import json

from flint import arb


def test_dyt_table_json(cli) -> None:
    code, out, err = cli(["dyt-table", "--alpha", "0.5", "--alpha", "1", "--json"])
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert [r["alpha"] for r in rows] == ["0.5", "1"]
    assert all(r["attracting"] is True for r in rows)
    lo, hi = (float(x) for x in rows[1]["gamma"].strip("[]").split(","))
    assert lo <= hi and abs(lo - 1.5925374197) < 1e-9  # the gain of tanh for (0, 1)
    assert arb(rows[0]["spectral_norm"].strip("[]").split(",")[1]) < 1


def test_bad_alpha_is_one_line_exit_2(cli) -> None:
    for bad in ("0", "-1", "x"):
        code, out, err = cli(["dyt-table", "--alpha", bad])
        assert code == 2 and out == "" and err.count("\n") == 1
