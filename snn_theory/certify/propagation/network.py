"""Signal propagation through a whole network at its certified fixed point (docs/networks.md).

The network's (μ, ν) map has a certified fixed point (μ*, ν*)
(:func:`snn_theory.certify.network_fixed_point.network_fixed_point`; for a network of one
dense block, the moment model's own, so that it reproduces :func:`propagate` exactly).  Along
the fixed-point trajectory every block sees its own input (μ_k, ν_k), and each block has,
written ONCE here (:func:`_block_gradient`, :func:`_block_cmap`):

* a **gradient factor** — the per-block growth of the squared norm of a backpropagated
  zero-mean signal (mean field: the backward signal independent of the forward one) — and
  the amplitude of its mean part:

  ============== ============================== ==========================
  block          χ factor                       mean-part amplitude
  ============== ============================== ==========================
  dense(f)       τ·E[f′(z)²], z ~ N(ωμ, τν)     ω·E[f′(z)]
  act(f)         E[f′(x)²], x ~ N(μ, ν)         E[f′(x)]
  alpha_dropout  a²·(1 − Q)                     a·(1 − Q)
  dropout        1/(1 − Q)                      1
  layer_norm     1/ν                            0
  residual(W, B) (1 − W²) + W²·χ_B              √(1 − W²) + W·(B's)
  ============== ============================== ==========================

  χ of the network is the product over its blocks (residual factors nest);
* a **correlation map** c ↦ c̃ for two inputs with centred correlation c (covariance over
  units divided by the variance), with its slope: dense/act by the certified correlation
  integrals (:func:`correlation_map`, :func:`correlation_slope`); dropout variants multiply
  the covariance (independent masks for the two inputs) — alpha dropout by a²(1 − Q)², inverted
  dropout by 1 — while the variance changes as the block's map says, so they act on the
  off-diagonal differently from the diagonal and c̃(1) < 1 in general; residual: covariances
  mix with weights 1 − W², W²; layer_norm: the identity on correlations.

The network's c-map C is the composition.  Every block maps c = 0 to 0 exactly and has a
power series in c with coefficients ≥ 0 (Mehler for dense/act, linear for the others, and
compositions and positive combinations keep that), so C(c) = Σ_{k≥1} B_k c^k, B_k ≥ 0,
B₁ = C′(0), Σ B_k = C(1) ≤ 1.  If B₁ < 1 is certified, |C(c)| < |c| on 0 < |c| < 1: c* = 0
is the only fixed point there; c* = 1 is one iff C(1) = 1 (no dropout: then exactly), and
c = −1 is excluded by C(−1) > −1 (or |C(−1)| ≤ C(1) < 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from flint import arb

from snn_theory.certify.network_fixed_point import network_fixed_point
from snn_theory.certify.propagation.cmap import (
    DEFAULT_PREC,
    NOT_EXCLUDED,
    CorrelationFixedPoint,
    Exclusion,
    Phase,
    is_odd,
    log_scale,
    zero_slope,
)
from snn_theory.certify.propagation.integrals import correlation_map, correlation_slope
from snn_theory.certify.propagation.point import PropagationPoint, propagation_point
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
from snn_theory.errors import InputError
from snn_theory.evaluate import backends
from snn_theory.evaluate.network_map import evaluate_network, number
from snn_theory.exact import format_fraction, parse_exact
from snn_theory.precision import working_precision


# ============================================================================ the trajectory
@dataclass(frozen=True)
class Step:
    """One block on the fixed-point trajectory: its input (``mu``, ``nu``) and output
    (``mu_out``, ``nu_out``) balls; ``point`` (dense/act: the propagation point at its input),
    ``branch`` (residual: the branch's steps)."""

    block: Block
    position: str
    mu: arb
    nu: arb
    mu_out: arb
    nu_out: arb
    point: PropagationPoint | None = None
    branch: tuple[Step, ...] = ()


@dataclass(frozen=True)
class BlockFactor:
    """A block's gradient factor ``chi`` and its c-map slopes at 0 and at 1 (the c-map of
    the block at the correlation the network's c = 0 / c = 1 gives it)."""

    position: str
    block: str
    mu: arb
    nu: arb
    chi: arb
    slope_at_zero: arb
    slope_at_one: arb


@dataclass(frozen=True)
class NetworkPropagation:
    """What :func:`propagate_network` certifies: the fixed point (``mu_star``, ``nu_star``),
    ``chi`` (growth of the squared gradient norm through the whole network), ``chi_mean``
    (its mean part), ``phase`` (ρ = max(χ, χ_mean) against 1), ``dnu_dnu`` (∂ν̃/∂ν of the
    network's map) and ξ_q, the c-map's fixed points and the exclusions, per-block factors."""

    network: Network
    omega: arb
    tau: arb
    mu_star: arb
    nu_star: arb
    chi: arb
    chi_mean: arb
    phase: Phase
    dnu_dnu: arb
    depth_scale_q: arb | None
    c_map_at_one: arb
    fixed_points: tuple[CorrelationFixedPoint, ...]
    exclusions: tuple[Exclusion, ...]
    blocks: tuple[BlockFactor, ...]
    prec: int
    steps: tuple[Step, ...] = ()

    @property
    def complete(self) -> bool:
        """True if every part of [−1, 1] is a certified fixed point or excluded."""
        return bool(self.exclusions) and all(e.how != NOT_EXCLUDED for e in self.exclusions)


def _single_dense(network: Network) -> Dense | None:
    blocks = network.blocks
    return blocks[0] if len(blocks) == 1 and isinstance(blocks[0], Dense) else None


def _weights(block: Dense | Act, omega: Fraction, tau: Fraction) -> tuple[Any, Any]:
    """The block's (ω, τ): decimal text where exact (what ``propagate`` is given, and what its
    messages print), else arb balls."""
    if isinstance(block, Act):
        return "1", "1"
    om = omega if block.omega is None else block.omega
    ta = tau if block.tau is None else block.tau
    return tuple(format_fraction(x) if "/" not in format_fraction(x) else number(x, "arb")
                 for x in (om, ta))


def _walk(blocks: tuple[Block, ...], mu: arb, nu: arb, omega: Fraction, tau: Fraction,
          where: str = "block", first: PropagationPoint | None = None) -> list[Step]:
    """The blocks' inputs and outputs from (μ, ν) (arb, current precision)."""
    steps: list[Step] = []
    for k, block in enumerate(blocks, 1):
        position = f"{where} {k}"
        if isinstance(block, Repeat):
            for j in range(block.count):
                inner = _walk((block.block,), mu, nu, omega, tau, f"{position}.{j + 1}")
                steps += inner
                mu, nu = inner[-1].mu_out, inner[-1].nu_out
            continue
        if not nu > 0:
            raise ArithmeticError(f"the fixed-point trajectory leaves nu > 0 before "
                                  f"{block.spelling()} ({position})")
        out = evaluate_network(Network((block,)), mu, nu, omega=omega, tau=tau)
        point, branch = None, ()
        if isinstance(block, Dense | Act):
            om, ta = _weights(block, omega, tau)
            point = first if first is not None else propagation_point(
                om, ta, fixed=(mu, nu), activation=block.act)
        elif isinstance(block, Residual):
            branch = tuple(_walk(block.branch, mu, nu, omega, tau, f"{position}, branch block"))
        steps.append(Step(block, position, mu, nu, out.mean, out.variance, point, branch))
        mu, nu = out.mean, out.variance
    return steps


# ============================================================================ the blocks
def _alpha_dropout_a(block: AlphaDropout) -> arb:
    keep = number(1 - block.q, "arb")
    lam, alpha = backends.constants_function("arb")()
    return backends.alpha_dropout_function("arb")(keep, arb(0), arb(1), lam, alpha)[1]


def _block_gradient(step: Step) -> tuple[arb, arb, arb]:
    """(χ factor, mean-part amplitude, its square) of one block (the module's table)."""
    block = step.block
    if isinstance(block, Dense | Act):
        p = step.point
        assert p is not None
        return p.chi1, p.omega * p.slope_mean, p.chi_mean
    if isinstance(block, AlphaDropout):
        keep, a = number(1 - block.q, "arb"), _alpha_dropout_a(block)
        return a * a * keep, a * keep, (a * keep) ** 2
    if isinstance(block, Dropout):
        return 1 / number(1 - block.q, "arb"), arb(1), arb(1)
    if isinstance(block, LayerNorm):
        return 1 / step.nu, arb(0), arb(0)
    if isinstance(block, Residual):
        chi_b, amp_b, _ = gradient(step.branch)
        w = number(block.w, "arb")
        c = (1 - w * w).sqrt()
        amp = c + w * amp_b
        return (1 - w * w) + w * w * chi_b, amp, amp * amp
    raise TypeError(f"not a block on the trajectory: {block!r}")


def gradient(steps: tuple[Step, ...] | list[Step]) -> tuple[arb, arb, arb]:
    """(χ, mean-part amplitude, its square) of a sequence of blocks: the products."""
    factors = [_block_gradient(step) for step in steps]
    return _product([f[0] for f in factors]), _product([f[1] for f in factors]), \
        _product([f[2] for f in factors])


def _product(values: list[arb]) -> arb:
    """The product; one factor is returned as it is (no rounding: one block is one layer)."""
    out = values[0]
    for x in values[1:]:
        out = out * x
    return out


def _exact(c: arb, value: int) -> bool:
    return c.rad() == 0 and c == value


def _block_cmap(step: Step, c: arb, tol: arb, slope: bool = True) -> tuple[arb, arb | None]:
    """(c̃, ∂c̃/∂c) of one block at the centred correlation ``c`` of its two inputs (the
    slope None unless ``slope``)."""
    block = step.block
    if isinstance(block, Dense | Act):
        p = step.point
        assert p is not None
        if _exact(c, 0):
            return arb(0), zero_slope(p, tol)
        if not (_exact(c, 1) or _exact(c, -1) or (c > -1 and c < 1)):
            raise ArithmeticError(f"the correlation reaching {block.spelling()} "
                                  f"({step.position}) is not certified inside (-1, 1): {c}")
        return (correlation_map(p, c, tol),
                correlation_slope(p, c, tol) if slope else None)
    if isinstance(block, AlphaDropout | Dropout):
        keep = number(1 - block.q, "arb")
        cov = _alpha_dropout_a(block) ** 2 * keep * keep if isinstance(block, AlphaDropout) \
            else arb(1)
        s = cov * step.nu / step.nu_out
        return s * c, s
    if isinstance(block, LayerNorm):
        return c, arb(1)
    if isinstance(block, Residual):
        c_b, s_b = c_map(step.branch, c, tol, slope)
        w2 = number(block.w, "arb") ** 2
        if (_exact(c, 1) and _exact(c_b, 1)) or (_exact(c, 0) and _exact(c_b, 0)):
            value = c
        else:
            value = ((1 - w2) * step.nu * c + w2 * step.branch[-1].nu_out * c_b) / step.nu_out
        if s_b is None:
            return value, None
        return value, ((1 - w2) * step.nu + w2 * step.branch[-1].nu_out * s_b) / step.nu_out
    raise TypeError(f"not a block on the trajectory: {block!r}")


def c_map(steps: tuple[Step, ...] | list[Step], c: Any, tol: arb, slope: bool = True
          ) -> tuple[arb, arb | None]:
    """(C(c), C′(c)) of a sequence of blocks: the composition and the chain rule (C′ None
    unless ``slope``)."""
    c = c if isinstance(c, arb) else number(c, "arb", "the correlation")
    slopes = []
    for step in steps:
        c, s = _block_cmap(step, c, tol, slope)
        slopes.append(s)
    return c, _product(slopes) if slope else None


def _factors(steps: list[Step], tol: arb) -> tuple[BlockFactor, ...]:
    out, c0, c1 = [], arb(0), arb(1)
    for step in steps:
        chi = _block_gradient(step)[0]
        c0, s0 = _block_cmap(step, c0, tol)
        c1, s1 = _block_cmap(step, c1, tol)
        out.append(BlockFactor(step.position, step.block.spelling(), step.mu, step.nu, chi,
                               s0, s1))
    return tuple(out)


# ============================================================================ the network
def _phase(chi: arb, chi_mean: arb) -> Phase:
    lo = max(chi.lower(), chi_mean.lower())
    hi = max(chi.upper(), chi_mean.upper())
    rate = arb(lo).union(arb(hi))
    text = (f"rho = max(chi, chi_mean) of the network is in {rate.str(12, radius=True)} for "
            "every point of the certified fixed-point ball")
    if rate > 1:
        return Phase("chaotic", rate, text + ", so rho > 1: the squared gradient norm grows "
                     "by a factor > 1 per network")
    if rate < 1:
        return Phase("ordered", rate, text + ", so rho < 1: the squared gradient norm "
                     "shrinks by a factor < 1 per network")
    return Phase("undecided", rate, text + ", which contains 1: the phase is not decided")


def _fixed_points(steps: list[Step], tol: arb
                  ) -> tuple[arb, tuple[CorrelationFixedPoint, ...], tuple[Exclusion, ...]]:
    b1 = c_map(steps, arb(0), tol)[1]
    zero = CorrelationFixedPoint.at(
        arb(0), b1, "C(0) = 0 exactly (every block keeps independent inputs independent); "
        "slope C'(0) = product of the blocks' slopes at 0 (chain rule)")
    at_one, slope_one = c_map(steps, arb(1), tol)
    fps = [zero]
    if _exact(at_one, 1):
        fps.append(CorrelationFixedPoint.at(
            arb(1), slope_one, "C(1) = 1 exactly (no dropout: every block maps c = 1 to 1); "
            "slope C'(1) = product of the blocks' slopes at 1 (chain rule)"))
    if not b1 < 1 or not at_one <= 1:
        return at_one, tuple(fps), (Exclusion(-1, 1, NOT_EXCLUDED),)
    mehler = (f"composed Mehler: C(c) = sum_k B_k c^k, B_k >= 0, sum B_k = C(1) <= 1, "
              f"B_1 = C'(0) in {b1.str(8, radius=True)} < 1, so |C(c)| < |c|")
    middle = [Exclusion(-1, 0, mehler + " on (-1, 0)"), Exclusion(0, 1, mehler + " on (0, 1)")]
    if not _exact(at_one, 1):
        if at_one < 1:
            ends = [Exclusion(-1, -1, f"|C(-1)| <= C(1) in {at_one.str(8, radius=True)} < 1"),
                    Exclusion(1, 1, f"C(1) in {at_one.str(8, radius=True)} < 1 (independent "
                              "dropout masks decorrelate two copies of one input)")]
        else:
            ends = [Exclusion(-1, -1, NOT_EXCLUDED), Exclusion(1, 1, NOT_EXCLUDED)]
        return at_one, tuple(fps), (ends[0], *middle, ends[1])
    if _odd(steps):
        minus = CorrelationFixedPoint.at(
            arb(-1), slope_one, "C(-1) = -1: every dense/act block has m = 0 and an odd f "
            "(sympy: f(-x) + f(x) = 0), so u2 = -u1 and mu~ = 0 through every block (residual "
            "sums and layer_norm keep x_b - mu = -(x_a - mu)); slope C'(-1) = C'(1) (f' even)")
        return at_one, (minus, *fps), tuple(middle)
    try:
        at_minus = c_map(steps, arb(-1), tol, slope=False)[0]
    except (ArithmeticError, InputError):
        at_minus = None
    if at_minus is not None and at_minus > -1:
        end = Exclusion(-1, -1, f"C(-1) in {at_minus.str(8, radius=True)} > -1 (composed "
                        "certified correlation integrals)")
    else:
        end = Exclusion(-1, -1, NOT_EXCLUDED)
    return at_one, tuple(fps), (end, *middle)


def _odd(steps: tuple[Step, ...] | list[Step]) -> bool:
    """Whether two inputs with c = −1 stay at c = −1 through every block by symmetry."""
    for step in steps:
        block = step.block
        if isinstance(block, Dense | Act):
            p = step.point
            assert p is not None
            source = p.activation.source
            if not (p.m == 0 and source is not None and is_odd(source[0])):
                return False
        elif isinstance(block, Residual):
            if not _odd(step.branch):
                return False
        elif not isinstance(block, LayerNorm):
            return False
    return True


def propagate_network(network: Network | str, *, omega: Any = "0", tau: Any = "1",
                      prec: int = DEFAULT_PREC) -> NetworkPropagation:
    """Certify signal propagation through ``network`` at its fixed point (module docstring).

    ``omega``, ``tau``: the weights of the dense blocks that do not name their own (exact
    decimals).  ``prec``: working precision in bits.  Raises :class:`InputError` for bad input,
    :class:`ArithmeticError` when a certificate cannot be obtained
    (:class:`~snn_theory.errors.TrivialFixedPoint` when the variance collapses to ν* = 0).

    >>> r = propagate_network("residual(0.5, dense(selu))", prec=64)
    >>> r.fixed_points[1].value == 1, r.chi > 1, r.complete
    (True, True, True)
    """
    network = parse_network(network)
    om = parse_exact(omega, "omega")
    ta = parse_exact(tau, "tau", positive=True)
    if isinstance(prec, bool) or not isinstance(prec, int) or not 32 <= prec <= 4000:
        raise InputError(f"prec must be an integer number of bits in 32..4000 (got {prec!r})")
    with working_precision(bits=prec):
        tol = arb(2) ** (-(prec // 2))
        dense = _single_dense(network)
        first = None
        if dense is not None:  # one layer: the moment model's own fixed point
            w = _weights(dense, om, ta)
            first = propagation_point(*w, activation=dense.act)
            mu_s, nu_s = first.mu_star, first.nu_star
        else:
            fp = network_fixed_point(network, omega=om, tau=ta,
                                     digits=max(1, int(prec * math.log10(2))))
            mu_s, nu_s = arb(fp.mean), arb(fp.variance)
        steps = _walk(network.blocks, mu_s, nu_s, om, ta, first=first)
        chi, _, chi_mean = gradient(steps)
        if first is not None:
            dnu = first.H22
        else:
            dnu = evaluate_network(network, mu_s, nu_s, omega=om, tau=ta).jacobian[1][1]
        at_one, fps, exclusions = _fixed_points(steps, tol)
        return NetworkPropagation(
            network, number(om, "arb"), number(ta, "arb"), mu_s, nu_s, chi, chi_mean,
            _phase(chi, chi_mean), dnu, log_scale(abs(dnu)), at_one, fps, exclusions,
            _factors(steps, tol), prec, tuple(steps))


def network_correlation(result: NetworkPropagation, c: Any) -> tuple[arb, arb]:
    """(C(c), C′(c)) of the network's c-map at the certified fixed point, at the result's
    precision (``c`` an exact number in [−1, 1] or a ball)."""
    with working_precision(bits=result.prec):
        tol = arb(2) ** (-(result.prec // 2))
        return c_map(result.steps, c, tol)


__all__ = ["BlockFactor", "NetworkPropagation", "Step", "c_map", "gradient",
           "network_correlation", "propagate_network"]
