"""Weight constraints: the projection onto a certified (ω, τ) region is exact and the nearest
row (against a brute-force constrained solve in ℝⁿ); the exact row statistics are the
rational sums of the floats; training under a certified constraint stays inside exactly."""

from __future__ import annotations

from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy.optimize import minimize

from snn_theory.certify.weight_regions import (
    CertifiedRegion,
    exact_row_statistics,
    inside_fractions,
    inside_mask,
    theorem1_region,
)
from snn_theory.errors import InputError
from snn_theory.simulate.constraints import (
    certified_constraint,
    hidden_weight_mask,
    max_norm_constraint,
    normalized_init,
    project_rows,
    project_weights,
    shrunk_cells,
)


def _brute_force(w: np.ndarray, cell: np.ndarray, starts: int = 12) -> float:
    """The smallest ‖w′ − w‖² over rows w′ with (Σw′, Σw′²) in the cell: SLSQP in ℝⁿ from
    random starts (independent of the 2-D reduction)."""
    w0, w1, t0, t1 = cell
    cons = [{"type": "ineq", "fun": lambda v: v.sum() - w0},
            {"type": "ineq", "fun": lambda v: w1 - v.sum()},
            {"type": "ineq", "fun": lambda v: v @ v - t0},
            {"type": "ineq", "fun": lambda v: t1 - v @ v}]
    rng = np.random.default_rng(1)
    best = np.inf
    for k in range(starts):
        x0 = w + (rng.standard_normal(w.size) * 0.5 if k else 0)
        res = minimize(lambda v: np.sum((v - w) ** 2), x0, jac=lambda v: 2 * (v - w),
                       constraints=cons, method="SLSQP", options={"ftol": 1e-14, "maxiter": 500})
        v = res.x
        ok = (w0 - 1e-9 <= v.sum() <= w1 + 1e-9) and (t0 - 1e-9 <= v @ v <= t1 + 1e-9)
        if ok:
            best = min(best, float(np.sum((v - w) ** 2)))
    return best


CELL = np.array([[-0.1, 0.1, 0.95, 1.1]])


