"""Certificates of kernel shaping (``shape --out FILE``) and their independent re-check.

A certificate records what was claimed and nothing the checker trusts: the activation's
definition (re-derived by :func:`snn_theory.derive.activations.from_json`, which rejects edited
formulas), the method, depth and targets, the Krawczyk box (exact endpoints), the precision,
and each parameter's printed interval; for a network beyond a chain, its description
(``network``, with ``psi``), from which the checker re-derives the network's C-map rules.  :func:`check_shape_certificate` re-runs the Krawczyk
test on the recorded box from scratch (:func:`snn_theory.certify.shaping.prove` or
:func:`~snn_theory.certify.shaping.prove_leaky_relu`) and checks that every re-derived
parameter enclosure lies inside its recorded interval: then the box holds exactly one
solution and its parameters lie in the printed intervals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from flint import arb, fmpq

from snn_theory.certify import shaping
from snn_theory.certify.shaping_network import ShapedNetwork, shaped_network
from snn_theory.derive import activations
from snn_theory.errors import InputError
from snn_theory.exact import (
    ball_endpoints,
    ball_text,
    decimal_enclosure,
    format_fraction,
    parse_exact,
)
from snn_theory.files import atomic_write
from snn_theory.precision import working_precision

FORMAT = "snn-theory-shape/1"
#: Largest precision a certificate may ask the checker for.
MAX_BITS = 2000
_KEYS = {"format", "activation", "method", "depth", "targets", "unknowns", "box",
         "precision_bits", "parameters", "digits"}


def certificate(result: shaping.ShapeResult, digits: int) -> dict[str, Any]:
    """The certificate of ``result`` with parameters printed to ``digits`` decimals."""
    box = []
    for ball in result.box:
        lo, hi = ball_endpoints(ball)
        box.append([format_fraction(lo), format_fraction(hi)])
    params = {}
    for name, ball in result.parameters.items():
        d = decimal_enclosure(ball, digits)
        params[name] = {"lower": d.lower, "upper": d.upper}
    out = {"format": FORMAT, "activation": result.activation.to_json(),
           "method": result.method, "depth": result.depth,
           "targets": {k: format_fraction(v) for k, v in result.targets.items()},
           "unknowns": list(result.unknowns), "box": box,
           "precision_bits": result.precision_bits, "digits": digits, "parameters": params}
    if result.shaped is not None:
        out["network"] = result.shaped.spelling()
    return out


def write_shaping_certificate(result: shaping.ShapeResult, path: Path | str, digits: int) -> Path:
    """Write the certificate to ``path`` (refuses to replace an existing file)."""
    path = Path(path)
    if path.exists():
        raise InputError(f"{str(path)!r} exists; choose a new file for the certificate")
    return atomic_write(path, json.dumps(certificate(result, digits), indent=1) + "\n")


def is_shape_certificate(path: Path | str) -> bool:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


@dataclass(frozen=True)
class ShapeReport:
    """Outcome of :func:`check_shape_certificate` (every number re-derived by the checker)."""

    path: str
    valid: bool
    message: str
    summary: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "valid": self.valid, "message": self.message,
                "kind": "shape", **self.summary}

    def line(self) -> str:
        head = f"{'VALID' if self.valid else 'INVALID'} {self.path}"
        return f"{head}: {self.message}"


def _ball(lo: Fraction, hi: Fraction) -> arb:
    a, b = arb(fmpq(lo.numerator, lo.denominator)), arb(fmpq(hi.numerator, hi.denominator))
    return a.union(b)


def _parse(data: Any) -> tuple[Any, ...]:
    if not isinstance(data, dict) or set(data) - {"network"} != _KEYS \
            or data.get("format") != FORMAT:
        raise InputError(f"not a {FORMAT} certificate (keys: {sorted(_KEYS)}, and network)")
    act = activations.from_json(data["activation"])
    method, depth = data["method"], data["depth"]
    shaped: ShapedNetwork | None = None
    if "network" in data:
        if not isinstance(data["network"], str):
            raise InputError("the network must be a text")
        shaped = shaped_network(data["network"])
        if depth != shaped.layers:
            raise InputError(f"the depth must be the network's {shaped.layers} dense(psi) "
                             "blocks")
    targets = data["targets"]
    if not isinstance(targets, dict) or not set(targets) <= {"zeta", "curvature", "eta"}:
        raise InputError("the targets must be a subset of zeta, curvature, eta")
    given = {k: parse_exact(v, f"target {k}") for k, v in targets.items()}
    full = shaping.validate(method, depth, given.get("zeta"), given.get("curvature"),
                            given.get("eta"))
    full = {k: full[k] for k in given}
    bits = data["precision_bits"]
    if not isinstance(bits, int) or not 16 <= bits <= MAX_BITS:
        raise InputError(f"precision_bits must be an integer in 16..{MAX_BITS}")
    box = data["box"]
    if not isinstance(box, list) or not all(isinstance(b, list) and len(b) == 2 for b in box):
        raise InputError("the box must be a list of [lower, upper] pairs")
    ends = [(parse_exact(lo, "a box end"), parse_exact(hi, "a box end")) for lo, hi in box]
    if any(lo > hi for lo, hi in ends):
        raise InputError("a box coordinate has lower > upper")
    digits = data["digits"]
    if not isinstance(digits, int) or isinstance(digits, bool) or not 1 <= digits <= MAX_BITS:
        raise InputError("digits must be a positive integer")
    params = data["parameters"]
    if not isinstance(params, dict):
        raise InputError("the parameters must be an object")
    return act, method, depth, full, bits, ends, params, shaped


def check_shape_certificate(path: Path | str) -> ShapeReport:
    """Re-verify a shaping certificate (see the module docstring); never raises for a bad
    file — the report says what is wrong."""
    name = str(path)
    try:
        data = json.loads(Path(path).read_text())
        act, method, depth, targets, bits, ends, params, shaped = _parse(data)
        with working_precision(bits=bits):
            box = [_ball(lo, hi) for lo, hi in ends]
            if method == "tat" and act.definition in shaping.RECTIFIERS:
                if len(box) != 1:
                    raise InputError("the leaky-ReLU box has one coordinate (the slope)")
                if shaped is not None and not shaped.chain:
                    raise InputError("TAT's leaky-ReLU form is certified for chains only")
                result = shaping.prove_leaky_relu(act, depth, targets["eta"], box[0])
            else:
                result = shaping.prove(act, method, depth, targets, box, shaped=shaped)
            if data["unknowns"] != list(result.unknowns):
                raise InputError(f"the box's coordinates are {list(result.unknowns)}")
            if set(params) != set(result.parameters):
                raise InputError(f"the parameters must be {sorted(result.parameters)}")
            for key, ball in result.parameters.items():
                rec = params[key]
                lo, hi = ball_endpoints(ball)
                if not (isinstance(rec, dict) and set(rec) == {"lower", "upper"}):
                    raise InputError(f"parameter {key} must have lower and upper")
                if not (parse_exact(rec["lower"], key) <= lo and
                        hi <= parse_exact(rec["upper"], key)):
                    return ShapeReport(name, False, f"{key}: the re-derived enclosure "
                                       f"{ball_text(ball, 20)} is not inside the recorded "
                                       f"[{rec['lower']}, {rec['upper']}]", {})
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, TypeError,
            KeyError) as exc:
        return ShapeReport(name, False, f"shaping certificate REJECTED: {exc}", {})
    except ArithmeticError as exc:  # ShapingFailure included: the proof does not hold
        return ShapeReport(name, False, f"shaping certificate REJECTED: not proven: {exc}",
                           {})
    shown = ", ".join(f"{k} in [{v['lower']}, {v['upper']}]" for k, v in params.items()
                      if k in ("input_scale", "input_shift", "negative_slope"))
    target = ", ".join(f"{k} = {v}" for k, v in data["targets"].items())
    where = f"depth {depth}" if shaped is None else f"network {shaped.spelling()}"
    message = (f"{method.upper()} for {act.label()}, {where} ({target}): the box holds "
               f"exactly one solution (Krawczyk, re-run); {shown}; every recorded parameter "
               "interval holds the re-derived enclosure")
    return ShapeReport(name, True, message, {"method": method, "depth": depth,
                                             "network": data.get("network"),
                                             "activation": act.to_json(),
                                             "targets": data["targets"],
                                             "parameters": params})


__all__ = ["FORMAT", "ShapeReport", "certificate", "check_shape_certificate",
           "is_shape_certificate", "write_shaping_certificate"]
