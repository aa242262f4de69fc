"""``snn-theory solve-constants --activation NAME``: certified c, d of c·f(x) + d.

The presentation half of :func:`snn_theory.evaluate.activation_map.solve_affine` (the maths and the
guarantee are documented there): table, ``--json`` or ``--format python``.
"""

from __future__ import annotations

import json
import sys

import click

from snn_theory.cli.exit_codes import EXIT_NOT_CERTIFIED
from snn_theory.derive.activations import Activation
from snn_theory.evaluate.activation_map import AffineResult
from snn_theory.exact import (
    SHORT_DIGITS,
    ball_text,
    decimal_enclosure,
    format_fraction,
    nearest_float,
)
from snn_theory.precision import working_precision


def _json(result: AffineResult, digits: int) -> dict:
    out = {
        "activation": result.activation.to_json(),
        "target": {"mean": format_fraction(result.mean),
                   "variance": format_fraction(result.variance),
                   "omega": format_fraction(result.omega), "tau": format_fraction(result.tau)},
        "certified": result.certified,
        "method": result.method,
        "digits": digits,
        "precision_bits": result.precision_bits,
        "seconds": round(result.seconds, 3),
    }
    if result.certified:
        out["scale"] = decimal_enclosure(result.scale, digits).as_dict()
        out["shift"] = decimal_enclosure(result.shift, digits).as_dict()
        out["scale"]["float64"] = nearest_float(result.scale)
        out["shift"]["float64"] = nearest_float(result.shift)
    return out


def run_affine(act: Activation, mean: str, variance: str, omega: str, tau: str, digits: int,
               as_json: bool, fmt: str, solved: AffineResult | ArithmeticError) -> None:
    """Present the c, d that the library's :func:`snn_theory.certify.constants.solve_constants`
    returned for this activation (or the failure of a rigorous integral it raised)."""
    result, reason = (None, str(solved)) if isinstance(solved, ArithmeticError) else (solved, "")
    if result is not None and not result.certified:
        reason = result.method
    out = None
    if result is not None:
        with working_precision(bits=result.precision_bits):
            out = _json(result, digits)
    if result is None or not result.certified:
        if as_json:
            click.echo(json.dumps({"certified": False, "scale": None, "shift": None,
                                   "error": reason}))
        click.echo(f"snn-theory solve-constants: error: NOT certified: {reason}; no constants "
                   "are reported", err=True)
        sys.exit(EXIT_NOT_CERTIFIED)
    if as_json:
        click.echo(json.dumps(out))
        return
    if fmt == "python":
        for key in ("scale", "shift"):
            if out[key]["float64"] is None:
                click.echo(f"snn-theory solve-constants: error: the enclosure of {key} straddles "
                           "a float64 rounding boundary", err=True)
                sys.exit(EXIT_NOT_CERTIFIED)
        click.echo(f"# c*f(x) + d with f = {act.label()}, certified by `snn-theory "
                   f"solve-constants`\n# for the fixed point (mean, variance) = ({mean}, "
                   f"{variance}), weights (omega, tau) = ({omega}, {tau}).\n"
                   f"SCALE = {out['scale']['float64']!r}\nSHIFT = {out['shift']['float64']!r}")
        return
    from snn_theory.cli.console import print_table, print_wrapped

    print_table(f"c·f(x) + d with f = {act.label()}: fixed point (mean, variance) = ({mean}, "
                f"{variance}), weights (omega, tau) = ({omega}, {tau})",
                ("quantity", f"certified enclosure ({SHORT_DIGITS} significant digits)",
                 "float64 (nearest)"),
                [(name, ball_text(ball, SHORT_DIGITS), "—" if out[key]["float64"] is None
                  else repr(out[key]["float64"]))
                 for name, key, ball in (("c (scale)", "scale", result.scale),
                                         ("d (shift)", "shift", result.shift))])
    print_wrapped(f"value to {digits} decimals (the midpoint of the enclosure, rounded):")
    for name, key in (("c", "scale"), ("d", "shift")):
        print_wrapped(f"{name} = {out[key]['value']}", indent="  ", subsequent="      ")
    print_wrapped(
        f"certified: {result.method}; the Krawczyk test proved the box "
        f"c ∈ [{out['scale']['lower']}, {out['scale']['upper']}], d ∈ [{out['shift']['lower']}, "
        f"{out['shift']['upper']}] holds exactly one solution (the other solution is −c, "
        f"mean − (−c)·E[f]).  {result.seconds:.3f} s, {result.precision_bits} bits.")
