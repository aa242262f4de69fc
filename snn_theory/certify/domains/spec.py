"""What a paving decides: the box of input moments, the plane, the region, the claims of one
cell (:class:`PavingSpec`), and the parsing of ranges and planes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from snn_theory.certify.claims import Claim, Domain
from snn_theory.errors import InputError
from snn_theory.evaluate.model import activation_of
from snn_theory.exact import format_fraction, parse_exact

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
    #: are decided by the same search with its Gaussian per-box bound
    #: (:class:`snn_theory.certify.search.bounders.GaussianBounder`) and the certificate
    #: records its definition (the checker re-derives it from there).
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
        from snn_theory.certify.search.bounders import Constants

        return Constants(cell[0], cell[1]) if self.plane == ("lam", "alpha") else Constants()

    def bounder(self, cell: Cell) -> Any:
        """The per-box bound a cell's claims are searched with: SELU's closed forms with the
        cell's constants, or the activation's Gaussian cells."""
        from snn_theory.certify.search.bounders import ClosedFormBounder
        from snn_theory.certify.search.model_bounders import GaussianBounder

        if self.activation is not None:
            return GaussianBounder.of(self.activation)
        return ClosedFormBounder(self.constants(cell))

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
