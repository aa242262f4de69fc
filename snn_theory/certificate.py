"""Proof certificates: writing them, and checking them independently of the search.

A certificate records one claim (:mod:`snn_theory.claims`) and the evidence for its verdict:

* ``holds``: a list of leaf boxes that tile the claim's domain, each with a rational bound on
  the quantity over the box (an upper bound when the claim is about a maximum, a lower bound
  for a minimum) that satisfies the claim; plus the certified enclosure of the extremum with
  the witness point that proves its other end;
* ``refuted``: a counterexample point whose ball evaluation violates the claim.

The format is specified in ``docs/certificate-format.md``.  The checker
(:func:`check_certificate`) trusts nothing in the file.  It re-derives every fact from the
formulas, in this order:

1. the file parses with no duplicate key, has exactly the documented fields with their JSON
   types (no unknown key), spells rationals in ASCII, and its SHA-256 checksum matches;
2. the claim is identified by its *statement*: it is a built-in claim exactly when quantity,
   relation, threshold and domain are a built-in claim's and the constants are λ01, α01; a
   name that normalises to a built-in name while stating something else is rejected; names
   use a plain ASCII alphabet; closed-form constant enclosures are exactly those recomputed
   from the closed forms;
3. the leaf boxes tile the domain with no gap and no overlap: the checker recursively finds
   a cut that no box straddles (a *guillotine* tiling, which is what grid + bisection
   produces) until each region is exactly one box — exact integer arithmetic throughout;
4. a fresh ball evaluation (:func:`snn_theory.enclosure.bound`) of every box gives exactly
   the stored bound, and every stored bound proves the claim;
5. the extremum enclosure: its decided end is exactly the worst fresh bound, its other end
   exactly the attained end of the ball at the witness point; for ``refuted``, the
   counterexample's ball value violates the claim.

Whatever the checker prints (:meth:`CheckReport.line`, ``--json``) is derived by it: the
full statement, the constants, the recomputed extremum, rounded outward.  Results do not
depend on the caller's arb precision.

The tiling check and the certificate I/O are written without any code from the search
(:mod:`snn_theory.verify`); both share only the per-box bound of
:mod:`snn_theory.enclosure`, which is what a reader has to audit.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import platform
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from flint import arb, ctx

from snn_theory import __version__
from snn_theory.claims import Claim, builtin_claim_for
from snn_theory.enclosure import bound, bound_modes, interval_ball, lower, point_value, upper
from snn_theory.errors import InputError
from snn_theory.exact import decimal_interval, decimal_text, format_fraction, parse_exact
from snn_theory.files import atomic_write
from snn_theory.formulas import VARIABLE_NAMES

FORMAT = "snn-theory-certificate"
VERSION = 1
#: Certificates larger than this (bytes of JSON) are written gzip-compressed.
COMPRESS_ABOVE = 1 << 20
#: Certificates with fewer leaf boxes are re-checked in one process whatever --jobs says.
PARALLEL_ABOVE = 15_000


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
    from snn_theory.backends import constants_function

    old = ctx.prec
    ctx.prec = bits
    try:
        return constants_function("arb")()
    finally:
        ctx.prec = old


def certificate_path(directory: Path | str, claim_name: str, compressed: bool) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in claim_name)
    return Path(directory) / f"{safe}.cert.json{'.gz' if compressed else ''}"


def _statement_of(content: dict[str, Any]) -> tuple:
    """What a certificate is about: its claim (with name) and its constants (the source,
    and the intervals for user constants)."""
    constants = dict(content.get("constants") or {})
    if constants.get("source") == "closed-form":
        constants = {"source": "closed-form"}
    return (json.dumps(content.get("claim"), sort_keys=True),
            json.dumps(constants, sort_keys=True))


def overwrite_conflict(directory: Path | str, claim: dict[str, Any],
                       constants: dict[str, Any]) -> str | None:
    """Why writing a certificate of (claim, constants) into ``directory`` would replace a
    certificate of a *different* statement (or a file that is not a readable certificate),
    or None when it would not."""
    mine = _statement_of({"claim": claim, "constants": constants})
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


#: Top-level fields of a certificate, by verdict (see docs/certificate-format.md).
FIELDS: dict[str, frozenset[str]] = {
    "holds": frozenset({"format", "version", "claim", "verdict", "constants", "precision_bits",
                        "extremum", "witness", "boxes", "software", "checksum"}),
    "refuted": frozenset({"format", "version", "claim", "verdict", "constants",
                          "precision_bits", "counterexample", "software", "checksum"}),
}


def write_certificate(directory: Path | str, data: dict[str, Any]) -> Path | None:
    """Write the certificate for one claim; returns its path (None for ``undecided``).

    ``data`` holds: claim (Claim.to_json()), verdict, constants ({"source": "closed-form"} or
    {"source": "user", "lam": [lo, hi], "alpha": [lo, hi]}), precision_bits, and for
    ``holds`` extremum, witness, boxes, for ``refuted`` counterexample — see
    :mod:`snn_theory.verify`.  Values nobody re-derives (``value`` of points, ``stats``) and
    fields of the other verdict are left out: the file holds only what the checker checks.
    The closed-form constants' enclosures are filled in here.  An older certificate of the
    *same* statement (plain or compressed) is replaced; one of another statement never is
    (InputError).
    """
    verdict = data.get("verdict")
    if verdict not in FIELDS:
        return None
    content: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    content.update({k: v for k, v in data.items() if k in FIELDS[verdict]
                    and k not in ("format", "version", "checksum", "software")})
    for key in ("witness", "counterexample"):
        if isinstance(content.get(key), dict):
            content[key] = {k: v for k, v in content[key].items() if k != "value"}
    constants = dict(content.get("constants") or {"source": "closed-form"})
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
    conflict = overwrite_conflict(directory, content["claim"], constants)
    if conflict:
        raise InputError(f"not writing the certificate of {name}: {conflict}")
    path = certificate_path(directory, name, compressed)
    other = certificate_path(directory, name, not compressed)
    atomic_write(path, text, compress=compressed)
    if other.exists():  # same statement (checked above): the older encoding of this claim
        other.unlink()
    return path


# ------------------------------------------------------------------------------ reading
def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise CertificateError(f"duplicate key {duplicated[0]!r} (a JSON reader would keep "
                               "only one of them)")
    return dict(pairs)


def _no_constant(name: str) -> Any:
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


def _schema(content: Any) -> None:
    """Every object has exactly its fields with their JSON types (docs/certificate-format.md);
    values are checked later."""
    _fields(content, "certificate", ["format", "version"],
            set().union(*FIELDS.values()) - {"format", "version"})
    verdict = content.get("verdict")
    if verdict not in FIELDS:
        raise CertificateError(f"verdict {verdict!r} carries no proof")
    _fields(content, "certificate", FIELDS[verdict])
    _integer(content["precision_bits"], "precision_bits")
    claim = _fields(content["claim"], "claim", ["name", "quantity", "relation", "threshold",
                                                "domain"])
    for key in ("name", "quantity", "relation", "threshold"):
        _string(claim[key], f"claim.{key}")
    domain = _fields(claim["domain"], "claim.domain", VARIABLE_NAMES)
    for n in VARIABLE_NAMES:
        _pair(domain[n], f"claim.domain.{n}")
    constants = _fields(content["constants"], "constants", ["source", "lam", "alpha"])
    _string(constants["source"], "constants.source")
    _pair(constants["lam"], "constants.lam")
    _pair(constants["alpha"], "constants.alpha")
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
        content = json.loads(raw.decode(), object_pairs_hook=_no_duplicates,
                             parse_constant=_no_constant)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError, gzip.BadGzipFile,
            RecursionError):
        raise CertificateError("not a readable certificate (corrupted or truncated file)") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise CertificateError("not an snn-theory certificate (wrong or missing format field)")
    if content.get("version") != VERSION or isinstance(content.get("version"), bool):
        raise CertificateError(f"unsupported certificate version {content.get('version')!r}")
    if content.get("checksum") != checksum(content):
        raise CertificateError("checksum mismatch: the file was edited or damaged")
    _schema(content)
    return content


def _fraction(text: Any, what: str) -> Fraction:
    """A rational spelt as in a certificate: a string, a decimal (optional exponent) or p/q
    in ASCII (:func:`snn_theory.exact.parse_exact`), with nothing around it."""
    if not isinstance(text, str) or text != text.strip():
        raise CertificateError(f"{what}: {str(text)[:40]!r} is not an exact rational string")
    try:
        return parse_exact(text, what)
    except InputError as exc:
        raise CertificateError(str(exc)) from None


def _interval(pair: Any, what: str) -> tuple[Fraction, Fraction]:
    if not isinstance(pair, list) or len(pair) != 2:
        raise CertificateError(f"{what}: expected [lower, upper]")
    lo, hi = _fraction(pair[0], what), _fraction(pair[1], what)
    if lo > hi:
        raise CertificateError(f"{what}: reversed interval")
    return lo, hi


def _point(values: Any, claim: Claim, what: str) -> list[Fraction]:
    if not isinstance(values, list) or len(values) != 4:
        raise CertificateError(f"{what}: expected 4 coordinates")
    point = [_fraction(v, what) for v in values]
    for name, x, (a, b) in zip(VARIABLE_NAMES, point, claim.domain.bounds):
        if not a <= x <= b:
            raise CertificateError(f"{what}: {name} = {format_fraction(x)} is outside the domain")
    return point


def _bits(value: Any, what: str) -> int:
    bits = _integer(value, what)
    if not 30 <= bits <= 100_000:
        raise CertificateError(f"{what}: implausible precision {bits} bits")
    return bits


# ------------------------------------------------------------------------------ tiling
def tiling_error(domain: Sequence[tuple[Fraction, Fraction]],
                 boxes: Sequence[Sequence[tuple[Fraction, Fraction]]]) -> str | None:
    """None if ``boxes`` tile ``domain`` exactly (guillotine structure), else the reason.

    Coordinates are scaled to integers per dimension (exact).  A region holding one box
    must equal it; a region holding several must have a cut c in some dimension with every
    box entirely on one side (no box has lo < c < hi); no such cut means overlapping boxes
    (or a tiling that is not a guillotine one, which the search never produces).
    """
    dims = len(domain)
    scale = [math.lcm(*{x.denominator for b in boxes for x in b[d]}, *(x.denominator for x in domain[d]))
             for d in range(dims)] if boxes else [1] * dims
    ints = [tuple((int(b[d][0] * scale[d]), int(b[d][1] * scale[d])) for d in range(dims))
            for b in boxes]
    region0 = tuple((int(domain[d][0] * scale[d]), int(domain[d][1] * scale[d]))
                    for d in range(dims))
    for k, b in enumerate(ints):
        for d in range(dims):
            lo, hi = b[d]
            if not lo < hi:
                return f"box {k} is empty in {VARIABLE_NAMES[d]}"
            if lo < region0[d][0] or hi > region0[d][1]:
                return f"box {k} sticks out of the domain in {VARIABLE_NAMES[d]}"
    stack: list[tuple[tuple[tuple[int, int], ...], list[int]]] = [(region0, list(range(len(ints))))]
    while stack:
        region, members = stack.pop()
        if not members:
            return "gap: part of the domain is covered by no box"
        if len(members) == 1:
            if ints[members[0]] != region:
                return f"gap: box {members[0]} does not fill its region"
            continue
        split = None
        for d in range(dims):
            ordered = sorted(members, key=lambda k: ints[k][d][0])
            reach = region[d][0]
            for k in ordered:
                lo, hi = ints[k][d]
                if lo >= reach and reach > region[d][0]:
                    split = (d, reach)
                    break
                reach = max(reach, hi)
            if split:
                break
        if split is None:
            return "overlap: boxes overlap (no cut separates them)"
        d, c = split
        left = [k for k in members if ints[k][d][1] <= c]
        right = [k for k in members if ints[k][d][0] >= c]
        lo_region = tuple((lo, c) if i == d else (lo, hi) for i, (lo, hi) in enumerate(region))
        hi_region = tuple((c, hi) if i == d else (lo, hi) for i, (lo, hi) in enumerate(region))
        stack.append((lo_region, left))
        stack.append((hi_region, right))
    return None


# ------------------------------------------------------------------------------ checking
@dataclass
class CheckReport:
    """Outcome of checking one certificate file.

    Everything here is derived by the checker (the statement is the file's, validated;
    ``extremum`` is recomputed from the fresh box bounds and the fresh witness value), so
    it is what a reviewer may quote: ``statement`` holds (or is false) exactly as printed.
    """

    path: str
    valid: bool
    message: str
    claim: str | None = None
    verdict: str | None = None
    boxes: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    #: quantity, relation, threshold, domain {var: [lo, hi]}, constants {source, lam, alpha},
    #: builtin (the built-in claim it is, by statement, or None); empty when unreadable.
    statement: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "valid": self.valid, "message": self.message,
                "claim": self.claim, "verdict": self.verdict, "boxes": self.boxes,
                "statement": self.statement or None,
                "extremum": self.details.get("extremum"),
                "counterexample": self.details.get("counterexample")}

    def line(self) -> str:
        """One line: verdict, statement, domain, constants, box count (or the reason)."""
        head = f"{'VALID' if self.valid else 'INVALID'} {self.path}"
        if not self.statement:
            return f"{head}: {self.message}"
        st = self.statement
        domain = ", ".join(f"{n} ∈ [{a}, {b}]" for n, (a, b) in st["domain"].items())
        c = st["constants"]

        def iv(pair: list[str]) -> str:  # outward to 17 digits (exact ends: --json)
            return (f"[{decimal_text(Fraction(pair[0]), -1)}, "
                    f"{decimal_text(Fraction(pair[1]), 1)}]")
        constants = f"constants {c['source']}: lam ∈ {iv(c['lam'])}, alpha ∈ {iv(c['alpha'])}"
        if not st.get("builtin"):
            kind = f"user claim {self.claim}"
        elif st["builtin"] == self.claim:
            kind = f"built-in {self.claim}"
        else:
            kind = f"built-in {st['builtin']} (named {self.claim})"
        what = {"holds": "HOLDS", "refuted": "FALSE"}.get(self.verdict or "", "?")
        body = (f"{what}: {st['quantity']} {st['relation']} {st['threshold']} on {domain} | "
                f"{constants} | {kind} | {self.boxes} boxes")
        if self.valid and self.details.get("extremum"):
            e = self.details["extremum"]
            body += f" | {e['kind']} ∈ [{e['lower']}, {e['upper']}]"
        if self.valid and self.details.get("counterexample"):
            ce = self.details["counterexample"]
            body += " | counterexample " + ", ".join(f"{n}={ce[n]}" for n in VARIABLE_NAMES)
            body += f", value ∈ [{ce['value'][0]}, {ce['value'][1]}]"
        return f"{head}: {body}" + ("" if self.valid else f" | REJECTED: {self.message}")


_WORKER: dict[str, Any] = {}


def _init_worker(quantity: str, lam: list[str] | None, alpha: list[str] | None, side: int,
                 claim: Claim | None = None) -> None:
    """``lam``/``alpha``: exact [lo, hi] strings, or None for the closed-form constants;
    ``claim``: the claim the bounds must decide (for the early-stopping bound)."""
    _WORKER.update(quantity=quantity, side=side, claim=claim,
                   lam=None if lam is None else [Fraction(x) for x in lam],
                   alpha=None if alpha is None else [Fraction(x) for x in alpha])


def constant_balls(lam: Sequence[Fraction] | None, alpha: Sequence[Fraction] | None,
                   bits: int) -> tuple[arb, arb]:
    """The balls a certificate's bounds are computed with: closed-form enclosures at
    ``bits`` when ``lam``/``alpha`` are None, else balls around the exact intervals built at
    ``bits`` — never at whatever precision the caller happens to have set."""
    if lam is None or alpha is None:
        return closed_form_constants(bits)
    old = ctx.prec
    ctx.prec = bits
    try:
        return interval_ball(*lam), interval_ball(*alpha)
    finally:
        ctx.prec = old


def _check_chunk(chunk: list[tuple[int, list, Fraction, int]]) -> list[tuple[int, Fraction | None, str]]:
    """Recompute the bound of each (index, box, stored bound, precision) in a worker.

    :func:`snn_theory.enclosure.bound` is deterministic and has two modes: with ``decides``
    it may stop at the cheap whole-box enclosure once that proves the claim (what a search
    that only decides stores), without it it always adds the centred form (what a search
    refining the extremum stores).  The fresh bound is the mode that reproduces the stored
    one exactly; if neither does, the full bound is returned and the box fails.
    """
    out = []
    old = ctx.prec
    claim = _WORKER.get("claim")
    try:
        for index, box, stored, bits in chunk:
            lam, alpha = constant_balls(_WORKER["lam"], _WORKER["alpha"], bits)
            ctx.prec = bits
            try:
                if claim is None:
                    b, _ = bound(_WORKER["quantity"], box, lam, alpha, _WORKER["side"])
                else:  # both modes from one evaluation; the one that reproduces the stored
                    early, b = bound_modes(_WORKER["quantity"], box, lam, alpha,
                                           _WORKER["side"], claim.satisfied_by)
                    b = early if early == stored else b
                out.append((index, b, ""))
            except ArithmeticError as exc:
                out.append((index, None, str(exc)))
    finally:
        ctx.prec = old
    return out


def _parse_boxes(raw: Any, default_bits: int) -> list[tuple[list, Fraction, int]]:
    if not isinstance(raw, list) or not raw:
        raise CertificateError("no leaf boxes")
    boxes = []
    for k, entry in enumerate(raw):
        if not isinstance(entry, list) or len(entry) not in (5, 6):
            raise CertificateError(f"box {k}: expected 4 intervals, a bound and an optional precision")
        box = [_interval(entry[d], f"box {k}") for d in range(4)]
        bits = _bits(entry[5], f"box {k}") if len(entry) == 6 else default_bits
        boxes.append((box, _fraction(entry[4], f"box {k} bound"), bits))
    return boxes


def _statement_json(claim: Claim, constants: dict[str, Any], builtin: Claim | None) -> dict:
    return {"quantity": claim.quantity, "relation": claim.relation,
            "threshold": format_fraction(claim.threshold), "domain": claim.domain.to_json(),
            "constants": {"source": constants["source"],
                          "lam": [format_fraction(_fraction(x, "constants.lam"))
                                  for x in constants["lam"]],
                          "alpha": [format_fraction(_fraction(x, "constants.alpha"))
                                    for x in constants["alpha"]]},
            "builtin": None if builtin is None else builtin.name}


def check_certificate(path: Path | str, jobs: int = 1,
                      progress: Callable[[int, int], None] | None = None) -> CheckReport:
    """Re-verify one certificate independently; never raises for a bad certificate.

    The result does not depend on the caller's arb precision (each step sets its own)."""
    report = CheckReport(str(path), False, "")
    return _reported(report, lambda: _check(Path(path), jobs, progress, report))


