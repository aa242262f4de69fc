"""The checker of activation certificates: independent of the search (it shares only the
per-box bound of :mod:`snn_theory.certify.activation_cells`).

**Certificates** record the activation's definition (:meth:`Activation.to_json`), the claim,
the precision and every leaf box with its bound; :func:`check_certificate_file` re-derives
the activation from its definition (an edited formula or growth bound is rejected), checks
that the leaves tile the domain exactly, and recomputes every bound from scratch; it is as
strict as the SELU checker (duplicate or unknown keys, wrong types, non-ASCII or padded
numbers, a statement that is not the claim's, a recorded bound or counterexample value that
is not the recomputed one: rejected), and what it prints is recomputed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from snn_theory.certify.activation_cells import (
    Box,
    CellCache,
    ball_end,
    box_bound,
    cell_order,
    cover,
    mv_range,
    point_enclosure,
)
from snn_theory.certify.activation_claims import violates
from snn_theory.certify.claims import (
    Claim,
)
from snn_theory.derive import activations
from snn_theory.derive.activations import Activation
from snn_theory.derive.formulas import VARIABLE_NAMES
from snn_theory.errors import InputError
from snn_theory.exact import (
    decimal_interval,
    decimal_text,
    format_fraction,
    parse_exact,
)
from snn_theory.precision import working_precision

FORMAT = "snn-theory-activation-certificate"
VERSION = 1


def certificate_checksum(data: dict[str, Any]) -> str:
    """SHA-256 of a certificate's content without its ``checksum`` field (sorted JSON)."""
    content = {k: v for k, v in data.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def is_activation_certificate(path: Path | str) -> bool:
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(4096)
    except (OSError, UnicodeDecodeError):  # e.g. a gzip-compressed certificate: not one
        return False
    return f'"format": "{FORMAT}"' in head


@dataclass
class ActivationCheckReport:
    """What the checker found; ``extremum`` the recomputed deciding end (holds) and
    ``value`` the recomputed counterexample enclosure (refuted), as exact text;
    ``statement`` the claim (name, quantity, relation, threshold, domain, activation) once the
    file's claim is read, ``point`` the counterexample's exact coordinates."""

    path: str
    valid: bool
    message: str
    claim: str = ""
    verdict: str = ""
    extremum: str | None = None
    value: list[str] | None = None
    statement: dict[str, Any] = field(default_factory=dict)
    point: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "valid": self.valid, "message": self.message,
                "claim": self.claim, "verdict": self.verdict, "extremum": self.extremum,
                "value": self.value, "statement": self.statement or None,
                "counterexample": None if self.point is None else dict(
                    zip(VARIABLE_NAMES, self.point), value=self.value_text())}

    def value_text(self) -> list[str] | None:
        """The counterexample's value rounded outward (17 digits, more where it takes them
        to exclude the threshold as the exact enclosure does)."""
        if self.value is None:
            return None
        threshold = Fraction(self.statement["threshold"]) if self.statement else None
        return decimal_interval(Fraction(self.value[0]), Fraction(self.value[1]),
                                exclude=threshold)

    def line(self) -> str:
        """The one line ``check-certificate`` prints (everything in it re-derived): verdict,
        activation, statement with its domain, and the extremum bound or the counterexample
        (point exact, value rounded outward)."""
        head = f"{'VALID' if self.valid else 'INVALID'} {self.path}"
        if not self.statement:
            return f"{head}: {self.message}"
        st = self.statement
        domain = ", ".join(f"{n} ∈ [{a}, {b}]" for n, (a, b) in st["domain"].items())
        what = {"holds": "HOLDS", "refuted": "FALSE"}.get(self.verdict, "?")
        body = (f"{what} for {st['activation']}: {st['quantity']} {st['relation']} "
                f"{st['threshold']} on {domain} | claim {st['name']}")
        if not self.valid:
            return f"{head}: {body} | REJECTED: {self.message}"
        if self.point is not None:
            lo, hi = self.value_text() or ["?", "?"]
            body += (" | counterexample " + ", ".join(
                f"{n}={x}" for n, x in zip(VARIABLE_NAMES, self.point))
                + f", {st['quantity']} there ∈ [{lo}, {hi}]")
        return f"{head}: {body} | {self.message}"


