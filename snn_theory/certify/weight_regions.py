"""Certified regions of the weight plane (ω, τ) and the exact weight statistics of a network.

A hidden unit with incoming weight row w = (w_1, …, w_n) has the weight statistics
ω = Σ_j w_j and τ = Σ_j w_j² (docs/mathematics.md §1).  A :class:`CertifiedRegion` is a
finite union of closed rectangles ("cells") [ω₋, ω₊] × [τ₋, τ₊] with exact rational ends
together with the (μ, ν) box B for which, on every cell C, the moment map g of the
infinite-width mean-field SELU network is *proven* to be a contraction of B into itself
(Banach: a unique fixed point in B, attracting every iterate that starts in B):

* :func:`theorem1_region`: Theorem 1's rectangle ω ∈ [−0.1, 0.1] × τ ∈ [0.95, 1.1] with its box
  μ ∈ [−0.1, 0.1] × ν ∈ [0.8, 1.5] (read from :data:`snn_theory.certify.claims.THEOREM_DOMAINS`;
  proven by ``verify-contraction --theorem 1``);
* :func:`paving_region`: the proven cells of a paving certificate, *after* the certificate
  checker :func:`snn_theory.certify.domains.check_paving` re-verified every cell (a paving that
  fails its check is refused: :class:`InputError`), with the paving's box;
* :func:`domain_map_region`: the largest certified rectangle of the committed domain map
  (``proofs/domain.paving.json.gz``), as the checker derives it from the checked cells.

:func:`exact_row_statistics` computes every row's (ω, τ) *exactly* from stored binary floating
point weights (each float is a dyadic rational m·2^e; the sums are done in Python integers),
so membership (:meth:`CertifiedRegion.contains`) is decided exactly, without rounding.

Weight layout: a layer's weight matrix has shape (units, fan_in) and row i holds unit i's
incoming weights (z = W x + b: equinox's ``eqx.nn.Linear.weight``; for a (fan_in, units)
kernel, as in flax or Keras, pass its transpose).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from snn_theory.errors import InputError
from snn_theory.exact import format_fraction

#: A closed rectangle ((ω₋, ω₊), (τ₋, τ₊)) with exact ends.
Cell = tuple[tuple[Fraction, Fraction], tuple[Fraction, Fraction]]

#: The committed domain map, relative to the repository root.
DOMAIN_MAP = Path("proofs") / "domain.paving.json.gz"


@dataclass(frozen=True)
class CertifiedRegion:
    """Cells of the (ω, τ) plane on each of which g is a proven contraction of ``box``.

    ``name``: how it was chosen (``theorem1``, ``domain-map``, a paving path, a rectangle);
    ``box``: {"mu": (lo, hi), "nu": (lo, hi)}; ``certified``: whether the contraction is
    proven on every cell (False only for a user rectangle outside every certified one, for
    which only membership is proven); ``reference``: JSON naming the source (for a paving
    its sha256).
    """

    name: str
    cells: tuple[Cell, ...]
    box: dict[str, tuple[Fraction, Fraction]]
    certified: bool
    reference: dict[str, Any]

    def __post_init__(self) -> None:
        if not self.cells:
            raise InputError(f"{self.name}: no certified cell")
        for (w0, w1), (t0, t1) in self.cells:
            if not (w0 <= w1 and 0 < t0 <= t1):
                raise InputError(f"{self.name}: empty or reversed cell")

    def contains(self, omega: Fraction, tau: Fraction) -> bool:
        """Whether the exact point (ω, τ) lies in one of the closed cells."""
        return any(w0 <= omega <= w1 and t0 <= tau <= t1 for (w0, w1), (t0, t1) in self.cells)

    def float_cells(self) -> np.ndarray:
        """(cells, 4) float64: ω₋, ω₊, τ₋, τ₊ of each cell, rounded *inward* (a point inside
        the float cell is inside the exact cell)."""
        out = np.empty((len(self.cells), 4))
        for k, ((w0, w1), (t0, t1)) in enumerate(self.cells):
            for j, (x, up) in enumerate(((w0, True), (w1, False), (t0, True), (t1, False))):
                f = float(x)
                if up and Fraction(f) < x:
                    f = float(np.nextafter(f, np.inf))
                elif not up and Fraction(f) > x:
                    f = float(np.nextafter(f, -np.inf))
                out[k, j] = f
        return out

    def statement(self) -> str:
        """What membership of every unit in the region proves (and its conditions)."""
        b = self.box
        box = (f"(μ, ν) box μ ∈ [{format_fraction(b['mu'][0])}, {format_fraction(b['mu'][1])}]"
               f" × ν ∈ [{format_fraction(b['nu'][0])}, {format_fraction(b['nu'][1])}]")
        if not self.certified:
            return ("every unit's (ω, τ) lies in the given rectangle; it is not inside a "
                    "certified rectangle, so nothing is proven about the moment map")
        return (f"every layer's infinite-width mean-field moment map g(·; ω_i, τ_i) is, for "
                f"each unit's (ω_i, τ_i), a certified contraction of the {box} into itself, "
                f"with a unique attracting fixed point there ({self.name}); conditions: the "
                f"infinite-width mean-field map of z = W·x without bias (independent Gaussian "
                f"pre-activations), and the layer's input moments in the box")

    def to_json(self) -> dict[str, Any]:
        f = format_fraction
        return {"name": self.name, "certified": self.certified, "reference": self.reference,
                "box": {k: [f(a), f(b)] for k, (a, b) in self.box.items()},
                "cells": len(self.cells)}


def theorem1_region() -> CertifiedRegion:
    """Theorem 1's rectangle and box, from :data:`snn_theory.certify.claims.THEOREM_DOMAINS`."""
    from snn_theory.certify.claims import THEOREM_DOMAINS
    from snn_theory.derive.formulas import VARIABLE_NAMES

    b = dict(zip(VARIABLE_NAMES, THEOREM_DOMAINS["theorem1"].bounds, strict=True))
    cell = (tuple(map(Fraction, b["omega"])), tuple(map(Fraction, b["tau"])))
    return CertifiedRegion("theorem1", (cell,),  # type: ignore[arg-type]
                           {"mu": tuple(map(Fraction, b["mu"])),  # type: ignore[dict-item]
                            "nu": tuple(map(Fraction, b["nu"]))},
                           True, {"kind": "theorem", "theorem": "theorem1"})


