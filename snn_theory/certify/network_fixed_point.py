"""The certified fixed point of a whole network's (μ, ν) map.

The network's map G (:func:`snn_theory.evaluate.network_map.evaluate_network`, composed from
its blocks) is solved by the one Newton loop of the project
(:func:`snn_theory.evaluate.moment_map.newton_fixed_point`, on the midpoints of arb
enclosures), and the last iterate is proved by the Krawczyk test
(:func:`snn_theory.evaluate.krawczyk.krawczyk`, docs/mathematics.md §7) on F = G − id: F at
the box's midpoint and F′ = J − I over the whole box are arb enclosures of the composed map,
so a passed test proves that the returned balls hold the unique fixed point of G in the box.
What is proved is a fact about the infinite-width map of docs/networks.md (its Gaussian
closure where an ``act`` block follows a nonlinearity), not about a finite network.
"""

from __future__ import annotations

from typing import Any

import mpmath
from flint import arb
from flint import ctx as arb_context

from snn_theory.derive.network import Network, parse_network
from snn_theory.errors import InputError, NumericalFailure, TrivialFixedPoint
from snn_theory.evaluate.activation_map import FixedPoint, collapsed_variance
from snn_theory.evaluate.krawczyk import krawczyk
from snn_theory.evaluate.moment_map import arb_to_mpf, mpf_to_arb, newton_fixed_point
from snn_theory.evaluate.network_map import evaluate_network
from snn_theory.exact import parse_exact
from snn_theory.precision import working_precision

#: Largest accepted ``digits``.
MAX_DIGITS = 1000
#: Newton's method stops when ν falls below this fraction of the start's ν: a fixed point
#: that close to the degenerate ν = 0 is not searched for.
NU_FLOOR = 1e-10


def network_fixed_point(network: Network | str, *, omega: Any = "0", tau: Any = "1",
                        start: tuple[Any, Any] = ("0", "1"), digits: int = 30,
                        iterations: int = 60) -> FixedPoint:
    """The fixed point (μ*, ν*) of the network's map, certified by a Krawczyk test at
    ``digits`` decimal digits.

    ``omega``, ``tau``: the weights of the dense blocks that do not name their own; ``start``:
    Newton's starting point (Newton's method gives up when ν falls below
    :data:`NU_FLOOR` times the start's ν).  Returns a :class:`FixedPoint` (``proved`` True; the balls hold
    the unique fixed point in the tested box).  Raises :class:`InputError` for bad input,
    :class:`ArithmeticError` when Newton's method fails or the test does not pass —
    :class:`TrivialFixedPoint` (a subclass) when, moreover, the iterates of the map from
    ``start`` let the variance collapse (:func:`network_variance_collapse`, float evidence).

    >>> fp = network_fixed_point("dense(selu), alpha_dropout(0.1)", digits=20)
    >>> fp.proved, fp.mean.contains(0), fp.variance.contains(1)
    (True, True, True)
    """
    network = parse_network(network)
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= MAX_DIGITS:
        raise InputError(f"digits must be an integer in 1..{MAX_DIGITS} (got {digits!r})")
    start_q = (parse_exact(start[0], "the start's mean"),
               parse_exact(start[1], "the start's variance", positive=True))
    with working_precision(digits=digits):
        return _certify(network, omega, tau, start_q, iterations)


