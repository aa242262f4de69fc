"""Proof certificates on disk: writing them, reading them, and their schema.

A certificate records one claim (:mod:`snn_theory.certify.claims`), how its map is defined
(exactly one field of :data:`MAP_FIELDS`: ``constants`` for SELU's closed forms with λ, α;
``activation`` for any activation by its exact definition), and the evidence for its verdict:

* ``holds``: a list of leaf boxes that tile the claim's domain, each with a rational bound on
  the quantity over the box (an upper bound when the claim is about a maximum, a lower bound
  for a minimum) that satisfies the claim; plus the certified enclosure of the extremum with
  the witness point that proves its other end;
* ``refuted``: a counterexample point whose ball evaluation violates the claim.

The format is specified in ``docs/certificate-format.md``.  :func:`write_certificate` writes
only what the checker re-derives; :func:`read_certificate` parses a file with no duplicate
key, exactly the documented fields with their JSON types (no unknown key), rationals spelt in
ASCII, and a matching SHA-256 checksum — and nothing more: the facts are checked by
:func:`snn_theory.certify.certificate.check.check_certificate`.  Nothing here uses code of the
search (:mod:`snn_theory.certify.search`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import platform
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

from flint import arb

from snn_theory import __version__
from snn_theory.certify.claims import Claim
from snn_theory.certify.enclosure import lower, upper
from snn_theory.derive.formulas import VARIABLE_NAMES
from snn_theory.errors import InputError
from snn_theory.exact import format_fraction, parse_exact
from snn_theory.files import atomic_write
from snn_theory.precision import working_precision

FORMAT = "snn-theory-certificate"
VERSION = 1
#: Certificates larger than this (bytes of JSON) are written gzip-compressed.
COMPRESS_ABOVE = 1 << 20


class CertificateError(Exception):
    """The certificate is invalid; the message says why (one line)."""


# ------------------------------------------------------------------------------ writing
def software_versions() -> dict[str, str]:
    import flint
    import mpmath
    import sympy

    return {"snn-theory": __version__, "python-flint": flint.__version__,
            "mpmath": mpmath.__version__, "sympy": sympy.__version__,
            "python": platform.python_version()}


def checksum(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of everything but the checksum field."""
    body = {k: v for k, v in content.items() if k != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def ball_bounds(x: arb) -> list[str]:
    """[lower, upper] of a ball as exact rational strings."""
    return [format_fraction(lower(x)), format_fraction(upper(x))]


def closed_form_constants(bits: int) -> tuple[arb, arb]:
    """λ01, α01 enclosed from their closed forms (docs/mathematics.md §3) at ``bits`` of precision."""
    from snn_theory.evaluate.backends import constants_function

    with working_precision(bits=bits):
        return constants_function("arb")()


def certificate_path(directory: Path | str, claim_name: str, compressed: bool) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in claim_name)
    return Path(directory) / f"{safe}.cert.json{'.gz' if compressed else ''}"


def _statement_of(content: dict[str, Any]) -> tuple:
    """What a certificate is about: its claim (with name) and its map (the constants' source
    and the intervals for user constants; an activation's record)."""
    maps = {k: content[k] for k in MAP_FIELDS if k in content}
    constants = maps.get("constants")
    if isinstance(constants, dict) and constants.get("source") == "closed-form":
        maps["constants"] = {"source": "closed-form"}
    return (json.dumps(content.get("claim"), sort_keys=True), json.dumps(maps, sort_keys=True))


def overwrite_conflict(directory: Path | str, claim: dict[str, Any],
                       map_fields: dict[str, Any]) -> str | None:
    """Why writing a certificate of (claim, map) into ``directory`` would replace a
    certificate of a *different* statement (or a file that is not a readable certificate),
    or None when it would not.  ``map_fields``: ``{map field: record}``, e.g.
    ``{"constants": {"source": "closed-form"}}``."""
    mine = _statement_of({"claim": claim, **map_fields})
    for compressed in (False, True):
        path = certificate_path(directory, str(claim["name"]), compressed)
        if not path.exists():
            continue
        try:
            theirs = _statement_of(_loose_read(path))
        except (CertificateError, ValueError, OSError, EOFError, TypeError) as exc:
            return f"{path} exists and is not a readable certificate ({exc}); move it away"
        if theirs != mine:
            return (f"{path} holds a certificate of another statement; give this claim "
                    "another --name (or move that file away)")
    return None