def _reported(report: CheckReport, run: Callable[[], CheckReport]) -> CheckReport:
    """``run()``, with every rejection (or malformed input) turned into an invalid
    ``report`` and the caller's arb precision restored."""
    old = ctx.prec
    try:
        return run()
    except (CertificateError, InputError) as exc:
        report.message = str(exc)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        report.message = f"malformed certificate ({type(exc).__name__}: {exc})"
    finally:
        ctx.prec = old
    report.valid = False
    return report


def _fresh_point(claim: Claim, point: list[Fraction], used: tuple, bits: int) -> arb:
    lam, alpha = constant_balls(*used, bits)
    old = ctx.prec
    ctx.prec = bits
    try:
        return point_value(claim.quantity, point, lam, alpha)
    finally:
        ctx.prec = old


def check_content(content: dict[str, Any], report: CheckReport, jobs: int = 1,
                  progress: Callable[[int, int], None] | None = None) -> CheckReport:
    """Check one claim's certificate already in memory (the parsed file's dict, checksum
    aside: the caller vouches for nothing, the schema and all the facts are re-checked);
    never raises for a bad certificate.  Used for the claims embedded in a paving
    certificate (:mod:`snn_theory.domains`)."""
    def run() -> CheckReport:
        _schema(content)
        return _check_parsed(content, jobs, progress, report)

    return _reported(report, run)


