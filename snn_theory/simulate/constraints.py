"""Training that keeps the theorem true: weight constraints as optax transformations.

**The projection.**  A unit's incoming weight row w ∈ ℝⁿ (n ≥ 2) has the weight statistics
ω = Σ_j w_j and τ = Σ_j w_j².  Write e = 1/√n·(1, …, 1) and w = s·e + r with r ⟂ e:

    s = ω/√n,   ρ = ‖r‖ = ‖w − mean(w)‖,   ω = √n·s,   τ = s² + ρ².

For a row w′ = s′·e + r′ the distance is ‖w − w′‖² = (s − s′)² + ‖r − r′‖², and for a given
‖r′‖ = ρ′ the nearest r′ is ρ′·r/ρ (‖r − r′‖ = |ρ − ρ′|).  So the nearest row whose (ω, τ)
lies in a rectangle D = [ω₋, ω₊] × [τ₋, τ₊] is s′·e + (ρ′/ρ)·r, where (s′, ρ′) is the point
nearest to (s, ρ) of the plane region

    A = {(x, y): ω₋/√n ≤ x ≤ ω₊/√n,  τ₋ ≤ x² + y² ≤ τ₊}

(a vertical strip cut from an annulus; A is symmetric in y, and ρ ≥ 0, so a nearest point has
y ≥ 0).  The nearest point of a closed set is the point itself when inside, otherwise a
point of its boundary: on an arc of the outer or inner circle (then the radial projection
(s, ρ)·R/‖(s, ρ)‖, R = √τ₊ or √τ₋, when it falls on the arc) or on one of the two vertical
edges x = ω±/√n, y ∈ [√max(τ₋ − x², 0), √(τ₊ − x²)] (then y = ρ clipped to the edge; the arcs'
end points are the edges' end points).  :func:`project_rows` evaluates these (at most four)
candidates and keeps the nearest: the exact Euclidean projection onto D, up to the rounding of
the arithmetic.  For a union of cells (a paving) it is the nearest point over all cells.  A row
with ρ = 0 (all weights equal) moves along a fixed unit direction ⟂ e.

**The margin.**  The rectangle is first shrunk by :func:`rounding_margin` (per n and dtype):
the computed row, and then ``optax.apply_updates``'s addition p + (q − p), differ from the exact
projection by a few roundings per weight (relative u = 2⁻²⁴ in float32), and a row's sums by
at most about (n + c)·u of their scale; the margin (4n + 32)·u·(√(n·τ₊), 2·τ₊) covers that, so the
*stored* weights' exact (ω, τ) (computed from the floats as rationals:
:func:`snn_theory.certify.weight_regions.exact_row_statistics`) lie in D.  The guarantee assumes
the parameters the update starts from already satisfy the constraint (project the initial
weights with :func:`project_weights` or use :func:`normalized_init`); it is *measured* exactly
(``train`` records it every epoch), never assumed.

**max-norm** (Srivastava et al. 2014): rows with τ > c are scaled by √(c/τ); it bounds τ, not ω.

**Layout.**  A weight matrix is (units, fan_in) and row i is unit i's incoming row
(z = W x + b, equinox's ``eqx.nn.Linear.weight``).  The transformations act on every leaf of
the parameters they see; choose the weight matrices with ``optax.masked`` (see
:func:`hidden_weight_mask` for a pytree of booleans built from a path predicate), and put them
*after* the optimiser: ``optax.chain(optax.adam(1e-3), certified_constraint(region))``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from snn_theory.certify.weight_regions import CertifiedRegion
from snn_theory.errors import InputError


def rounding_margin(n: int, dtype: Any, tau_hi: float) -> tuple[float, float]:
    """(m_ω, m_τ): how far inside each cell the projection aims, for rows of length ``n`` stored
    in ``dtype``: δ = (4n + 32)·u (u the dtype's unit roundoff), m_ω = δ·√(n·τ₊),
    m_τ = 2δ·τ₊."""
    u = float(np.finfo(np.dtype(dtype)).eps) / 2
    delta = (4 * n + 32) * u
    return delta * math.sqrt(n * tau_hi), 2 * delta * tau_hi


def shrunk_cells(region: CertifiedRegion, n: int, dtype: Any) -> np.ndarray:
    """(cells, 4) float64 (ω₋, ω₊, τ₋, τ₊) of the region's cells shrunk by the rounding
    margin; cells that become empty or cannot hold a row of length n are dropped
    (:class:`InputError` if none is left)."""
    cells = region.float_cells()
    out = []
    for w0, w1, t0, t1 in cells:
        mw, mt = rounding_margin(n, dtype, t1)
        a, b, lo, hi = w0 + mw, w1 - mw, t0 + mt, t1 - mt
        # the smallest x² over the strip must not exceed τ₊ (the strip meets the disc)
        xmin = 0.0 if a <= 0 <= b else min(a * a, b * b) / n
        if a <= b and lo <= hi and xmin <= hi:
            out.append((a, b, lo, hi))
    if not out:
        raise InputError(f"{region.name}: no cell is wide enough for the rounding of "
                         f"{np.dtype(dtype).name} rows of length {n}")
    return np.array(out, np.float64)


def project_rows(w: jax.Array, cells: jax.Array) -> jax.Array:
    """The nearest rows (Euclidean, row by row) to ``w`` (units, n) whose (Σw, Σw²) lies in one
    of ``cells`` ((cells, 4): ω₋, ω₊, τ₋, τ₊, already shrunk); rows already inside are
    returned unchanged (bit for bit).  See the module docstring for the mathematics."""
    n = w.shape[-1]
    dt = w.dtype
    sq = jnp.asarray(math.sqrt(n), dt)
    mean = jnp.mean(w, axis=-1, keepdims=True)
    r = w - mean
    r = r - jnp.mean(r, axis=-1, keepdims=True)  # a second pass: Σr ≈ 0 to the rounding of r
    s = jnp.sum(w, axis=-1) / sq
    rho = jnp.sqrt(jnp.sum(r * r, axis=-1))
    c = cells.astype(dt)
    a, b = c[:, 0] / sq, c[:, 1] / sq  # (cells,)
    t0, t1 = c[:, 2], c[:, 3]
    S, P = s[:, None], rho[:, None]  # (units, 1)
    norm = jnp.sqrt(S * S + P * P)
    safe = jnp.where(norm > 0, norm, 1)
    ux, uy = jnp.where(norm > 0, S / safe, 0), jnp.where(norm > 0, P / safe, 1)
    big = jnp.asarray(jnp.inf, dt)
    cands_x, cands_y, valid = [], [], []
    for radius in (jnp.sqrt(t1), jnp.sqrt(t0)):  # radial projections onto the two circles
        x, y = ux * radius, uy * radius
        cands_x.append(x)
        cands_y.append(y)
        valid.append((x >= a) & (x <= b))
    for edge in (a, b):  # the vertical edges x = a, x = b
        lo = jnp.sqrt(jnp.maximum(t0 - edge * edge, 0))
        hi = jnp.sqrt(jnp.maximum(t1 - edge * edge, 0))
        cands_x.append(jnp.broadcast_to(edge, S.shape[:1] + edge.shape))
        cands_y.append(jnp.clip(P, lo, hi))
        valid.append(jnp.broadcast_to(t1 >= edge * edge, S.shape[:1] + edge.shape))
    X = jnp.stack(cands_x, -1).reshape(S.shape[0], -1)
    Y = jnp.stack(cands_y, -1).reshape(S.shape[0], -1)
    V = jnp.stack(valid, -1).reshape(S.shape[0], -1)
    d = jnp.where(V, (X - S) ** 2 + (Y - P) ** 2, big)
    k = jnp.argmin(d, axis=-1)
    x = jnp.take_along_axis(X, k[:, None], -1)[:, 0]
    y = jnp.take_along_axis(Y, k[:, None], -1)[:, 0]
    tau = s * s + rho * rho
    inside = jnp.any((s[:, None] >= a) & (s[:, None] <= b) & (tau[:, None] >= t0)
                     & (tau[:, None] <= t1), axis=-1)
    direction = jnp.zeros(n, dt).at[0].set(1).at[1].set(-1) / jnp.sqrt(jnp.asarray(2, dt))
    tiny = rho <= jnp.finfo(dt).tiny * 1e6
    scale = jnp.where(tiny, 0, y / jnp.where(tiny, 1, rho))
    moved = (x / sq)[:, None] + scale[:, None] * r + jnp.where(tiny, y, 0)[:, None] * direction
    return jnp.where(inside[:, None], w, moved)


def max_norm_rows(w: jax.Array, c: float) -> jax.Array:
    """Rows with Σw² > c scaled by √(c/Σw²) (the max-norm constraint); others unchanged."""
    tau = jnp.sum(w * w, axis=-1, keepdims=True)
    return jnp.where(tau > c, w * jnp.sqrt(c / jnp.where(tau > c, tau, 1)), w)


def _leaf_projector(region: CertifiedRegion) -> Callable[[jax.Array], jax.Array]:
    def project(w: jax.Array) -> jax.Array:
        if w.ndim != 2 or w.shape[1] < 2:
            raise InputError(f"a constrained weight must be a (units, fan_in) matrix with "
                             f"fan_in >= 2 (got shape {tuple(w.shape)})")
        return project_rows(w, jnp.asarray(shrunk_cells(region, w.shape[1], w.dtype)))
    return project


def project_weights(params: Any, region: CertifiedRegion) -> Any:
    """Every leaf of ``params`` (each a (units, fan_in) matrix) projected onto ``region``."""
    return jax.tree_util.tree_map(_leaf_projector(region), params)


class ConstraintState(NamedTuple):
    """Stateless."""


def _projection_transform(project: Callable[[jax.Array], jax.Array]
                          ) -> optax.GradientTransformation:
    def init(params: Any) -> ConstraintState:
        del params
        return ConstraintState()

    def update(updates: Any, state: ConstraintState, params: Any = None
               ) -> tuple[Any, ConstraintState]:
        if params is None:
            raise ValueError("a weight constraint needs the parameters (pass params to update)")
        new = jax.tree_util.tree_map(lambda p, u: project(p + u), params, updates)
        return jax.tree_util.tree_map(lambda q, p: q - p, new, params), state

    return optax.GradientTransformation(init, update)


def certified_constraint(region: CertifiedRegion) -> optax.GradientTransformation:
    """An optax transformation: the update that moves every parameter (a (units, fan_in)
    matrix) to ``project_rows(params + updates)``, the nearest rows with (ω, τ) in the region
    (less the rounding margin).  Put it after the optimiser, under ``optax.masked`` to choose
    the weight matrices."""
    return _projection_transform(_leaf_projector(region))


def max_norm_constraint(c: float) -> optax.GradientTransformation:
    """An optax transformation: after the update, rows with ‖w‖² > c are scaled to ‖w‖² = c."""
    if not (isinstance(c, int | float) and math.isfinite(c) and c > 0):
        raise InputError(f"max-norm: c must be a finite number > 0 (got {c!r})")
    return _projection_transform(lambda w: max_norm_rows(w, float(c)))


def normalized_init(key: jax.Array, units: int, fan_in: int, *, omega: float = 0.0,
                    tau: float = 1.0, dtype: Any = jnp.float32) -> jax.Array:
    """A (units, fan_in) matrix whose rows have Σw = ω and Σw² = τ (to rounding): Gaussian
    rows, centred, scaled to ‖r‖² = τ − ω²/n, plus ω/n.  Needs τ > ω²/n, fan_in >= 2."""
    if fan_in < 2 or units < 1 or not tau > omega * omega / fan_in:
        raise InputError(f"normalized init: need units >= 1, fan_in >= 2 and τ > ω²/n (got "
                         f"{units}, {fan_in}, ω = {omega}, τ = {tau})")
    u = jax.random.normal(key, (units, fan_in), jnp.float32)
    r = u - jnp.mean(u, axis=1, keepdims=True)
    r = r * jnp.sqrt((tau - omega * omega / fan_in) / jnp.sum(r * r, axis=1, keepdims=True))
    return (r + omega / fan_in).astype(dtype)


def hidden_weight_mask(params: Any, select: Callable[[Any], list[Any]]) -> Any:
    """A pytree of booleans like ``params``: True at the leaves ``select(params)`` returns
    (compared by identity; e.g. ``lambda m: [l.weight for l in m.hidden]``)."""
    chosen = {id(x) for x in select(params)}
    return jax.tree_util.tree_map(lambda x: id(x) in chosen, params)


__all__ = ["ConstraintState", "certified_constraint", "hidden_weight_mask", "max_norm_constraint",
           "max_norm_rows", "normalized_init", "project_rows", "project_weights",
           "rounding_margin", "shrunk_cells"]
