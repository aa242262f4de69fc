"""The largest box: the largest scaled rectangle of weights whose paving proves every cell;
the paper's rectangles' areas."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from snn_theory.certify.domains.cell import Paving
from snn_theory.certify.domains.paving import map_domain
from snn_theory.certify.domains.spec import PAPER_RECTANGLES, Interval, PavingSpec
from snn_theory.errors import InputError
from snn_theory.exact import format_fraction


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
