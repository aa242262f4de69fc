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

import gzip
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

from snn_theory.certify.claims import Claim, Domain
from snn_theory.errors import InputError, Interrupted
from snn_theory.evaluate.model import activation_of
from snn_theory.exact import format_fraction, parse_exact
from snn_theory.files import StateFile, atomic_write

FORMAT = "snn-theory-paving"
VERSION = 1
#: The default plane (the weights); B's variables are the other two.
PLANE: tuple[str, str] = ("omega", "tau")
#: Variables a plane may name: two of the moment map's (μ, ω, ν, τ), or SELU's (λ, α).
PLANE_VARIABLES: tuple[str, ...] = ("mu", "omega", "nu", "tau", "lam", "alpha")
#: The point the largest certified rectangle must contain, per plane variable (λ, α: λ01,
#: α01 rounded to 4 decimals, exact rationals).
REFERENCE: dict[str, Fraction] = {"mu": Fraction(0), "omega": Fraction(0), "nu": Fraction(1),
                                  "tau": Fraction(1), "lam": Fraction("1.0507"),
                                  "alpha": Fraction("1.6733")}
#: Default ranges of the plane variables that are not weights or B.
DEFAULT_PLANE_RANGES: dict[str, tuple[str, str]] = {"mu": ("-0.1", "0.1"), "nu": ("0.8", "1.5"),
                                                    "lam": ("1", "1.1"), "alpha": ("1.5", "1.8")}
#: Default ranges of ω, τ when they are held fixed (not in the plane).
DEFAULT_FIXED: dict[str, tuple[str, str]] = {"omega": ("-0.01", "0.01"), "tau": ("0.99", "1.01")}
#: Claim names and the order cells are decided in (cheap moment bounds first).
CONDITIONS: tuple[str, ...] = ("mean_lower", "mean_upper", "variance_lower", "variance_upper",
                               "contraction")
#: Theorem 1 of the paper (weights) and its box B.
PAPER_RECTANGLES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "Theorem 1": (("-0.1", "0.1"), ("0.95", "1.1")),
    "Appendix (wide tau, contraction only)": (("-0.1", "0.1"), ("0.8", "1.25")),
}
DEFAULT_BOX = {"mu": ("-0.1", "0.1"), "nu": ("0.8", "1.5")}
DEFAULT_REGION = {"omega": ("-0.3", "0.3"), "tau": ("0.9", "1.2")}

Interval = tuple[Fraction, Fraction]
Cell = tuple[Interval, Interval]  # (omega, tau)


class PavingError(Exception):
    """A paving certificate is invalid; the message says why (one line)."""


