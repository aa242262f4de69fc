"""The subcommands of the ``snn-theory`` CLI (one module each), and what their output shares:
tables and paragraphs laid out for the terminal's width (rich's console width: the terminal,
or ``COLUMNS``), wrapped only at spaces, so that no number is ever split across lines."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

#: Width of each table column beyond its text: one space of padding each side, one border.
_COLUMN_EXTRA = 3


def unwrapped_console(*cells: str, margin: int = 60, **kwargs: Any) -> Any:
    """A rich Console wide enough that no table cell among ``cells`` is wrapped or cut: a
    50-digit constant stays one line, so that it can be copied and pasted (the terminal may
    still fold the display, but not the text)."""
    from rich.console import Console

    width = max([Console().width, *(len(str(c)) + margin for c in cells)])
    return Console(width=width, soft_wrap=False, **kwargs)


def _console(console: Any = None) -> Any:
    from rich.console import Console

    return console if console is not None else Console()


def _words(text: str) -> list[str]:
    return text.split() or [""]


def _cell_len(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def wrap(text: str, width: int, indent: str = "", subsequent: str | None = None) -> list[str]:
    """``text`` wrapped at spaces to ``width`` columns; a word longer than a line (a number
    with hundreds of digits) stays whole on its own line."""
    return textwrap.wrap(text, width=max(width, 1), initial_indent=indent,
                         subsequent_indent=indent if subsequent is None else subsequent,
                         break_long_words=False, break_on_hyphens=False) or [indent]


def print_wrapped(text: str, *, console: Any = None, indent: str = "",
                  subsequent: str | None = None) -> None:
    """A paragraph wrapped at spaces to the console's width (never inside a number)."""
    from rich.text import Text

    con = _console(console)
    for line in wrap(text, con.width, indent, subsequent):
        con.print(Text(line), soft_wrap=True)


def _column_widths(columns: Sequence[str], rows: Sequence[Sequence[str]],
                   width: int) -> list[int] | None:
    """Text widths of the columns (without padding and borders) such that the table fits
    ``width`` and every cell wraps at spaces only; None when even the longest words do not
    fit side by side."""
    table = [list(columns), *map(list, rows)]
    natural = [max(_cell_len(r[i]) for r in table) for i in range(len(columns))]
    least = [max(_cell_len(w) for r in table for w in _words(r[i]))
             for i in range(len(columns))]
    room = width - _COLUMN_EXTRA * len(columns) - 1
    if sum(natural) <= room:
        return natural
    if sum(least) > room:
        return None
    # the columns that need least to show whole get it first (fewest wrapped columns); the
    # others share what is left in proportion to what they lack
    widths, spare = list(least), room - sum(least)
    order = sorted(range(len(widths)), key=lambda i: natural[i] - least[i])
    for k, i in enumerate(order):
        rest = order[k:]
        lacking = sum(natural[j] - least[j] for j in rest)
        if natural[i] - least[i] <= spare // len(rest):
            widths[i], spare = natural[i], spare - (natural[i] - least[i])
        elif lacking:
            for j in rest:
                widths[j] += (natural[j] - least[j]) * spare // lacking
            break
    return widths


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]], *,
                right: Iterable[str] = (), console: Any = None) -> None:
    """Rows of plain text (never rich markup) under ``columns``, laid out for the console's
    width: a table when one fits with every cell wrapped at spaces only; otherwise one block
    per row, its first cell as a heading and the others as ``column  value`` lines.  Either
    way no line is wider than the console, unless a single word is (it is then kept whole:
    the terminal may fold the display, but a copied number is complete)."""
    from rich.table import Table
    from rich.text import Text

    con = _console(console)
    rows = [[str(c) for c in row] for row in rows]
    right = set(right)
    widths = _column_widths(columns, rows, con.width)
    if widths is not None:
        table = Table(title=Text(title) if title else None)
        for name, w in zip(columns, widths, strict=True):
            table.add_column(name, width=w, overflow="fold",
                             justify="right" if name in right else "left")
        for row in rows:
            table.add_row(*(Text(c) for c in row))
        con.print(table)
        return
    if title:
        print_wrapped(title, console=con)
    key = max((_cell_len(c) for c in columns[1:]), default=0) + 2
    for row in rows:
        print_wrapped(row[0], console=con)
        for name, cell in zip(columns[1:], row[1:], strict=True):
            first = f"  {name.ljust(key)}"
            room = con.width - len(first)
            if room < 24 or room < max(_cell_len(w) for w in _words(cell)):
                # too narrow beside the key (or a word of the value would not fit): below it
                print_wrapped(name, console=con, indent="  ")
                print_wrapped(cell, console=con, indent="    ")
            else:
                print_wrapped(cell, console=con, indent=first, subsequent=" " * len(first))


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


def value_formatter(backend: str, digits: int, shown: int, as_json: bool) -> Any:
    """How ``map`` and ``map --network`` print one value of a number system: mpmath to
    ``digits`` digits; an arb ball with the ``shown`` digits it determines (arb trims the
    rest, and prints the radius); a float backend's float64 as it is (``None`` in JSON, a
    note in text, when it is not finite)."""
    import math

    if backend == "mpmath":
        import mpmath

        return lambda x: mpmath.nstr(x, digits, min_fixed=-4, max_fixed=digits)
    if backend == "arb":
        return lambda x: x.str(shown, radius=True)

    def as_float(x: Any) -> Any:
        value = float(x)
        if not math.isfinite(value):
            return None if as_json else "nan/inf (outside float64)"
        return value if as_json else repr(value)

    return as_float
