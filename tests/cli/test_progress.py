"""The commands' progress displays (snn_theory.cli.progress): drawn on stderr only when
asked for and stderr is a terminal, never on stdout; text is printed as given (no markup);
the bar is the ``(done, total)`` callback the library takes."""

from __future__ import annotations

import json

import pytest

from snn_theory.cli.progress import progress_bar


def test_hidden_display_draws_nothing_but_notes(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # a terminal, but the display is not asked for
    with progress_bar("work [b]x[/b]", total=3, show=False, count="cells") as bar:
        assert not bar.shown
        bar(1, 3)
        bar.describe("claim[lam=2]")
        bar.advance()
        bar.line("second").remove()
        bar.note("stage done [b]literally[/b]")
    out, err = capsys.readouterr()
    assert out == "" and err == "stage done [b]literally[/b]\n"


def test_not_a_terminal_draws_nothing(capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    with progress_bar("work", total=2) as bar:  # stderr is pytest's capture: not a tty
        assert not bar.shown
        bar(2, 2)
    assert capsys.readouterr() == ("", "")


def test_terminal_display_shows_counts_and_text_as_given(capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", "120")
    with progress_bar("start", total=4, count="cells", auto_refresh=False) as bar:
        assert bar.shown
        bar.describe("theorem2.variance_decreases[lam=2,alpha=alpha01]")
        bar(3, 4)
        other = bar.line("[bold]second[/bold]", total=None)
        other(5)
    out, err = capsys.readouterr()
    assert out == ""
    assert "theorem2.variance_decreases[lam=2,alpha=alpha01]" in err  # not eaten as markup
    assert "3/4" in err and "cells" in err
    assert "[bold]second[/bold]" in err and "5/?" in err


def test_a_command_draws_on_stderr_and_keeps_stdout_clean(cli, monkeypatch) -> None:
    """simulate on a terminal draws its "layers" bar on stderr, none without one; the bar
    never reaches stdout; with --json there is no bar even on a terminal."""
    args = ["simulate", "--width", "32", "--depth", "3", "--batch", "8"]
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    plain = cli(args)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    drawn = cli(args)
    assert plain.code == drawn.code == 0
    assert "layers" in drawn.err and "layers" not in plain.err
    assert "layers" not in drawn.out
    # --json: no display even on a terminal, stdout is one JSON object
    quiet = cli([*args, "--json"])
    assert quiet.code == 0 and quiet.err == "" and json.loads(quiet.out)["layers"]