# ------------------------------------------------------------------------------ the spec
@dataclass(frozen=True)
class PavingSpec:
    """What is paved: B (``mu``, ``nu``), the plane region (``omega``, ``tau``), the initial
    grid (``cells`` per axis), the refinement ``depth``, and the per-claim box budget."""

    mu: Interval
    nu: Interval
    omega: Interval
    tau: Interval
    cells: int = 4
    depth: int = 2
    max_boxes: int = 160
    precision: int = 64
    #: The two variables paved; ``region`` their ranges (default plane: (``omega``, ``tau``)).
    #: Variables of (μ, ω, ν, τ) not in the plane take B's range (μ, ν) or ``omega``/``tau``
    #: (held fixed: a range); the plane (lam, alpha) pavings SELU's constants, per cell.
    plane: tuple[str, str] = PLANE
    region: tuple[Interval, Interval] | None = None
    #: Another activation than SELU (a name, an expression, an Activation or a model): its cells
    #: are decided by the generic verifier (:mod:`snn_theory.certify.activation_verify`) and the
    #: certificate records its definition (the checker re-derives it from there).
    activation: Any = None

    def __post_init__(self) -> None:
        check_plane(self.plane)
        act = activation_of(self.activation)  # SELU: None, the closed forms
        object.__setattr__(self, "activation", None if act is None or act.is_selu else act)
        if self.activation is not None and self.plane == ("lam", "alpha"):
            raise InputError("the plane lam,alpha is SELU's; not with another activation")
        if self.region is None:
            if self.plane != PLANE:
                raise InputError(f"plane {','.join(self.plane)}: the ranges paved are needed")
            object.__setattr__(self, "region", (self.omega, self.tau))
        for name, (lo, hi) in zip(self.plane, self.region):
            if not lo < hi:
                raise InputError(f"{name} range [{format_fraction(lo)}, {format_fraction(hi)}] "
                                 "is empty or inverted")
            if name in ("nu", "tau", "lam", "alpha") and lo <= 0:
                raise InputError(f"the {name} range must stay > 0")
        for name in ("mu", "nu", "omega", "tau"):
            lo, hi = getattr(self, name)
            if not lo < hi:
                raise InputError(f"{name} range [{format_fraction(lo)}, {format_fraction(hi)}] "
                                 "is empty or inverted")
        if self.nu[0] <= 0 or self.tau[0] <= 0:
            raise InputError("nu and tau ranges must stay > 0")
        if self.plane != ("lam", "alpha") and self.activation is None and not (
                self.mu[0] <= 0 <= self.mu[1] and self.nu[0] <= 1 <= self.nu[1]):
            raise InputError(f"the box B = mu [{format_fraction(self.mu[0])}, "
                             f"{format_fraction(self.mu[1])}] x nu [{format_fraction(self.nu[0])}, "
                             f"{format_fraction(self.nu[1])}] does not contain the fixed point "
                             "(mu, nu) = (0, 1)")
        if not 1 <= self.cells <= 64:
            raise InputError(f"resolution: --cells must be between 1 and 64 (got {self.cells})")
        if not 0 <= self.depth <= 8:
            raise InputError(f"--depth must be between 0 and 8 (got {self.depth})")
        if self.max_boxes < 16:
            raise InputError(f"--max-boxes must be ≥ 16, the initial grid (got {self.max_boxes})")
        if not 30 <= self.precision <= 4096:
            raise InputError(f"--precision must be between 30 and 4096 bits (got {self.precision})")

    @property
    def fixed(self) -> tuple[str, ...]:
        """ω, τ when they are not in the plane (held to the ranges ``omega``, ``tau``)."""
        return tuple(n for n in ("omega", "tau") if n not in self.plane)

    def to_json(self) -> dict[str, Any]:
        f = format_fraction
        out: dict[str, Any] = {
            "plane": list(self.plane),
            "box": {"mu": [f(x) for x in self.mu], "nu": [f(x) for x in self.nu]},
            "region": {n: [f(x) for x in iv] for n, iv in zip(self.plane, self.region)}}
        if self.plane != PLANE:
            out["fixed"] = {n: [f(x) for x in getattr(self, n)] for n in self.fixed}
        out.update({"cells": self.cells, "depth": self.depth, "max_boxes": self.max_boxes,
                    "precision_bits": self.precision,
                    "constants": {"source": self._constants_source()}})
        if self.activation is not None:
            out["activation"] = self.activation.to_json()
        return out

    def _constants_source(self) -> str:
        if self.activation is not None:
            return "activation"
        return "plane" if self.plane == ("lam", "alpha") else "closed-form"

    def constants(self, cell: Cell) -> Any:
        """The verifier's λ, α for a cell: the closed forms, or the cell's (λ, α) ranges."""
        from snn_theory.certify.search.workers import Constants

        return Constants(cell[0], cell[1]) if self.plane == ("lam", "alpha") else Constants()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PavingSpec:
        plane = check_plane(",".join(data["plane"]) if isinstance(data["plane"], list)
                            else "?")
        act = None
        if "activation" in data:
            from snn_theory.derive import activations

            act = activations.from_json(data["activation"])  # re-derived; edits rejected
        source = ("activation" if act is not None else
                  "plane" if plane == ("lam", "alpha") else "closed-form")
        want = {"source": source}
        if data.get("constants") != want:
            raise InputError(f"constants: expected {want} for the plane {','.join(plane)}")

        def iv(pair: Any, what: str) -> Interval:
            if not isinstance(pair, list) or len(pair) != 2:
                raise InputError(f"{what}: expected [lo, hi]")
            return parse_exact(pair[0], what), parse_exact(pair[1], what)

        for key in ("cells", "depth", "max_boxes", "precision_bits"):
            if not isinstance(data[key], int) or isinstance(data[key], bool):
                raise InputError(f"{key}: expected an integer")
        if sorted(data["region"]) != sorted(plane):
            raise InputError("region: expected the ranges of the plane's variables")
        region = tuple(iv(data["region"][n], f"region.{n}") for n in plane)
        fixed = data.get("fixed", {}) if plane != PLANE else {}
        expected = [n for n in ("omega", "tau") if n not in plane]
        if plane != PLANE and sorted(fixed) != sorted(expected):
            raise InputError(f"fixed: expected the ranges of {', '.join(expected) or 'nothing'}")
        weights = {n: fixed[n] if n in fixed else data["region"][n] for n in ("omega", "tau")}
        return cls(iv(data["box"]["mu"], "box.mu"), iv(data["box"]["nu"], "box.nu"),
                   iv(weights["omega"], "omega"), iv(weights["tau"], "tau"), data["cells"],
                   data["depth"], data["max_boxes"], data["precision_bits"], plane,
                   region, act)  # type: ignore[arg-type]

    def claims(self, cell: Cell) -> list[Claim]:
        """The five claims of a cell, in :data:`CONDITIONS` order (statements re-derived from
        B and the cell alone): the domain takes the cell's ranges for the plane's variables,
        B's for μ, ν and ``omega``/``tau`` for the weights otherwise."""
        ranges = {"mu": self.mu, "omega": self.omega, "nu": self.nu, "tau": self.tau}
        for name, iv in zip(self.plane, cell):
            if name in ranges:
                ranges[name] = iv
        domain = Domain(tuple(ranges[n] for n in ("mu", "omega", "nu", "tau")))  # type: ignore[arg-type]
        rel = {"mean_lower": ("mean", ">=", self.mu[0]), "mean_upper": ("mean", "<=", self.mu[1]),
               "variance_lower": ("variance", ">=", self.nu[0]),
               "variance_upper": ("variance", "<=", self.nu[1]),
               "contraction": ("spectral_norm", "<", Fraction(1))}
        return [Claim(f"domain.{name}", *rel[name], domain) for name in CONDITIONS]

    def initial_cells(self) -> list[Cell]:
        n = self.cells
        (x0, x1), (y0, y1) = self.region
        ws = [x0 + (x1 - x0) * k / n for k in range(n + 1)]
        ts = [y0 + (y1 - y0) * k / n for k in range(n + 1)]
        return [((ws[i], ws[i + 1]), (ts[j], ts[j + 1])) for i in range(n) for j in range(n)]


