"""The (μ, ν) map of a whole network, composed from its blocks, with its Jacobian and S.

A network (:class:`snn_theory.derive.network.Network`) is data; this module gives each block
ONE evaluator — the block's output (mean, variance) and its 2×2 Jacobian ∂(out)/∂(μ, ν) at
an input (μ, ν) — and composes them by the chain rule, written once (:func:`compose`).  In
the number system "arb" every input may be a ball and every output is a ball containing the
exact value for every input point in the balls (each evaluator is a rigorous interval
extension, and the composition of interval extensions is one); "mpmath" gives point values;
"numpy" float64 (only where every activation is SELU: the closed forms).

The infinite-width model (docs/networks.md derives every line):

* the network's units are exchangeable: each block sees one unit's input with mean μ and
  variance ν (over units and samples) and produces its output's mean and variance;
* ``dense(f)``: z = Σⱼ wⱼ xⱼ is Gaussian with mean ωμ and variance τν (the central limit
  theorem), the output is f(z) — exactly the moment model's map g
  (:meth:`snn_theory.evaluate.model.MomentModel.evaluate`, quantities mean, variance, H);
* ``act(f)``: f applied to the unit's input x, ASSUMED Gaussian N(μ, ν) — the map g with
  ω = τ = 1.  The assumption is exact when the input is a pre-activation (a weighted sum at
  infinite width); after another nonlinearity the input is not Gaussian, and the map is the
  Gaussian closure of the network (moment matching), not its exact moments;
* ``alpha_dropout(Q)``, ``dropout(Q)``, the residual sum: exact functions of the two
  moments (:mod:`snn_theory.derive.network_formulas`); the alpha-dropout constants α′, a, b
  are those the project certifies for the fixed point (0, 1) with λ01, α01
  (:func:`snn_theory.evaluate.backends.alpha_dropout_function`, the formulas of
  docs/mathematics.md §3 that ``solve-constants`` prints);
* ``residual(w, branch)``: the branch (which begins with a dense block) is uncorrelated with
  the unit's own input at infinite width, so the variances add with weights 1 − w², w²;
* ``layer_norm()``: maps every input with ν > 0 to (0, 1), Jacobian 0.

S is the largest singular value of the composed Jacobian, enclosed by the same expression as
one layer's S(H) (:data:`snn_theory.derive.network_formulas.MATRIX_SPECTRAL_NORM`); for a
network of one dense or act block it is the model's own S(H), so that such a network
reproduces ``snn-theory map`` ball for ball.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
from flint import arb, fmpq
from flint import ctx as arb_context

from snn_theory.derive import network_formulas as nf
from snn_theory.derive.codegen import compile_function
from snn_theory.derive.network import (
    Act,
    AlphaDropout,
    Block,
    Dense,
    Dropout,
    LayerNorm,
    Network,
    Repeat,
    Residual,
    parse_network,
)
from snn_theory.errors import DomainUndecided, InputError, PrecisionExhausted
from snn_theory.evaluate import backends, moment_map
from snn_theory.evaluate.dual import Dual
from snn_theory.evaluate.model import MAP_QUANTITIES, MomentModel, resolve
from snn_theory.exact import format_fraction, parse_exact
from snn_theory.precision import digits_to_bits, working_precision

Number = Any
Matrix = tuple[tuple[Number, Number], tuple[Number, Number]]

#: The number systems of the network map.
NETWORK_BACKENDS = ("arb", "mpmath", "numpy")
#: The number system of the map over a box with its gradient: arb forward-mode duals
#: (:class:`snn_theory.evaluate.dual.Dual`; every activation SELU, the closed forms).
BOX_BACKEND = "dual"
_H = ("H11", "H12", "H21", "H22")


@dataclass(frozen=True)
class State:
    """(mean, variance) after some blocks, and the Jacobian of the blocks so far with respect
    to the network's input (None: the identity, before any block)."""

    mean: Number
    variance: Number
    jacobian: Matrix | None = None
    #: the moment model's own S(H) while the blocks so far are one dense or act block (the
    #: enclosure ``snn-theory map`` prints for one layer); None otherwise
    layer_spectral_norm: Number | None = None