def _check(path: Path, jobs: int, progress: Callable[[int, int], None] | None,
           report: CheckReport) -> CheckReport:
    return _check_parsed(read_certificate(path), jobs, progress, report)


def _check_parsed(content: dict[str, Any], jobs: int,
                  progress: Callable[[int, int], None] | None,
                  report: CheckReport) -> CheckReport:
    _fraction(content["claim"]["threshold"], "claim.threshold")  # spelt as a certificate
    for n in VARIABLE_NAMES:                                     # spells rationals
        _interval(content["claim"]["domain"][n], f"claim.domain.{n}")
    claim = Claim.from_json(content["claim"])
    report.claim, report.verdict = claim.name, content["verdict"]
    constants = content["constants"]
    source = constants["source"]
    if source not in ("closed-form", "user"):
        raise CertificateError(f"constants: unknown source {source!r}")
    builtin = builtin_claim_for(claim, source == "closed-form")
    report.statement = _statement_json(claim, constants, builtin)
    bits = _bits(content["precision_bits"], "precision_bits")
    lam_iv = _interval(constants["lam"], "constants.lam")
    alpha_iv = _interval(constants["alpha"], "constants.alpha")
    if lam_iv[0] <= 0 or alpha_iv[0] <= 0:
        raise CertificateError("constants must be positive")
    closed_form = source == "closed-form"
    if closed_form:
        lam01, alpha01 = closed_form_constants(bits)
        if (lower(lam01), upper(lam01)) != lam_iv or (lower(alpha01), upper(alpha01)) != alpha_iv:
            if not (interval_ball(*lam_iv).contains(lam01)
                    and interval_ball(*alpha_iv).contains(alpha01)):
                raise CertificateError("constants: the stored enclosures do not contain λ01, "
                                       "α01 recomputed from their closed forms")
            raise CertificateError("constants: the stored enclosures are not those of λ01, α01 "
                                   f"recomputed from their closed forms at {bits} bits")
    # closed form: evaluate with the freshly recomputed enclosures (what the search used)
    used = (None, None) if closed_form else (lam_iv, alpha_iv)
    verdict = content["verdict"]
    side = 1 if claim.kind == "max" else -1
    if verdict == "refuted":
        ce = content["counterexample"]
        point = _point(ce["point"], claim, "counterexample")
        ce_bits = _bits(ce.get("precision_bits", bits), "counterexample.precision_bits")
        value = _fresh_point(claim, point, used, ce_bits)
        # the claim fails at `point` iff the value is on the wrong side of the threshold
        violated = (not claim.satisfied_by(lower(value)) if side > 0
                    else not claim.satisfied_by(upper(value)))
        if not violated:
            raise CertificateError("counterexample does not violate the claim under a fresh "
                                   "ball evaluation")
        report.details["counterexample"] = dict(
            {n: format_fraction(x) for n, x in zip(VARIABLE_NAMES, point)},
            value=decimal_interval(lower(value), upper(value), exclude=claim.threshold))
        report.valid, report.message = True, "valid: counterexample re-verified, claim is false"
        return report
    boxes = _parse_boxes(content["boxes"], bits)
    for k, (_, stored, _) in enumerate(boxes):
        if not claim.satisfied_by(stored):
            raise CertificateError(f"box {k}: stored bound {format_fraction(stored)} does "
                                   f"not prove {claim.quantity} {claim.relation} "
                                   f"{format_fraction(claim.threshold)}")
    problem = tiling_error(claim.domain.bounds, [b for b, _, _ in boxes])
    if problem:
        raise CertificateError(f"leaf boxes do not tile the domain: {problem}")
    extremum = content["extremum"]
    ext_lo = _fraction(extremum["lower"], "extremum.lower")
    ext_hi = _fraction(extremum["upper"], "extremum.upper")
    if extremum["kind"] != claim.kind or ext_lo > ext_hi:
        raise CertificateError("extremum: wrong kind or reversed enclosure")
    decided = ext_hi if side > 0 else ext_lo
    for k, (_, stored, _) in enumerate(boxes):
        if (stored > decided) if side > 0 else (stored < decided):
            raise CertificateError(f"extremum: box {k} bound {format_fraction(stored)} lies "
                                   "outside the stated enclosure")
    witness = content["witness"]
    witness_point = _point(witness["point"], claim, "witness")
    w_bits = _bits(witness.get("precision_bits", bits), "witness.precision_bits")
    wv = _fresh_point(claim, witness_point, used, w_bits)
    attained = lower(wv) if side > 0 else upper(wv)
    if attained != (ext_lo if side > 0 else ext_hi):
        raise CertificateError("extremum: the witness point does not attain the stated "
                               "end of the enclosure (fresh value "
                               f"{decimal_text(attained, -side)})")
    fresh, failures = _recheck_boxes(claim, boxes, used, side, jobs, progress)
    if failures:
        k, why = failures[0]
        raise CertificateError(f"box {k}: {why} ({len(failures)} box(es) fail)")
    worst = max(fresh) if side > 0 else min(fresh)
    if worst != decided:
        raise CertificateError("extremum: the decided end is not the worst fresh box bound")
    report.boxes = len(boxes)
    lo, hi = (attained, worst) if side > 0 else (worst, attained)
    report.details["extremum"] = {"kind": claim.kind, "lower": decimal_text(lo, -1),
                                  "upper": decimal_text(hi, 1),
                                  "exact": [format_fraction(lo), format_fraction(hi)]}
    report.valid, report.message = True, f"valid: {len(boxes)} boxes re-verified"
    return report


