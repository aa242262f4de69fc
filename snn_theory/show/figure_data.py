"""The numbers behind the figures: float64 grids and trajectories of the moment map, its fixed
point (certified where the Krawczyk test succeeds) and simulated trajectories, for SELU (closed
forms, JAX Monte Carlo) or any other activation (quadrature, numpy Monte Carlo).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from flint import ctx

from snn_theory.derive.activations import Activation
from snn_theory.evaluate.activation_map import evaluate_float, iterate_float, variance_collapse
from snn_theory.evaluate.model import resolve
from snn_theory.evaluate.moment_map import (
    closed_form_fixed_point,
    closed_form_quantities,
    closed_form_trajectory,
    newton_fixed_point,
)
from snn_theory.precision import working_precision
from snn_theory.show.canvas import arb_ball_text, float_bounds


def moment_grid(mu: np.ndarray, omega: Any, nu: np.ndarray, tau: Any,
                quantities: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Float64 values of ``quantities`` on broadcast arrays (library evaluation, numpy)."""
    with np.errstate(all="ignore"):
        return closed_form_quantities(mu, omega, nu, tau, backend="numpy", quantities=quantities)


def fixed_points_numpy(omega: np.ndarray, tau: np.ndarray, *, iterations: int = 60,
                       start: tuple[float, float] = (0.0, 1.0)) -> tuple[np.ndarray, np.ndarray,
                                                                         np.ndarray]:
    """Float64 fixed points (μ*, ν*) of g for arrays of (ω, τ): Newton's method on g(x) − x,
    vectorised (:func:`snn_theory.evaluate.moment_map.newton_fixed_point`, relative step 1e-14).

    Returns ``(mu, nu, converged)``; where ``converged`` is False the entries are NaN.
    Not certified: for pictures only.
    """
    omega, tau = np.broadcast_arrays(np.asarray(omega, float), np.asarray(tau, float))
    result = newton_fixed_point(omega, tau, backend="numpy", start=start,
                                max_iterations=iterations, tolerance=1e-14)
    return result.mu, result.nu, result.converged


def certified_point(mu_b: Any, nu_b: Any) -> dict[str, Any]:
    """A fixed point proven by a Krawczyk test, as the figures use it (balls as text, float
    midpoints and float bounds containing the balls)."""
    return {"certified": True, "mu": arb_ball_text(mu_b), "nu": arb_ball_text(nu_b),
            "mu_value": float(mu_b.mid()), "nu_value": float(nu_b.mid()),
            "mu_bounds": float_bounds(mu_b), "nu_bounds": float_bounds(nu_b)}


def float_point(mu: np.ndarray, nu: np.ndarray, ok: np.ndarray) -> dict[str, Any]:
    """A float Newton fixed point (evidence, ``certified`` False; None everywhere when Newton
    failed), as the figures use it."""
    if not ok[0]:
        return {"certified": False, "mu": None, "nu": None, "mu_value": None,
                "nu_value": None, "mu_bounds": None, "nu_bounds": None}
    return {"certified": False, "mu": f"{mu[0]:.10g}", "nu": f"{nu[0]:.10g}",
            "mu_value": float(mu[0]), "nu_value": float(nu[0]),
            "mu_bounds": None, "nu_bounds": None}


def certified_fixed_point(omega: float, tau: float) -> dict[str, Any]:
    """The fixed point of g for (ω, τ), certified when possible.

    ``certified`` is True when the Krawczyk test in ball arithmetic proved a unique fixed
    point in the balls reported (``mu``/``nu``: decimal text of the balls; ``*_bounds``: float
    bounds containing them).  Otherwise a float Newton result is returned with
    ``certified`` False (or None everywhere when Newton fails too).
    """
    try:
        mu_b, nu_b = closed_form_fixed_point(str(omega), str(tau), backend="arb")
    except (ArithmeticError, ValueError, ZeroDivisionError):
        return float_point(*fixed_points_numpy(np.array([omega]), np.array([tau])))
    return certified_point(mu_b, nu_b)


# ============================================================================ other activations
#: What the figures of another activation rest on (printed in their summaries).
ACTIVATION_EVIDENCE = ("float64 Gauss-Legendre quadrature of the Gaussian expectations, split "
                       "at the kinks (evidence, not a proof); fixed point certified by a "
                       "Krawczyk test in ball arithmetic where marked")


def is_generic(activation: Activation | None) -> bool:
    """Whether the moment model of ``activation`` is the Gaussian engine rather than SELU's
    closed forms (None: SELU, the default)."""
    return activation is not None and not resolve(activation).closed_form


