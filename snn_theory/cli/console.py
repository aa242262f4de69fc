"""The subcommands of the ``snn-theory`` CLI (one module each), and what their output shares."""

from __future__ import annotations

from typing import Any


def unwrapped_console(*cells: str, margin: int = 60, **kwargs: Any) -> Any:
    """A rich Console wide enough that no table cell among ``cells`` is wrapped or cut: a
    50-digit constant stays one line, so that it can be copied and pasted (the terminal may
    still fold the display, but not the text)."""
    from rich.console import Console

    width = max([Console().width, *(len(str(c)) + margin for c in cells)])
    return Console(width=width, soft_wrap=False, **kwargs)


def verdict_cell(result: Any) -> str:
    """The verdict column of a claim's result in the tables of ``verify-contraction`` (for
    SELU and for any other activation): holds (certified), FALSE at the checked
    counterexample, or undecided with the reason."""
    if result.verdict == "holds":
        return "holds (certified)"
    if result.verdict == "refuted":
        from snn_theory.exact import format_fraction

        point = ", ".join(format_fraction(x) for x in result.counterexample[0])  # exact
        return f"FALSE at ({point})"
    return f"undecided: {result.reason}"
