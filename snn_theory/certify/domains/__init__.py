"""Certified domain maps: where in the weight plane (ω, τ) do Banach's two conditions hold?

Fix a box B = [μ₋, μ₊] × [ν₋, ν₊] of input moments (it must contain the fixed point
(μ, ν) = (0, 1)).  For a cell C = [ω₋, ω₊] × [τ₋, τ₊] of the weight plane the two
conditions of Banach's fixed-point theorem on B for every weight statistic in C are the five
claims (:mod:`snn_theory.certify.claims`) on the domain D = B × C in (μ, ω, ν, τ):

* ``spectral_norm < 1`` on D (g is a contraction on B, docs/mathematics.md §5), and
* ``mean >= μ₋``, ``mean <= μ₊``, ``variance >= ν₋``, ``variance <= ν₊`` on D
  (g maps B into itself).

Each claim is decided by the existing branch-and-bound (:func:`snn_theory.certify.search.loop.verify_claim`,
decide only, a box budget per claim — never a time limit, so the outcome is deterministic):

* **proven**: all five hold; the cell's evidence is the five claims' leaf boxes with their
  bounds (exactly what a single-claim certificate stores);
* **refuted**: one claim (the first, in the order mean, variance, contraction) is false at a
  rigorously evaluated point of D — the counterexample is stored;
* **undecided**: the budget ran out before a verdict.

The plane region is cut into an initial uniform grid of cells; for ``depth`` levels, every
undecided cell, and every refuted cell sharing an edge with a cell that is not refuted (the
boundary), is cut into four equal cells, which are decided afresh.  The final cells tile the region exactly.

Cells are independent tasks, run on local processes or on a Dask distributed cluster
(``scheduler="tcp://HOST:PORT"``) by the verifier's executor
(:class:`snn_theory.certify.search.executors.Executor`).  Each task computes in one thread of
one process with no time limit, and results are ordered by cell, so the paving and its
certificate are byte-identical whichever executor ran them.  A state file lets an interrupted
run resume: saved proven/refuted cells are re-checked by the certificate checker before being
used (undecided ones are recomputed) — the state is never evidence.

The certificate (``docs/certificate-format.md``, "Paving certificates") is checked by
:func:`check_paving`: the cells tile the region; each cell's claims are re-derived from the
paving's B and the cell (never read from the file) and each proven claim re-proven, each
counterexample re-evaluated, by :func:`snn_theory.certify.certificate.check.check_content`.

The largest certified rectangle (:func:`largest_rectangle`) is the largest-area axis-aligned
rectangle containing (ω, τ) = (0, 1) inside the union of proven cells; both conditions hold on
it because they hold on every cell it meets.  The largest certified (μ, ν) box
(:func:`largest_box`) bisects on the scale s of a family B(s) of boxes around (0, 1), a scale
counting only when the paving of the weight rectangle for B(s) has every cell proven.
"""


from __future__ import annotations

from snn_theory.certify.domains.cell import (
    DERIVED,
    Paving,
    PavingProgress,
    ProgressFn,
    area,
    cell_json,
    decide_cell,
    derive_areas,
    entry_cell,
    largest_rectangle,
    refine,
)
from snn_theory.certify.domains.certificate import (
    PavingReport,
    certificate_content,
    check_entry,
    check_paving,
    is_paving_certificate,
    paving_constants,
    read_paving,
    write_paving,
)
from snn_theory.certify.domains.largest import BoxSearch, largest_box, paper_areas, scaled_box
from snn_theory.certify.domains.paving import CELL_QUANTITIES, PAVING_STATE, map_domain, precompile
from snn_theory.certify.domains.spec import (
    CONDITIONS,
    DEFAULT_BOX,
    DEFAULT_FIXED,
    DEFAULT_PLANE_RANGES,
    DEFAULT_REGION,
    FORMAT,
    PAPER_RECTANGLES,
    PLANE,
    PLANE_VARIABLES,
    REFERENCE,
    VERSION,
    Cell,
    Interval,
    PavingError,
    PavingSpec,
    check_plane,
    parse_plane,
    parse_range,
)

__all__ = [
    "CONDITIONS",
    "Cell",
    "DEFAULT_BOX",
    "DEFAULT_FIXED",
    "DEFAULT_PLANE_RANGES",
    "DEFAULT_REGION",
    "FORMAT",
    "Interval",
    "PAPER_RECTANGLES",
    "PLANE",
    "PLANE_VARIABLES",
    "PavingError",
    "PavingSpec",
    "REFERENCE",
    "VERSION",
    "check_plane",
    "parse_plane",
    "parse_range",
    "DERIVED",
    "Paving",
    "PavingProgress",
    "ProgressFn",
    "area",
    "cell_json",
    "decide_cell",
    "derive_areas",
    "entry_cell",
    "largest_rectangle",
    "refine",
    "CELL_QUANTITIES",
    "PAVING_STATE",
    "map_domain",
    "precompile",
    "PavingReport",
    "certificate_content",
    "check_entry",
    "check_paving",
    "is_paving_certificate",
    "paving_constants",
    "read_paving",
    "write_paving",
    "BoxSearch",
    "largest_box",
    "paper_areas",
    "scaled_box",
]