def sha256_file(path: Path | str) -> str:
    """The sha256 of a file's bytes (hex); :class:`InputError` if it cannot be read."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _checked_paving(path: Path | str) -> tuple[Any, dict[str, Any]]:
    from snn_theory.certify.domains import PLANE, check_paving, entry_cell, read_paving

    p = Path(path)
    if not p.is_file():
        raise InputError(f"paving {path}: no such file")
    report = check_paving(p)
    if not report.valid:
        raise InputError(f"paving {path} fails its check: {report.message}")
    content = read_paving(p)
    spec = content["spec"]
    if tuple(spec.get("plane", ())) != PLANE or "activation" in spec or spec.get("fixed"):
        raise InputError(f"paving {path}: not a SELU paving of the (omega, tau) plane")
    cells = tuple(entry_cell(e) for e in content["cells"] if e["verdict"] == "proven")
    if not cells:
        raise InputError(f"paving {path}: no proven cell")
    return report, {"cells": cells, "box": {k: (Fraction(a), Fraction(b))
                                            for k, (a, b) in spec["box"].items()}}


def paving_region(path: Path | str) -> CertifiedRegion:
    """The proven cells of a paving certificate, re-verified by the checker first
    (:class:`InputError` if it fails its check, is missing, or is not an (ω, τ) paving)."""
    digest = sha256_file(path)
    _, p = _checked_paving(path)
    return CertifiedRegion(f"paving {Path(path).name}", p["cells"], p["box"], True,
                           {"kind": "paving", "path": str(path), "sha256": digest})


def committed_domain_map() -> Path:
    """The committed domain map of the package's repository (:class:`InputError` if absent)."""
    path = Path(__file__).resolve().parents[2] / DOMAIN_MAP
    if not path.is_file():
        raise InputError(f"the committed domain map {DOMAIN_MAP} is not here")
    return path


def domain_map_region(path: Path | str | None = None) -> CertifiedRegion:
    """The largest certified rectangle of a checked paving (default: the committed domain
    map), as :func:`snn_theory.certify.domains.check_paving` derives it, with the paving's box."""
    path = committed_domain_map() if path is None else Path(path)
    digest = sha256_file(path)
    report, p = _checked_paving(path)
    if report.largest is None:
        raise InputError(f"paving {path}: no certified rectangle contains (0, 1)")
    cell = (tuple(map(Fraction, report.largest["omega"])),
            tuple(map(Fraction, report.largest["tau"])))
    return CertifiedRegion("domain-map", (cell,), p["box"], True,  # type: ignore[arg-type]
                           {"kind": "largest-rectangle", "path": str(path), "sha256": digest})