@dataclass(frozen=True, repr=False)
class NetworkMap:
    """The network's map at an input: ``mean``, ``variance`` of the output, ``jacobian``
    ∂(mean, variance)/∂(μ, ν) (rows), ``spectral_norm`` S (its largest singular value), in
    ``backend`` at ``bits`` of working precision."""

    network: Network
    backend: str
    bits: int
    mean: Number
    variance: Number
    jacobian: Matrix
    spectral_norm: Number

    def __repr__(self) -> str:
        digits = mpmath.libmp.prec_to_dps(self.bits)

        def text(x: Number) -> str:
            if isinstance(x, arb):
                return x.str(digits, radius=True)
            if isinstance(x, mpmath.mpf):
                return mpmath.nstr(x, digits)
            return repr(float(x))

        (a, b), (c, d) = self.jacobian
        return (f"NetworkMap({self.network.spelling()!r}, {self.backend}, {self.bits} bits: "
                f"mean={text(self.mean)}, variance={text(self.variance)}, jacobian=[["
                f"{text(a)}, {text(b)}], [{text(c)}, {text(d)}]], "
                f"spectral_norm={text(self.spectral_norm)})")


# ----------------------------------------------------------------------- numbers and code
def number(x: Any, backend: str, what: str = "a number of the network map") -> Number:
    """An exact user number (decimal string, int, Fraction) or a backend number, in
    ``backend``.  Exact numbers with a finite decimal expansion are converted from their
    decimal text exactly as ``snn-theory map`` converts its options
    (:func:`snn_theory.evaluate.moment_map.to_number`: arb encloses, mpmath rounds once);
    other rationals p/q are enclosed (arb) or rounded once (mpmath)."""
    if isinstance(x, Dual):
        return x
    if backend == BOX_BACKEND:  # constants of a dual computation are balls
        return number(x, "arb", what)
    if isinstance(x, arb | mpmath.mpf | np.floating | float) and not isinstance(x, bool):
        if backend == "arb":
            return x if isinstance(x, arb) else arb(x)
        if backend == "mpmath":
            return x if isinstance(x, mpmath.mpf) else mpmath.mpf(x)  # type: ignore[arg-type]
        return np.float64(float(x))
    q = x if isinstance(x, Fraction) else parse_exact(x, what)
    text = format_fraction(q)
    if "/" not in text:
        return moment_map.to_number(text, backend)
    if backend == "arb":
        return arb(fmpq(q.numerator, q.denominator))
    if backend == "mpmath":
        return mpmath.mpf(q.numerator) / q.denominator
    return np.float64(q.numerator / q.denominator)


@functools.cache
def _compiled(kind: str, backend: str) -> Callable[..., tuple[Number, ...]]:
    """A block's formulas (and their Jacobians) compiled for ``backend``."""
    ns = backends.namespace(backend)
    x = (nf.mu, nf.nu)
    if kind == "alpha_dropout":
        exprs = [*nf.ALPHA_DROPOUT, *nf.partials(nf.ALPHA_DROPOUT, x)]
        return compile_function(nf.ALPHA_DROPOUT_ARGUMENTS, exprs, ns, name=f"{backend}_ad")
    if kind == "dropout":
        exprs = [*nf.DROPOUT, *nf.partials(nf.DROPOUT, x)]
        return compile_function(nf.DROPOUT_ARGUMENTS, exprs, ns, name=f"{backend}_dropout")
    if kind == "residual":
        exprs = [*nf.RESIDUAL, *nf.partials(nf.RESIDUAL, x),
                 *nf.partials(nf.RESIDUAL, (nf.mu_u, nf.nu_u))]
        return compile_function(nf.RESIDUAL_ARGUMENTS, exprs, ns, name=f"{backend}_residual")
    if kind == "spectral_norm":
        return compile_function(nf.MATRIX, [nf.MATRIX_SPECTRAL_NORM], ns,
                                name=f"{backend}_matrix_s")
    raise ValueError(kind)


def _matrix(flat: tuple[Number, ...] | list[Number]) -> Matrix:
    return ((flat[0], flat[1]), (flat[2], flat[3]))


def _product(a: Matrix, b: Matrix) -> Matrix:
    return tuple(tuple(a[i][0] * b[0][j] + a[i][1] * b[1][j] for j in range(2))  # type: ignore[return-value]
                 for i in range(2))


def _sum(a: Matrix, b: Matrix) -> Matrix:
    return tuple(tuple(a[i][j] + b[i][j] for j in range(2)) for i in range(2))  # type: ignore[return-value]


def spectral_norm_of(matrix: Matrix, backend: str) -> Number:
    """The largest singular value of a 2×2 matrix (enclosed in arb as one layer's S(H))."""
    (a, b), (c, d) = matrix
    return _compiled("spectral_norm", backend)(a, b, c, d)[0]


