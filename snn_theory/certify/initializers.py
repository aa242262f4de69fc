"""Weight initialisers against the theory: the τ they produce, the correction, the spread.

The fixed-point theory needs, per unit, ω = Σ_i w_i ≈ 0 and τ = Σ_i w_i² ≈ 1 (docs/mathematics.md §6).
An initialiser draws w_i = s·u_i/√N i.i.d. (fan-in N, framework scale s, u from a unit-scale
law L).  With v = E[u²] (the law's *variance factor*) and m4 = E[u⁴]:

    E[ω] = 0,  Var ω = E[τ] = s²·v,   Var τ = s⁴·(m4 − v²)/N,

so the per-unit τ has mean s²·v and standard deviation s²·v·√((κ − 1)/N), κ = m4/v² (the
finite fan-in spread that ``simulate --weights lecun`` records).  E[τ] = 1 needs
s = 1/√v: the *correction factor* by which the standard deviation is divided is √v.

Laws (each value an arb ball, computed in :func:`law_moments`):

* ``normal``: v = 1, m4 = 3.
* ``truncated_normal`` at ±a (N(0, 1) conditioned on |u| ≤ a; frameworks use a = 2): with
  φ the standard normal density and Z = 2Φ(a) − 1 = erf(a/√2),
  v = 1 − 2aφ(a)/Z and m4 = 3 − 2(a³ + 3a)φ(a)/Z (integrating x^k φ by parts);
  at a = 2, v = 0.7737413… and √v = 0.8796256… (Keras' and JAX's 0.87962566103423978).
* ``uniform`` on [−c, c] (c = √3 is variance-matched): v = c²/3, m4 = c⁴/5.

:data:`PRESETS` lists what common frameworks do (scale s, law) and :func:`initializer_table`
gives, per preset, E[τ], the spread, the correction, and the certified fixed point of g for
(ω, τ) = (0, E[τ]) (:func:`snn_theory.evaluate.moment_map.closed_form_fixed_point`, Krawczyk in arb).  Whether a
non-Gaussian weight law still settles at that fixed point is a finite-width question:
:func:`monte_carlo` runs a small float64 network (evidence, not proof).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from flint import arb, fmpq

from snn_theory.errors import InputError
from snn_theory.evaluate.moment_map import closed_form_fixed_point
from snn_theory.exact import parse_exact
from snn_theory.precision import working_precision

LAWS: tuple[str, ...] = ("normal", "truncated_normal", "uniform")
#: Largest accepted truncation point (beyond, the truncation changes nothing measurable).
MAX_TRUNCATION = 40
#: Smallest accepted truncation point: below it E[u²] ≈ a²/3 is lost to cancellation at the
#: working precision (the table would show 0 and NaN).
MIN_TRUNCATION = Fraction(1, 100)


def _exact(x: Fraction) -> arb:
    return arb(fmpq(x.numerator, x.denominator))


def _positive(name: str, value: Any, limit: float | None = None) -> Fraction:
    x = parse_exact(value, name, ratio=False)
    if x <= 0:
        raise InputError(f"{name} must be > 0 (got {value})")
    if limit is not None and x > limit:
        raise InputError(f"{name} must be ≤ {limit} (got {value})")
    if name == "truncation" and x < MIN_TRUNCATION:
        raise InputError(f"truncation must be ≥ {MIN_TRUNCATION} (got {value}): below it the "
                         "variance factor is not resolved at the working precision")
    return x


@dataclass(frozen=True)
class LawMoments:
    """E[u²] (``variance``), E[u⁴] (``fourth``), the kurtosis m4/v² and the correction √v
    (divide the standard deviation by it to get E[Σw²] = τ) of a unit-scale law, as arb
    balls computed together at one precision."""

    law: str
    parameter: Fraction | None
    variance: arb
    fourth: arb
    kurtosis: arb
    correction: arb


def _moments(law: str, parameter: Fraction | None, v: arb, m4: arb) -> LawMoments:
    return LawMoments(law, parameter, v, m4, m4 / (v * v), v.sqrt())


def law_moments(law: str, parameter: Any = None) -> LawMoments:
    """Moments of ``law`` (module docstring) at the current arb precision.

    ``parameter``: the truncation point a for ``truncated_normal`` (default 2), the half-width
    c for ``uniform`` (default √3, given as a decimal otherwise); unused for ``normal``.
    """
    if law == "normal":
        return _moments(law, None, arb(1), arb(3))
    if law == "truncated_normal":
        a_q = _positive("truncation", 2 if parameter is None else parameter, MAX_TRUNCATION)
        a = _exact(a_q)
        phi = (-a * a / 2).exp() / (2 * arb.pi()).sqrt()
        z = (a / arb(2).sqrt()).erf()
        return _moments(law, a_q, 1 - 2 * a * phi / z, 3 - 2 * (a**3 + 3 * a) * phi / z)
    if law == "uniform":
        if parameter is None:
            return _moments(law, None, arb(1), arb(9) / 5)  # c = √3: c² = 3
        half = _positive("uniform half-width", parameter)
        c = _exact(half)
        return _moments(law, half, c * c / 3, c**4 / 5)
    raise InputError(f"unknown weight law {law!r}; choose one of {', '.join(LAWS)}")


@dataclass(frozen=True)
class Preset:
    """An initialiser as a framework ships it: w = scale·u/√N with u from ``law``."""

    name: str
    source: str
    law: str
    parameter: Any
    #: the framework's scale s: a Fraction, or a callable giving an arb ball
    scale: Fraction | Callable[[], arb]


def _inv(literal: str) -> Callable[[], arb]:
    """s = 1/literal for a decimal literal stored as float64 (exact binary value)."""
    def f() -> arb:
        return 1 / arb(float(literal))  # the float64 the framework stores, exactly
    return f


def _sqrt_third() -> arb:
    return (arb(1) / 3).sqrt()


#: What common frameworks do for "LeCun"/SELU initialisation (sources in the README table).
PRESETS: tuple[Preset, ...] = (
    Preset("lecun_normal (truncated, corrected)", "Keras/TF VarianceScaling, JAX "
           "variance_scaling: stddev = sqrt(1/N) / 0.87962566103423978, truncated at ±2σ",
           "truncated_normal", 2, _inv("0.87962566103423978")),
    Preset("truncated normal at ±2σ, uncorrected", "stddev = sqrt(1/N) truncated at ±2σ "
           "(the port that reports variance 0.7735)", "truncated_normal", 2, Fraction(1)),
    Preset("normal(0, 1/N)", "torch.nn.init.normal_(std=1/sqrt(N)); LeCun normal",
           "normal", None, Fraction(1)),
    Preset("kaiming_normal_(nonlinearity='selu')", "PyTorch: gain = calculate_gain('selu') "
           "= 3/4, std = gain/sqrt(N)", "normal", None, Fraction(3, 4)),
    Preset("lecun_uniform", "Keras/JAX: uniform on ±sqrt(3/N)", "uniform", None, Fraction(1)),
    Preset("nn.Linear default", "PyTorch: kaiming_uniform_(a=sqrt(5)): bound = 1/sqrt(N)",
           "uniform", None, _sqrt_third),
)


@dataclass(frozen=True)
class InitializerRow:
    """One preset, certified (balls) except where noted."""

    preset: Preset
    moments: LawMoments
    tau: arb  # E[τ] = s²·v
    tau_sd: arb  # sd of the per-unit τ at fan-in N
    omega_sd: arb  # sd of the per-unit ω (= √E[τ])
    correction: arb  # multiply the framework's std by this for E[τ] = 1: 1/(s·√v)
    fan_in: int
    fixed_point: tuple[arb, arb] | None  # of g for (0, E[τ]); None if not certified
    note: str = ""


def initializer_row(preset: Preset, fan_in: int) -> InitializerRow:
    """The certified figures of one preset at fan-in ``fan_in`` (module docstring)."""
    m = law_moments(preset.law, preset.parameter)
    s = preset.scale() if callable(preset.scale) else _exact(preset.scale)
    tau = s * s * m.variance
    tau_sd = tau * ((m.kurtosis - 1) / fan_in).sqrt()
    fp, note = None, ""
    try:
        fp = closed_form_fixed_point(arb(0), tau, backend="arb")
        if not fp[1] > 0:
            fp, note = None, "no fixed point with ν > 0 certified"
    except (ArithmeticError, ValueError):
        note = ("no fixed point with ν > 0 found (Newton's method from (0, 1) left ν > 0: "
                "the variance collapses)")
    return InitializerRow(preset, m, tau, tau_sd, tau.sqrt(), 1 / tau.sqrt(), fan_in, fp, note)


def initializer_table(fan_in: int = 1024, bits: int = 128) -> list[InitializerRow]:
    """:func:`initializer_row` for every preset of :data:`PRESETS`, at ``bits`` of precision."""
    if int(fan_in) != fan_in or fan_in < 1:
        raise InputError(f"fan-in must be an integer ≥ 1 (got {fan_in!r})")
    with working_precision(bits=bits):
        return [initializer_row(p, int(fan_in)) for p in PRESETS]


# ------------------------------------------------------------------------- Monte Carlo
@dataclass(frozen=True)
class MonteCarloResult:
    """A float64 network run (evidence, not proof): activations' mean and variance after the
    last layer, the per-unit (ω, τ) of the drawn weights, and the prediction."""

    preset: str
    width: int
    depth: int
    batch: int
    seed: int
    mean: float
    variance: float
    omega_mean: float
    omega_sd: float
    tau_mean: float
    tau_sd: float
    predicted: tuple[float, float] | None  # certified fixed point for (0, E[τ]), as floats
    predicted_tau: float
    predicted_tau_sd: float

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def sample_law(rng: np.random.Generator, law: str, parameter: Any, shape: tuple[int, ...]
               ) -> np.ndarray:
    """Draws u of the unit-scale ``law`` (module docstring) in float64."""
    if law == "normal":
        return rng.standard_normal(shape)
    if law == "truncated_normal":
        a = float(2 if parameter is None else parameter)
        out = rng.standard_normal(shape)
        bad = np.abs(out) > a
        while bad.any():  # rejection: exact conditioning on |u| ≤ a
            out[bad] = rng.standard_normal(int(bad.sum()))
            bad = np.abs(out) > a
        return out
    if law == "uniform":
        c = math.sqrt(3.0) if parameter is None else float(parameter)
        return rng.uniform(-c, c, shape)
    raise InputError(f"unknown weight law {law!r}; choose one of {', '.join(LAWS)}")


def monte_carlo(preset: Preset, width: int = 512, depth: int = 30, batch: int = 512,
                seed: int = 0) -> MonteCarloResult:
    """Run x_{l+1} = selu(W_l x_l) with W_l = s·u/√N drawn from ``preset`` (float64,
    inputs N(0, 1)), and compare the last layer's statistics with the certified fixed
    point of g for (0, E[τ]) (evidence only; sampling error ~1/√(N·B), width effects
    ~1/√N)."""
    for name, v in (("width", width), ("depth", depth), ("batch", batch)):
        if int(v) != v or v < 1:
            raise InputError(f"{name} must be an integer ≥ 1 (got {v!r})")
    if int(seed) != seed or seed < 0:
        raise InputError(f"seed must be a non-negative integer (got {seed!r})")
    row = initializer_table(width)[PRESETS.index(preset)]
    with working_precision(bits=64):
        s = float((preset.scale() if callable(preset.scale) else _exact(preset.scale)).mid())
    lam, alpha = 1.0507009873554805, 1.6732632423543772  # λ01, α01 as float64
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width))
    omegas, taus = [], []
    for _ in range(depth):
        w = s * sample_law(rng, preset.law, preset.parameter, (width, width)) / math.sqrt(width)
        omegas.append(w.sum(axis=1))
        taus.append((w * w).sum(axis=1))
        z = x @ w.T
        x = lam * np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))
    om, ta = np.concatenate(omegas), np.concatenate(taus)
    fp = None if row.fixed_point is None else (float(row.fixed_point[0].mid()),
                                               float(row.fixed_point[1].mid()))
    return MonteCarloResult(preset.name, width, depth, batch, seed, float(x.mean()),
                            float(x.var()), float(om.mean()), float(om.std()),
                            float(ta.mean()), float(ta.std()), fp, float(row.tau.mid()),
                            float(row.tau_sd.mid()))


__all__ = ["LAWS", "PRESETS", "InitializerRow", "LawMoments", "MonteCarloResult", "Preset",
           "initializer_row", "initializer_table", "law_moments", "monte_carlo", "sample_law"]
