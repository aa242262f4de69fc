"""How one claim is searched: the settings of the branch-and-bound, its defaults, and the
initial grid of boxes."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from snn_theory.certify.claims import Claim
from snn_theory.certify.search.bounders import Box, BoxBounder, ClosedFormBounder
from snn_theory.certify.search.state import STATE_VERSION
from snn_theory.certify.search.workers import DEFAULT_PRECISION

#: Initial uniform grid, cells per dimension (μ, ω, ν, τ): coarse 2⁴ = 16 boxes, fine 8⁴ = 4096.
GRID_CELLS: dict[str, int] = {"coarse": 2, "fine": 8}
#: The extremum tolerance ``reproduce`` asks for (the search itself refines only when asked).
DEFAULT_TOLERANCE = Fraction(1, 10**6)
#: Search strategies: "decide" (the claim first, then the enclosure as far as asked) and
#: "enclose" (the former strategy, kept as the benchmark's baseline: refine the extremum
#: to the tolerance before deciding).
STRATEGIES: tuple[str, ...] = ("decide", "enclose")


# ------------------------------------------------------------------------------ settings
@dataclass
class Settings:
    """How one claim is searched (the CLI's options); ``jobs`` sizes the local executor
    :func:`verify_claim` makes when none is given; ``bounder`` is the moment map's per-box
    bound (default: SELU's closed forms with λ01, α01); ``max_boxes`` None: the bounder's
    default budget."""

    grid: str = "coarse"
    #: Width the extremum enclosure is refined to after the claim is decided (None: decide
    #: only, the enclosure is what deciding reached).
    tolerance: Fraction | None = None
    jobs: int = 1
    max_boxes: int | None = None
    time_limit: float | None = None
    precision: int = DEFAULT_PRECISION
    bounder: BoxBounder = field(default_factory=ClosedFormBounder)
    state_dir: Path | None = None
    resume: bool = False
    save_every: float = 5.0
    strategy: str = "decide"
    #: Boxes split per round (None: 1 with one worker, else 64 per worker — local processes
    #: or the cluster's threads).  A fixed value makes the leaves — and so the certificate —
    #: independent of --jobs and of the cluster's size.
    round_size: int | None = None

    def key(self, claim: Claim) -> dict[str, Any]:
        """What a saved state must match to be resumed (the tolerance is not part of it: the
        saved leaves tile the domain whatever the tolerance was)."""
        return {"version": STATE_VERSION, "claim": claim.to_json(), "grid": self.grid,
                "precision": self.precision,
                self.bounder.map_field: self.bounder.map_record()}

    @property
    def box_budget(self) -> int:
        """The leaf-box budget: ``max_boxes``, or the bounder's default."""
        return self.max_boxes if self.max_boxes is not None else self.bounder.default_max_boxes


def initial_grid(claim: Claim, cells: int) -> list[Box]:
    """The uniform grid: ``cells`` equal parts per dimension (exact rational cuts)."""
    axes = []
    for lo, hi in claim.domain.bounds:
        cuts = [lo + (hi - lo) * k / cells for k in range(cells + 1)]
        axes.append([(cuts[k], cuts[k + 1]) for k in range(cells)])
    return [list(b) for b in itertools.product(*axes)]
