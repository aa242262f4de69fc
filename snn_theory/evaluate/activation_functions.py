"""An activation evaluated in the number systems: f(t) and its pieces in arb/acb balls, mpmath,
numpy and JAX.

An :class:`~snn_theory.derive.activations.Activation` is data (sympy pieces between exact
kinks, :mod:`snn_theory.derive.activations`); this module compiles its pieces with
:mod:`snn_theory.derive.codegen` for each number system (the namespaces of
:mod:`snn_theory.evaluate.backends`, plus the functions user expressions may use) and selects
the piece a point falls in.  Compiled functions are kept in the activation's ``compiled``
cache.  ``acb`` is the complex-ball namespace the rigorous integrators
(:mod:`snn_theory.evaluate.gaussian`, the correlation integrals) evaluate pieces in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np
from flint import acb, arb, ctx, fmpq

from snn_theory.derive.activation_parser import x
from snn_theory.derive.activations import Activation
from snn_theory.derive.codegen import compile_function
from snn_theory.evaluate import backends


# ----------------------------------------------------------------------------- namespaces
class Analytic:
    """The ``analytic`` flag of the current acb.integral call (see :mod:`snn_theory.evaluate.gaussian`):
    functions with branch cuts must return a non-finite ball where they are not analytic."""

    flag = False


def _acb(z: Any) -> acb:
    return z if isinstance(z, acb) else acb(z)


def _acb_pow(z: Any, n: int) -> acb:
    z = _acb(z)
    result = acb(1)
    for _ in range(n):
        result = result * z
    return result


ACB_NAMESPACE: dict[str, Any] = {
    "exp": lambda z: _acb(z).exp(),
    "log": lambda z: _acb(z).log(analytic=Analytic.flag),
    "sqrt": lambda z: _acb(z).sqrt(analytic=Analytic.flag),
    "tanh": lambda z: _acb(z).tanh(),
    "Softplus": lambda z: (1 + _acb(z).exp()).log(analytic=Analytic.flag),
    "sinh": lambda z: _acb(z).sinh(),
    "cosh": lambda z: _acb(z).cosh(),
    "sin": lambda z: _acb(z).sin(),
    "cos": lambda z: _acb(z).cos(),
    "erf": lambda z: _acb(z).erf(),
    "erfc": lambda z: _acb(z).erfc(),
    "POW": _acb_pow,
    "Q": lambda p, q: acb(arb(fmpq(p, q))),
    "PI": lambda: acb(arb.pi()),
    "E": lambda: acb(arb.const_e()),
}


def _with(namespace: dict[str, Any], **extra: Any) -> dict[str, Any]:
    out = dict(namespace)
    out.update(extra)
    return out


@functools.cache
def activation_namespace(backend: str) -> dict[str, Any]:
    """The namespace in which compiled activation pieces evaluate in ``backend`` ("acb",
    "arb", "mpmath", "numpy" or "jax"): the backend's own plus log, tanh, softplus, sinh,
    cosh, sin, cos."""
    if backend == "acb":
        return ACB_NAMESPACE
    if backend == "mpmath":
        return _with(backends.MPMATH_NAMESPACE, log=mpmath.log, tanh=mpmath.tanh,
                     Softplus=lambda t: mpmath.log1p(mpmath.exp(t)),
                     sinh=mpmath.sinh, cosh=mpmath.cosh, sin=mpmath.sin, cos=mpmath.cos)
    if backend == "arb":
        a = backends.ARB_NAMESPACE
        return _with(a, log=lambda t: arb(t).log(), tanh=lambda t: arb(t).tanh(),
                     Softplus=lambda t: arb(t).exp().log1p(),
                     sinh=lambda t: arb(t).sinh(), cosh=lambda t: arb(t).cosh(),
                     sin=lambda t: arb(t).sin(), cos=lambda t: arb(t).cos())
    if backend == "numpy":
        return _with(backends.NUMPY_NAMESPACE, log=np.log, tanh=np.tanh, sinh=np.sinh,
                     Softplus=lambda t: np.logaddexp(0.0, t),
                     cosh=np.cosh, sin=np.sin, cos=np.cos)
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        ns = backends.namespace("jax")
        return _with(ns, log=jnp.log, tanh=jnp.tanh, sinh=jnp.sinh, cosh=jnp.cosh,
                     Softplus=jax.nn.softplus,
                     sin=jnp.sin, cos=jnp.cos)
    raise ValueError(f"unknown backend {backend!r}")


def _prec(backend: str) -> int:
    if backend in ("arb", "acb"):
        return ctx.prec
    if backend == "mpmath":
        return mpmath.mp.prec
    return 53


# ----------------------------------------------------------------------------- g and f
def parameter_values(act: Activation, backend: str) -> tuple[Any, ...]:
    """The values of the activation's parameters (e.g. SELU's λ01, α01) in ``backend`` at the
    current precision (arb: enclosures of their closed forms)."""
    key = ("params", backend, _prec(backend))
    if key not in act.compiled:
        if not act.parameters:
            act.compiled[key] = ()
        else:
            fn = compile_function((), [v for _, v in act.parameters], activation_namespace(backend))
            act.compiled[key] = fn()
    return act.compiled[key]


def piece_functions(act: Activation, backend: str) -> tuple[Callable[..., Any], ...]:
    """g_i compiled for ``backend``: each ``fn(x, *parameter values) -> (value,)``."""
    key = ("pieces", backend)
    if key not in act.compiled:
        args = (x, *(s for s, _ in act.parameters))
        act.compiled[key] = tuple(
            compile_function(args, [p.expr], activation_namespace(backend), name=f"{backend}_piece{i}")
            for i, p in enumerate(act.pieces))
    return act.compiled[key]


def base_mpmath(act: Activation, t: Any) -> Any:
    """g(t) (not c·g + d) in mpmath at the working precision."""
    params = parameter_values(act, "mpmath")
    fns = piece_functions(act, "mpmath")
    for piece, fn in zip(act.pieces, fns):
        if piece.hi is None or t <= mpmath.mpf(piece.hi.numerator) / piece.hi.denominator:
            return fn(t, *params)[0]
    raise AssertionError("unreachable")


def value_mpmath(act: Activation, t: Any) -> Any:
    """f(t) = c·g(t) + d in mpmath."""
    return (mpmath.mpf(act.scale.numerator) / act.scale.denominator * base_mpmath(act, t)
            + mpmath.mpf(act.shift.numerator) / act.shift.denominator)


def value_numpy(act: Activation, t: Any) -> Any:
    """f(t) in float64, vectorised (also the evaluator simulations use)."""
    t = np.asarray(t, dtype=np.float64)
    params = parameter_values(act, "numpy")
    fns = piece_functions(act, "numpy")
    out = np.zeros_like(t)
    lo = -np.inf
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for piece, fn in zip(act.pieces, fns):
            hi = np.inf if piece.hi is None else float(piece.hi)
            mask = (t > lo) & (t <= hi)
            if piece.lo is None:
                mask = t <= hi
            value = np.broadcast_to(np.asarray(fn(np.where(mask, t, 0.0), *params)[0],
                                               dtype=np.float64), t.shape)
            out = np.where(mask, value, out)
            lo = hi
    return float(act.scale) * out + float(act.shift)


def value_jax(act: Activation, t: Any) -> Any:
    """f(t) in JAX (jit/vmap compatible; pieces selected with ``where``)."""
    import jax.numpy as jnp

    params = parameter_values(act, "jax")
    fns = piece_functions(act, "jax")
    out = jnp.zeros_like(t)
    for piece, fn in zip(act.pieces, fns):
        hi = None if piece.hi is None else float(piece.hi)
        lo = None if piece.lo is None else float(piece.lo)
        mask = jnp.ones_like(t, dtype=bool)
        if hi is not None:
            mask = mask & (t <= hi)
        if lo is not None:
            mask = mask & (t > lo)
        safe = jnp.where(mask, t, (lo if lo is not None else hi - 1.0) if hi is not None
                         else (lo + 1.0 if lo is not None else 0.0))
        out = jnp.where(mask, fn(safe, *params)[0], out)
    return float(act.scale) * out + float(act.shift)


def growth_balls(act: Activation) -> tuple[arb, ...]:
    """The growth bound's coefficients a_0, a_1, … as exact arb balls."""
    return tuple(arb(fmpq(a.numerator, a.denominator)) for a in act.growth)
