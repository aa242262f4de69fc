"""``verify-contraction --method paper``: the paper's own method behind the verifier's
command keeps the error contract."""

from __future__ import annotations


def test_cli_method_paper_bad_input_if_wired(cli) -> None:
    """`verify-contraction --method paper` (dispatched by the verify command) rejects a theorem
    the paper's method does not cover with exit 2 and one line, no traceback."""
    proc = cli.process(["verify-contraction", "--method", "paper", "--theorem", "2", "--grid",
                        "coarse"], timeout=120)
    assert proc.code == 2
    assert len(proc.err.strip().splitlines()) == 1 and "Traceback" not in proc.err
