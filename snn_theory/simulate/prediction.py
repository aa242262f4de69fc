"""What the moment map g predicts for a simulated network (float64 evidence, not proof): the
alpha-dropout affine correction, the iterates of g, its numerical fixed point and the layer
where a simulated network settles at it.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from snn_theory.errors import NumericalFailure
from snn_theory.evaluate.moment_map import closed_form_trajectory


def alpha_dropout_affine(rate: float, mu: float, nu: float, lam: float,
                         alpha: float) -> tuple[float, float]:
    """(a, b) of alpha dropout for keep probability q = 1 − rate at the fixed point (μ, ν).

    docs/mathematics.md §3 (the formula of :mod:`snn_theory.derive.formulas`, evaluated in float64; the
    certified balls come from ``snn-theory solve-constants --dropout-rate``).
    """
    from snn_theory.evaluate.backends import alpha_dropout_function

    _, a, b = alpha_dropout_function("numpy")(1.0 - rate, mu, nu, lam, alpha)
    return float(a), float(b)


def analytic_trajectory(mu0: float, omega: float, nu0: float, tau: float, *, steps: int,
                        lam: float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Iterates of g in float64 (:func:`snn_theory.evaluate.moment_map.closed_form_trajectory`); NaN once they
    leave the domain (ν ≤ 0 or overflow)."""
    means = np.full(steps + 1, np.nan)
    variances = np.full(steps + 1, np.nan)
    means[0], variances[0] = mu0, nu0
    point = (mu0, nu0)
    with np.errstate(all="ignore"):
        for k in range(1, steps + 1):
            m, v = closed_form_trajectory(point[0], omega, point[1], tau, steps=1, lam=lam,
                                          alpha=alpha, backend="numpy")[-1]
            m, v = float(m), float(v)
            if not (math.isfinite(m) and math.isfinite(v) and v > 0):
                break
            means[k], variances[k] = m, v
            point = (m, v)
    return means, variances


@functools.lru_cache(maxsize=64)
def numerical_fixed_point(omega: float, tau: float, lam: float, alpha: float,
                          iterations: int = 500) -> tuple[float, float] | None:
    """The attracting fixed point of g reached from (0, 1), by float64 iteration then Newton
    (:func:`snn_theory.evaluate.moment_map.closed_form_fixed_point`); ``None`` if none is found. Not certified."""
    from snn_theory.evaluate.moment_map import closed_form_fixed_point

    means, variances = analytic_trajectory(0.0, omega, 1.0, tau, steps=iterations, lam=lam,
                                           alpha=alpha)
    if not (np.isfinite(means[-1]) and np.isfinite(variances[-1])):
        return None
    with np.errstate(all="ignore"):
        try:
            m, v = closed_form_fixed_point(omega, tau, lam, alpha, backend="numpy",
                                           start=(float(means[-1]), float(variances[-1])))
        except NumericalFailure:
            return None
    m, v = float(m), float(v)
    if not (math.isfinite(m) and math.isfinite(v) and v > 0) or \
            abs(m - means[-1]) + abs(v - variances[-1]) > 1e-3:
        return None
    return m, v


def converged_at(mean: np.ndarray, variance: np.ndarray, target: tuple[float, float] | None,
                 tol: float) -> int | None:
    """First index l with |mean − μ*| ≤ tol and |variance − ν*| ≤ tol at l and every later l."""
    if target is None:
        return None
    inside = (np.abs(mean - target[0]) <= tol) & (np.abs(variance - target[1]) <= tol)
    if not inside[-1]:
        return None
    outside = np.nonzero(~inside)[0]
    return int(outside[-1] + 1) if len(outside) else 0