def map_values(activation: Activation | None, mu: Any, omega: Any, nu: Any, tau: Any,
            quantities: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Float values of the quantities for SELU (closed forms) or another activation."""
    if not is_generic(activation):
        return moment_grid(mu, omega, nu, tau, quantities)
    return evaluate_float(activation, mu, omega, nu, tau, quantities)


def fixed_point_of(activation: Activation | None, omega: float, tau: float) -> dict[str, Any]:
    """The fixed point of g for (ω, τ) for any activation (None: SELU), asked of its moment
    model: certified by the model's Krawczyk test when possible (closed forms at the current
    precision, the Gaussian engine at 64 bits), else the model's float Newton result marked
    not certified, with a note when the variance falls to the trivial ν* = 0 instead."""
    model = resolve("selu" if activation is None else activation)
    try:
        with working_precision(bits=ctx.prec if model.closed_form else 64):
            fp = model.fixed_point(str(omega), str(tau))
        return certified_point(fp.mean, fp.variance)
    except (ArithmeticError, ValueError, ZeroDivisionError):
        pass
    mu, nu, ok = model.fixed_points_float(np.array([omega]), np.array([tau]))
    collapse = (variance_collapse(model.activation, omega, tau)
                if not ok[0] or nu[0] < 1e-8 else None)
    if collapse is not None:  # only the trivial fixed point ν* = 0: nothing to mark
        return {"certified": False, "mu": None, "nu": None, "mu_value": None,
                "nu_value": None, "mu_bounds": None, "nu_bounds": None,
                "note": f"no fixed point with ν* > 0: the variance falls to the trivial "
                        f"ν* = 0 (float evidence: {collapse:.2g} after 60 layers from (0, 1)); "
                        f"scale the activation (--scale, the c of `snn-theory solve-constants "
                        f"--activation …`) or raise τ"}
    return float_point(mu, nu, ok)


def iterated_trajectory(activation: Activation | None, mu0: float, omega: float, nu0: float,
                tau: float, *, steps: int) -> np.ndarray:
    """Iterates (μ_k, ν_k), k = 0..steps, of g in float64 (SELU: :func:`snn_theory.evaluate.
    moment_map.closed_form_trajectory`; another activation: quadrature), shape (steps + 1, 2)."""
    if not is_generic(activation):
        points = closed_form_trajectory(float(mu0), omega, float(nu0), tau, steps=int(steps),
                                        backend="numpy")
        return np.array([[float(a), float(b)] for a, b in points])
    return iterate_float(activation, mu0, omega, nu0, tau, steps=steps)


def monte_carlo_trajectories(activation: Activation | None, starts: Sequence[tuple[float, float]], *,
               omega: float, tau: float, width: int, depth: int, batch: int,
               seed: int = 0) -> list[np.ndarray]:
    """:func:`simulate_trajectories` for any activation (numpy Monte Carlo for others)."""
    if not is_generic(activation):
        return simulate_trajectories(starts, omega=omega, tau=tau, width=width, depth=depth,
                                     batch=batch, seed=seed)
    from snn_theory.simulate.activation import simulate_activation

    out = []
    for mu0, nu0 in starts:
        run = simulate_activation(activation, width=int(width), depth=int(depth), batch=int(batch),
                       mean0=float(mu0), var0=float(nu0), omega=float(omega), tau=float(tau),
                       seed=int(seed))
        out.append(np.stack([run.mean, run.variance], axis=1))
    return out


def map_name(activation: Activation | None) -> str:
    """The activation's name in titles and legends ("SELU" by default)."""
    return "SELU" if not is_generic(activation) else activation.label()


def activation_summary(activation: Activation | None) -> dict[str, Any]:
    """The summary entries of a figure of another activation (its definition and what the
    figure rests on); empty for SELU."""
    if not is_generic(activation):
        return {}
    return {"activation": activation.to_json(), "evidence": ACTIVATION_EVIDENCE}


# ============================================================================ simulator adapter
def simulate_trajectories(starts: Sequence[tuple[float, float]], *, omega: float, tau: float,
                          width: int, depth: int, batch: int, seed: int = 0,
                          dtype: str = "float32") -> list[np.ndarray]:
    """Empirical per-layer (mean, variance) of a simulated network from each start.

    Runs :func:`snn_theory.simulate.engine.simulate` (normalised weights: every row has Σw = ω,
    Σw² = τ exactly; imported lazily, JAX is slow to import) once per start, with the same
    seed (the same weights) for every start.  Returns, per start, an array of shape
    (depth + 1, 2): row 0 the measured input statistics, row l the output of layer l.
    """
    from snn_theory.simulate import engine as sim  # lazy: JAX is slow to import
    out = []
    for mu0, nu0 in starts:
        config = sim.SimulationConfig(width=int(width), depth=int(depth), batch=int(batch),
                                      mean0=float(mu0), var0=float(nu0), weights="normalized",
                                      omega=float(omega), tau=float(tau), dtype=dtype,
                                      seed=int(seed))
        result = sim.simulate(config)
        out.append(np.stack([np.asarray(result.mean, float),
                             np.asarray(result.variance, float)], axis=1))
    return out
