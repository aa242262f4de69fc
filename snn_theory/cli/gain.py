"""``snn-theory gain``: certified variance-preserving gains of an activation.

    snn-theory gain --activation relu
    snn-theory gain --activation tanh --digits 30 --json
    snn-theory gain --activation "x*erfc(-x/sqrt(2))/2"

For Z ~ N(0, 1): γ_var = 1/√Var[f(Z)] (so Var[γ·f(Z)] = 1) and γ_2 = 1/√E[f(Z)²] (so
E[(γ·f(Z))²] = 1), enclosed in arb ball arithmetic from rigorous Gaussian integrals
(:mod:`snn_theory.certify.gains`).  ``lower``/``upper`` are outward-rounded bounds with --digits
decimals; beside them, for the built-ins, the values PyTorch's ``calculate_gain`` and the
NFNets table ship, with their relative errors (enclosed, rounded to 3 significant digits).

Exit codes: 0 certified; 2 bad input (unknown activation, bad expression, digits outside
1..1000); 3 an enclosure failed (non-finite integral): nothing is printed as certified.
"""

from __future__ import annotations

import json
import sys

import click
from flint import arb

from snn_theory.certify.gains import certified_gains
from snn_theory.cli.activation_option import activation_options, resolve_options
from snn_theory.cli.exit_codes import EXIT_NOT_CERTIFIED
from snn_theory.errors import InputError
from snn_theory.exact import SHORT_DIGITS, ball_text, decimal_enclosure
from snn_theory.precision import working_precision

MAX_DIGITS = 1000


def _relative(x: arb) -> str:
    """The relative error's enclosure rounded outward to 3 significant digits."""
    return ball_text(x, 3)


@click.command("gain")
@activation_options
@click.option("--digits", default=20, show_default=True, type=int,
              help=f"Decimal places, 1..{MAX_DIGITS}.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def gain_command(activation: str, scale: str, shift: str, digits: int, as_json: bool) -> None:
    """Certified gains γ with Var[γ·f(Z)] = 1 and with E[(γ·f(Z))²] = 1, Z ~ N(0, 1).

    Printed beside the framework values (PyTorch calculate_gain, compared with the
    second-moment gain; the NFNets gamma table, compared with the variance gain).
    """
    if not 1 <= digits <= MAX_DIGITS:
        raise InputError(f"--digits must be in 1..{MAX_DIGITS} (got {digits})")
    act = resolve_options(activation, scale, shift).activation
    with working_precision(digits=digits + 10):
        try:
            result = certified_gains(act)
        except ArithmeticError as exc:
            click.echo(f"snn-theory gain: error: NOT certified: {exc}", err=True)
            sys.exit(EXIT_NOT_CERTIFIED)
        gv = decimal_enclosure(result.variance_gain, digits)
        g2 = decimal_enclosure(result.second_moment_gain, digits)
        frameworks = [{"framework": f.framework, "value": f.value, "formula": f.formula,
                       "compared_with": f.compared_with,
                       "relative_error": _relative(f.relative_error), "note": f.note}
                      for f in result.frameworks]
        mean = decimal_enclosure(result.mean, digits)
        second = decimal_enclosure(result.second_moment, digits)
    if as_json:
        click.echo(json.dumps({"activation": act.to_json(), "certified": True,
                               "variance_gain": gv.as_dict(),
                               "second_moment_gain": g2.as_dict(),
                               "mean": mean.as_dict(), "second_moment": second.as_dict(),
                               "frameworks": frameworks}))
        return
    from snn_theory.cli.console import print_table, print_wrapped

    quantities = (("γ_var: Var[γ·f(Z)] = 1", result.variance_gain, gv),
                  ("γ_2: E[(γ·f(Z))²] = 1", result.second_moment_gain, g2),
                  ("E[f(Z)]", result.mean, mean), ("E[f(Z)²]", result.second_moment, second))
    print_table(f"gains of {act.label()} for Z ~ N(0, 1)",
                ("quantity", f"certified enclosure ({SHORT_DIGITS} significant digits)"),
                [(label, ball_text(ball, SHORT_DIGITS)) for label, ball, _ in quantities])
    if frameworks:
        print_table("shipped values",
                    ("framework", "value", "compared with", "relative error", "note"),
                    [(f["framework"], f"{f['value']!r} ({f['formula']})",
                      "γ_var" if f["compared_with"] == "variance" else "γ_2",
                      f["relative_error"], f["note"]) for f in frameworks])
    print_wrapped(f"certified enclosures to {digits} decimals (rounded outward; also in "
                  "--json):")
    for label, _, d in quantities:
        name = label.split(":")[0]
        print_wrapped(f"{name} ∈ [{d.lower}, {d.upper}]", indent="  ",
                      subsequent="  " + " " * (len(name) + 4))
