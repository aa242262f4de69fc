"""A trained network's certificate: every hidden unit's (ω, τ) lies in a certified region.

The weights file is an ``.npz`` (``train --save-weights``): every array whose key is
``hidden<l>.weight`` or ``run<k>/hidden<l>.weight`` is a hidden layer's (units, fan_in) weight
matrix, row i unit i's incoming weights (other keys — biases, the output layer, batch norm —
are ignored: the statement is about the hidden layers' moment maps).  For each row the exact
ω = Σw, τ = Σw² are computed from the stored floats as rationals
(:func:`snn_theory.certify.weight_regions.exact_row_statistics`) and tested for membership of
a closed cell of the region (exact comparisons).  When every unit is covered and the region is
certified, what follows is :meth:`CertifiedRegion.statement`: for every unit's (ω_i, τ_i) the
infinite-width mean-field moment map g is a contraction of the region's (μ, ν) box into
itself with a unique attracting fixed point there — a statement about that map and inputs
whose moments lie in the box, not about a finite network's activations.  g is the map of
z = W·x: a layer whose bias (``…hidden<l>.bias``) is present and not exactly zero is reported,
and then nothing is claimed (``train --constraint`` with a certified region keeps them zero).

The certificate (JSON, format ``snn-theory-network``) records the weights file's sha256 (and
its path relative to the certificate), the region's reference (Theorem 1, a rectangle, or a
paving with its sha256), per layer the unit count, the exact ranges of ω and τ and the
uncovered units, whether its bias is zero, the verdict and a checksum.  :func:`check_network_certificate` trusts none of
it: it re-reads the weights (their sha256 must match), re-checks a paving with the certificate
checker, recomputes every number and compares.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from snn_theory.certify.weight_regions import (
    CertifiedRegion,
    domain_map_region,
    exact_row_statistics,
    paving_region,
    rectangle_region,
    sha256_file,
    theorem1_region,
)
from snn_theory.errors import InputError
from snn_theory.exact import format_fraction

FORMAT = "snn-theory-network"
VERSION = 1
_HIDDEN = re.compile(r"(?:run(\d+)/)?hidden(\d+)\.weight")


def hidden_biases(path: Path | str, names: list[str]) -> dict[str, bool]:
    """For each weight key ``…hidden<l>.weight``: whether its bias ``…hidden<l>.bias`` is
    absent or exactly zero."""
    out = {}
    with np.load(Path(path), allow_pickle=False) as z:
        for name in names:
            key = name[: -len("weight")] + "bias"
            out[name] = key not in z.files or not np.any(np.asarray(z[key]) != 0)
    return out


def load_hidden_weights(path: Path | str) -> dict[str, np.ndarray]:
    """The hidden layers' weight matrices of an ``.npz`` file, in (run, layer) order;
    :class:`InputError` for a missing or unreadable file, no hidden layer, or a matrix that is
    not 2-D float with finite entries."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"weights {path}: no such file")
    if not zipfile.is_zipfile(p):  # numpy would read it as a pickle and say so
        raise InputError(f"weights {path}: not a readable .npz file (not a zip archive)")
    try:
        with np.load(p, allow_pickle=False) as z:
            keys = [k for k in z.files if _HIDDEN.fullmatch(k)]
            arrays = {k: np.asarray(z[k]) for k in keys}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"weights {path}: not a readable .npz file ({exc})") from None
    if not arrays:
        raise InputError(f"weights {path}: no hidden-layer weights (keys hidden<l>.weight)")

    def order(k: str) -> tuple[int, int]:
        m = _HIDDEN.fullmatch(k)
        assert m is not None
        return int(m.group(1) or 0), int(m.group(2))

    out = {}
    for k in sorted(arrays, key=order):
        a = arrays[k]
        if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1 or \
                not np.issubdtype(a.dtype, np.floating):
            raise InputError(f"weights {path}: {k} must be a 2-D float (units, fan_in) matrix "
                             f"(got shape {a.shape}, dtype {a.dtype})")
        if not np.all(np.isfinite(a)):
            raise InputError(f"weights {path}: {k} holds a non-finite value")
        out[k] = a
    return out


@dataclass(frozen=True)
class LayerResult:
    """One hidden layer: exact ranges of ω_i, τ_i and the uncovered units (index, ω, τ)."""

    name: str
    units: int
    omega: tuple[Fraction, Fraction]
    tau: tuple[Fraction, Fraction]
    uncovered: tuple[tuple[int, Fraction, Fraction], ...]
    zero_bias: bool = True

    def to_json(self) -> dict[str, Any]:
        f = format_fraction
        return {"name": self.name, "units": self.units, "zero_bias": self.zero_bias,
                "omega": [f(x) for x in self.omega],
                "tau": [f(x) for x in self.tau],
                "uncovered": [[i, f(o), f(t)] for i, o, t in self.uncovered]}


@dataclass
class NetworkResult:
    """The outcome of :func:`certify_network`."""

    weights: str
    sha256: str
    region: CertifiedRegion
    layers: list[LayerResult] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return all(not layer.uncovered for layer in self.layers)

    @property
    def proven(self) -> bool:
        """Every unit covered, every hidden bias zero and the region certified:
        :meth:`statement` holds."""
        return (self.covered and self.region.certified
                and all(layer.zero_bias for layer in self.layers))

    def statement(self) -> str:
        if not self.covered:
            n = sum(len(layer.uncovered) for layer in self.layers)
            return f"NOT covered: {n} unit(s) outside {self.region.name}; nothing is proven"
        biased = [layer.name for layer in self.layers if not layer.zero_bias]
        if biased and self.region.certified:
            return (f"every unit's (ω, τ) lies in {self.region.name}, but {len(biased)} "
                    f"layer(s) have nonzero biases ({biased[0]}, …) and the certified map g "
                    "is that of z = W·x without a bias: nothing is proven about the network")
        return self.region.statement()