# ----------------------------------------------------------------------- the evaluators
class _Context:
    """What the evaluators share during one evaluation: backend, default weights, models."""

    def __init__(self, backend: str, omega: Any, tau: Any) -> None:
        if backend not in (*NETWORK_BACKENDS, BOX_BACKEND):
            raise InputError(f"the network map evaluates in {', '.join(NETWORK_BACKENDS)} "
                             f"(got {backend!r})")
        self.backend = backend
        # exact numbers, or (over a box) balls and duals of the backend
        self.omega = omega if isinstance(omega, arb | Dual) else parse_exact(omega, "omega")
        self.tau = tau if isinstance(tau, arb | Dual) else parse_exact(tau, "tau",
                                                                       positive=True)
        self._models: dict[Any, MomentModel] = {}
        self.position = ""
        #: S(H) of the last dense or act block evaluated (see State.layer_spectral_norm)
        self.layer_spectral_norm: Number | None = None

    def model(self, act: Any) -> MomentModel:
        if act not in self._models:
            model = resolve(act)
            if self.backend == BOX_BACKEND and not model.closed_form:
                raise InputError(f"the network map's gradient over a box needs SELU closed "
                                 f"forms; {model.label} has none")
            if self.backend != BOX_BACKEND and self.backend not in model.backends:
                raise InputError(f"backend {self.backend} evaluates the SELU closed forms only; "
                                 f"{model.label} needs arb or mpmath")
            self._models[act] = model
        return self._models[act]

    def num(self, x: Any) -> Number:
        return number(x, self.backend)

    def run(self, kind: str, *args: Number) -> list[Number]:
        """The compiled formulas of ``kind`` at ``args``; entries that are constant
        integers in the formulas (a zero partial) become numbers of the backend."""
        return [self.num(x) if isinstance(x, int) else x
                for x in _compiled(kind, self.backend)(*args)]

    def constants_backend(self) -> str:
        """Where λ01, α01 and the alpha-dropout constants are computed: balls for duals."""
        return "arb" if self.backend == BOX_BACKEND else self.backend

    def require_positive(self, nu: Number, block: Block) -> None:
        if isinstance(nu, Dual):
            nu = nu.value
        ok = nu > 0 if self.backend != "numpy" else bool(np.isfinite(nu) and nu > 0)
        if not ok:
            if self.backend != "numpy" and not nu <= 0:  # a ball (or NaN) not decided
                raise DomainUndecided(f"the enclosure of nu before {block.spelling()} "
                                 f"({self.position}) is not proven > 0: nu = {nu}")
            raise InputError(f"the network's map leaves the domain nu > 0 before "
                             f"{block.spelling()} ({self.position}): nu = {nu}")


#: What a SELU layer gives a dual evaluation: its map and Jacobian H with their gradients.
_LAYER_QUANTITIES = ("mean", "variance", *_H)


def _tighter(direct: arb, other: arb) -> arb:
    """The intersection of two enclosures of one value (a non-finite one is ignored)."""
    if not other.is_finite():
        return direct
    if not direct.is_finite() or not direct.overlaps(other):
        return other if direct.is_finite() is False else direct
    return direct.intersection(other)


def _dual_layer(ctx: _Context, model: MomentModel, inputs: tuple[Number, ...]
                ) -> tuple[Number, Number, Matrix]:
    """A SELU layer over a box: its map and H at the balls of ``inputs`` (μ, ω, ν, τ: duals
    or balls) with their compact gradients in (μ, ω, ν, τ) (the forms the single-layer
    verifier uses), carried to the box's variables by the chain rule:
    ∇q = Σⱼ ∂q/∂xⱼ·∇xⱼ, each factor an enclosure over the box.  Each value is the
    intersection of its direct enclosure with the layer's centred form in its inputs,
    q(x̂) + Σⱼ ∂q/∂xⱼ(X)·(Xⱼ − x̂ⱼ) (x̂ the balls' midpoints, X the balls: the mean value
    theorem), which keeps the balls a later layer receives narrow."""
    if not getattr(model, "default_parameters", False):
        raise InputError("the network map's gradient over a box needs SELU with λ01, α01")
    lam, alpha = backends.constants_function("arb")()
    values = [x.value if isinstance(x, Dual) else x for x in inputs]
    seeds = [x.grad for x in inputs if isinstance(x, Dual)]
    n = len(seeds[0]) if seeds else 0
    function = backends.values_and_gradients("arb", _LAYER_QUANTITIES)
    out = function(*values, lam, alpha)
    centre = [arb(x.mid()) for x in values]
    at_centre = function(*centre, lam, alpha)
    results = []
    for k in range(len(_LAYER_QUANTITIES)):
        value, partial_ = out[5 * k], out[5 * k + 1:5 * k + 5]
        centred = at_centre[5 * k]
        for x, c, d in zip(values, centre, partial_, strict=True):
            centred += d * (x - c)
        value = _tighter(value, centred)
        grad = [arb(0)] * n
        for x, d in zip(inputs, partial_, strict=True):
            if isinstance(x, Dual):
                grad = [g + d * t for g, t in zip(grad, x.grad, strict=True)]
        results.append(Dual(value, grad))
    return results[0], results[1], _matrix(results[2:])


