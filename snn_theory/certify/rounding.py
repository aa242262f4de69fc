"""What rounded (or truncated) SELU constants do to the fixed point and to Theorem 1.

A kernel ships λ, α as literals of some dtype — the correctly rounded float32 values, a
truncated ``1.0507f``, bfloat16 values.  For such *exact* constants (the stored binary numbers,
or the decimals given) :func:`rounding_impact` reports, rigorously:

* the fixed point (μ*, ν*) of the moment map g for weights (ω, τ) (default (0, 1)) with those
  constants — :func:`snn_theory.evaluate.moment_map.closed_form_fixed_point` with the arb backend, a Krawczyk test
  proving that the returned balls hold the unique fixed point in a small box;
* its distance from (0, 1): μ*, ν* − 1 and √(μ*² + (ν* − 1)²), balls;
* S (the spectral norm of the Jacobian of g, the contraction constant) at that fixed point, a
  ball containing S at the exact fixed point;
* the claims of Theorem 1 (:data:`snn_theory.certify.claims.THEOREM_GROUPS` ``"1"``) on the paper's
  domain run with those constants by :func:`snn_theory.certify.search.loop.verify_claim` — the same
  branch-and-bound and verdicts as ``verify-contraction --lam … --alpha …``.

Constants come from :func:`constants_for_dtype` (λ01, α01 correctly rounded to a dtype,
proven by :mod:`snn_theory.evaluate.dtypes`), from decimals (:func:`constants_from_text`, optionally
stored as a dtype the way a compiler rounds a literal), or are λ01/α01 themselves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from flint import arb, fmpq

from snn_theory.certify.claims import BUILTIN_CLAIMS, THEOREM_GROUPS, Claim
from snn_theory.errors import InputError
from snn_theory.evaluate import backends, dtypes
from snn_theory.evaluate.moment_map import closed_form_fixed_point, closed_form_quantities
from snn_theory.exact import ball_endpoints, decimal_text, format_fraction, parse_exact
from snn_theory.precision import working_precision

#: Precision (bits) of the fixed-point proof and the distances.
PRECISION_BITS = 256


@dataclass(frozen=True)
class ShippedConstants:
    """λ, α as a framework stores them.  ``lam``/``alpha`` are exact rationals, or ``None``
    for the exact λ01 / α01.  ``errors``: name → (dtype, error interval in ulps of that
    dtype relative to λ01 / α01), where a dtype is involved."""

    label: str
    lam: Fraction | None
    alpha: Fraction | None
    errors: dict[str, tuple[str, tuple[Fraction, Fraction]]] = dataclasses.field(
        default_factory=dict)

    def balls(self) -> tuple[arb, arb]:
        """Balls for λ, α at the current precision (exact for dyadic constants)."""
        lam01, alpha01 = backends.constants_function("arb")()
        lam = lam01 if self.lam is None else arb(fmpq(self.lam.numerator, self.lam.denominator))
        alpha = (alpha01 if self.alpha is None
                 else arb(fmpq(self.alpha.numerator, self.alpha.denominator)))
        return lam, alpha

    def texts(self) -> tuple[str | None, str | None]:
        """Exact decimal strings (``None`` for λ01 / α01), as ``verify --lam/--alpha`` takes."""
        return (None if self.lam is None else format_fraction(self.lam),
                None if self.alpha is None else format_fraction(self.alpha))


def constants_for_dtype(dtype: str) -> ShippedConstants:
    """λ01, α01 correctly rounded to ``dtype`` (proven; ArithmeticError if not provable)."""
    fmt = dtypes.get_format(dtype)
    with working_precision(bits=PRECISION_BITS):
        lam01, alpha01 = backends.constants_function("arb")()
        lam_r, alpha_r = dtypes.round_ball(lam01, fmt.name), dtypes.round_ball(alpha01, fmt.name)
    for r in (lam_r, alpha_r):
        if not r.certified:  # pragma: no cover - the enclosures are 2^-250 wide
            raise ArithmeticError(f"correct rounding to {fmt.name} not proven: {r.reason}")
    return ShippedConstants(f"{fmt.name} (correctly rounded)", lam_r.value, alpha_r.value,
                            {"lambda": (fmt.name, lam_r.error_ulps),
                             "alpha": (fmt.name, alpha_r.error_ulps)})


def constants_from_text(lam: str | None, alpha: str | None,
                        stored_as: str | None = None) -> ShippedConstants:
    """Constants from decimal strings (``None``: λ01 / α01).  With ``stored_as`` each
    literal is first rounded to that dtype (to nearest, ties to even, as a compiler does)."""
    if lam is None and alpha is None:
        raise InputError("give --lam and/or --alpha (decimals), or --dtype")
    values: dict[str, Fraction | None] = {}
    errors: dict[str, tuple[str, tuple[Fraction, Fraction]]] = {}
    with working_precision(bits=PRECISION_BITS):
        exact = dict(zip(("lambda", "alpha"), backends.constants_function("arb")()))
        for name, text in (("lambda", lam), ("alpha", alpha)):
            if text is None:
                values[name] = None
                continue
            value = parse_exact(text, f"--{'lam' if name == 'lambda' else name}", ratio=False)
            if value <= 0:
                raise InputError(f"--{'lam' if name == 'lambda' else name} must be > 0 "
                                 f"(got {text})")
            if stored_as is not None:
                value, err = dtypes.literal_error(str(text), stored_as, exact[name])
                errors[name] = (dtypes.get_format(stored_as).name, err)
            values[name] = value
    parts = [f"{n}={t}" for n, t in (("lam", lam), ("alpha", alpha)) if t is not None]
    label = ", ".join(parts) + (f" stored as {stored_as}" if stored_as else "")
    return ShippedConstants(label, values["lambda"], values["alpha"], errors)


@dataclass
class RoundingImpact:
    """The certified consequences of ``constants`` (module docstring)."""

    constants: ShippedConstants
    omega: Fraction
    tau: Fraction
    mean: arb
    variance: arb
    distance: arb
    spectral_norm: arb
    lam_delta: arb  # λ − λ01
    alpha_delta: arb  # α − α01
    claims: list[Any]

    @property
    def decided(self) -> bool:
        return all(r.verdict in ("holds", "refuted") for r in self.claims)

    def to_json(self) -> dict[str, Any]:
        lam, alpha = self.constants.texts()
        return {
            "constants": {"label": self.constants.label, "lam": lam or "lam01",
                          "alpha": alpha or "alpha01",
                          "error_ulps": {k: {"dtype": d, "interval": [
                              decimal_text(e[0], -1, dtypes.ULPS_DIGITS),
                              decimal_text(e[1], 1, dtypes.ULPS_DIGITS)]}
                              for k, (d, e) in self.constants.errors.items()}},
            "weights": {"omega": format_fraction(self.omega), "tau": format_fraction(self.tau)},
            "fixed_point": {"mean": ball_json(self.mean), "variance": ball_json(self.variance),
                            "certified": True},
            "distance_from_0_1": ball_json(self.distance),
            "spectral_norm_at_fixed_point": ball_json(self.spectral_norm),
            "lam_minus_lam01": ball_json(self.lam_delta),
            "alpha_minus_alpha01": ball_json(self.alpha_delta),
            "claims": [r.json_entry() for r in self.claims],
        }


def ball_json(x: arb) -> dict[str, str]:
    """Outward-rounded decimal bounds (17 significant digits) of a ball."""
    lo, hi = ball_endpoints(x)
    return {"lower": decimal_text(lo, -1), "upper": decimal_text(hi, 1)}


def theorem1_claims(constants: ShippedConstants) -> list[Claim]:
    """Theorem 1's claims, renamed for these constants (a claim checked with other constants
    is another claim and must not carry the built-in name proven for λ01, α01)."""
    lam, alpha = constants.texts()
    label = f"[lam={lam or 'lam01'},alpha={alpha or 'alpha01'}]"
    return [dataclasses.replace(BUILTIN_CLAIMS[n], name=BUILTIN_CLAIMS[n].name + label)
            for n in THEOREM_GROUPS["1"]]


def rounding_impact(constants: ShippedConstants, omega: Any = "0", tau: Any = "1", *,
                    claims: bool = True, jobs: int = 1, grid: str = "coarse",
                    progress: Any = None) -> RoundingImpact:
    """The fixed point, its distance from (0, 1), S there and (``claims``) Theorem 1 with
    ``constants`` (module docstring).  ``progress`` is passed to
    :func:`snn_theory.certify.search.loop.verify_claim`.  ArithmeticError if the fixed point cannot be
    certified."""
    om, ta = parse_exact(omega, "omega", ratio=False), parse_exact(tau, "tau", ratio=False)
    if ta <= 0:
        raise InputError(f"tau must be > 0 (got {tau})")
    with working_precision(bits=PRECISION_BITS):
        lam, alpha = constants.balls()
        lam01, alpha01 = backends.constants_function("arb")()
        om_b, ta_b = (arb(fmpq(x.numerator, x.denominator)) for x in (om, ta))
        try:
            mu, nu = closed_form_fixed_point(om_b, ta_b, lam, alpha, backend="arb")
        except (ArithmeticError, ValueError, ZeroDivisionError) as exc:
            reason = ("Newton's method from (0, 1) left ν > 0" if "domain" in str(exc)
                      else str(exc))
            raise ArithmeticError(f"no fixed point of g with ν > 0 was certified near (0, 1) "
                                  f"({reason})") from exc
        if not nu > 0:  # pragma: no cover - the start (0, 1) is far from ν = 0
            raise ArithmeticError("the certified fixed point is not in ν > 0")
        s = closed_form_quantities(mu, om_b, nu, ta_b, lam, alpha, backend="arb",
                                   quantities=("spectral_norm",), check=False)["spectral_norm"]
        distance = (mu * mu + (nu - 1) * (nu - 1)).sqrt()
        lam_delta, alpha_delta = lam - lam01, alpha - alpha01
    results = []
    if claims:
        from snn_theory.certify.search.bounders import ClosedFormBounder, Constants
        from snn_theory.certify.search.executors import Executor
        from snn_theory.certify.search.loop import verify_claim
        from snn_theory.certify.search.settings import Settings

        lam_t, alpha_t = constants.texts()
        settings = Settings(grid=grid, jobs=jobs, bounder=ClosedFormBounder(Constants.parse(lam_t, alpha_t)))
        with Executor(jobs) as runner:
            for claim in theorem1_claims(constants):
                results.append(verify_claim(claim, settings, runner, progress))
    return RoundingImpact(constants, om, ta, mu, nu, distance, s, lam_delta, alpha_delta,
                          results)


def impacts(sets: Sequence[ShippedConstants], **kwargs: Any) -> list[RoundingImpact]:
    """:func:`rounding_impact` for several constant sets."""
    return [rounding_impact(c, **kwargs) for c in sets]


__all__ = ["PRECISION_BITS", "RoundingImpact", "ShippedConstants", "ball_json",
           "constants_for_dtype", "constants_from_text", "impacts", "rounding_impact",
           "theorem1_claims"]
