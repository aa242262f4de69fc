"""The errors snn-theory raises, in one place.

The library raises these; the command line maps each to one line on stderr and an exit code
(``snn_theory.cli.main``):

* :class:`InputError` — the input is invalid (exit 2);
* :class:`NumericalFailure` — a float or multiprecision computation broke down on valid input,
  e.g. Newton's method did not converge (exit 4); nothing is claimed;
* :class:`ArithmeticError` (Python's own) — a rigorous enclosure could not be made tight
  enough to decide, so nothing is certified (exit 3).
"""

from __future__ import annotations


class InputError(ValueError):
    """Invalid user input (the CLI prints it as one line and exits with code 2)."""


class NumericalFailure(Exception):
    """A numerical method broke down on valid input (the CLI prints it and exits with code 4).

    It is not :class:`InputError`: the input was acceptable, the computation failed.
    """


class PrecisionExhausted(ArithmeticError):
    """The working precision was raised as far as allowed and still did not determine the
    requested digits (cancellation too strong); nothing wrong is printed (exit code 3)."""


__all__ = ["InputError", "NumericalFailure", "PrecisionExhausted"]