def _moment_model_block(ctx: _Context, model: MomentModel, mu: Number, nu: Number,
                        omega: Fraction, tau: Fraction) -> tuple[Number, Number, Matrix]:
    if ctx.backend == BOX_BACKEND:
        return _dual_layer(ctx, model, (mu, ctx.num(omega), nu, ctx.num(tau)))
    # the quantities ``snn-theory map`` asks for: the same generated code, the same balls
    try:
        q = model.evaluate(mu, ctx.num(omega), nu, ctx.num(tau), quantities=MAP_QUANTITIES,
                           backend=ctx.backend)
    except ArithmeticError as exc:
        raise InputError(f"the Gaussian integrals failed ({ctx.position}): {exc}") from None
    ctx.layer_spectral_norm = q["spectral_norm"]
    return q["mean"], q["variance"], _matrix([q[k] for k in _H])


def block_map(block: Block, mu: Number, nu: Number, ctx: _Context
              ) -> tuple[Number, Number, Matrix]:
    """The output (mean, variance) of one block without repetition or branches, and its
    Jacobian ∂(mean, variance)/∂(μ, ν), at (μ, ν) in ``ctx.backend``."""
    if isinstance(block, Dense):
        ctx.require_positive(nu, block)
        omega = ctx.omega if block.omega is None else block.omega
        tau = ctx.tau if block.tau is None else block.tau
        return _moment_model_block(ctx, ctx.model(block.act), mu, nu, omega, tau)
    if isinstance(block, Act):
        ctx.require_positive(nu, block)
        return _moment_model_block(ctx, ctx.model(block.act), mu, nu, Fraction(1), Fraction(1))
    if isinstance(block, AlphaDropout):
        keep = ctx.num(1 - block.q)
        lam, alpha = backends.constants_function(ctx.constants_backend())()
        alpha_prime, a, b = backends.alpha_dropout_function(ctx.constants_backend())(
            keep, ctx.num(0), ctx.num(1), lam, alpha)
        out = ctx.run("alpha_dropout", mu, nu, keep, alpha_prime, a, b)
        return out[0], out[1], _matrix(out[2:])
    if isinstance(block, Dropout):
        out = ctx.run("dropout", mu, nu, ctx.num(1 - block.q))
        return out[0], out[1], _matrix(out[2:])
    if isinstance(block, LayerNorm):
        ctx.require_positive(nu, block)
        zero = ctx.num(0)
        return zero, ctx.num(1), ((zero, zero), (zero, zero))
    raise TypeError(f"not a block: {block!r}")


def _chain(state: State, mean: Number, variance: Number, jacobian: Matrix,
           layer_s: Number | None = None) -> State:
    """The chain rule, once: a block with Jacobian ``jacobian`` after ``state``."""
    if state.jacobian is None:
        return State(mean, variance, jacobian, layer_s)
    return State(mean, variance, _product(jacobian, state.jacobian))


def compose(blocks: tuple[Block, ...], state: State, ctx: _Context, where: str = "block") -> State:
    """``blocks`` applied in order to ``state`` (repetitions and residual branches included)."""
    for k, block in enumerate(blocks, 1):
        ctx.position = f"{where} {k}"
        if isinstance(block, Repeat):
            for _ in range(block.count):
                state = compose((block.block,), state, ctx, f"{where} {k}")
        elif isinstance(block, Residual):
            branch = compose(block.branch, State(state.mean, state.variance), ctx,
                             f"{where} {k}, branch block")
            assert branch.jacobian is not None  # the branch has at least one block
            out = ctx.run("residual", state.mean, state.variance, branch.mean,
                          branch.variance, ctx.num(block.w))
            local = _sum(_matrix(out[2:6]), _product(_matrix(out[6:10]), branch.jacobian))
            state = _chain(state, out[0], out[1], local)
        else:
            ctx.layer_spectral_norm = None
            state = _chain(state, *block_map(block, state.mean, state.variance, ctx),
                           ctx.layer_spectral_norm)
    return state


