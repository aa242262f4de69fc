"""The lines ``propagate`` and ``propagate --network`` print alike (cli/propagation_text.py)."""

from snn_theory.certify.propagation.cmap import NOT_EXCLUDED
from snn_theory.cli.propagation_text import print_phase


def test_only_the_pieces_excluded_are_counted(capsys) -> None:
    out = {
        "phase": {"phase": "ordered", "certificate": "rho < 1"},
        "no_other_fixed_points": {
            "proven": False,
            "pieces": [{"low": -1, "high": 0, "how": "Mehler"},
                       {"low": 0, "high": 1, "how": "Mehler"},
                       {"low": -1, "high": -1, "how": NOT_EXCLUDED}],
        },
    }
    print_phase(out, "the")
    text = " ".join(capsys.readouterr().out.split())
    assert "NOT proven: no other fixed points of the c-map in [-1, 1] (2 pieces excluded of 3)" \
        in text
