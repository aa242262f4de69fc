"""The ``--activation`` option shared by the commands (one place that parses it).

    --activation NAME|EXPR      built-in name (selu, elu, relu, leaky_relu, tanh, gelu,
                                silu/swish, mish, softplus) or an expression in x
    --scale C --shift D         the affine family member C·f(x) + D (exact decimals)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from snn_theory.derive import activation_parser, activations
from snn_theory.evaluate import model
from snn_theory.evaluate.model import MomentModel

HELP = ("Activation: a built-in name (" + ", ".join(activations.NAMES) + ", swish) or an "
        "expression in x over " + ", ".join(activation_parser.FUNCTIONS) + " (e.g. "
        "\"1.59*tanh(x)\", \"x*erfc(-x/sqrt(2))/2\").  Default selu.")


def activation_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--activation``, ``--scale`` and ``--shift`` to a click command."""
    func = click.option("--shift", default="0", show_default=True,
                        help="d in the affine family c·f(x) + d.")(func)
    func = click.option("--scale", default="1", show_default=True,
                        help="c in the affine family c·f(x) + d (nonzero).")(func)
    func = click.option("--activation", "activation", default="selu", show_default=True,
                        metavar="NAME|EXPR", help=HELP)(func)
    return func


def resolve_options(activation: str, scale: str, shift: str) -> MomentModel:
    """The moment model of the activation the options describe, resolved once
    (:func:`snn_theory.evaluate.model.resolve`; :class:`InputError` → exit 2 for bad input)."""
    return model.resolve(activation, scale=scale, shift=shift)
