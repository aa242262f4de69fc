"""The one place that builds the commands' progress displays.

A display is a rich progress bar on stderr, drawn only when it is wanted (``show``: the
command's output is for a person, not ``--json``) and stderr is a terminal; it disappears
when the work is done (transient), so that what stays on the terminal is the result.  The
library never draws: its long functions take a callback, most of them ``(done, total) ->
None``, which a :class:`ProgressBar` is.  When the display is off every method does nothing,
so a command passes the same callback either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class ProgressBar:
    """One line of a progress display.

    ``bar(done, total)`` moves it (the callback the library takes; ``total`` None: an
    indeterminate bar), :meth:`describe` replaces its text (escaped: claim names and paths
    are printed as they are), :meth:`advance` counts one more, :meth:`line` adds another line
    to the same display, :meth:`note` prints a line above the display (also when the display
    is off)."""

    def __init__(self, progress: Any, task: Any, console: Any, auto_refresh: bool) -> None:
        self._progress, self._task, self._console = progress, task, console
        self._auto_refresh = auto_refresh

    @property
    def shown(self) -> bool:
        """Whether the display is drawn (stderr is a terminal and it was asked for)."""
        return not self._progress.disable

    def __call__(self, done: int, total: int | None = None) -> None:
        self._update(completed=done, total=total)

    def describe(self, text: str) -> None:
        from rich.markup import escape

        self._update(description=escape(text))

    def advance(self, step: int = 1) -> None:
        self._progress.advance(self._task, step)
        self._refresh()

    def line(self, description: str, total: int | None = None) -> ProgressBar:
        """Another line of this display (e.g. one per claim or per stage)."""
        from rich.markup import escape

        task = self._progress.add_task(escape(description), total=total)
        return ProgressBar(self._progress, task, self._console, self._auto_refresh)

    def remove(self) -> None:
        """Take this line off the display."""
        self._progress.remove_task(self._task)
        self._refresh()

    def note(self, text: str) -> None:
        """Print ``text`` (plain, no markup) on stderr above the display."""
        self._console.print(text, highlight=False, markup=False, soft_wrap=True)

    def _update(self, **fields: Any) -> None:
        self._progress.update(self._task, **fields)
        self._refresh()

    def _refresh(self) -> None:
        if not self._auto_refresh:
            self._progress.refresh()


@contextmanager
def progress_bar(description: str, total: int | None = None, *, show: bool = True,
                 spinner: bool = False, bar: bool = True, count: str | None = None,
                 auto_refresh: bool = True) -> Iterator[ProgressBar]:
    """A progress display on stderr with one line, ``description`` (escaped) over ``total``
    steps (None: not known yet), shown when ``show`` and stderr is a terminal.

    Columns: a spinner (``spinner``), the description, a bar (``bar``), ``done/total``
    followed by the unit ``count`` (when ``count`` is not None; ``""`` for no unit) and the
    elapsed time.  ``auto_refresh=False`` redraws only when the bar changes (no refresh
    thread: for commands that start worker processes while it is shown)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    columns: list[ProgressColumn] = []
    if spinner:
        columns.append(SpinnerColumn())
    columns.append(TextColumn("{task.description}"))
    if bar:
        columns.append(BarColumn())
    if count is not None:
        columns.append(MofNCompleteColumn())
        if count:
            columns.append(TextColumn(escape(count)))
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, auto_refresh=auto_refresh,
                  disable=not (show and console.is_terminal)) as progress:
        task = progress.add_task(escape(description), total=total)
        yield ProgressBar(progress, task, console, auto_refresh)


__all__ = ["ProgressBar", "progress_bar"]