def evaluate_network(network: Network | str, mu: Any, nu: Any, *, omega: Any = "0",
                     tau: Any = "1", backend: str = "arb") -> NetworkMap:
    """The network's map at (μ, ν) in ``backend`` at the current working precision.

    ``omega``, ``tau``: the weight sum and sum of squares of every dense block that does not
    name its own.  ``mu``, ``nu`` (and ``omega``, ``tau``) may be exact numbers, or backend
    numbers (arb balls: the results contain the values at every point of the balls).
    Backend :data:`BOX_BACKEND`: duals (:class:`snn_theory.evaluate.dual.Dual`) seeded over a
    box give every output with an enclosure of its gradient over the box (SELU blocks only).  Raises :class:`InputError` for
    bad input, and when the map leaves the domain ν > 0 of a block that needs it."""
    network = parse_network(network)
    ctx = _Context(backend, omega, tau)
    mu_n, nu_n = number(mu, backend, "mu"), number(nu, backend, "nu")
    state = compose(network.blocks, State(mu_n, nu_n), ctx)
    assert state.jacobian is not None  # a network has at least one block
    bits = {"mpmath": mpmath.mp.prec, "arb": arb_context.prec,
            BOX_BACKEND: arb_context.prec}.get(backend, 53)
    s = state.layer_spectral_norm
    if s is None:
        s = spectral_norm_of(state.jacobian, backend)
    return NetworkMap(network, backend, bits, state.mean, state.variance, state.jacobian, s)


#: Largest accepted ``digits`` of :func:`network_map`.
MAX_DIGITS = 1000
#: How often :func:`network_map` doubles the working precision for mpmath before giving up.
MAX_DOUBLINGS = 8


def _values(result: NetworkMap) -> list[Number]:
    (a, b), (c, d) = result.jacobian
    return [result.mean, result.variance, a, b, c, d, result.spectral_norm]


def _vouched(point: list[Number], balls: list[arb], digits: int) -> bool:
    """Whether every ball contains its mpmath value and has radius at most 10^-digits
    relative to its magnitude (absolute near 0)."""
    tol = arb(10) ** (-digits)
    for x, ball in zip(point, balls, strict=True):
        if not (ball.is_finite() and ball.contains(moment_map.mpf_to_arb(x))):
            return False
        if not ball.rad() <= tol * max(abs(ball.mid()), arb(1)):
            return False
    return True


def network_map(network: Network | str, *, mu: Any, nu: Any, omega: Any = "0",
                tau: Any = "1", backend: str = "arb", digits: int = 30) -> NetworkMap:
    """The network's map, its Jacobian and S at (μ, ν) with ``digits`` decimal digits.

    "arb": balls at ``digits`` (+ guard bits) that contain the exact values.  "mpmath": point
    values; the working precision is doubled (at most :data:`MAX_DOUBLINGS` times, then
    :class:`PrecisionExhausted`) until the arb map at the same precision contains every
    value in a ball of relative radius ≤ 10^-digits (absolute where |value| < 1).  "numpy":
    float64 evidence (SELU blocks only).  ``omega``, ``tau``: the weights of the dense blocks
    that do not name their own.  Raises :class:`InputError` for bad input.

    >>> from snn_theory import network_map
    >>> r = network_map("dense(selu), alpha_dropout(0.1)", mu="0", nu="1", digits=20)
    >>> r.variance.contains(1), r.mean.contains(0)
    (True, True)
    """
    network = parse_network(network)
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= MAX_DIGITS:
        raise InputError(f"--digits must be an integer in 1..{MAX_DIGITS} (got {digits!r})")
    bits = digits_to_bits(digits)
    if backend != "mpmath":
        with working_precision(bits=bits):
            return evaluate_network(network, mu, nu, omega=omega, tau=tau, backend=backend)
    for _ in range(MAX_DOUBLINGS + 1):
        with working_precision(bits=bits):
            point = evaluate_network(network, mu, nu, omega=omega, tau=tau, backend="mpmath")
            balls = evaluate_network(network, mu, nu, omega=omega, tau=tau, backend="arb")
            if _vouched(_values(point), _values(balls), digits):
                return point
        bits *= 2
    raise PrecisionExhausted(f"{MAX_DOUBLINGS} doublings of the working precision did not "
                             f"determine {digits} digits of the network's map")


__all__ = ["BOX_BACKEND", "MAX_DIGITS", "NETWORK_BACKENDS", "NetworkMap", "State", "block_map", "compose",
           "evaluate_network", "network_map", "number", "spectral_norm_of"]
