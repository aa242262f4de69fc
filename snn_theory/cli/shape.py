"""``snn-theory shape``: certified DKS and TAT activation transformations.

    snn-theory shape --method dks --activation tanh --depth 50
    snn-theory shape --method tat --activation softplus --depth 100 --curvature 0.3 --json
    snn-theory shape --method tat --activation leaky_relu --depth 100 --eta 0.9
    snn-theory shape --method dks --activation tanh --network "8*residual(0.5, dense(psi))"

The presentation half of :func:`snn_theory.certify.shaping.shape` (the mathematics and the
guarantee are documented there and in docs/shaping.md).
"""

from __future__ import annotations

import json
import textwrap
from fractions import Fraction
from pathlib import Path
from typing import Any

import click

from snn_theory.certify.shaping import (
    DEFAULT_CURVATURE,
    DEFAULT_ETA,
    DEFAULT_ZETA,
    METHODS,
    RECTIFIERS,
    ShapeResult,
    ShapingFailure,
    shape,
    validate,
)
from snn_theory.certify.shaping_certificate import write_shaping_certificate
from snn_theory.certify.shaping_network import PLACEHOLDER, shaped_network
from snn_theory.cli.activation_option import HELP as ACTIVATION_HELP
from snn_theory.cli.activation_option import resolve_options
from snn_theory.errors import InputError
from snn_theory.exact import ball_endpoints, decimal_enclosure, format_fraction, parse_exact
from snn_theory.files import writable_file
from snn_theory.precision import working_precision
from snn_theory.simulate.shaped import float_expression

#: Largest --digits (each digit costs integration work).
MAX_DIGITS = 60
#: Working precision = --digits + these guard digits, tried in turn.
GUARD_DIGITS = (10, 30, 60)
#: Output order of the parameters, with the symbol of ψ(x) = γ·(φ(α·x + β) + δ).
PARAMETERS = (("input_scale", "alpha"), ("input_shift", "beta"), ("output_scale", "gamma"),
              ("output_shift", "delta"), ("negative_slope", "s"))
LOCAL = (("q_value", "Q(1)"), ("q_slope", "Q'(1)"), ("c_slope", "C'(1)"),
         ("c_curvature", "C''(1)"), ("c_zero", "C(0)"))


def _number(text: str | None, what: str) -> Fraction | None:
    return None if text is None else parse_exact(text, what)


def _decimal(x: Any, digits: int) -> dict[str, str]:
    out = decimal_enclosure(x, digits)
    # the value string (a grid point inside [lower, upper]) is claimed within 2*10^-digits
    # of the true number, which lies in [lower, upper]: check the width
    if Fraction(out.upper) - Fraction(out.lower) > 2 * Fraction(1, 10**digits):
        raise ShapingFailure(f"the enclosure {x.str(5, radius=True)} is wider than {digits} "
                             f"decimals even at {GUARD_DIGITS[-1]} guard digits",
                             precision_limited=True)
    return out.as_dict()


def _report(result: ShapeResult, digits: int) -> dict[str, Any]:
    params = {k: _decimal(v, digits) for k, v in result.parameters.items()}
    local = {}
    if result.local is not None:
        for key, _ in LOCAL:
            value = getattr(result.local, key)
            if value is not None:
                local[key] = decimal_enclosure(value, digits).as_dict()
    network = {k: decimal_enclosure(v, digits).as_dict() for k, v in result.network.items()}
    network.update({k: {"exact": v} for k, v in result.exact.items() if k in ("c_slope",
                                                                            "c_zero")})
    out: dict[str, Any] = {k: v["value"] for k, v in params.items()}
    out.update({
        "certified": True,
        "method": result.method,
        "activation": result.activation.to_json(),
        "depth": result.depth,
        "network_spec": None if result.shaped is None else result.shaped.spelling(),
        "targets": {k: format_fraction(v) for k, v in result.targets.items()},
        "enclosures": params,
        # exact ends: the root is unique in X itself, not in an outward-rounded X
        "box": {name: dict(zip(("lower", "upper"), map(format_fraction, ball_endpoints(b))))
                for name, b in zip(result.unknowns, result.box)},
        "local": local,
        "network": network,
        "proof": result.proof,
        # evidence, not the certified numbers: floats for `--activation` (e.g. simulate)
        "float_expression": float_expression(result),
        "digits": digits,
        "precision_bits": result.precision_bits,
        "seconds": round(result.seconds, 3),
    })
    return out


def _text(out: dict[str, Any], act_label: str) -> str:
    targets = ", ".join(f"{k} = {v}" for k, v in out["targets"].items())
    where = (f"depth {out['depth']}" if out["network_spec"] is None
             else f"network {out['network_spec']}")
    lines = [f"{out['method'].upper()} for {act_label}, {where} ({targets})",
             "psi(x) = gamma*(phi(alpha*x + beta) + delta); each value is within "
             f"2*10^-{out['digits']} of the certified solution:"]
    for key, sym in PARAMETERS:
        if key in out["enclosures"]:
            lines.append(f"  {key:<15}{sym:<7}{out['enclosures'][key]['value']}")
    if out["local"]:
        lines.append("one layer, at the certified solution:")
        for key, name in LOCAL:
            if key in out["local"]:
                e = out["local"][key]
                lines.append(f"  {name:<8}[{e['lower']}, {e['upper']}]")
    lines.append(f"the network of {out['depth']} layers:" if out["network_spec"] is None else
                 f"the network {out['network_spec']} ({out['depth']} dense({PLACEHOLDER})):")
    for key, value in out["network"].items():
        name = {"c_slope": "C'(1)", "c_curvature": "C''(1)", "c_zero": "C(0)"}[key]
        shown = value["exact"] if "exact" in value else f"[{value['lower']}, {value['upper']}]"
        lines.append(f"  {name:<8}{shown}")
    lines.append("")
    lines += textwrap.wrap("proof: " + out["proof"] + f" ({out['seconds']:.2f} s, "
                           f"{out['precision_bits']} bits).", width=79)
    return "\n".join(textwrap.fill(line, width=79, subsequent_indent="    ")
                     if len(line) > 79 else line for line in lines)


