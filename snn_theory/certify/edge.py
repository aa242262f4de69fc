"""The edge of chaos of any activation, one entry point for SELU and the others."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from snn_theory.certify.propagation.cmap import DEFAULT_PREC
from snn_theory.certify.propagation.edge import (
    EdgePoint,
    edge_of_chaos_activation,
    edge_of_chaos_tau,
)
from snn_theory.errors import InputError
from snn_theory.evaluate.model import ModelSpec, activation_of


def edge_of_chaos(
    taus: Sequence[float], activation: ModelSpec | None = None, lam: Any = None,
    alpha: Any = None, prec: int = DEFAULT_PREC
) -> list[EdgePoint]:
    """For each τ: the ν on the edge of chaos (χ₁ = 1) of ``activation`` (default SELU):
    :func:`edge_of_chaos_tau` for SELU (λ, α), :func:`edge_of_chaos_activation` otherwise."""
    act = activation_of(activation)
    if act is not None and not act.is_selu:
        if lam is not None or alpha is not None:
            raise InputError("lam and alpha are SELU's parameters; not with another activation")
        return edge_of_chaos_activation(taus, act, prec=prec)
    return edge_of_chaos_tau(taus, lam, alpha, prec=prec)


__all__ = ["edge_of_chaos"]