def _certify(network: Network, omega: Any, tau: Any, start: tuple[Any, Any],
             iterations: int) -> FixedPoint:
    floor = mpmath.mpf(start[1].numerator) / start[1].denominator * NU_FLOOR

    def evaluator(mu: Any, _om: Any, nu: Any, _ta: Any, names: tuple[str, ...]
                  ) -> dict[str, Any]:
        if nu < floor:  # the integrals near nu = 0 cost ever more and decide nothing
            raise NumericalFailure(f"Newton's iterates approached nu = 0 (nu = "
                                   f"{mpmath.nstr(nu, 3)}, below {NU_FLOOR:g} times the start)")
        g = evaluate_network(network, mpf_to_arb(mu), mpf_to_arb(nu), omega=omega, tau=tau)
        (h11, h12), (h21, h22) = g.jacobian
        values = {"mean": g.mean, "variance": g.variance, "H11": h11, "H12": h12,
                  "H21": h21, "H22": h22}
        return {k: arb_to_mpf(values[k].mid()) for k in names}

    prec = arb_context.prec
    # mpmath and arb are at the same precision here (working_precision, the caller)
    try:
        r = newton_fixed_point(0, 1, backend="mpmath",
                               start=(mpmath.mpf(start[0].numerator) / start[0].denominator,
                                      mpmath.mpf(start[1].numerator) / start[1].denominator),
                               max_iterations=iterations,
                               tolerance=mpmath.mpf(2) ** (-(prec - 8)), evaluator=evaluator)
    except (NumericalFailure, InputError) as exc:
        _raise_if_collapsing(network, omega, tau, start)
        raise ArithmeticError(f"Newton's method failed: {exc}") from None
    if not (r.converged and mpmath.isfinite(r.mu) and mpmath.isfinite(r.nu) and r.nu > 0):
        _raise_if_collapsing(network, omega, tau, start)
        raise ArithmeticError("Newton's method did not converge to a fixed point with nu > 0")
    x, y = mpf_to_arb(r.mu), mpf_to_arb(r.nu)

    def f(u: arb, w: arb) -> tuple[arb, arb]:
        g = evaluate_network(network, u, w, omega=omega, tau=tau)
        return g.mean - u, g.variance - w

    def jac(u: arb, w: arb) -> list[list[arb]]:
        (h11, h12), (h21, h22) = evaluate_network(network, u, w, omega=omega,
                                                  tau=tau).jacobian
        return [[h11 - 1, h12], [h21, h22 - 1]]

    radius = arb(2) ** (-(prec // 2))
    for _ in range(5):
        try:
            result = krawczyk(f, jac, (x + arb(0, radius), y + arb(0, radius)))
        except InputError:  # the box left a block's domain nu > 0
            break
        if result.proved:
            return FixedPoint(*result.enclosure, True, prec)
        radius *= 2**6
    raise ArithmeticError(f"Krawczyk test failed: the fixed point of {network.spelling()} "
                          "could not be certified")


def network_variance_collapse(network: Network, omega: Any, tau: Any, start: tuple[Any, Any], *,
                      steps: int = 60) -> float | None:
    """Evidence, not a proof, that the network's map has no fixed point with ν* > 0 that
    attracts ``start``: iterated from it (arb midpoints at 64 bits), the variance falls at
    every step and ends below 5 % of its start (or below 10⁻⁶, or where the map stops being
    defined, if that comes first).  Returns the last variance when so, else None."""
    with working_precision(bits=64):
        mu, nu = arb(start[0].numerator) / start[0].denominator, \
            arb(start[1].numerator) / start[1].denominator
        variances = [float(nu.mid())]
        for _ in range(steps):
            try:
                g = evaluate_network(network, arb(mu.mid()), arb(nu.mid()), omega=omega,
                                     tau=tau)
            except InputError:
                break
            mu, nu = g.mean, g.variance
            variances.append(float(nu.mid()))
            if not variances[-1] <= variances[-2]:
                return None  # a rise: not falling at every step (stop iterating early)
            if variances[-1] < 1e-6:
                break
    return collapsed_variance(variances)


def _raise_if_collapsing(network: Network, omega: Any, tau: Any,
                         start: tuple[Any, Any]) -> None:
    collapse = network_variance_collapse(network, omega, tau, start)
    if collapse is not None:
        raise TrivialFixedPoint(
            f"{network.spelling()}: the network's map drives the variance to the trivial "
            "fixed point nu* = 0, so there is no fixed point with nu* > 0 to certify (a "
            "diagnosis from float evidence, not a proof: iterated from the start, nu falls "
            f"at every step, to {collapse:.2g})")


__all__ = ["MAX_DIGITS", "NU_FLOOR", "network_fixed_point", "network_variance_collapse"]
