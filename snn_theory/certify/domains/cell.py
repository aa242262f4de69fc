"""One cell of the plane: deciding it (the contraction search, for any activation),
the paving's results, cell geometry and the largest proven rectangle around a point."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from snn_theory.certify.domains.spec import CONDITIONS, PLANE, REFERENCE, Cell, PavingSpec
from snn_theory.exact import format_fraction


def cell_json(cell: Cell, plane: tuple[str, str] = PLANE) -> dict[str, list[str]]:
    return {n: [format_fraction(a), format_fraction(b)] for n, (a, b) in zip(plane, cell)}


def decide_cell(spec_json: dict[str, Any], cell_text: dict[str, list[str]]) -> dict[str, Any]:
    """Decide one cell; returns its certificate entry (JSON-ready; a top-level function so
    that process pools and Dask workers can run it).  Deterministic: one process, one
    thread at a time, a box budget and no time limit."""
    from snn_theory.certify.search.executors import ARB_LOCK, Executor
    from snn_theory.certify.search.loop import verify_claim
    from snn_theory.certify.search.settings import Settings

    spec = PavingSpec.from_json(spec_json)
    cell = entry_cell(cell_text, spec.plane)
    settings = Settings(max_boxes=spec.max_boxes, precision=spec.precision, round_size=1,
                        bounder=spec.bounder(cell))
    entry: dict[str, Any] = {**cell_json(cell, spec.plane), "verdict": "undecided", "claims": []}
    evidence = []
    boxes = 0
    with ARB_LOCK:  # arb's and mpmath's precisions are process-global
        with Executor(1) as executor:
            for name, claim in zip(CONDITIONS, spec.claims(cell)):
                result = verify_claim(claim, settings, executor)
                boxes += len(result.leaves)
                if result.verdict == "refuted":
                    data = result.certificate_data()
                    entry.update(verdict="refuted", failed=name,
                                 claims=[_strip(data)], boxes=boxes)
                    return entry
                if result.verdict != "holds":
                    entry.update(failed=name, boxes=boxes)
                    return entry
                evidence.append(_strip(result.certificate_data()))
    entry.update(verdict="proven", claims=evidence, boxes=boxes)
    return entry


#: What a claim's evidence leaves out: its statement and its map (re-derived by the checker
#: from the paving's spec and the cell).
DERIVED = ("claim", "constants", "activation")


def _strip(data: dict[str, Any]) -> dict[str, Any]:
    """A claim's evidence without its statement and its map (re-derived by the checker)."""
    return {k: v for k, v in data.items() if k not in DERIVED}


# ------------------------------------------------------------------------------ results
@dataclass
class PavingProgress:
    """Told to the progress callback after each decided cell."""

    level: int
    done: int
    total: int
    proven: int
    refuted: int
    undecided: int


ProgressFn = Callable[[PavingProgress], None]


@dataclass
class Paving:
    """The final cells (sorted by (ω₋, τ₋)), their entries, and derived numbers."""

    spec: PavingSpec
    entries: list[dict[str, Any]]
    seconds: float = 0.0
    evaluated: int = 0  # cells decided, counting refined parents
    resumed: int = 0  # cells taken from a resume state after re-checking
    areas: dict[str, Fraction] = field(default_factory=dict)
    largest: Cell | None = None

    def cells(self, verdict: str | None = None) -> list[Cell]:
        return [entry_cell(e, self.spec.plane) for e in self.entries if verdict is None or e["verdict"] == verdict]

    def summary(self) -> dict[str, Any]:
        f = format_fraction
        return {"cells": len(self.entries),
                **{v: sum(e["verdict"] == v for e in self.entries)
                   for v in ("proven", "refuted", "undecided")},
                "areas": {k: f(v) for k, v in self.areas.items()},
                "largest_rectangle": None if self.largest is None
                else cell_json(self.largest, self.spec.plane),
                "largest_area": None if self.largest is None else f(area(self.largest))}


