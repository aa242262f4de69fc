"""The documentation and the commands' help texts name only commands that exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import click

from snn_theory.cli.main import COMMANDS

REPO = Path(__file__).resolve().parents[2]
#: A command name quoted in code spans: `snn-theory NAME …` or a bare hyphenated `verb-noun`.
QUOTED = re.compile(r"`snn-theory ([a-z][a-z-]+)|`((?:verify|check|solve|map|plot|largest|"
                    r"activation|simulate|train|gain|propagate|reproduce)-[a-z-]+)[` ]")


def _named(text: str) -> set[str]:
    return {a or b for a, b in QUOTED.findall(text)}


def _help_texts(command: click.Command) -> list[str]:
    """The raw (unwrapped) help of a command, its options and its subcommands."""
    texts = [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]
    for sub in getattr(command, "commands", {}).values():
        texts += _help_texts(sub)
    return texts


def test_docs_and_help_name_only_existing_commands() -> None:
    commands = set(COMMANDS)
    assert {"verify-contraction", "map-domain", "check-certificate"} <= commands
    texts = {str(p.relative_to(REPO)): p.read_text(encoding="utf-8")
             for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]}
    for name, target in COMMANDS.items():
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        texts[f"{name} --help"] = "\n".join(_help_texts(command))
    ghosts = {where: sorted(_named(text) - commands) for where, text in texts.items()}
    assert not {where: g for where, g in ghosts.items() if g}
    # the check sees a command where one is named
    assert _named("run `verify-activation` or `snn-theory plot x`") == {"verify-activation",
                                                                         "plot"}
