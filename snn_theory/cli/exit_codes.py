"""The exit codes of ``snn-theory``, in one place (the command line's, not the library's).

The library returns typed outcomes (verdicts, certified or not) and raises the errors of
:mod:`snn_theory.errors`; the commands map them to these codes:

* 0 — everything asked for holds (certified where the command says so);
* 1 — a claim is false (with a checked counterexample), or a reproduction stage did not hold;
  also an unexpected internal error;
* 2 — bad input (:class:`snn_theory.errors.InputError`);
* 3 — not certified: the mathematics, not the input, failed to decide (an enclosure too
  wide, a budget spent, a refuted or undecided claim reported as such); nothing is claimed;
* 4 — a numerical method broke down on valid input
  (:class:`snn_theory.errors.NumericalFailure`);
* 130 — interrupted (Ctrl-C).
"""

from __future__ import annotations

from collections.abc import Iterable

EXIT_OK = 0
EXIT_FALSE = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_CERTIFIED = 3
EXIT_NUMERICAL_FAILURE = 4
EXIT_INTERRUPTED = 130


def verdicts_exit_code(verdicts: Iterable[str]) -> int:
    """The exit code of a list of claim verdicts (holds / refuted / undecided): 1 when one
    is refuted, else 3 when one is undecided, else 0."""
    verdicts = list(verdicts)
    if "refuted" in verdicts:
        return EXIT_FALSE
    return EXIT_NOT_CERTIFIED if "undecided" in verdicts else EXIT_OK


__all__ = ["EXIT_BAD_INPUT", "EXIT_FALSE", "EXIT_INTERRUPTED", "EXIT_NOT_CERTIFIED",
           "EXIT_NUMERICAL_FAILURE", "EXIT_OK", "verdicts_exit_code"]