def _loose_read(path: Path) -> dict[str, Any]:
    """The JSON of an existing certificate file, for telling whose it is — not a check (an
    older or edited certificate of the same statement may be replaced)."""
    raw = path.read_bytes()
    content = json.loads((gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode())
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise CertificateError("not an snn-theory certificate")
    return content


#: Top-level fields of a certificate, by verdict (see docs/certificate-format.md), besides
#: the one field of :data:`MAP_FIELDS` that records how the map is defined.
FIELDS: dict[str, frozenset[str]] = {
    "holds": frozenset({"format", "version", "claim", "verdict", "precision_bits",
                        "extremum", "witness", "boxes", "software", "checksum"}),
    "refuted": frozenset({"format", "version", "claim", "verdict",
                          "precision_bits", "counterexample", "software", "checksum"}),
}
#: The fields that record a certificate's map, exactly one per certificate: ``constants``
#: (SELU's closed forms: {"source": "closed-form" | "user", "lam": [lo, hi], "alpha": [lo,
#: hi]}) and ``activation`` (any activation: its definition, scale, shift, formula and growth
#: bound).  Their values are read by :mod:`snn_theory.certify.certificate.maps`.
MAP_FIELDS: tuple[str, ...] = ("constants", "activation", "network")


def map_field_of(content: dict[str, Any]) -> str:
    """The one field of :data:`MAP_FIELDS` that ``content`` holds (:class:`CertificateError`
    when it holds none or several)."""
    present = [k for k in MAP_FIELDS if k in content]
    if len(present) != 1:
        raise CertificateError("certificate: expected exactly one of "
                               f"{', '.join(MAP_FIELDS)} (how the map is defined)")
    return present[0]


def write_certificate(directory: Path | str, data: dict[str, Any]) -> Path | None:
    """Write the certificate for one claim; returns its path (None for ``undecided``).

    ``data`` holds: claim (Claim.to_json()), verdict, the map's field (constants
    ({"source": "closed-form"} or {"source": "user", "lam": [lo, hi], "alpha": [lo, hi]}), or
    activation (its record)), precision_bits, and for
    ``holds`` extremum, witness, boxes, for ``refuted`` counterexample — see
    :meth:`snn_theory.certify.search.result.ClaimResult.certificate_data`.  Values nobody re-derives (``value`` of points, ``stats``) and
    fields of the other verdict are left out: the file holds only what the checker checks.
    The closed-form constants' enclosures are filled in here.  An older certificate of the
    *same* statement (plain or compressed) is replaced; one of another statement never is
    (InputError).
    """
    verdict = data.get("verdict")
    if verdict not in FIELDS:
        return None
    content: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    content.update({k: v for k, v in data.items() if (k in FIELDS[verdict] or k in MAP_FIELDS)
                    and k not in ("format", "version", "checksum", "software")})
    for key in ("witness", "counterexample"):
        if isinstance(content.get(key), dict):
            content[key] = {k: v for k, v in content[key].items() if k != "value"}
    if not any(k in content for k in MAP_FIELDS):
        content["constants"] = {"source": "closed-form"}
    map_field = map_field_of(content)
    if map_field == "constants":
        constants = dict(content["constants"])
        if constants.get("source") == "closed-form":
            lam, alpha = closed_form_constants(int(content["precision_bits"]))
            constants["lam"], constants["alpha"] = ball_bounds(lam), ball_bounds(alpha)
        content["constants"] = constants
    content["software"] = software_versions()
    missing = FIELDS[verdict] - set(content) - {"checksum"}
    if missing:
        raise ValueError(f"certificate data lacks {', '.join(sorted(missing))}")
    content["checksum"] = checksum(content)
    text = json.dumps(content, indent=1, sort_keys=True)
    compressed = len(text) > COMPRESS_ABOVE
    name = content["claim"]["name"]
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    conflict = overwrite_conflict(directory, content["claim"], {map_field: content[map_field]})
    if conflict:
        raise InputError(f"not writing the certificate of {name}: {conflict}")
    path = certificate_path(directory, name, compressed)
    other = certificate_path(directory, name, not compressed)
    atomic_write(path, text, compress=compressed)
    if other.exists():  # same statement (checked above): the older encoding of this claim
        other.unlink()
    return path


# ------------------------------------------------------------------------------ reading
def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise CertificateError(f"duplicate key {duplicated[0]!r} (a JSON reader would keep "
                               "only one of them)")
    return dict(pairs)


def no_constant(name: str) -> Any:
    raise CertificateError(f"{name} is not a JSON number")


def _fields(obj: Any, what: str, required: Iterable[str], optional: Iterable[str] = ()) -> dict:
    """``obj`` as a dict with exactly the ``required`` keys (and maybe ``optional`` ones)."""
    if not isinstance(obj, dict):
        raise CertificateError(f"{what}: expected an object")
    required, optional = set(required), set(optional)
    unknown = sorted(set(obj) - required - optional)
    if unknown:
        raise CertificateError(f"{what}: unknown key {unknown[0]!r}")
    missing = sorted(required - set(obj))
    if missing:
        raise CertificateError(f"{what}: missing key {missing[0]!r}")
    return obj


def _string(x: Any, what: str) -> str:
    if not isinstance(x, str):
        raise CertificateError(f"{what}: expected a string")
    return x


def _integer(x: Any, what: str) -> int:
    if not isinstance(x, int) or isinstance(x, bool):
        raise CertificateError(f"{what}: expected an integer")
    return x


def schema(content: Any) -> None:
    """Every object has exactly its fields with their JSON types (docs/certificate-format.md),
    with exactly one map field (its record is read strictly by
    :mod:`snn_theory.certify.certificate.maps`); values are checked later."""
    _fields(content, "certificate", ["format", "version"],
            set().union(*FIELDS.values(), MAP_FIELDS) - {"format", "version"})
    verdict = content.get("verdict")
    if verdict not in FIELDS:
        raise CertificateError(f"verdict {verdict!r} carries no proof")
    _fields(content, "certificate", FIELDS[verdict] | {map_field_of(content)})
    _integer(content["precision_bits"], "precision_bits")
    claim = _fields(content["claim"], "claim", ["name", "quantity", "relation", "threshold",
                                                "domain"])
    for key in ("name", "quantity", "relation", "threshold"):
        _string(claim[key], f"claim.{key}")
    domain = _fields(claim["domain"], "claim.domain", VARIABLE_NAMES)
    for n in VARIABLE_NAMES:
        _pair(domain[n], f"claim.domain.{n}")
    software = _fields(content["software"], "software", [], software_versions())
    for key, value in software.items():
        _string(value, f"software.{key}")
    if verdict == "holds":
        extremum = _fields(content["extremum"], "extremum", ["kind", "lower", "upper"])
        for key in ("kind", "lower", "upper"):
            _string(extremum[key], f"extremum.{key}")
        _point_fields(content["witness"], "witness")
        if not isinstance(content["boxes"], list):
            raise CertificateError("boxes: expected a list")
    else:
        _point_fields(content["counterexample"], "counterexample")


def _pair(x: Any, what: str) -> None:
    if not isinstance(x, list) or len(x) != 2 or not all(isinstance(v, str) for v in x):
        raise CertificateError(f"{what}: expected [lower, upper] as two strings")


def _point_fields(obj: Any, what: str) -> None:
    point = _fields(obj, what, ["point"], ["precision_bits"])
    if not isinstance(point["point"], list) or not all(isinstance(v, str)
                                                        for v in point["point"]):
        raise CertificateError(f"{what}.point: expected 4 coordinates as strings")
    if "precision_bits" in point:
        _integer(point["precision_bits"], f"{what}.precision_bits")


def read_certificate(path: Path | str) -> dict[str, Any]:
    """Parse a certificate file (plain or gzip JSON); :class:`CertificateError` if damaged,
    edited (checksum), ambiguous (duplicate keys) or not of the documented shape (unknown
    or missing keys, wrong JSON types)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CertificateError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        content = json.loads(raw.decode(), object_pairs_hook=no_duplicates,
                             parse_constant=no_constant)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError, gzip.BadGzipFile,
            RecursionError):
        raise CertificateError("not a readable certificate (corrupted or truncated file)") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise CertificateError("not an snn-theory certificate (wrong or missing format field)")
    if content.get("version") != VERSION or isinstance(content.get("version"), bool):
        raise CertificateError(f"unsupported certificate version {content.get('version')!r}")
    if content.get("checksum") != checksum(content):
        raise CertificateError("checksum mismatch: the file was edited or damaged")
    schema(content)
    return content


def rational_field(text: Any, what: str) -> Fraction:
    """A rational spelt as in a certificate: a string, a decimal (optional exponent) or p/q
    in ASCII (:func:`snn_theory.exact.parse_exact`), with nothing around it."""
    if not isinstance(text, str) or text != text.strip():
        raise CertificateError(f"{what}: {str(text)[:40]!r} is not an exact rational string")
    try:
        return parse_exact(text, what)
    except InputError as exc:
        raise CertificateError(str(exc)) from None


def interval_field(pair: Any, what: str) -> tuple[Fraction, Fraction]:
    if not isinstance(pair, list) or len(pair) != 2:
        raise CertificateError(f"{what}: expected [lower, upper]")
    lo, hi = rational_field(pair[0], what), rational_field(pair[1], what)
    if lo > hi:
        raise CertificateError(f"{what}: reversed interval")
    return lo, hi


def point_field(values: Any, claim: Claim, what: str) -> list[Fraction]:
    if not isinstance(values, list) or len(values) != 4:
        raise CertificateError(f"{what}: expected 4 coordinates")
    point = [rational_field(v, what) for v in values]
    for name, x, (a, b) in zip(VARIABLE_NAMES, point, claim.domain.bounds):
        if not a <= x <= b:
            raise CertificateError(f"{what}: {name} = {format_fraction(x)} is outside the domain")
    return point


def bits_field(value: Any, what: str) -> int:
    bits = _integer(value, what)
    if not 30 <= bits <= 100_000:
        raise CertificateError(f"{what}: implausible precision {bits} bits")
    return bits