@pytest.mark.parametrize("seed", range(6))
def test_projection_is_the_nearest_row_and_hits_its_target(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    # far outside, inside the inner circle, beyond the strip, at the origin of r
    w = rng.standard_normal(n) * rng.choice([0.2, 0.7, 1.5]) + rng.choice([0.0, 0.4, -0.6])
    with jax.enable_x64(True):
        q = np.asarray(project_rows(jnp.asarray(w[None, :], jnp.float64),
                                    jnp.asarray(CELL)))[0]
    omega, tau = q.sum(), q @ q
    assert -0.1 - 1e-12 <= omega <= 0.1 + 1e-12 and 0.95 - 1e-12 <= tau <= 1.1 + 1e-12
    d = float(np.sum((q - w) ** 2))
    brute = _brute_force(w, CELL[0])
    assert d <= brute + 1e-7  # no row of the region is nearer
    assert d >= brute - 1e-6  # and the brute-force solver finds ours
    # on the boundary it aims at: a side of the rectangle (to float64 rounding)
    w_sum, w_tau = w.sum(), w @ w
    if not (-0.1 <= w_sum <= 0.1 and 0.95 <= w_tau <= 1.1):
        sides = [abs(omega + 0.1), abs(omega - 0.1), abs(tau - 0.95), abs(tau - 1.1)]
        assert min(sides) < 1e-13


def test_projection_of_rows_inside_is_the_identity_and_equal_rows_move() -> None:
    w = np.array([[0.5, -0.5, 0.5, -0.5], [0.25, 0.25, 0.25, 0.25]], np.float32)
    q = np.asarray(project_rows(jnp.asarray(w), jnp.asarray(CELL, jnp.float32)))
    assert q[0].tobytes() == w[0].tobytes()  # Σw = 0, Σw² = 1: unchanged bit for bit
    om, ta = exact_row_statistics(q[1:])
    assert -0.1 <= om[0] <= 0.1 and Fraction(95, 100) <= ta[0] <= Fraction(11, 10)


def test_exact_row_statistics_are_the_rational_sums() -> None:
    rng = np.random.default_rng(3)
    w = (rng.standard_normal((5, 7)) * 10.0 ** rng.integers(-30, 5, (5, 7))).astype(np.float32)
    om, ta = exact_row_statistics(w)
    for i, row in enumerate(w.tolist()):
        assert om[i] == sum((Fraction(x) for x in row), Fraction(0))
        assert ta[i] == sum((Fraction(x) ** 2 for x in row), Fraction(0))
    for bad in (np.zeros(3), np.array([[np.nan, 1.0]]), np.zeros((2, 2), int)):
        with pytest.raises(InputError):
            exact_row_statistics(bad)


def test_float32_rows_are_provably_inside_after_projection() -> None:
    """The rounding margin: every stored float32 row's exact (ω, τ) is in the rectangle."""
    region = theorem1_region()
    rng = np.random.default_rng(0)
    w = rng.standard_normal((400, 64)) * rng.uniform(0.01, 0.5, (400, 1)) + \
        rng.choice([0.0, 0.05, -0.3], (400, 1))
    w = w.astype(np.float32)
    w[:8] = 0.125  # equal rows
    q = project_weights(jnp.asarray(w), region)
    assert q.dtype == jnp.float32
    assert inside_fractions([np.asarray(q)], region) == [1.0]
    assert inside_fractions([w], region)[0] < 0.1


def test_inside_mask_decides_as_the_rationals_do_even_where_floats_round_across_an_edge() -> None:
    """The float filter with its error bound gives the answer of the rational sums, on rows
    whose float64 sum rounds *inside* while the exact sum is just outside (and back)."""
    half = (Fraction(-1, 2), Fraction(1, 2))
    region = CertifiedRegion("test", ((half, (Fraction(1, 8), Fraction(2))),),
                             {"mu": half, "nu": half}, True, {"kind": "test"})
    d = 2.0 ** -60
    rows = np.array([[0.5, d],     # Σw = 1/2 + 2⁻⁶⁰, whose float sum is 1/2: outside
                     [0.5, -d],    # Σw = 1/2 − 2⁻⁶⁰: inside
                     [0.25, 0.25],
                     [0.0, 0.5]])
    assert np.sum(rows[0]) == 0.5  # the float sum rounds across the edge
    om, ta = exact_row_statistics(rows)
    expected = [region.contains(o, t) for o, t in zip(om, ta, strict=True)]
    assert expected == [False, True, True, True]
    assert inside_mask(rows, region).tolist() == expected
    region = theorem1_region()
    rng = np.random.default_rng(5)
    for dtype in (np.float16, np.float32, np.float64):
        w = (rng.standard_normal((300, 9)) * rng.uniform(0.05, 0.6, (300, 1))
             + rng.choice([0.0, 0.011, -0.2], (300, 1))).astype(dtype)
        om, ta = exact_row_statistics(w)
        exact = [region.contains(o, t) for o, t in zip(om, ta, strict=True)]
        assert inside_mask(w, region).tolist() == exact
    for bad in (np.zeros(3), np.array([[np.nan, 1.0]])):
        with pytest.raises(InputError):
            inside_mask(bad, region)


def test_a_paving_region_projects_to_the_nearest_cell() -> None:
    """Two disjoint cells: a row near the second cell goes there, not into the first."""
    cells = (((Fraction(-1, 10), Fraction(1, 10)), (Fraction(95, 100), Fraction(11, 10))),
             ((Fraction(2), Fraction(21, 10)), (Fraction(2), Fraction(22, 10))))
    box = {"mu": (Fraction(-1, 10), Fraction(1, 10)), "nu": (Fraction(8, 10), Fraction(3, 2))}
    region = CertifiedRegion("two cells", cells, box, True, {"kind": "test"})
    w = np.full((1, 4), 0.52, np.float32) + np.array([0.3, -0.3, 0.3, -0.3], np.float32)
    q = np.asarray(project_weights(jnp.asarray(w), region))
    om, ta = exact_row_statistics(q)
    assert 2 <= om[0] <= Fraction(21, 10) and 2 <= ta[0] <= Fraction(22, 10)
    assert len(shrunk_cells(region, 4, np.float32)) == 2


def test_the_optax_transformations_keep_rows_inside_under_adam() -> None:
    """Any (units, fan_in) parameters: Adam then the constraint, under optax.masked."""
    region = theorem1_region()
    key = jax.random.key(0)
    params = {"w": normalized_init(key, 16, 8), "b": jnp.ones(16)}
    assert inside_fractions([np.asarray(params["w"])], region) == [1.0]
    mask = hidden_weight_mask(params, lambda p: [p["w"]])
    assert mask == {"w": True, "b": False}
    for transform, check in ((certified_constraint(region), "region"),
                             (max_norm_constraint(1.1), "max-norm")):
        opt = optax.chain(optax.adam(0.3), optax.masked(transform, lambda p: {"w": True,
                                                                           "b": False}))
        state, p = opt.init(params), params
        for k in range(5):
            g = jax.tree_util.tree_map(lambda x, k=k: jnp.cos(x * 3 + k) * 5.0, p)
            u, state = opt.update(g, state, p)
            p = optax.apply_updates(p, u)
            if check == "region":
                assert inside_fractions([np.asarray(p["w"])], region) == [1.0]
            else:
                assert float(jnp.max(jnp.sum(p["w"] ** 2, axis=1))) <= 1.1 * (1 + 1e-6)
        assert not np.allclose(p["b"], 1.0)  # the bias trains freely


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InputError):
        max_norm_constraint(0.0)
    with pytest.raises(InputError):
        normalized_init(jax.random.key(0), 3, 1)
    with pytest.raises(InputError):
        project_weights(jnp.ones((3, 1)), theorem1_region())


def test_training_under_theorem1_stays_inside_every_epoch_and_layer() -> None:
    from snn_theory.simulate.network import train
    from snn_theory.simulate.training import TrainConfig

    # the shapes of the certify-network tests' networks: one compilation serves both
    config = TrainConfig(dataset="iris", variant="selu", depth=2, width=8, epochs=2,
                         batch_size=16, learning_rate=3e-2, constraint="theorem1")
    r = train(config)
    assert r.inside_fraction.shape == (3, 2)
    assert r.inside_fraction.tolist() == [[1.0] * 2] * 3
    for l in (1, 2):  # the map g is that of z = W·x: the biases stay exactly zero
        assert not np.any(r.weights[f"hidden{l}.bias"])
    free = train(TrainConfig(**{**config.to_dict(), "constraint": "none"}))
    assert free.inside_fraction.min() < 1.0  # measured, not assumed: LeCun rows are outside
    assert r.summary()["inside_fraction_end"] == 1.0 and r.name == "selu+theorem1"
