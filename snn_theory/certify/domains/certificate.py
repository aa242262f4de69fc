"""Paving certificates: write, read, and the independent check of every cell (re-decided from
the certificate's own data by the certificate checker)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snn_theory.certify.domains.cell import (
    DERIVED,
    Paving,
    cell_json,
    derive_areas,
    entry_cell,
)
from snn_theory.certify.domains.spec import (
    CONDITIONS,
    FORMAT,
    PLANE,
    VERSION,
    PavingError,
    PavingSpec,
)
from snn_theory.errors import InputError
from snn_theory.files import atomic_write


# ------------------------------------------------------------------------------ certificate
def certificate_content(paving: Paving) -> dict[str, Any]:
    """The paving certificate (docs/certificate-format.md): no timings, no versions in the
    checksummed body beyond the software table — byte-identical for identical pavings."""
    from snn_theory.certify.certificate.io import checksum

    content: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "spec": paving.spec.to_json(),
        "constants": paving_constants(paving.spec), "cells": paving.entries}
    content["checksum"] = checksum(content)
    return content


def paving_constants(spec: PavingSpec) -> dict[str, Any]:
    """The certificate's constants: the closed-form enclosures at the spec's precision, or
    (plane lam, alpha) a note that each cell carries its own ranges."""
    from snn_theory.certify.certificate.io import ball_bounds, closed_form_constants

    if spec.activation is not None:
        return {"source": "activation", "note": "the activation recorded in the spec"}
    if spec.plane == ("lam", "alpha"):
        return {"source": "plane", "note": "each cell's lam and alpha ranges"}
    lam, alpha = closed_form_constants(spec.precision)
    return {"source": "closed-form", "lam": ball_bounds(lam), "alpha": ball_bounds(alpha)}


def write_paving(path: Path | str, paving: Paving) -> Path:
    """Write the certificate (gzip-compressed when the name ends in .gz, with mtime 0)."""
    path = Path(path)
    text = json.dumps(certificate_content(paving), indent=None, sort_keys=True,
                      separators=(",", ":"))
    # gzip without file name and with mtime 0 in the header: the same paving, the same bytes
    return atomic_write(path, text, compress=path.name.endswith(".gz"))


def is_paving_certificate(path: Path | str) -> bool:
    try:
        raw = Path(path).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        content = json.loads(raw.decode())
        return isinstance(content, dict) and content.get("format") == FORMAT
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError, ValueError, RecursionError):
        return False


def read_paving(path: Path | str) -> dict[str, Any]:
    from snn_theory.certify.certificate.io import (
        CertificateError,
        checksum,
        no_constant,
        no_duplicates,
    )

    try:
        raw = Path(path).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        content = json.loads(raw.decode(), object_pairs_hook=no_duplicates,
                             parse_constant=no_constant)
    except CertificateError as exc:
        raise PavingError(str(exc)) from None
    except (OSError, EOFError, UnicodeDecodeError, ValueError, gzip.BadGzipFile, RecursionError):
        raise PavingError("not a readable paving certificate (corrupted or truncated)") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise PavingError("not an snn-theory paving certificate")
    if content.get("version") != VERSION:
        raise PavingError(f"unsupported paving version {content.get('version')!r}")
    if content.get("checksum") != checksum(content):
        raise PavingError("checksum mismatch: the file was edited or damaged")
    if set(content) != {"format", "version", "spec", "constants", "cells", "checksum"}:
        raise PavingError("paving: unexpected or missing top-level fields")
    return content


def check_entry(spec: PavingSpec, entry: Any,
                constants: dict[str, Any] | None = None) -> str | None:
    """None when one cell's entry is proven (or refuted) by its evidence, else why not.

    The claims are re-derived from ``spec`` and the cell; every proven claim is re-proven
    and a counterexample re-evaluated by :func:`snn_theory.certify.certificate.check.check_content`."""
    from snn_theory.certify.certificate.check import CheckReport, check_content
    from snn_theory.certify.certificate.io import (
        FORMAT as CERT_FORMAT,
    )
    from snn_theory.certify.certificate.io import (
        VERSION as CERT_VERSION,
    )
    from snn_theory.certify.certificate.io import (
        ball_bounds,
        checksum,
        closed_form_constants,
        software_versions,
    )

    if not isinstance(entry, dict):
        return "cell: expected an object"
    verdict = entry.get("verdict")
    allowed = {*spec.plane, "verdict", "claims", "boxes", "failed"}
    if set(entry) - allowed or not {*spec.plane, "verdict", "claims"} <= set(entry):
        return "cell: unexpected or missing fields"
    try:
        cell = entry_cell(entry, spec.plane)
        claims = spec.claims(cell)  # type: ignore[arg-type]
    except (InputError, TypeError, ValueError, ZeroDivisionError) as exc:
        return f"cell: {exc}"
    if spec.plane == ("lam", "alpha"):  # the cell's own constants (re-derived from it)
        constants = spec.constants(cell).to_json()
    elif constants is None:
        lam, alpha = closed_form_constants(spec.precision)
        constants = {"source": "closed-form", "lam": ball_bounds(lam), "alpha": ball_bounds(alpha)}
    evidence = entry["claims"]
    if not isinstance(evidence, list):
        return "cell: claims must be a list"
    if verdict == "undecided":
        return None if not evidence else "undecided cell carries evidence"
    if verdict == "proven":
        if len(evidence) != len(CONDITIONS):
            return f"proven cell needs the evidence of all {len(CONDITIONS)} claims"
        pairs = list(zip(claims, evidence))
        want = "holds"
    elif verdict == "refuted":
        name = entry.get("failed")
        if name not in CONDITIONS or len(evidence) != 1:
            return "refuted cell needs the one failed claim and its counterexample"
        pairs = [(claims[CONDITIONS.index(name)], evidence[0])]
        want = "refuted"
    else:
        return f"cell: unknown verdict {verdict!r}"
    for claim, ev in pairs:
        if not isinstance(ev, dict) or ev.get("verdict") != want:
            return f"{claim.name}: evidence is not a {want} proof"
        if set(ev) & set(DERIVED):
            return f"{claim.name}: evidence carries fields that are re-derived"
        # the map re-derived from the spec: the activation's definition, or the constants
        recorded = ({"activation": spec.activation.to_json()} if spec.activation is not None
                    else {"constants": constants})
        content = {**ev, "format": CERT_FORMAT, "version": CERT_VERSION,
                   "claim": claim.to_json(), **recorded, "software": software_versions()}
        content["checksum"] = checksum(content)
        report = check_content(content, CheckReport(claim.name, False, ""))
        if not report.valid:
            return f"{claim.name}: {report.message}"
    return None


@dataclass
class PavingReport:
    """Outcome of :func:`check_paving` (every number derived by the checker)."""

    path: str
    valid: bool
    message: str
    counts: dict[str, int] = field(default_factory=dict)
    areas: dict[str, str] = field(default_factory=dict)
    largest: dict[str, Any] | None = None
    spec: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "valid": self.valid, "message": self.message,
                "kind": "paving", "counts": self.counts, "areas": self.areas,
                "largest_rectangle": self.largest, "spec": self.spec}

    def line(self) -> str:
        head = f"{'VALID' if self.valid else 'INVALID'} {self.path}"
        if not self.valid:
            return f"{head}: paving REJECTED: {self.message}"
        s = self.spec or {}
        b = s.get("box", {})
        r = s.get("region", {})
        p1, p2 = s.get("plane", PLANE)
        fixed = "".join(f", {n} ∈ [{', '.join(iv)}]" for n, iv in s.get("fixed", {}).items())
        consts = ("each cell's lam, alpha" if (p1, p2) == ("lam", "alpha")
                  else "closed-form lam01, alpha01")
        if "activation" in s:
            a = s["activation"]
            consts = f"activation {a.get('definition')} (scale {a.get('scale')}, shift {a.get('shift')})"
        text = (f"{head}: paving of {p1} ∈ [{', '.join(r[p1])}] x {p2} ∈ "
                f"[{', '.join(r[p2])}] for B = mu ∈ [{', '.join(b['mu'])}] x nu ∈ "
                f"[{', '.join(b['nu'])}]{fixed}, constants {consts} | "
                f"{self.counts.get('proven', 0)} proven (S < 1 and g(D) ⊆ B on each cell's "
                f"domain D{' = B x cell' if (p1, p2) == PLANE else ''}), "
                f"{self.counts.get('refuted', 0)} refuted (counterexample), "
                f"{self.counts.get('undecided', 0)} undecided cells | proven area "
                f"{self.areas.get('proven')}")
        if self.largest:
            text += (f" | largest certified rectangle {p1} ∈ [{', '.join(self.largest[p1])}]"
                     f" x {p2} ∈ [{', '.join(self.largest[p2])}], area {self.largest['area']}")
        return text


def check_paving(path: Path | str, progress: Callable[[int, int], None] | None = None
                 ) -> PavingReport:
    """Re-verify a paving certificate; never raises for a bad one.  Checks: checksum and
    fields; the cells tile the region exactly; each cell's evidence
    (:func:`check_entry`); the stored constants are those recomputed from the closed forms.
    """
    from snn_theory.certify.certificate.tiling import tiling_error

    report = PavingReport(str(path), False, "")
    try:
        content = read_paving(path)
        spec = PavingSpec.from_json(content["spec"])
        if spec.to_json() != content["spec"]:
            raise PavingError("spec: not in canonical form")
        constants = paving_constants(spec)
        if content["constants"] != constants:
            raise PavingError("constants: not the closed-form enclosures recomputed at "
                              f"{spec.precision} bits" if spec.plane != ("lam", "alpha")
                              else "constants: expected the per-cell note of the lam,alpha "
                              "plane")
        entries = content["cells"]
        if not isinstance(entries, list) or not entries:
            raise PavingError("no cells")
        cells = []
        p1, p2 = spec.plane
        for k, e in enumerate(entries):
            if not isinstance(e, dict) or p1 not in e or p2 not in e:
                raise PavingError(f"cell {k}: expected {p1} and {p2} ranges")
            cells.append(entry_cell(e, spec.plane))
        problem = tiling_error(list(spec.region), [list(c) for c in cells])
        if problem:
            raise PavingError("cells do not tile the region: " + problem.replace(
                " in omega", f" in {p2}").replace(" in mu", f" in {p1}"))
        counts = {"proven": 0, "refuted": 0, "undecided": 0}
        for k, e in enumerate(entries):
            why = check_entry(spec, e, constants)
            if why is not None:
                raise PavingError(f"cell {k} ({p1} {e[p1]}, {p2} {e[p2]}): {why}")
            counts[e["verdict"]] += 1
            if progress:
                progress(k + 1, len(entries))
        paving = Paving(spec, entries)
        derive_areas(paving)
        summary = paving.summary()
        report.counts = counts
        report.areas = summary["areas"]
        if paving.largest is not None:
            report.largest = {**cell_json(paving.largest, spec.plane),
                              "area": summary["largest_area"]}
        report.spec = content["spec"]
        report.valid, report.message = True, f"valid: {len(entries)} cells re-verified"
    except (PavingError, InputError) as exc:
        report.message = str(exc)
    except (KeyError, TypeError, ValueError, ArithmeticError, ZeroDivisionError) as exc:
        report.message = f"malformed paving ({type(exc).__name__}: {exc})"
    return report