@click.command("shape")
@click.option("--method", type=click.Choice(METHODS), required=True,
              help="dks: Deep Kernel Shaping (Martens et al. 2021); tat: Tailored "
                   "Activation Transformations (Zhang et al. 2022).")
@click.option("--activation", "activation", required=True, metavar="NAME|EXPR",
              help=ACTIVATION_HELP.replace("  Default selu.", "") + "  With --method tat, "
              "relu and leaky_relu take TAT's leaky-ReLU form (the slope is solved for).")
@click.option("--depth", type=int, default=None,
              help="D, the number of identical layers (or give --network).")
@click.option("--network", "network", default=None, metavar="SPEC",
              help="Instead of --depth: the network, in the syntax of `propagate --network`, "
                   f"with the shaped activation written {PLACEHOLDER}, e.g. "
                   f"\"8*residual(0.5, dense({PLACEHOLDER}))\"; its C'(1), C''(1) are derived "
                   f"from the description (dense({PLACEHOLDER}), residual and N*BLOCK).")
@click.option("--zeta", default=None, metavar="Z",
              help=f"DKS: the network's C'(1) (> 1; default {format_fraction(DEFAULT_ZETA)}).")
@click.option("--curvature", default=None, metavar="T",
              help="TAT, smooth activations: the network's C''(1) (> 0; default "
                   f"{format_fraction(DEFAULT_CURVATURE)}).")
@click.option("--eta", default=None, metavar="E",
              help="TAT, leaky ReLU: the network's C(0) (in (0, 1); default "
                   f"{format_fraction(DEFAULT_ETA)}).")
@click.option("--digits", default=20, show_default=True, type=int,
              help=f"Decimals of the printed values, 1..{MAX_DIGITS}.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a certificate here (a new file) that `snn-theory "
                   "check-certificate` re-verifies.")
def shape_command(method: str, activation: str, depth: int | None, network: str | None,
                  zeta: str | None, curvature: str | None, eta: str | None, digits: int,
                  as_json: bool, out: Path | None) -> None:
    """Certified DKS/TAT transformation psi(x) = gamma*(phi(alpha*x + beta) + delta).

    Chooses alpha (input_scale), beta (input_shift), gamma (output_scale), delta
    (output_shift) so that a chain of DEPTH identical layers has a well-behaved kernel,
    with Q(q) = E[psi(sqrt(q) z)^2] and C the correlation map (z standard normal):

    \b
      dks           Q(1) = 1, Q'(1) = 1, C(0) = 0, network C'(1) = zeta
      tat (smooth)  Q(1) = 1, Q'(1) = 1, C'(1) = 1, network C''(1) = curvature
      tat (relu,    psi = sqrt(2/(1+s^2)) * leaky_relu_s with network C(0) = eta
       leaky_relu)

    With --network the network is given by its description (residual blocks
    c -> (1-W^2) c + W^2 C_branch(c)); the local C'(1) (DKS) or C''(1) (TAT) is
    solved from the network's, derived by the chain rule at c = 1.

    A float solve finds a candidate, Newton's method in ball arithmetic polishes it and
    the Krawczyk test proves that a box (JSON: "box", exact ends) holds exactly one
    solution; the printed values are rounded from that enclosure (JSON: "enclosures" has
    lower/upper bounds). Exit 2 for bad input (zeta <= 1, eta outside (0, 1), depth < 1,
    C''(1) infinite for a kinked activation), 3 when nothing is certified (the float
    search from a grid of starts finds no candidate - which proves nothing about
    existence - or the Krawczyk test fails).
    """
    if not 1 <= digits <= MAX_DIGITS:
        raise InputError(f"--digits must be in 1..{MAX_DIGITS} (got {digits})")
    if (depth is None) == (network is None):
        raise InputError("give exactly one of --depth and --network")
    shaped = None
    if network is not None:
        shaped = shaped_network(network)
        depth = shaped.layers
    assert depth is not None
    targets = validate(method, depth, _number(zeta, "--zeta"),
                       _number(curvature, "--curvature"), _number(eta, "--eta"))
    act = resolve_options(activation, "1", "0").activation
    if method == "tat":
        if act.definition in RECTIFIERS and curvature is not None:
            raise InputError("TAT for relu/leaky_relu takes --eta, not --curvature")
        if act.definition not in RECTIFIERS and eta is not None:
            raise InputError("--eta is TAT's target for relu/leaky_relu; smooth activations "
                             "take --curvature")
        targets = {k: v for k, v in targets.items()
                   if k == ("eta" if act.definition in RECTIFIERS else "curvature")}
    if out is not None:
        writable_file(out, "--out")
        if out.exists():
            raise InputError(f"--out {str(out)!r} exists; choose a new file")
    for guard in GUARD_DIGITS:  # more precision when the proof or the widths need it
        with working_precision(digits=digits + guard):
            try:
                result = shape(act, method, depth, targets, shaped)
                report = _report(result, digits)
            except ShapingFailure as exc:
                if guard == GUARD_DIGITS[-1] or not exc.precision_limited:
                    raise
                continue
            if out is not None:
                write_shaping_certificate(result, out, digits)
                report["certificate"] = str(out)
            break
    if as_json:
        click.echo(json.dumps(report))
        return
    click.echo(_text(report, act.label()))
    if out is not None:
        click.echo(f"certificate: {out} (snn-theory check-certificate re-verifies it)")
