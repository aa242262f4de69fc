"""The figures of ``snn-theory plot`` by name (:data:`FIGURES`), one function each.

Conventions shared by every figure: :mod:`snn_theory.show.canvas`; the numbers behind them:
:mod:`snn_theory.show.figure_data`.
"""

from __future__ import annotations

from collections.abc import Callable

from snn_theory.show.canvas import PlotResult
from snn_theory.show.flow_figures import convergence, flow_field
from snn_theory.show.map_figures import contraction, fixed_points, variance_change
from snn_theory.show.network_figures import dropout_dyt, networks
from snn_theory.show.propagation_figures import correlation_map_figure, gradients

FIGURES: dict[str, Callable[..., PlotResult]] = {
    "flow-field": flow_field,
    "contraction": contraction,
    "variance-change": variance_change,
    "fixed-points": fixed_points,
    "convergence": convergence,
    "correlation-map": correlation_map_figure,
    "gradients": gradients,
    "networks": networks,
    "dropout-dyt": dropout_dyt,
}

__all__ = ["FIGURES"]