def entry_cell(entry: dict[str, Any], plane: tuple[str, str] = PLANE) -> Cell:
    return (tuple(Fraction(x) for x in entry[plane[0]]),  # type: ignore[return-value]
            tuple(Fraction(x) for x in entry[plane[1]]))


def area(cell: Cell) -> Fraction:
    (w0, w1), (t0, t1) = cell
    return (w1 - w0) * (t1 - t0)


def _touches(a: Cell, b: Cell) -> bool:
    """Closed cells a, b share a boundary segment of positive length (or overlap)."""
    (a0, a1), (a2, a3) = a
    (b0, b1), (b2, b3) = b
    meet_w, meet_t = a0 <= b1 and b0 <= a1, a2 <= b3 and b2 <= a3
    long_w, long_t = min(a1, b1) > max(a0, b0), min(a3, b3) > max(a2, b2)
    return meet_w and meet_t and (long_w or long_t)


def refine(entries: Sequence[dict[str, Any]], plane: tuple[str, str] = PLANE) -> list[Cell]:
    """The cells to split at the next level: undecided ones, and refuted ones sharing an
    edge with a cell that is not refuted (the boundary of the refuted region)."""
    others = [entry_cell(e, plane) for e in entries if e["verdict"] != "refuted"]
    out = []
    for e in entries:
        c = entry_cell(e, plane)
        if e["verdict"] == "undecided" or (
                e["verdict"] == "refuted" and any(_touches(c, p) for p in others)):
            out.append(c)
    return out


# ------------------------------------------------------------------------------ executors


def largest_rectangle(proven: Sequence[Cell], point: tuple[Fraction, Fraction] = (Fraction(0),
                      Fraction(1))) -> Cell | None:
    """The largest-area axis-aligned rectangle containing ``point`` inside the union of the
    ``proven`` cells (None when no proven cell contains the point).  Exact: the rectangle's
    sides lie on cell edges; every elementary rectangle of the edge grid it covers lies in a
    proven cell."""
    if not proven:
        return None
    xs = sorted({x for c in proven for x in c[0]})
    ys = sorted({y for c in proven for y in c[1]})
    nx, ny = len(xs) - 1, len(ys) - 1
    ok = [[False] * ny for _ in range(nx)]
    for (w0, w1), (t0, t1) in proven:
        for i in range(xs.index(w0), xs.index(w1)):
            for j in range(ys.index(t0), ys.index(t1)):
                ok[i][j] = True
    px, py = point
    best: tuple[Fraction, Cell] | None = None
    for i1 in range(nx):
        if xs[i1] > px:
            break
        col_ok = [True] * ny
        for i2 in range(i1, nx):
            col_ok = [col_ok[j] and ok[i2][j] for j in range(ny)]
            if xs[i2 + 1] < px:
                continue
            # the longest run of rows j1..j2 with col_ok, ys[j1] <= py <= ys[j2+1]
            j = 0
            while j < ny:
                if not col_ok[j]:
                    j += 1
                    continue
                k = j
                while k + 1 < ny and col_ok[k + 1]:
                    k += 1
                if ys[j] <= py <= ys[k + 1]:
                    rect = ((xs[i1], xs[i2 + 1]), (ys[j], ys[k + 1]))
                    if best is None or area(rect) > best[0]:
                        best = (area(rect), rect)
                j = k + 1
    return None if best is None else best[1]


def derive_areas(paving: Paving) -> None:
    """Set ``paving.areas`` (per verdict) and ``paving.largest`` (the largest proven rectangle
    around the reference point) from its entries."""
    paving.areas = {v: sum((area(c) for c in paving.cells(v)), Fraction(0))
                    for v in ("proven", "refuted", "undecided")}
    plane = paving.spec.plane
    paving.largest = largest_rectangle(paving.cells("proven"),
                                       (REFERENCE[plane[0]], REFERENCE[plane[1]]))
