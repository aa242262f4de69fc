"""The weight constraints of ``train --constraint`` applied to its network
(:mod:`snn_theory.simulate.network`'s MLP: the hidden layers' (units, fan_in) weight matrices;
the output layer is left free).

* ``none``: no constraint;
* ``max-norm``: every hidden row's Σw² ≤ c with c = τ₊ of Theorem 1's rectangle (1.1), the
  classic constraint, which bounds τ but not ω;
* ``theorem1``: Theorem 1's rectangle (:func:`snn_theory.certify.weight_regions.theorem1_region`);
* ``domain-map``: the largest certified rectangle of the committed domain map, derived from the
  paving after the checker re-verified it;
* a paving certificate file: its proven cells, after the checker re-verified it (refused, with
  :class:`InputError`, if it fails its check).

The region a run's ``inside_fraction`` is measured against is the constraint's region, and
Theorem 1's rectangle for ``none`` and ``max-norm``.  Under a certified constraint the initial
hidden weights are projected too, so every recorded epoch, 0 included, starts inside, and the
hidden layers' biases are kept at zero (they start at zero and their updates are zeroed): the
moment map g the proofs are about is that of z = W·x, without a bias.
"""

from __future__ import annotations

import functools
from typing import Any

import optax

from snn_theory.certify.weight_regions import (
    CertifiedRegion,
    resolve_region,
    sha256_file,
    theorem1_region,
)
from snn_theory.simulate.constraints import (
    certified_constraint,
    hidden_weight_mask,
    max_norm_constraint,
    max_norm_rows,
    project_weights,
)

UNCERTIFIED: tuple[str, ...] = ("none", "max-norm")


def _key(constraint: str) -> tuple[str, str]:
    return (constraint, "" if constraint in ("none", "max-norm", "theorem1", "domain-map")
            else sha256_file(constraint))


@functools.lru_cache(maxsize=8)
def _region(constraint: str, digest: str) -> CertifiedRegion:
    del digest  # part of the key only: other bytes, another check
    return resolve_region(constraint) or theorem1_region()


def region_for(constraint: str) -> CertifiedRegion:
    """The region of a constraint (Theorem 1's for ``none``/``max-norm``); a paving is checked
    by the certificate checker first (once per process and file content)."""
    return _region(*_key(constraint))


def max_norm_bound() -> float:
    """c of the max-norm constraint: τ₊ of Theorem 1's rectangle, as a float rounded down."""
    return float(theorem1_region().float_cells()[0, 3])


def hidden_layer_weights(m: Any) -> list[Any]:
    """The hidden layers' weight matrices of a training network (what a constraint moves)."""
    return [layer.weight for layer in m.hidden]


def hidden_layer_biases(m: Any) -> list[Any]:
    """The hidden layers' biases (kept at zero under a certified constraint)."""
    return [layer.bias for layer in m.hidden]


def constrain_model(model: Any, constraint: str) -> tuple[CertifiedRegion, Any]:
    """(region, model with its hidden weights projected by the constraint)."""
    import equinox as eqx

    region = region_for(constraint)
    if constraint == "none":
        return region, model
    weights = hidden_layer_weights(model)
    if constraint == "max-norm":
        new = [max_norm_rows(w, max_norm_bound()) for w in weights]
    else:
        new = project_weights(weights, region)
    return region, eqx.tree_at(hidden_layer_weights, model, new)


@functools.lru_cache(maxsize=16)
def _optimizer(base: Any, constraint: str, digest: str) -> Any:
    if constraint == "none":
        return base
    if constraint == "max-norm":
        return optax.chain(base, optax.masked(max_norm_constraint(max_norm_bound()),
                                              lambda p: hidden_weight_mask(p, hidden_layer_weights)))
    return optax.chain(base, optax.masked(certified_constraint(_region(constraint, digest)),
                                          lambda p: hidden_weight_mask(p, hidden_layer_weights)),
                       optax.masked(optax.set_to_zero(),
                                    lambda p: hidden_weight_mask(p, hidden_layer_biases)))


def constrained_optimizer(base: Any, constraint: str) -> Any:
    """The optimiser ``base`` (an optax transformation) followed by the constraint on the
    hidden weights (the same object for the same arguments, so that jitted epochs are
    compiled once)."""
    return _optimizer(base, *_key(constraint))


__all__ = ["UNCERTIFIED", "constrain_model", "constrained_optimizer", "hidden_layer_biases",
           "hidden_layer_weights", "max_norm_bound", "region_for"]
