"""Certified kernel shaping: the DKS and TAT transformations ψ(x) = γ·(φ(α·x + β) + δ).

Deep Kernel Shaping (Martens et al. 2021) and Tailored Activation Transformations (Zhang et
al. 2022) choose (α, β, γ, δ) so that a chain of D identical layers has a well-behaved
network C-map (:mod:`snn_theory.certify.shaped` gives the local quantities):

* **DKS**: Q(1) = 1, Q′(1) = 1, C(0) = 0 and the network's C′(1) = ζ, i.e. the local
  C′(1) = ζ^{1/D}.  C(0) = 0 ⇔ E[ψ] = 0 ⇔ δ = −A and then Q(1) = 1 ⇔ γ = 1/√Var φ(x): the
  unknowns reduce to (α, β) with F(α, β) = (Q′(1) − 1, C′(1) − ζ^{1/D}).
* **TAT, smooth φ**: Q(1) = 1, Q′(1) = 1, the local C′(1) = 1 and the network's
  C″(1) = τ = D·(local C″(1)) (with C′(1) = 1 the curvatures of the layers add): γ = 1/√N
  and F(α, β, δ) = (Q′(1) − 1, C′(1) − 1, C″(1) − τ/D).
* **TAT, leaky ReLU**: ψ(x) = √(2/(1 + s²))·LReLU_s(x), whose C-map has the closed form
  C(c) = c + k(s)·(√(1 − c²) − c·arccos c),  k(s) = (1 − s)²/(π(1 + s²)); the negative slope
  s ∈ [0, 1) solves C^{∘D}(0) = η.  C^{∘D}(0) is strictly decreasing in s there (k is, and
  C is increasing in c and in k), so the root is unique in [0, 1].

**Networks beyond chains** (``shaped``: :mod:`snn_theory.certify.shaping_network`): the
local targets ζ^{1/D}, τ/D become the root s of the network's P(s) = ζ and τ/m, both derived
from the network's description; the network's quantities are composed through its blocks.

**Proof.**  A float solve (Gauss–Hermite quadrature, scipy from a grid of starts) finds a
candidate; Newton's method in arb (the Jacobian by forward-mode duals through the Hermite
moments) polishes it at the working precision; the Krawczyk test
(:func:`snn_theory.evaluate.krawczyk.krawczyk_nd`) then proves that a box around it holds
exactly one solution of F, and the enclosure K(X) ∩ X contains it.  γ and δ (functions of
(α, β)) are enclosed over that enclosure.  Nothing a float step produced is reported: a
failed test raises :class:`ShapingFailure` (an ArithmeticError: "not certified").
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
from flint import arb, ctx

from snn_theory.certify.hermite_cmap import hermite_cmap
from snn_theory.certify.shaped import (
    LocalQuantities,
    first_derivative,
    moment,
    second_derivative,
    shape_moments,
    shaped_quantities,
)
from snn_theory.certify.shaping_network import (
    ShapedNetwork,
    curvature_multiplier,
    local_slope,
    network_slope,
    network_value,
)
from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError
from snn_theory.evaluate import activation_functions, dual
from snn_theory.evaluate.dual import Dual
from snn_theory.evaluate.gaussian import fraction_ball
from snn_theory.evaluate.krawczyk import krawczyk_1d, krawczyk_nd
from snn_theory.exact import ball_text, format_fraction
from snn_theory.precision import working_precision

METHODS = ("dks", "tat")
#: Defaults of the reference implementation.
DEFAULT_ZETA = Fraction(3, 2)
DEFAULT_CURVATURE = Fraction(3, 10)
DEFAULT_ETA = Fraction(9, 10)
#: Largest accepted depth.
MAX_DEPTH = 100_000
#: Mehler terms for the network's C(0) under smooth TAT.
HERMITE_TERMS = 24
#: Names of the leaky-ReLU family (TAT's own branch).
RECTIFIERS = ("relu", "leaky_relu")


class ShapingFailure(ArithmeticError):
    """No solution was certified (none found, or the Krawczyk test failed): exit 3.
    ``precision_limited``: a higher working precision might succeed (Newton or the Krawczyk
    test failed near a float solution), as opposed to no candidate at all."""

    def __init__(self, message: str, precision_limited: bool = False):
        super().__init__(message)
        self.precision_limited = precision_limited


@dataclass(frozen=True)
class ShapeResult:
    """A certified transformation: ``parameters`` (input_scale α, input_shift β,
    output_scale γ, output_shift δ, and negative_slope s for leaky ReLU) as balls holding
    the unique solution in ``box`` (the Krawczyk box of the unknowns named in ``unknowns``);
    ``local`` the layer's quantities over the enclosure, ``network`` the chain's."""

    activation: Activation
    method: str
    depth: int
    targets: dict[str, Fraction]
    parameters: dict[str, arb]
    unknowns: tuple[str, ...]
    box: tuple[arb, ...]
    local: LocalQuantities | None
    network: dict[str, arb]
    proof: str
    precision_bits: int
    seconds: float
    exact: dict[str, str] = field(default_factory=dict)
    #: the network beyond a chain (None: a chain of ``depth`` layers)
    shaped: ShapedNetwork | None = None


def validate(method: str, depth: int, zeta: Fraction | None, curvature: Fraction | None,
             eta: Fraction | None) -> dict[str, Fraction]:
    """The targets of ``method`` with defaults filled in; :class:`InputError` otherwise."""
    if method not in METHODS:
        raise InputError(f"the method must be one of {', '.join(METHODS)} (got {method!r})")
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= MAX_DEPTH:
        raise InputError(f"the depth must be an integer in 1..{MAX_DEPTH} (got {depth})")
    if method == "dks":
        if curvature is not None or eta is not None:
            raise InputError("DKS takes --zeta only (--curvature and --eta are TAT's)")
        z = DEFAULT_ZETA if zeta is None else zeta
        if z <= 1:
            raise InputError(f"zeta must be > 1 (the network's C'(1); got {z})")
        return {"zeta": z}
    if zeta is not None:
        raise InputError("TAT takes --curvature (smooth activations) or --eta (leaky ReLU), "
                         "not --zeta")
    if curvature is not None and not curvature > 0:
        raise InputError(f"the curvature must be > 0 (got {curvature})")
    if eta is not None and not 0 < eta < 1:
        raise InputError(f"eta must lie in (0, 1) (got {eta})")
    return {"curvature": DEFAULT_CURVATURE if curvature is None else curvature,
            "eta": DEFAULT_ETA if eta is None else eta}


# ----------------------------------------------------------------------------- floats
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(160)
_WEIGHTS = _WEIGHTS / math.sqrt(2 * math.pi)


def _float_residuals(act: Activation, method: str, targets: dict[str, float]
                     ) -> Callable[[np.ndarray], np.ndarray]:
    """F of the module docstring in floats (Gauss–Hermite; evidence for a start only)."""
    c = float(act.scale)
    d1 = first_derivative(act)
    d2 = second_derivative(act) if method == "tat" else None
    z, w = _NODES, _WEIGHTS

    def residuals(u: np.ndarray) -> np.ndarray:
        alpha, beta = float(u[0]), float(u[1])
        if alpha <= 0 or not np.isfinite(u).all():
            return np.full(len(u), 1e3)
        x = alpha * z + beta
        f = activation_functions.value_numpy(act, x)
        A, B = w @ f, w @ (f * f)
        A2, B2 = w @ (f * (z * z - 1)) / alpha**2, w @ (f * f * (z * z - 1)) / alpha**2
        D1 = w @ (c * activation_functions.value_numpy(d1, x)) ** 2
        delta = -A if method == "dks" else float(u[2])
        n = B + 2 * delta * A + delta * delta
        if not n > 0:
            return np.full(len(u), 1e3)
        out = [alpha**2 * (B2 + 2 * delta * A2) / (2 * n) - 1,
               alpha**2 * D1 / n - targets["slope"]]
        if method == "tat":
            D2 = w @ (c * activation_functions.value_numpy(d2, x)) ** 2  # type: ignore[union-attr]
            out.append(alpha**4 * D2 / n - targets["curvature"])
        return np.array(out)

    return residuals


def _float_candidates(act: Activation, method: str, targets: dict[str, float]
                      ) -> list[np.ndarray]:
    """Float roots from a grid of starts, best first (α > 0; β ≥ 0 and small |β| first)."""
    from scipy.optimize import root

    fn = _float_residuals(act, method, targets)
    found: list[np.ndarray] = []
    # TAT: δ near −E[φ(x)] (Q′(1) = 1 with a small input scale needs N = E[(φ + δ)²] ~ α²)
    offsets = (0.0,) if method == "dks" else (0.0, 0.5, -0.5)
    for alpha in (0.5, 1.0, 0.2, 2.0, 4.0, 0.05, 0.01, 0.002):
        for beta in (0.0, 0.5, -0.5, 1.5, -1.5):
            mean = float(_WEIGHTS @ activation_functions.value_numpy(act, alpha * _NODES + beta))
            for offset in offsets:
                u0 = np.array([alpha, beta] + ([offset * alpha - mean] if method == "tat"
                                               else []))
                with np.errstate(all="ignore"):
                    sol = root(fn, u0, method="hybr")
                u = sol.x
                if not (sol.success and u[0] > 0 and np.abs(fn(u)).max() < 1e-8):
                    continue
                if all(np.abs(u - v).max() > 1e-6 for v in found):
                    found.append(u)
        if found:
            break
    found.sort(key=lambda u: (u[1] < -1e-9, abs(u[1]), u[0]))
    return found


# ----------------------------------------------------------------------------- arb system
def _system(act: Activation, method: str, targets: dict[str, arb]
            ) -> Callable[[Sequence[arb], bool], tuple[list[Any], dict[str, Any]]]:
    """F over balls: returns (residuals, {alpha, beta, gamma, delta, local}); with ``jac``
    the residuals are Duals in the unknowns (their gradients enclose F′ over the balls)."""
    curvature = method == "tat"

    def system(u: Sequence[arb], jac: bool) -> tuple[list[Any], dict[str, Any]]:
        M = shape_moments(act, u[0], u[1], curvature)
        v = Dual.variables(list(u)) if jac else list(u)
        alpha, beta = v[0], v[1]
        A = moment(M.A, 0, alpha, beta)
        if method == "dks":
            delta = -A
        else:
            delta = v[2]
        n = moment(M.B, 0, alpha, beta) + 2 * delta * A + delta * delta
        gamma = 1 / dual.sqrt(n)
        q = shaped_quantities(M, alpha, beta, gamma, delta)
        res = [q.q_slope - 1, q.c_slope - targets["slope"]]
        if curvature:
            res.append(q.c_curvature - targets["curvature"])
        return res, {"gamma": gamma, "delta": delta, "local": q}

    return system


def _matrix(res: Sequence[Dual]) -> list[list[arb]]:
    return [list(r.grad) for r in res]


def _newton(system: Callable, start: Sequence[float], bits: int) -> tuple[list[arb], float]:
    """Newton's method in arb midpoints: 64 bits first, then ``bits``; returns the point
    and the size of the last step."""
    u = [arb(float(s)) for s in start]
    step_size = math.inf
    for prec in (64, bits):
        with working_precision(bits=prec):
            for _ in range(25):
                res, _ = system(u, True)
                rows = [[mpmath.mpf(a.mid()) for a in row] for row in _matrix(res)]
                values = [mpmath.mpf(r.value.mid()) for r in res]
                if not all(mpmath.isfinite(a) for a in values + sum(rows, [])):
                    raise ShapingFailure("Newton's method met a non-finite residual or "
                                         "Jacobian near the float solution")
                step = mpmath.lu_solve(mpmath.matrix(rows), mpmath.matrix(values))
                u = [arb(mpmath.mpf(u[i].mid()) - step[i]) for i in range(len(u))]
                step_size = float(max(abs(s) for s in step))
                if not math.isfinite(step_size) or step_size > 1e3 or u[0] <= 0:
                    raise ShapingFailure("Newton's method diverged from the float solution")
                if step_size < 2.0 ** (8 - prec) * (1 + max(abs(float(x.mid())) for x in u)):
                    break
    return u, step_size


def _krawczyk_test(system: Callable, box: Sequence[arb]) -> Any:
    def f(*x: arb) -> list[arb]:
        return [r.value if isinstance(r, Dual) else r for r in system(list(x), False)[0]]

    def jac(*x: arb) -> list[list[arb]]:
        return _matrix(system(list(x), True)[0])

    return krawczyk_nd(f, jac, box)


def _targets(method: str, depth: int, targets: dict[str, Fraction],
             shaped: ShapedNetwork | None = None) -> tuple[dict[str, arb], tuple[str, ...]]:
    """The local targets: for a chain ζ^{1/D} and τ/D, for a network the local slope s
    with P(s) = ζ and τ/m (:mod:`snn_theory.certify.shaping_network`)."""
    d = fraction_ball(Fraction(depth))
    if method == "dks":
        if shaped is not None and not shaped.chain:
            try:
                slope = local_slope(shaped, targets["zeta"])[0]
            except ArithmeticError as exc:
                raise ShapingFailure(f"the local C'(1) for the network: {exc}",
                                     precision_limited=True) from None
        else:
            slope = (fraction_ball(targets["zeta"]).log() / d).exp()
        return {"slope": slope}, ("input_scale", "input_shift")
    if shaped is not None and not shaped.chain:
        local = fraction_ball(targets["curvature"] / curvature_multiplier(shaped.network))
    else:
        local = fraction_ball(targets["curvature"]) / d
    return ({"slope": arb(1), "curvature": local},
            ("input_scale", "input_shift", "output_shift"))


def _network_text(shaped: ShapedNetwork | None, method: str) -> str:
    if shaped is None:
        return ""
    if method == "dks":
        if shaped.chain:
            return (f"; the network {shaped.spelling()} is a chain of D = {shaped.layers} "
                    "layers: its C'(1) is the local C'(1) to the power D")
        return (f"; the network {shaped.spelling()}: its C'(1) = P(s) of the local s = C'(1), "
                "P derived from the description by the chain rule at c = 1 (a residual "
                "block: (1 - W^2) + W^2 P_branch(s)); s is the unique root > 1 of "
                "P(s) = zeta (P increasing, P(1) = 1; Krawczyk test), and the network's "
                "C'(1) printed is P over the certified local C'(1)")
    m = curvature_multiplier(shaped.network)
    return (f"; the network {shaped.spelling()}: with C'(1) = 1 in every block its "
            f"C''(1) = m * (local C''(1)) with m = {format_fraction(m)}, by the chain rule "
            "at c = 1 (a residual block weighs its branch's C''(1) by W^2)")


def prove(act: Activation, method: str, depth: int, targets: dict[str, Fraction],
          box: Sequence[arb], started: float | None = None,
          shaped: ShapedNetwork | None = None) -> ShapeResult:
    """The Krawczyk test of the module docstring on ``box`` (balls of the unknowns: (α, β)
    for DKS, (α, β, δ) for smooth TAT) at the current precision, and everything the proof
    gives; :class:`ShapingFailure` when K(X) is not inside X.  The solver and the
    certificate checker both call this.  With ``shaped`` the targets are the network's
    (``depth`` must be its number of ``dense(psi)`` blocks)."""
    started = time.perf_counter() if started is None else started
    if shaped is not None and depth != shaped.layers:
        raise InputError(f"the depth must be the network's {shaped.layers} dense(psi) blocks")
    tgt, unknowns = _targets(method, depth, targets, shaped)
    if len(box) != len(unknowns):
        raise InputError(f"the box must have {len(unknowns)} coordinates ({', '.join(unknowns)})")
    system = _system(act, method, tgt)
    try:
        proof = _krawczyk_test(system, box)
    except (ArithmeticError, ZeroDivisionError) as exc:
        raise ShapingFailure(f"the Krawczyk test could not be evaluated on the box: {exc}"
                             ) from None
    if not proof.proved:
        raise ShapingFailure("the Krawczyk test did not prove a unique solution in the box")
    enc = proof.enclosure
    _, extra = system(list(enc), False)
    local = extra["local"]
    params = {"input_scale": enc[0], "input_shift": enc[1], "output_scale": extra["gamma"],
              "output_shift": extra["delta"]}
    if method == "dks":
        network = {"c_slope": local.c_slope ** depth if shaped is None
                   else network_slope(shaped, local.c_slope)}
        exact = {"c_zero": "0"}
        how = "E[psi] = 0 at the root (delta = -E[phi]), so C(0) = 0 in every layer"
    else:
        m = Fraction(depth) if shaped is None else curvature_multiplier(shaped.network)
        network = {"c_curvature": fraction_ball(m) * local.c_curvature}
        exact = {"c_slope": "1"}
        how = "C'(1) = 1 at the root, so the layers' curvatures add"
    if shaped is not None and not shaped.chain:
        how = ("E[psi] = 0 at the root, so every block maps C = 0 to 0" if method == "dks"
               else "C'(1) = 1 at the root")
    how += _network_text(shaped, method)
    general = shaped is not None and not shaped.chain
    equations = (("Q'(1) - 1, C'(1) - s" if general else "Q'(1) - 1, C'(1) - zeta^(1/D)")
                 if method == "dks" else
                 "Q'(1) - 1, C'(1) - 1, C''(1) - tau/" + ("m" if general else "D"))
    text = (f"Krawczyk test on F({', '.join(unknowns)}) = ({equations}): K(X) lies in the "
            f"interior of X, so X holds exactly one root; {how}")
    kept = {k: v for k, v in targets.items() if k in ("zeta", "curvature")}
    return ShapeResult(act, method, depth, kept, params, unknowns, tuple(proof.box), local,
                       network, text, ctx.prec, time.perf_counter() - started, exact, shaped)


def shape(act: Activation, method: str, depth: int, targets: dict[str, Fraction],
          shaped: ShapedNetwork | None = None) -> ShapeResult:
    """Certified DKS or TAT parameters of ``act`` for a chain of ``depth`` layers (or for the
    network ``shaped``, whose ``dense(psi)`` blocks number ``depth``) at the current
    precision (see the module docstring).  Raises :class:`InputError` for targets or
    activations the method cannot take and :class:`ShapingFailure` when nothing is certified."""
    started = time.perf_counter()
    if method == "tat" and act.definition in RECTIFIERS:
        if shaped is not None and not shaped.chain:
            raise InputError("TAT's leaky-ReLU form is solved for chains only (--depth); "
                             "a network beyond a chain takes a smooth activation")
        return replace(shape_leaky_relu(act, depth, targets["eta"], started), shaped=shaped)
    bits = ctx.prec
    tgt, _ = _targets(method, depth, targets, shaped)
    floats = {k: float(v.mid()) for k, v in tgt.items()}
    shape_moments(act, arb(1), arb(0), method == "tat")  # refuses infinite C'(1), C''(1)
    candidates = _float_candidates(act, method, floats)
    if not candidates:
        raise ShapingFailure(f"no solution found for {act.label()} ({method.upper()}, depth "
                             f"{depth}): the float search from a grid of starts (input scale "
                             "0.002..4, shift -1.5..1.5) found no root")
    system = _system(act, method, tgt)
    failures = []
    for start in candidates[:3]:
        try:
            centre, step = _newton(system, start, bits)
        except (ShapingFailure, ArithmeticError, ZeroDivisionError) as exc:
            failures.append(str(exc))
            continue
        scale = 1 + max(abs(float(c.mid())) for c in centre)
        for exponent in (0.6, 0.4, 0.25):
            r = max(2.0 ** (-exponent * bits) * scale, 100 * step)
            try:
                result = prove(act, method, depth, targets, [c + arb(0, r) for c in centre],
                               started, shaped)
            except ShapingFailure as exc:
                failures.append(str(exc))
                continue
            return _with_network_c_zero(result) if method == "tat" else result
    raise ShapingFailure((failures[-1] if failures else "no candidate certified") +
                         " (near every float solution tried)", precision_limited=True)


def _with_network_c_zero(result: ShapeResult) -> ShapeResult:
    """Add the network's C(0) = C^{∘D}(0), enclosed by the Mehler C-map of ψ over the
    certified parameter balls (:mod:`snn_theory.certify.hermite_cmap`, K = 24)."""
    p = result.parameters
    try:
        cmap = hermite_cmap(result.activation, p["input_scale"], p["input_shift"],
                            p["output_scale"], p["output_shift"], HERMITE_TERMS)
    except ArithmeticError:
        return result  # not reported rather than reported uncertified
    network = dict(result.network)
    network["c_zero"] = (cmap.network(arb(0), result.depth) if result.shaped is None
                         else network_value(result.shaped, cmap, arb(0)))
    proof = result.proof + (f"; the network's C(0) by the Mehler C-map ({HERMITE_TERMS} "
                            "terms, tail bounded by 1 - sum of the coefficients)")
    return replace(result, network=network, proof=proof)


# ----------------------------------------------------------------------------- leaky ReLU
def _leaky_g(c: arb) -> tuple[arb, arb]:
    """(G(c), G′(c)) over the ball c for G(c) = √(1 − c²) − c·arccos c, G′ = −arccos c; G by
    the mean-value form G(ĉ) + G′(c)·(c − ĉ) (the direct form loses all accuracy near 1)."""
    slope = -c.acos()
    mid = arb(c.mid())
    return (1 - mid * mid).sqrt() - mid * mid.acos() + slope * (c - mid), slope


def _leaky_chain(s: Any, depth: int) -> Any:
    """C^{∘D}(0) of the normalised leaky ReLU with slope s (a ball, or a Dual in s whose
    gradient encloses the derivative in s)."""
    k = (1 - s) * (1 - s) / (arb.pi() * (1 + s * s))
    c: Any = 0 * s
    for _ in range(depth):
        cv = c.value if isinstance(c, Dual) else c
        g, slope = _leaky_g(cv)
        kv = k.value if isinstance(k, Dual) else k
        # C(c) = c + k·G(c), by the mean-value form in c (C′ = 1 + k·G′ ∈ [0, 1])
        mid = arb(cv.mid())
        value = mid + kv * _leaky_g(mid)[0] + (1 + kv * slope) * (cv - mid)
        if isinstance(c, Dual):
            c = Dual(value, [(1 + kv * slope) * a + g * b for a, b in zip(c.grad, k.grad)])
        else:
            c = value
    return c


def _plain_leaky_relu(act: Activation) -> None:
    if act.definition not in RECTIFIERS or act.scale != 1 or act.shift != 0:
        raise InputError("TAT chooses the leaky ReLU's slope and scale itself; give relu or "
                         "leaky_relu without an affine scale or shift")


def shape_leaky_relu(act: Activation, depth: int, eta: Fraction, started: float | None = None
                     ) -> ShapeResult:
    """TAT for the leaky-ReLU family: the certified negative slope s ∈ [0, 1) with
    C^{∘D}(0) = η (module docstring), output scale √(2/(1 + s²))."""
    started = time.perf_counter() if started is None else started
    _plain_leaky_relu(act)
    bits = ctx.prec
    e = fraction_ball(eta)
    at_zero = _leaky_chain(arb(0), depth)
    if not (at_zero > e or at_zero < e):  # η inside the enclosure: nothing is decided
        shown = ball_text(at_zero, 6) if at_zero.is_finite() else "a non-finite enclosure"
        raise ShapingFailure(
            f"the ReLU's C(0) at depth {depth}, in {shown}, cannot be told apart from eta = "
            f"{eta} at this precision (whether a slope reaches it is undecided)",
            precision_limited=True)
    if at_zero < e:
        raise ShapingFailure(
            f"no negative slope in [0, 1) reaches C(0) = {eta} at depth {depth}: the "
            f"network's C(0) is at most the ReLU's, in {ball_text(at_zero, 6)}, and "
            "decreases in the slope (a deeper network or a smaller eta is needed)")
    lo, hi = 0.0, 1.0  # float bisection for a start (g decreasing, g(0) > 0 > g(1))
    with working_precision(bits=64):
        for _ in range(60):
            mid = (lo + hi) / 2
            if float(_leaky_chain(arb(mid), depth).mid()) > float(eta):
                lo = mid
            else:
                hi = mid

    s0 = arb((lo + hi) / 2)
    for _ in range(8):  # Newton in arb midpoints at the working precision
        value, slope = _leaky_g_of_s(s0, depth, e)
        s0 = arb((s0 - value / slope).mid())
    for r in (2.0 ** (-0.6 * bits), 2.0 ** (-0.3 * bits), 1e-6):
        try:
            return prove_leaky_relu(act, depth, eta, s0 + arb(0, r), started)
        except ShapingFailure as exc:
            failure = str(exc)
    raise ShapingFailure(failure, precision_limited=True)


def _leaky_g_of_s(s: arb, depth: int, e: arb) -> tuple[arb, arb]:
    """(C_s^{∘D}(0) − η, its derivative in s) over the ball s."""
    chain = _leaky_chain(Dual(s, [arb(1)]), depth)
    return chain.value - e, chain.grad[0]


def prove_leaky_relu(act: Activation, depth: int, eta: Fraction, box: arb,
                     started: float | None = None) -> ShapeResult:
    """The 1-D Krawczyk test for the slope s on ``box`` and what it proves (the solver and
    the certificate checker both call this); :class:`ShapingFailure` when it fails."""
    started = time.perf_counter() if started is None else started
    _plain_leaky_relu(act)  # the proof is about the plain leaky ReLU (a checked claim)
    e = fraction_ball(eta)
    result = krawczyk_1d(lambda s: _leaky_g_of_s(s, depth, e)[0],
                         lambda s: _leaky_g_of_s(s, depth, e)[1], box)
    if not result.proved:
        raise ShapingFailure("the Krawczyk test did not prove the negative slope in the box")
    s = result.enclosure
    if not (s >= 0 and s < 1):
        raise ShapingFailure("the certified slope is not proven to lie in [0, 1)")
    scale = (2 / (1 + s * s)).sqrt()
    params = {"input_scale": arb(1), "input_shift": arb(0), "output_scale": scale,
              "output_shift": arb(0), "negative_slope": s}
    text = ("Krawczyk test on g(s) = C_s^(D)(0) - eta with the closed-form leaky-ReLU C-map "
            "C(c) = c + (1-s)^2/(pi(1+s^2)) (sqrt(1-c^2) - c arccos c); g is strictly "
            "decreasing on [0, 1], so the root is unique there")
    return ShapeResult(act, "tat", depth, {"eta": eta}, params, ("negative_slope",),
                       (result.box,), None, {"c_zero": _leaky_chain(s, depth)}, text,
                       ctx.prec, time.perf_counter() - started,
                       {"input_scale": "1", "input_shift": "0", "output_shift": "0"})


__all__ = ["DEFAULT_CURVATURE", "DEFAULT_ETA", "DEFAULT_ZETA", "MAX_DEPTH", "METHODS",
           "RECTIFIERS", "ShapeResult", "ShapingFailure", "prove", "prove_leaky_relu", "shape",
           "shape_leaky_relu",
           "validate"]