def parse_range(text: str, what: str) -> Interval:
    """``"a:b"`` → (a, b) exact; InputError for anything else or an empty/inverted range."""
    parts = str(text).split(":")
    if len(parts) != 2:
        raise InputError(f"{what}: {text!r} is not a range a:b")
    lo, hi = parse_exact(parts[0], what), parse_exact(parts[1], what)
    if not lo < hi:
        raise InputError(f"{what}: range {text!r} is empty or inverted")
    return lo, hi


def check_plane(text: str | Sequence[str]) -> tuple[str, str]:
    """``"nu,tau"`` → ("nu", "tau"): two of mu, omega, nu, tau, or lam,alpha (SELU's
    constants; only together).  InputError for unknown, repeated or mixed ones."""
    names = [p.strip() for p in (text.split(",") if isinstance(text, str) else text)]
    for n in names:
        if n not in PLANE_VARIABLES:
            raise InputError(f"plane: unknown variable {n!r}; use two of mu, omega, nu, tau, "
                             "or lam,alpha")
    if len(names) != 2:
        raise InputError(f"plane: expected two variables (got {len(names)})")
    if names[0] == names[1]:
        raise InputError(f"plane: variable {names[0]!r} repeated")
    if ("lam" in names or "alpha" in names) and names != ["lam", "alpha"]:
        raise InputError("plane: lam and alpha are paved together, as lam,alpha")
    return names[0], names[1]