def certify_network(path: Path | str, region: CertifiedRegion) -> NetworkResult:
    """Decide, exactly, whether every hidden unit of the weights file lies in ``region``."""
    digest = sha256_file(path)
    weights = load_hidden_weights(path)
    result = NetworkResult(str(path), digest, region)
    zero = hidden_biases(path, list(weights))
    for name, w in weights.items():
        om, ta = exact_row_statistics(w)
        bad = tuple((i, o, t) for i, (o, t) in enumerate(zip(om, ta, strict=True))
                    if not region.contains(o, t))
        result.layers.append(LayerResult(name, len(om), (min(om), max(om)), (min(ta), max(ta)),
                                         bad, zero[name]))
    return result


def _relative(path: str, to: Path) -> str:
    return os.path.relpath(Path(path).resolve(), to.resolve().parent)


def network_certificate_content(result: NetworkResult, out: Path | str) -> dict[str, Any]:
    """The certificate of ``result`` (paths relative to the certificate ``out``)."""
    from snn_theory.certify.certificate.io import checksum

    ref = dict(result.region.reference)
    if "path" in ref:
        ref["path"] = _relative(ref["path"], Path(out))
    content: dict[str, Any] = {
        "format": FORMAT, "version": VERSION,
        "weights": {"path": _relative(result.weights, Path(out)), "sha256": result.sha256},
        "region": ref, "layers": [layer.to_json() for layer in result.layers],
        "verdict": "proven" if result.proven else ("covered" if result.covered
                                                   else "not covered"),
        "statement": result.statement()}
    content["checksum"] = checksum(content)
    return content


def write_network_certificate(result: NetworkResult, out: Path | str) -> Path:
    from snn_theory.files import atomic_write

    text = json.dumps(network_certificate_content(result, out), indent=1, sort_keys=True)
    return atomic_write(Path(out), text)


def is_network_certificate(path: Path | str) -> bool:
    try:
        content = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(content, dict) and content.get("format") == FORMAT


def region_from_reference(ref: Any, base: Path) -> CertifiedRegion:
    """Re-derive a region from a certificate's reference (a paving re-checked, its sha256
    compared)."""
    if not isinstance(ref, dict):
        raise InputError("region: expected an object")
    kind = ref.get("kind")
    if kind == "theorem" and ref.get("theorem") == "theorem1":
        return theorem1_region()
    if kind == "rectangle":
        return rectangle_region(f"omega={ref['omega'][0]}:{ref['omega'][1]},"
                                f"tau={ref['tau'][0]}:{ref['tau'][1]}")
    if kind in ("paving", "largest-rectangle"):
        path = base / str(ref["path"])
        if sha256_file(path) != ref.get("sha256"):
            raise InputError(f"region: {ref['path']} is not the paving the certificate names "
                             "(sha256 differs)")
        return paving_region(path) if kind == "paving" else domain_map_region(path)
    raise InputError(f"region: unknown reference {kind!r}")


@dataclass
class NetworkReport:
    """Outcome of :func:`check_network_certificate` (every number re-derived)."""

    path: str
    valid: bool
    message: str
    statement: str = ""
    verdict: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "valid": self.valid, "message": self.message,
                "kind": "network", "verdict": self.verdict, "statement": self.statement}

    def line(self) -> str:
        head = f"{'VALID' if self.valid else 'INVALID'} {self.path}"
        if not self.valid:
            return f"{head}: network certificate REJECTED: {self.message}"
        return f"{head}: network certificate, {self.verdict}: {self.statement}"


def check_network_certificate(path: Path | str) -> NetworkReport:
    """Re-verify a network certificate from the weights file; never raises for a bad one."""
    from snn_theory.certify.certificate.io import checksum

    report = NetworkReport(str(path), False, "")
    try:
        content = json.loads(Path(path).read_text())
        if not isinstance(content, dict) or content.get("format") != FORMAT or \
                content.get("version") != VERSION:
            raise InputError("not an snn-theory network certificate of this version")
        if content.get("checksum") != checksum(content):
            raise InputError("checksum mismatch: the file was edited or damaged")
        base = Path(path).resolve().parent
        region = region_from_reference(content["region"], base)
        weights = base / str(content["weights"]["path"])
        if sha256_file(weights) != content["weights"]["sha256"]:
            raise InputError("the weights file is not the one certified (sha256 differs)")
        result = certify_network(weights, region)
        fresh = network_certificate_content(result, path)
        for key in ("layers", "verdict", "statement"):
            if fresh[key] != content[key]:
                raise InputError(f"{key}: not what the weights give")
        report.valid, report.message = True, "valid: every unit re-derived from the weights"
        report.verdict, report.statement = content["verdict"], content["statement"]
    except InputError as exc:
        report.message = str(exc)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, IndexError,
            RecursionError) as exc:
        report.message = f"malformed network certificate ({type(exc).__name__}: {exc})"
    return report


__all__ = ["FORMAT", "LayerResult", "NetworkReport", "NetworkResult", "network_certificate_content",
           "certify_network", "check_network_certificate", "is_network_certificate",
           "load_hidden_weights", "region_from_reference", "write_network_certificate"]