def rectangle_region(text: str) -> CertifiedRegion:
    """``"omega=a:b,tau=c:d"`` (exact decimals).  Certified (with Theorem 1's box) when it
    lies inside Theorem 1's rectangle; otherwise only membership can be proven."""
    import re

    from snn_theory.exact import parse_exact

    parts: dict[str, tuple[Fraction, Fraction]] = {}
    for item in str(text).split(","):
        m = re.fullmatch(r"\s*(omega|tau)\s*=\s*([^:]+):([^:]+)\s*", item)
        if not m or m.group(1) in parts:
            raise InputError(f"domain: cannot parse {item.strip()!r}; expected "
                             "'omega=a:b,tau=c:d'")
        parts[m.group(1)] = (parse_exact(m.group(2), "domain"), parse_exact(m.group(3), "domain"))
    if set(parts) != {"omega", "tau"}:
        raise InputError("domain: give both omega=a:b and tau=c:d")
    (w0, w1), (t0, t1) = parts["omega"], parts["tau"]
    if not (w0 <= w1 and 0 < t0 <= t1):
        raise InputError("domain: empty or reversed interval, or tau <= 0")
    t1r = theorem1_region()
    (a0, a1), (b0, b1) = t1r.cells[0]
    inside = a0 <= w0 and w1 <= a1 and b0 <= t0 and t1 <= b1
    return CertifiedRegion(f"rectangle omega=[{format_fraction(w0)}, {format_fraction(w1)}], "
                           f"tau=[{format_fraction(t0)}, {format_fraction(t1)}]"
                           + (" (inside Theorem 1's rectangle)" if inside else ""),
                           (((w0, w1), (t0, t1)),), t1r.box, inside,
                           {"kind": "rectangle", "omega": [format_fraction(w0),
                                                           format_fraction(w1)],
                            "tau": [format_fraction(t0), format_fraction(t1)]})


def resolve_region(name: str) -> CertifiedRegion | None:
    """``theorem1``, ``domain-map`` or a paving file → its region; ``none``/``max-norm`` → None."""
    if name in ("none", "max-norm"):
        return None
    if name == "theorem1":
        return theorem1_region()
    if name == "domain-map":
        return domain_map_region()
    return paving_region(name)


# ------------------------------------------------------------------------------ exact sums
def exact_row_statistics(w: np.ndarray) -> tuple[list[Fraction], list[Fraction]]:
    """Exact (ω_i, τ_i) = (Σ_j w_ij, Σ_j w_ij²) of every row of a float matrix (units, fan_in)
    (float16/32/64): every float is the dyadic rational M·2^E (``np.frexp``, M an integer of
    at most 53 bits); the sums are exact Python-integer sums.  :class:`InputError` for a
    matrix that is not 2-D or holds a non-finite value."""
    a = np.asarray(w)
    if a.ndim != 2 or a.shape[1] < 1 or not np.issubdtype(a.dtype, np.floating):
        raise InputError(f"a weight matrix must be a 2-D float array (got shape {a.shape}, "
                         f"dtype {a.dtype})")
    a = a.astype(np.float64)  # exact for float16/32/64
    if not np.all(np.isfinite(a)):
        raise InputError("a weight matrix holds a non-finite value")
    mant, expo = np.frexp(a)
    m = (mant * 2.0**53).astype(np.int64)  # exact: |mant| < 1 has 53 bits
    e = expo.astype(np.int64) - 53
    omegas, taus = [], []
    for row_m, row_e in zip(m.tolist(), e.tolist(), strict=True):
        low = min(row_e)
        s = sum(x << (k - low) for x, k in zip(row_m, row_e, strict=True))
        q = sum((x * x) << (2 * (k - low)) for x, k in zip(row_m, row_e, strict=True))
        omegas.append(Fraction(s) * Fraction(2) ** low)
        taus.append(Fraction(q) * Fraction(2) ** (2 * low))
    return omegas, taus