def parse_plane(text: str) -> tuple[str, str]:
    """The plane named on the command line (:func:`check_plane`)."""
    return check_plane(str(text))


# ------------------------------------------------------------------------------ one cell
def cell_json(cell: Cell, plane: tuple[str, str] = PLANE) -> dict[str, list[str]]:
    return {n: [format_fraction(a), format_fraction(b)] for n, (a, b) in zip(plane, cell)}


def _cell_key(cell: Cell) -> tuple:
    (w0, w1), (t0, t1) = cell
    return (w0, t0, w1, t1)


def decide_cell(spec_json: dict[str, Any], cell_text: dict[str, list[str]]) -> dict[str, Any]:
    """Decide one cell; returns its certificate entry (JSON-ready; a top-level function so
    that process pools and Dask workers can run it).  Deterministic: one process, one
    thread at a time, a box budget and no time limit."""
    from snn_theory.certify.search.executors import ARB_LOCK, Executor
    from snn_theory.certify.search.loop import Settings, verify_claim

    spec = PavingSpec.from_json(spec_json)
    cell = entry_cell(cell_text, spec.plane)
    settings = Settings(max_boxes=spec.max_boxes, precision=spec.precision, round_size=1,
                        constants=spec.constants(cell))
    entry: dict[str, Any] = {**cell_json(cell, spec.plane), "verdict": "undecided", "claims": []}
    evidence = []
    boxes = 0
    if spec.activation is not None:
        return _decide_activation_cell(spec, cell, entry)
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


#: What an activation claim's evidence leaves out (re-derived by the checker).
_ACTIVATION_DERIVED = ("format", "version", "activation", "claim", "statement", "checksum")


def _decide_activation_cell(spec: PavingSpec, cell: Cell, entry: dict[str, Any]
                            ) -> dict[str, Any]:
    """:func:`decide_cell` for another activation: the generic verifier, a box budget, no
    time limit, one process."""
    from snn_theory.certify import activation_verify
    from snn_theory.certify.search.executors import ARB_LOCK

    evidence = []
    boxes = 0
    with ARB_LOCK:  # arb's and mpmath's precisions are process-global
        for name, claim in zip(CONDITIONS, spec.claims(cell)):
            result = activation_verify.verify(spec.activation, claim, max_boxes=spec.max_boxes,
                                              bits=spec.precision)
            boxes += result.boxes
            data = {k: v for k, v in result.certificate_data().items()
                    if k not in _ACTIVATION_DERIVED}
            if result.verdict == "refuted":
                entry.update(verdict="refuted", failed=name, claims=[data], boxes=boxes)
                return entry
            if result.verdict != "holds":
                entry.update(failed=name, boxes=boxes)
                return entry
            evidence.append(data)
    entry.update(verdict="proven", claims=evidence, boxes=boxes)
    return entry


def _check_activation_evidence(spec: PavingSpec, claim: Claim, ev: dict[str, Any]) -> str | None:
    """Re-check one activation claim's evidence with the activation certificate checker (the
    activation, claim and statement re-derived from the spec and the cell)."""
    from snn_theory.certify import activation_verify

    if set(ev) & set(_ACTIVATION_DERIVED):
        return "evidence carries fields that are re-derived"
    data = {**ev, "format": activation_verify.FORMAT, "version": activation_verify.VERSION,
            "activation": spec.activation.to_json(), "claim": claim.to_json(),
            "statement": claim.statement}
    data["checksum"] = activation_verify.certificate_checksum(data)
    report = activation_verify.check_certificate_data(claim.name, data, 1)
    return None if report.valid else report.message


