"""The errors snn-theory raises, in one place.

The library raises these; the command line maps each to one line on stderr and an exit code
(``snn_theory.cli.main``):

* :class:`InputError` — the input is invalid (exit 2); :class:`DomainUndecided`, one of
  them, when a ball straddles the edge of a map's domain;
* :class:`NumericalFailure` — a float or multiprecision computation broke down on valid input,
  e.g. Newton's method did not converge (exit 4); nothing is claimed;
* :class:`ArithmeticError` (Python's own) — a rigorous enclosure could not be made tight
  enough to decide, so nothing is certified (exit 3);
* :class:`TrivialFixedPoint` — an :class:`ArithmeticError`: the variance falls to ν* = 0, so
  no fixed point with ν* > 0 exists to certify (exit 3);
* :class:`Interrupted` — Ctrl-C in a long command, after its finished work was saved; it
  says exactly what was saved and how to continue (exit 130).
"""

from __future__ import annotations


class InputError(ValueError):
    """Invalid user input (the CLI prints it as one line and exits with code 2)."""


class DomainUndecided(InputError):
    """A ball of an argument straddles the edge of a map's domain (e.g. the enclosure of ν
    contains 0 and positive values): the point may be valid, its enclosure cannot show it.
    An :class:`InputError` where the caller cannot tell the two apart; a caller that
    evaluates balls it made itself (iterates, boxes) catches this one instead."""


class NumericalFailure(Exception):
    """A numerical method broke down on valid input (the CLI prints it and exits with code 4).

    It is not :class:`InputError`: the input was acceptable, the computation failed.
    """


class PrecisionExhausted(ArithmeticError):
    """The working precision was raised as far as allowed and still did not determine the
    requested digits (cancellation too strong); nothing wrong is printed (exit code 3)."""


class TrivialFixedPoint(ArithmeticError):
    """The moment map drives the variance to the trivial fixed point ν* = 0, so there is no
    fixed point with ν* > 0 to certify (a diagnosis, stated as such in the message, with what
    to do instead); the mathematics, not the input, failed (exit code 3)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a long computation, raised after its work was saved (every long command
    saves and reports the same way; a resumed run re-checks what it takes, never trusts it).

    ``saved``: the files that hold the saved work (empty: nothing finished yet);
    ``summary``: what they hold, e.g. "2 finished claims (certificates a, b) and the 120
    boxes of the running claim (.state/c.json)"; ``resume``: how to continue.
    """

    def __init__(self, saved: tuple = (), summary: str = "", resume: str = ""):
        super().__init__()
        self.saved = tuple(saved)
        self.summary = summary
        self.resume = resume

    def message(self) -> str:
        """The one line the command line prints."""
        if not self.saved:
            return "interrupted before anything was written (a rerun starts afresh)"
        text = f"interrupted; saved {self.summary or ', '.join(map(str, self.saved))}"
        return f"{text} ({self.resume})" if self.resume else text


__all__ = ["DomainUndecided", "InputError", "Interrupted", "NumericalFailure", "PrecisionExhausted",
           "TrivialFixedPoint"]