#: The keys of a certificate, of its activation record and of its counterexample: exactly.
CERTIFICATE_KEYS = frozenset({"format", "version", "activation", "claim", "statement",
                              "verdict", "precision_bits", "leaves", "counterexample",
                              "checksum"})
ACTIVATION_KEYS = frozenset({"definition", "scale", "shift", "formula", "growth"})
COUNTEREXAMPLE_KEYS = frozenset({"point", "value"})


class CertificateRejected(ValueError):
    """A structural defect of an activation certificate (the message says which)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        raise CertificateRejected(f"duplicate JSON key {duplicated[0]!r}")
    return dict(pairs)


def _number(value: Any, what: str) -> Fraction:
    """An exact rational spelt as an ASCII string without surrounding spaces."""
    if not isinstance(value, str) or value != value.strip() or not value:
        raise CertificateRejected(f"{what}: expected a number as a string, got {value!r}")
    return parse_exact(value, what)


def _integer(value: Any, what: str) -> int:
    if type(value) is not int:
        raise CertificateRejected(f"{what}: expected an integer, got {value!r}")
    return value


def _keys(data: Any, keys: frozenset, what: str) -> dict:
    if not isinstance(data, dict):
        raise CertificateRejected(f"{what}: expected an object")
    if set(data) != keys:
        extra, missing = sorted(set(data) - keys), sorted(keys - set(data))
        raise CertificateRejected(f"{what}: " + (f"unknown key {extra[0]!r}" if extra
                                                  else f"missing key {missing[0]!r}"))
    return data


def _list(value: Any, what: str, length: int | None = None) -> list:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        raise CertificateRejected(f"{what}: expected a list"
                                  + ("" if length is None else f" of {length}"))
    return value


def _activation(record: Any) -> Activation:
    """The activation a record defines, re-derived; every recorded field must be what the
    definition gives (numbers may be spelt differently, the definition may not)."""
    record = _keys(record, ACTIVATION_KEYS, "activation")
    if not isinstance(record["definition"], str) or not isinstance(record["formula"], str):
        raise CertificateRejected("activation: definition and formula must be strings")
    scale = _number(record["scale"], "activation scale")
    shift = _number(record["shift"], "activation shift")
    growth = [_number(a, "activation growth") for a in _list(record["growth"], "growth")]
    act = activations.get(record["definition"], scale, shift)
    derived = act.to_json()
    if act.definition != record["definition"] or derived["formula"] != record["formula"] \
            or tuple(growth) != act.growth:
        raise CertificateRejected("the recorded activation formula or growth bound does not "
                                  "follow from its definition (edited?)")
    return act


def check_certificate_file(path: Path | str, jobs: int = 1) -> ActivationCheckReport:
    """Re-verify an activation certificate from scratch (see the module docstring).

    As strict as the SELU checker: duplicate or unknown keys, a missing field, a value of
    the wrong type, a number spelt with non-ASCII characters or spaces, a statement that is
    not the claim's, and any recorded bound or counterexample value that differs from the
    recomputed one are rejected."""
    path = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"),
                          object_pairs_hook=_no_duplicates)
    except CertificateRejected as exc:
        return ActivationCheckReport(path, False, f"rejected: {exc}")
    except (OSError, ValueError) as exc:
        return ActivationCheckReport(path, False, f"unreadable: {exc}")
    try:
        return check_certificate_data(path, data, jobs)
    except (InputError, KeyError, IndexError, TypeError, ValueError, AttributeError,
            ArithmeticError) as exc:
        return ActivationCheckReport(path, False, f"rejected: {type(exc).__name__}: {exc}")


def check_certificate_data(path: str, data: Any, jobs: int) -> ActivationCheckReport:
    """Re-verify a certificate already read into ``data`` (``path`` names it in the report):
    its format, checksum, activation and claim, then every box (``jobs`` processes)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or \
            type(data.get("version")) is not int or data.get("version") != VERSION:
        return ActivationCheckReport(path, False, "not an activation certificate of this version")
    _keys(data, CERTIFICATE_KEYS, "certificate")
    if not isinstance(data["checksum"], str) or data["checksum"] != certificate_checksum(data):
        return ActivationCheckReport(path, False, "checksum mismatch (the file was edited)")
    act = _activation(data["activation"])
    if not isinstance(data["claim"], dict):
        raise CertificateRejected("claim: expected an object")
    claim = Claim.from_json(data["claim"])
    if claim.to_json() != data["claim"]:
        return ActivationCheckReport(path, False, "the claim's fields are not those of its "
                                     "statement (edited or unknown fields)")
    if data["statement"] != claim.statement:
        return ActivationCheckReport(path, False, "the recorded statement is not the claim's")
    bits = _integer(data["precision_bits"], "precision_bits")
    if not 30 <= bits <= 4096:
        raise ValueError("precision out of range")
    verdict = data["verdict"]
    if verdict not in ("holds", "refuted"):
        return ActivationCheckReport(path, False, f"unknown verdict {verdict!r}")
    report = ActivationCheckReport(path, False, "", claim.statement, verdict, statement=dict(
        name=claim.name, quantity=claim.quantity, relation=claim.relation,
        threshold=format_fraction(claim.threshold), domain=claim.domain.to_json(),
        activation=act.label()))
    if verdict == "refuted":
        if data["leaves"] != []:
            raise CertificateRejected("a refutation has no leaves")
        ce = _keys(data["counterexample"], COUNTEREXAMPLE_KEYS, "counterexample")
        point = [_number(x, "counterexample") for x in _list(ce["point"], "point", 4)]
        recorded = [_number(x, "counterexample value") for x in _list(ce["value"], "value", 2)]
        for x, (a, b) in zip(point, claim.domain.bounds):
            if not a <= x <= b:
                report.message = "the counterexample lies outside the domain"
                return report
        # the ends are read at the certificate's precision (as the search read them)
        with working_precision(bits=bits):
            value = point_enclosure(act, claim.quantity, point)
            violated = violates(claim, value)
            ends = [ball_end(value, -1), ball_end(value, 1)]
        if not violated:
            report.message = "the counterexample does not violate the claim when re-evaluated"
            return report
        if ends != recorded:
            report.message = ("the recorded counterexample value is not the recomputed one "
                              f"[{format_fraction(ends[0])}, {format_fraction(ends[1])}]")
            return report
        report.valid = True
        report.value = [format_fraction(e) for e in ends]
        report.point = [format_fraction(x) for x in point]
        report.message = ("refuted: the value at the recorded point, re-evaluated from the "
                          "activation's definition, violates the claim")
        return report
    from snn_theory.certify.certificate.tiling import tiling_error

    if data["counterexample"] is not None:
        raise CertificateRejected("a proof has no counterexample")
    leaves: list[Box] = []
    recorded_bounds: list[Fraction] = []
    for k, leaf in enumerate(_list(data["leaves"], "leaves")):
        box, bound = _list(leaf, f"leaf {k}", 2)
        leaves.append([tuple(_number(e, "box") for e in _list(iv, "interval", 2))
                       for iv in _list(box, "box", 4)])  # type: ignore[misc]
        recorded_bounds.append(_number(bound, "bound"))
    if not leaves:
        raise CertificateRejected("a proof needs at least one leaf")
    problem = tiling_error(claim.domain.bounds, leaves)
    if problem:
        report.message = f"the boxes do not tile the domain: {problem}"
        return report
    cache = CellCache(act, bits, jobs)
    side = 1 if claim.kind == "max" else -1
    bounds: list[Fraction] = []
    try:
        with working_precision(bits=bits):
            cache.ensure([k for box in leaves for k in cover(*mv_range(box))],
                         cell_order(claim.quantity))
            for k, (box, recorded) in enumerate(zip(leaves, recorded_bounds)):
                bound, _, _ = box_bound(cache, claim.quantity, box, side)
                if bound is None or not claim.satisfied_by(bound):
                    report.message = f"box {k}: the recomputed bound does not prove the claim"
                    return report
                if bound != recorded:
                    report.message = (f"box {k}: the recorded bound {format_fraction(recorded)} "
                                      f"is not the recomputed {format_fraction(bound)}")
                    return report
                bounds.append(bound)
    finally:
        cache.close()
    end = max(bounds) if side > 0 else min(bounds)
    report.valid = True
    report.extremum = format_fraction(end)
    report.message = (f"proven: {claim.kind} {'≤' if side > 0 else '≥'} "
                      f"{decimal_text(end, side)} ({len(leaves)} boxes re-bounded from the "
                      "activation's definition)")
    return report