def _strip(data: dict[str, Any]) -> dict[str, Any]:
    """A claim's evidence without its statement and constants (re-derived by the checker)."""
    return {k: v for k, v in data.items() if k not in ("claim", "constants")}


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


def _children(cell: Cell) -> list[Cell]:
    (w0, w1), (t0, t1) = cell
    wm, tm = (w0 + w1) / 2, (t0 + t1) / 2
    return [((w0, wm), (t0, tm)), ((w0, wm), (tm, t1)), ((wm, w1), (t0, tm)), ((wm, w1), (tm, t1))]


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
#: The quantities of a cell's five claims.
CELL_QUANTITIES: tuple[str, ...] = ("mean", "variance", "spectral_norm")


def precompile() -> None:
    """Compile the arb evaluators of the three quantities a cell needs (a few seconds, once
    per process; forked workers inherit them)."""
    from snn_theory.certify.search.executors import compile_arb

    compile_arb(CELL_QUANTITIES)


# ------------------------------------------------------------------------------ the paving
def _state_key(spec: PavingSpec) -> dict[str, Any]:
    return {"format": FORMAT + "-state", "version": VERSION, "spec": spec.to_json()}


#: The kind of a paving's resume state (:class:`snn_theory.files.StateFile`).
PAVING_STATE = "domain-paving"


def _load_state(state: StateFile, spec: PavingSpec) -> dict[tuple, dict]:
    """The saved cells by key.  A state that cannot be used is reported (InputError) and
    kept: not this command's file, damaged, or saved for another paving."""
    loaded = state.load(_state_key(spec))
    problem = loaded.reason
    if loaded.status == "ok":
        try:
            return {_cell_key(entry_cell(e, spec.plane)): e for e in loaded.data["entries"]}
        except (ValueError, KeyError, TypeError, ZeroDivisionError, InputError):
            problem = "its cells cannot be read"
    raise InputError(f"--resume: the state file {str(state.path)!r} cannot be used "
                     f"({problem}); it is kept as it is (remove it, or name another --state, "
                     "to start afresh)")


def _save_state(state: StateFile | None, spec: PavingSpec, entries: dict[tuple, dict]) -> None:
    if state is not None:
        state.save(_state_key(spec), {"entries": [entries[k] for k in sorted(entries)]})


