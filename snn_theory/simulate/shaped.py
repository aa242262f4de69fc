"""The shaped activation ψ(x) = γ·(φ(α·x + β) + δ) in JAX, and a Monte Carlo of its C-map.

:func:`shaped_jax` rounds the certified balls of a
:class:`~snn_theory.certify.shaping.ShapeResult` to float64 (each parameter to the float
nearest its ball's midpoint) and returns ψ as a jit/vmap-compatible JAX function, like the
reference package's transformed activations: floats, labelled as such (``floats``), not
the certified numbers.  :func:`correlation_chain` runs two inputs of correlation c₀ through
a random network x_{l+1} = ψ(W_l·x_l), W_l with i.i.d. N(0, 1/width) entries, and returns
the empirical correlation per layer (evidence: O(1/√width) finite-width deviations plus
sampling noise) to compare with the certified network C-map.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from snn_theory.certify.shaping import ShapeResult
from snn_theory.errors import InputError
from snn_theory.evaluate import activation_functions


@dataclass(frozen=True)
class ShapedFunction:
    """ψ as a JAX function; ``floats`` are the float64 parameters it uses (rounded from the
    certified balls: evidence, not the certified values)."""

    fn: Callable[[Any], Any]
    floats: dict[str, float]
    label: str

    def __call__(self, x: Any) -> Any:
        return self.fn(x)


def shaped_jax(result: ShapeResult) -> ShapedFunction:
    """ψ of ``result`` in JAX (float parameters rounded from its certified balls)."""
    import jax.numpy as jnp

    floats = {k: float(v.mid()) for k, v in result.parameters.items()}
    a, b = floats["input_scale"], floats["input_shift"]
    g, d = floats["output_scale"], floats["output_shift"]
    act = result.activation
    if "negative_slope" in floats:
        s = floats["negative_slope"]

        def fn(x: Any) -> Any:
            u = a * x + b
            return g * (jnp.where(u > 0, u, s * u) + d)
    else:
        def fn(x: Any) -> Any:
            return g * (activation_functions.value_jax(act, a * x + b) + d)

    label = (f"{result.method.upper()}-shaped {act.label()} (depth {result.depth}; float "
             "parameters rounded from certified balls, evaluated in JAX's dtype)")
    return ShapedFunction(fn, floats, label)


def correlation_chain(psi: Callable[[Any], Any], depth: int, c0: float, width: int,
                      seed: int = 0) -> np.ndarray:
    """Empirical ⟨x₁, x₂⟩/√(|x₁|²|x₂|²) per layer (layer 0: c₀) for two unit-q inputs
    (|x|²/width = 1) of correlation c₀ through x_{l+1} = ψ(W_l x_l), W_l ~ N(0, 1/width)."""
    import jax

    if not -1 <= c0 <= 1:
        raise InputError(f"the input correlation must lie in [-1, 1] (got {c0})")
    if width < 2 or depth < 0:
        raise InputError("the width must be ≥ 2 and the depth ≥ 0")
    rng = np.random.default_rng(seed)
    layer = jax.jit(lambda t: psi(t))
    u, v = rng.standard_normal(width), rng.standard_normal(width)
    u = u / np.sqrt(np.mean(u * u))
    v = v - np.mean(u * v) * u
    v = v / np.sqrt(np.mean(v * v))
    x = np.stack([u, c0 * u + np.sqrt(max(0.0, 1 - c0 * c0)) * v])
    out = [c0]
    for _ in range(depth):
        w = rng.standard_normal((width, width), dtype=np.float32) / np.float32(np.sqrt(width))
        x = np.asarray(layer((x @ w.T).astype(np.float32)), dtype=np.float64)
        q = np.mean(x * x, axis=1)
        out.append(float(np.mean(x[0] * x[1]) / np.sqrt(q[0] * q[1])))
    return np.array(out)


#: Built-ins written as expressions in {u} (the activation parser's language).
TEMPLATES = {
    "tanh": "tanh({u})", "gelu": "{u}*(1 + erf({u}/sqrt(2)))/2", "softplus": "softplus({u})",
    "mish": "{u}*tanh(softplus({u}))", "silu": "{u}*sigmoid({u})",
    "elu": "max({u}, 0) + exp(min({u}, 0)) - 1",
    "selu": "LAM*(max({u}, 0) + ALPHA*(exp(min({u}, 0)) - 1))",
}


def float_expression(result: ShapeResult) -> str | None:
    """ψ as an expression in x with float parameters (rounded from the certified balls, like
    :func:`shaped_jax`) that ``--activation`` accepts, e.g. for ``simulate``; None where the
    activation has no such form (the parser must accept the text)."""
    import re

    from snn_theory.derive import activations
    from snn_theory.exact import format_fraction

    f = shaped_jax(result).floats
    act = result.activation
    if "negative_slope" in f:
        s = f["negative_slope"]
        return f"{f['output_scale']!r}*({s!r}*x + {1 - s!r}*max(x, 0))"
    if act.definition in TEMPLATES:
        body = TEMPLATES[act.definition]
        if act.definition == "selu":
            lam, alpha = (float(v) for v in activation_functions.parameter_values(act, "mpmath"))
            body = body.replace("LAM", repr(lam)).replace("ALPHA", repr(alpha))
    else:
        body = re.sub(r"\bx\b", "{u}", act.definition)
    inner = f"({f['input_scale']!r}*x + {f['input_shift']!r})"
    phi = f"{format_fraction(act.scale)}*({body.replace('{u}', inner)})"
    if act.shift:
        phi += f" + {format_fraction(act.shift)}"
    text = f"{f['output_scale']!r}*({phi} + {f['output_shift']!r})"
    try:
        activations.parse_expression(text)
    except ValueError:
        return None
    return text


__all__ = ["ShapedFunction", "TEMPLATES", "correlation_chain", "float_expression",
           "shaped_jax"]