def _float_bounds(a: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per row of the float64 matrix ``a`` (finite, exact copies of the stored floats):
    float64 intervals [ω_lo, ω_hi], [τ_lo, τ_hi] that provably contain the exact Σw, Σw².

    Any order of n float64 additions errs by at most γ_{n−1}·Σ|terms| with γ_k = k·u/(1 − k·u),
    u = 2⁻⁵³ (Higham, Accuracy and Stability of Numerical Algorithms, §4.2); squaring adds a
    relative u per term (none for float32/float16 inputs) and an absolute 2⁻¹⁰⁷⁴ below the
    normal range.  The bound used, 2(n + 1)·u·(computed Σ|terms|) + (n + 1)·2⁻¹⁰²², covers
    both and the rounding of Σ|terms| itself while (n + 1)·u ≤ 1/4; each end is then moved one
    ulp outward, which covers the rounding of the subtraction/addition."""
    n = a.shape[1]
    u = 2.0**-53
    slack = 2.0 * (n + 1) * u
    tiny = (n + 1) * 2.0**-1022
    s = a.sum(axis=1)
    sq = np.square(a)
    t = sq.sum(axis=1)
    e_s = slack * np.abs(a).sum(axis=1) + tiny
    e_t = slack * t + tiny
    down, up = -np.inf, np.inf
    return (np.nextafter(s - e_s, down), np.nextafter(s + e_s, up),
            np.nextafter(t - e_t, down), np.nextafter(t + e_t, up))


def _outward_cells(region: CertifiedRegion) -> np.ndarray:
    """(cells, 4) float64 ω₋, ω₊, τ₋, τ₊ rounded *outward* (the float cell contains the exact
    one)."""
    out = np.empty((len(region.cells), 4))
    for k, ((w0, w1), (t0, t1)) in enumerate(region.cells):
        for j, (x, down) in enumerate(((w0, True), (w1, False), (t0, True), (t1, False))):
            f = float(x)
            if down and Fraction(f) > x:
                f = float(np.nextafter(f, -np.inf))
            elif not down and Fraction(f) < x:
                f = float(np.nextafter(f, np.inf))
            out[k, j] = f
    return out


def inside_mask(w: np.ndarray, region: CertifiedRegion) -> np.ndarray:
    """Per row of the float matrix ``w`` (units, fan_in): whether its exact (ω, τ) lies in
    ``region`` — decided exactly.  A row whose float64 enclosure of (Σw, Σw²)
    (:func:`_float_bounds`, rigorous) lies inside a cell rounded inward is inside; one whose
    enclosure misses every cell rounded outward is outside; only the rows left undecided are
    summed in rationals (:func:`exact_row_statistics`).  Same answer as the rationals alone,
    without their cost for rows away from every cell edge."""
    a = np.asarray(w)
    if a.ndim != 2 or a.shape[1] < 1 or not np.issubdtype(a.dtype, np.floating):
        raise InputError(f"a weight matrix must be a 2-D float array (got shape {a.shape}, "
                         f"dtype {a.dtype})")
    a64 = a.astype(np.float64)  # exact for float16/32/64
    n = a64.shape[1]
    if not np.all(np.isfinite(a64)) or (n + 1) * 2.0**-53 > 0.25 \
            or np.max(np.abs(a64), initial=0.0) > 2.0**400:
        om, ta = exact_row_statistics(a)
        return np.array([region.contains(o, t) for o, t in zip(om, ta, strict=True)], bool)
    wl, wh, tl, th = (b[:, None] for b in _float_bounds(a64))
    inner, outer = region.float_cells(), _outward_cells(region)
    inside = ((wl >= inner[:, 0]) & (wh <= inner[:, 1]) & (tl >= inner[:, 2])
              & (th <= inner[:, 3])).any(axis=1)
    meets = ((wh >= outer[:, 0]) & (wl <= outer[:, 1]) & (th >= outer[:, 2])
             & (tl <= outer[:, 3])).any(axis=1)
    out = inside.copy()
    undecided = np.flatnonzero(~inside & meets)
    if undecided.size:
        om, ta = exact_row_statistics(a[undecided])
        out[undecided] = [region.contains(o, t) for o, t in zip(om, ta, strict=True)]
    return out


def inside_fractions(weights: Sequence[np.ndarray], region: CertifiedRegion) -> list[float]:
    """Per weight matrix: the fraction of rows whose exact (ω, τ) lies in ``region``
    (decided exactly: :func:`inside_mask`)."""
    return [int(m.sum()) / m.size for m in (inside_mask(w, region) for w in weights)]


__all__ = ["Cell", "CertifiedRegion", "DOMAIN_MAP", "committed_domain_map", "domain_map_region",
           "exact_row_statistics", "inside_fractions", "inside_mask", "paving_region", "rectangle_region",
           "resolve_region", "sha256_file", "theorem1_region"]