def map_domain(spec: PavingSpec, jobs: int = 1, scheduler: str | None = None,
               state: Path | None = None, resume: bool = False,
               progress: ProgressFn | None = None, connect_timeout: float = 5.0) -> Paving:
    """Pave the (ω, τ) region of ``spec`` (see the module docstring).

    ``state``: a file where decided cells are saved as they come (removed when the paving is
    complete); ``resume``: take the saved proven/refuted cells after re-checking each with
    the certificate checker (undecided or failing ones are decided again).
    The state is a :class:`snn_theory.files.StateFile` of kind :data:`PAVING_STATE`.
    Raises :class:`InputError` for an unreachable scheduler, ``resume`` without a state
    file, a ``state`` file that is not a paving state (it is never written or removed), or,
    with ``resume``, a state that cannot be used (damaged or for another paving: it is kept);
    :class:`snn_theory.errors.Interrupted` on Ctrl-C, after saving the decided cells.
    """
    if resume and (state is None or not Path(state).exists()):
        raise InputError(f"--resume: no state file {'given' if state is None else state} "
                         "(nothing to resume; run without --resume)")
    state_file = None if state is None else StateFile(Path(state), PAVING_STATE)
    if state_file is not None:
        state_file.check_target()  # a file that is not our state is never touched
    start = time.perf_counter()
    spec_json = spec.to_json()
    saved = _load_state(state_file, spec) if resume else {}
    decided: dict[tuple, dict] = {}
    paving = Paving(spec, [])
    last_save = time.perf_counter()
    from snn_theory.certify.search.executors import Executor

    executor = None
    try:
        executor = Executor(jobs, scheduler, connect_timeout)
        if executor.jobs > 1:
            executor.compile(CELL_QUANTITIES)  # before the pool forks: the workers inherit them
        level_cells = spec.initial_cells()
        final: list[dict] = []
        for level in range(spec.depth + 1):
            todo: list[Cell] = []
            for c in level_cells:
                entry = saved.get(_cell_key(c))
                if (entry is not None and entry.get("verdict") in ("proven", "refuted")
                        and check_entry(spec, entry) is None):
                    decided[_cell_key(c)] = entry
                    paving.resumed += 1
                else:
                    todo.append(c)
            counts = {"proven": 0, "refuted": 0, "undecided": 0}
            for c in level_cells:
                if _cell_key(c) in decided:
                    counts[decided[_cell_key(c)]["verdict"]] += 1
            done = len(level_cells) - len(todo)

            def finished(k: int, entry: dict, todo: list[Cell] = todo, level: int = level,
                         cells: list[Cell] = level_cells, counts: dict = counts) -> None:
                nonlocal done, last_save
                decided[_cell_key(todo[k])] = entry
                counts[entry["verdict"]] += 1
                done += 1
                paving.evaluated += 1
                if time.perf_counter() - last_save > 2.0:
                    _save_state(state_file, spec, decided)
                    last_save = time.perf_counter()
                if progress:
                    progress(PavingProgress(level, done, len(cells), counts["proven"],
                                            counts["refuted"], counts["undecided"]))

            executor.run(partial(decide_cell, spec_json), [cell_json(c, spec.plane) for c in todo],
                         finished)
            _save_state(state_file, spec, decided)
            entries = [decided[_cell_key(c)] for c in level_cells]
            split = refine(entries, spec.plane) if level < spec.depth else []
            split_keys = {_cell_key(c) for c in split}
            final.extend(e for c, e in zip(level_cells, entries) if _cell_key(c) not in split_keys)
            level_cells = [child for c in split for child in _children(c)]
            if not level_cells:
                break
    except KeyboardInterrupt:
        if not decided or state_file is None:
            raise Interrupted() from None
        _save_state(state_file, spec, decided)
        raise Interrupted((state_file.path,), f"{len(decided)} decided cells in "
                          f"{state_file.path}", "rerun with --resume: the saved cells are "
                          "re-checked by the certificate checker, never trusted") from None
    finally:
        if executor is not None:
            executor.close()
    final.sort(key=lambda e: _cell_key(entry_cell(e, spec.plane)))
    paving.entries = final
    paving.seconds = time.perf_counter() - start
    _derive(paving)
    if state_file is not None:
        state_file.remove()
    return paving


