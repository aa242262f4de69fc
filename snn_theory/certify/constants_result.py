"""What ``solve-constants`` answers for SELU: certified λ, α for a target fixed point, and the
alpha-dropout constants derived from them (:func:`snn_theory.certify.constants.solve_constants`
computes it; its docstring says what a certified result guarantees)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import mpmath
from flint import arb

from snn_theory.exact import Decimal3, decimal_enclosure


@dataclass(frozen=True)
class DropoutConstants:
    """Alpha-dropout constants for one drop rate (keep probability q = 1 − rate), docs/mathematics.md §3.
    Each field is a ball containing the exact value for the certified λ, α."""

    rate: str
    keep: Fraction
    alpha_prime: arb
    a: arb
    b: arb


@dataclass(frozen=True)
class ConstantsResult:
    """λ, α for a target fixed point; see :mod:`snn_theory.certify.constants` for what is guaranteed.

    ``certified``: the Krawczyk test proved that ``lam`` × ``alpha`` holds the unique root of
    F in the tested box.  When ``False`` the balls are *uncertified* approximations (points).
    """

    mean: str
    variance: str
    omega: str
    tau: str
    digits: int
    lam: arb
    alpha: arb
    certified: bool
    #: α′ = −λα (ball, computed at the working precision)
    alpha_prime: arb = arb(0)
    dropout: tuple[DropoutConstants, ...] = ()
    closed_form_agrees: bool | None = None
    precision_bits: int = 0
    box_radius_log2: int = 0
    method: str = ""
    other_solutions: tuple[tuple[float, float], ...] = ()
    seconds: float = 0.0
    floats: dict[str, float] = field(default_factory=dict)
    #: why ``certified`` is False (empty when certified)
    failure: str = ""

    def __repr__(self) -> str:
        digits = mpmath.libmp.prec_to_dps(self.precision_bits) if self.precision_bits else 15
        return (f"ConstantsResult(certified={self.certified}, {self.precision_bits} bits, "
                f"target (mean, variance, omega, tau) = ({self.mean}, {self.variance}, "
                f"{self.omega}, {self.tau}): lam={self.lam.str(digits, radius=True)}, "
                f"alpha={self.alpha.str(digits, radius=True)})")

    @property
    def ok(self) -> bool:
        """Certified, and (default target) the closed forms agree with the enclosures."""
        return self.certified and self.closed_form_agrees is not False

    def decimals(self, x: arb) -> Decimal3:
        return decimal_enclosure(x, self.digits)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of ``snn-theory solve-constants --json``)."""
        out: dict[str, Any] = {
            "certified": self.certified,
            "digits": self.digits,
            "fixed_point": {"mean": self.mean, "variance": self.variance},
            "weights": {"omega": self.omega, "tau": self.tau},
        }
        if not self.certified:
            out.update({
                "lambda": None, "alpha": None, "dropout": [],
                "approximate": {"lambda": float(self.lam.mid()), "alpha": float(self.alpha.mid())},
                "method": self.method,
            })
            return out
        out.update({
            "lambda": self.decimals(self.lam).as_dict(),
            "alpha": self.decimals(self.alpha).as_dict(),
            "alpha_prime": self.decimals(self.alpha_prime).as_dict(),
            "dropout": [
                {
                    "rate": d.rate,
                    "keep_probability": str(d.keep),
                    "alpha_prime": self.decimals(d.alpha_prime).value,
                    "a": self.decimals(d.a).value,
                    "b": self.decimals(d.b).value,
                    "bounds": {k: self.decimals(getattr(d, k)).as_dict()
                               for k in ("alpha_prime", "a", "b")},
                }
                for d in self.dropout
            ],
            "float64": self.floats,
            "closed_form_agrees": self.closed_form_agrees,
            "precision_bits": self.precision_bits,
            "box_radius": f"2^{self.box_radius_log2}",
            "method": self.method,
            "seconds": round(self.seconds, 6),
        })
        if self.other_solutions:
            out["other_solutions_uncertified"] = [list(s) for s in self.other_solutions]
        return out
