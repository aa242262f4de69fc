"""The ``snn-theory`` command line.

Every subcommand lives in its own module under :mod:`snn_theory.cli` and is listed in
:data:`COMMANDS`; this module only wires them up and enforces the error contract:

* bad input → one line ``snn-theory <command>: error: <message>`` on stderr, exit code 2;
* a rigorous enclosure that cannot decide → "not certified: …", exit code 3;
* a numerical method that broke down on valid input → "numerical failure: …", exit code 4;
* Ctrl-C → one line, exit 130 (long commands save their progress first and say where);
* an unexpected internal error → one line naming it, exit 1
  (set ``SNN_THEORY_DEBUG=1`` to see the traceback).
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from snn_theory.cli.exit_codes import (
    EXIT_BAD_INPUT,
    EXIT_FALSE,
    EXIT_INTERRUPTED,
    EXIT_NOT_CERTIFIED,
    EXIT_NUMERICAL_FAILURE,
)
from snn_theory.errors import InputError, Interrupted, NumericalFailure
from snn_theory.exact import check_ascii_digits

#: command name → "module:attribute" of its click command (imported only when used).
COMMANDS: dict[str, str] = {
    "map": "snn_theory.cli.map:map_command",
    "solve-constants": "snn_theory.cli.solve_constants:solve_constants_command",
    "rounding": "snn_theory.cli.rounding:rounding_command",
    "initializers": "snn_theory.cli.initializers:initializers_command",
    "verify-contraction": "snn_theory.cli.verify:verify_command",
    "check-certificate": "snn_theory.cli.check:check_certificate_command",
    "simulate": "snn_theory.cli.simulate:simulate_command",
    "plot": "snn_theory.cli.plot:plot_group",
    "reproduce": "snn_theory.cli.reproduce:reproduce_command",
    "propagate": "snn_theory.cli.propagate:propagate_command",
    "train": "snn_theory.cli.train:train_command",
    "certify-network": "snn_theory.cli.certify_network:certify_network_command",
    "gain": "snn_theory.cli.gain:gain_command",
    "activation-table": "snn_theory.cli.activation_table:activation_table_command",
    "map-domain": "snn_theory.cli.map_domain:map_domain_command",
    "largest-box": "snn_theory.cli.largest_box:largest_box_command",
    "shape": "snn_theory.cli.shape:shape_command",
    "dyt-table": "snn_theory.cli.dyt_table:dyt_table_command",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module_name), attribute)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="snn-theory")
def cli() -> None:
    """Rigorous numerical verification of self-normalizing neural network theory.

    The SELU mean/variance map g: (μ, ν) ↦ (μ̃, ν̃) of Klambauer et al. (2017), its
    constants λ01, α01, the contraction theorems proven in ball arithmetic with
    certificates, wide-network simulations in JAX, and pictures.

    Start with `snn-theory reproduce --quick`, or `snn-theory COMMAND --help`.
    """


def _fail(command: str, message: str, code: int) -> None:
    message = " ".join(str(message).split())  # always one line
    click.echo(f"snn-theory{(' ' + command) if command else ''}: error: {message}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args and not args[0].startswith("-") else ""
    try:  # e.g. full-width '１': Python (and click's int options) would read it as 1
        for arg in args:
            check_ascii_digits(arg)
    except InputError as exc:
        _fail(command, str(exc), EXIT_BAD_INPUT)
    try:
        # make_context + invoke rather than cli.main: main would print a stray blank line
        # on Ctrl-C before our own one-line message.
        with cli.make_context("snn-theory", list(args)) as ctx:
            cli.invoke(ctx)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "")
        sys.exit(0)
    except click.UsageError as exc:
        _fail(command, exc.format_message(), EXIT_BAD_INPUT)
    except click.ClickException as exc:
        _fail(command, exc.format_message(), exc.exit_code if exc.exit_code != 1 else EXIT_BAD_INPUT)
    except InputError as exc:
        _fail(command, str(exc), EXIT_BAD_INPUT)
    except NumericalFailure as exc:
        # valid input on which a numerical method broke down: nothing is claimed
        _fail(command, f"numerical failure: {exc}", EXIT_NUMERICAL_FAILURE)
    except click.exceptions.Abort:
        _fail(command, "interrupted", EXIT_INTERRUPTED)
    except Interrupted as exc:  # a long command saved its work and says exactly what
        _fail(command, exc.message(), EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        _fail(command, "interrupted", EXIT_INTERRUPTED)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
    except MemoryError:
        _fail(command, "the requested sizes do not fit in memory; choose smaller ones", EXIT_BAD_INPUT)
    except ArithmeticError as exc:
        # the mathematics, not the input, failed (e.g. an enclosure that is not finite or a
        # rigorous integral that did not reach its accuracy): nothing is claimed
        if os.environ.get("SNN_THEORY_DEBUG"):
            raise
        _fail(command, f"not certified: {' '.join(str(exc).split())}", EXIT_NOT_CERTIFIED)
    except Exception as exc:  # pragma: no cover - last resort, keep it to one line
        if os.environ.get("SNN_THEORY_DEBUG"):
            raise
        _fail(command, f"internal error: {type(exc).__name__}: {exc} "
                       "(set SNN_THEORY_DEBUG=1 for a traceback)", EXIT_FALSE)
    else:
        sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