def _derive(paving: Paving) -> None:
    paving.areas = {v: sum((area(c) for c in paving.cells(v)), Fraction(0))
                    for v in ("proven", "refuted", "undecided")}
    plane = paving.spec.plane
    paving.largest = largest_rectangle(paving.cells("proven"),
                                       (REFERENCE[plane[0]], REFERENCE[plane[1]]))


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
        if spec.activation is not None:
            try:
                why = _check_activation_evidence(spec, claim, ev)
            except (InputError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
                why = f"rejected: {exc}"
            if why is not None:
                return f"{claim.name}: {why}"
            continue
        content = {**ev, "format": CERT_FORMAT, "version": CERT_VERSION,
                   "claim": claim.to_json(), "constants": constants,
                   "software": software_versions()}
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
        _derive(paving)
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


def paper_areas() -> dict[str, str]:
    """Areas of the paper's (ω, τ) rectangles (:data:`PAPER_RECTANGLES`), exact."""
    out = {}
    for name, ((w0, w1), (t0, t1)) in PAPER_RECTANGLES.items():
        out[name] = format_fraction((Fraction(w1) - Fraction(w0)) * (Fraction(t1) - Fraction(t0)))
    return out


# ------------------------------------------------------------------------------ largest box
@dataclass
class BoxSearch:
    """Outcome of :func:`largest_box`: the largest scale s proven (None: not even the
    smallest), its paving (every cell proven), and the smallest scale found not proven
    with what stopped it (``"refuted"``: a checked counterexample — a true limit of the
    family; ``"undecided"``: the budget)."""

    family: dict[str, Any]
    proven_scale: Fraction | None
    proven: Paving | None
    failed_scale: Fraction | None
    failed_because: str | None
    steps: list[dict[str, Any]]

    def box(self, s: Fraction) -> tuple[Interval, Interval]:
        return scaled_box(self.family, s)


def scaled_box(family: dict[str, Any], s: Fraction) -> tuple[Interval, Interval]:
    """B(s) = [μ₀ − s·a, μ₀ + s·a] × [1 − s·b, 1 + s·c] for the family's (a, b, c), μ₀ = 0:
    s = 1 is the family's base box (default Theorem 1's B = [−0.1, 0.1] × [0.8, 1.5])."""
    a, b, c = family["a"], family["b"], family["c"]
    return (-s * a, s * a), (1 - s * b, 1 + s * c)


def largest_box(omega: Interval, tau: Interval, base_mu: Interval, base_nu: Interval,
                scale_max: Fraction, steps: int = 4, cells: int = 2, depth: int = 1,
                max_boxes: int = 200, jobs: int = 1, scheduler: str | None = None,
                progress: Callable[[int, Fraction, Paving], None] | None = None) -> BoxSearch:
    """The largest box of the family B(s) (:func:`scaled_box`, s ∈ [1, ``scale_max``]) on
    which both conditions are proven for every (ω, τ) in ``omega`` × ``tau``, by bisection
    on s: a scale is proven when the paving of ``omega`` × ``tau`` for B(s) has every cell
    proven.  ``steps`` bisections after trying s = 1 and s = ``scale_max``; the result is
    the largest scale proven — a certified lower bound on the family's largest, not the
    largest itself (a failed scale may be merely undecided at the budget).
    ``base_mu`` must be symmetric about 0 and ``base_nu`` contain 1."""
    if base_mu[0] != -base_mu[1]:
        raise InputError("the base box's mu range must be symmetric about 0")
    if not base_nu[0] < 1 < base_nu[1]:
        raise InputError("the base box's nu range must contain 1 in its interior")
    if not scale_max > 1:
        raise InputError("--scale-max must be > 1")
    if not 0 <= steps <= 12:
        raise InputError(f"--steps must be between 0 and 12 (got {steps})")
    family = {"a": base_mu[1], "b": 1 - base_nu[0], "c": base_nu[1] - 1}
    if 1 - scale_max * family["b"] <= 0:
        raise InputError("--scale-max makes the nu range reach 0")
    log: list[dict[str, Any]] = []

    def attempt(s: Fraction) -> tuple[bool, Paving]:
        mu, nu = scaled_box(family, s)
        spec = PavingSpec(mu, nu, omega, tau, cells=cells, depth=depth, max_boxes=max_boxes)
        paving = map_domain(spec, jobs=jobs, scheduler=scheduler)
        ok = all(e["verdict"] == "proven" for e in paving.entries)
        verdicts = {e["verdict"] for e in paving.entries}
        log.append({"scale": format_fraction(s), "proven": ok,
                    "verdicts": sorted(verdicts), "cells": len(paving.entries)})
        if progress:
            progress(len(log), s, paving)
        return ok, paving

    ok, paving = attempt(Fraction(1))
    if not ok:
        return BoxSearch(family, None, None, Fraction(1), _why(paving), log)
    lo, best = Fraction(1), paving
    ok, paving = attempt(scale_max)
    if ok:
        return BoxSearch(family, scale_max, paving, None, None, log)
    hi, failed = scale_max, paving
    for _ in range(steps):
        mid = (lo + hi) / 2
        ok, paving = attempt(mid)
        if ok:
            lo, best = mid, paving
        else:
            hi, failed = mid, paving
    return BoxSearch(family, lo, best, hi, _why(failed), log)


def _why(paving: Paving) -> str:
    return "refuted" if any(e["verdict"] == "refuted" for e in paving.entries) else "undecided"