def _chunks(items: list, n: int) -> Iterable[list]:
    size = max(1, min(256, math.ceil(len(items) / max(1, n * 4))))
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _recheck_boxes(claim: Claim, boxes: list, used: tuple, side: int, jobs: int,
                   progress: Callable[[int, int], None] | None
                   ) -> tuple[list[Fraction], list[tuple[int, str]]]:
    """(fresh bounds, failures): a box fails unless its fresh bound is exactly the stored
    one (the certificate is a transcript of the computation; a weaker stored bound would be
    true, but it is not what was computed, and nothing in the file is taken on trust)."""
    tasks = [(k, box, stored, bits) for k, (box, stored, bits) in enumerate(boxes)]
    lam_iv, alpha_iv = used
    init_args = (claim.quantity, None if lam_iv is None else [str(x) for x in lam_iv],
                 None if alpha_iv is None else [str(x) for x in alpha_iv], side, claim)
    stored_of = {k: stored for k, (_, stored, _) in enumerate(boxes)}
    failures: list[tuple[int, str]] = []
    fresh: list[Fraction] = []
    done = 0

    def consume(results: list[tuple[int, Fraction | None, str]]) -> None:
        nonlocal done
        for k, b, err in results:
            if b is None:
                failures.append((k, f"fresh enclosure failed ({err})"))
                continue
            fresh.append(b)
            if (b > stored_of[k]) if side > 0 else (b < stored_of[k]):
                failures.append((k, f"stored bound {format_fraction(stored_of[k])} is not proven "
                                    f"(fresh bound {decimal_text(b, side, 12)})"))
            elif b != stored_of[k]:
                failures.append((k, f"stored bound {format_fraction(stored_of[k])} is not the "
                                    f"fresh bound {format_fraction(b)}"))
        done += len(results)
        if progress:
            progress(done, len(tasks))

    # Worker start-up (spawn, import, compile the gradient of S: ~4 s each) outweighs the
    # work below ~15k boxes (~0.8 ms each), so such certificates are checked in-process.
    if jobs <= 1 or len(tasks) < PARALLEL_ABOVE:
        _init_worker(*init_args)
        for chunk in _chunks(tasks, 1):
            consume(_check_chunk(chunk))
    else:
        import multiprocessing

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_init_worker, initargs=init_args) as pool:
            for results in pool.map(_check_chunk, _chunks(tasks, jobs)):
                consume(results)
    failures.sort()
    return fresh, failures
