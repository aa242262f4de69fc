"""The certified Hermite (Mehler) C-map against the nested rigorous integral, same run.

    python benchmarks/bench_hermite_cmap.py            # K = 10, 20; depth 100; 3 repeats
    python benchmarks/bench_hermite_cmap.py --quick    # 1 repeat

ψ is tanh shaped by certified DKS for depth 100 (ζ = 3/2), its parameters rounded to exact
rationals (so both methods evaluate the same ψ).  Columns: the one-time cost (the Hermite
coefficient integrals), the per-point time of one layer's C(1/2) and of the depth-100
network's C^{∘100}(1/2), and the width of each enclosure.  The nested integral
(:func:`snn_theory.certify.propagation.correlation_map`, centred c̃ converted to
C = (ν̃·c̃ + μ̃²)/(ν̃ + μ̃²)) is timed for one layer at a point; the depth-100 network would
need 100 such integrals, over balls, so its time is at least 100× the one-layer time
(printed as such, marked ≥).  ``ratio`` = nested time / Hermite time, measured in this run.
"""

from __future__ import annotations

import argparse
import sys
import time
from fractions import Fraction
from pathlib import Path

from flint import arb, fmpq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of  # noqa: E402

from snn_theory.certify import hermite_cmap, propagation, shaping  # noqa: E402
from snn_theory.derive import activations  # noqa: E402
from snn_theory.exact import to_fraction  # noqa: E402
from snn_theory.precision import working_precision  # noqa: E402

DEPTH = 100


def _exact(x: arb, bits: int = 40) -> Fraction:
    """x's midpoint rounded to a dyadic with ``bits`` fractional bits."""
    return Fraction(round(to_fraction(arb(x.mid())) * 2**bits), 2**bits)


def _q(q: Fraction) -> arb:
    return arb(fmpq(q.numerator, q.denominator))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    tanh = activations.builtin("tanh")
    with working_precision(digits=20):
        shaped = shaping.shape(tanh, "dks", DEPTH, {"zeta": Fraction(3, 2)})
        p = {k: _exact(v) for k, v in shaped.parameters.items()}
        alpha, beta = _q(p["input_scale"]), _q(p["input_shift"])
        gamma, delta = p["output_scale"], p["output_shift"]
        # ψ = γ·tanh(x) + γδ as an activation of the affine family, x ~ N(β, α²)
        psi = activations.get("tanh", gamma, gamma * delta)
        point = propagation.propagation_point(1, 1, fixed=(beta, alpha * alpha),
                                              activation=psi)
        mu, nu = point.mean, point.variance
        half = arb(fmpq(1, 2))

        def nested() -> arb:
            c = propagation.correlation_map(point, half)
            return (nu * c + mu * mu) / (nu + mu * mu)

        t_nested = best_of(nested, repeats)
        w_nested = nested().rad()
        print(f"psi = {float(gamma):.6g}*(tanh({float(p['input_scale']):.6g}*x + "
              f"{float(p['input_shift']):.6g}) + {float(delta):.6g}), depth {DEPTH}")
        print(f"{'method':<22}{'one-time s':>11}{'C(1/2) s':>11}{'width':>10}"
              f"{'C^100(1/2) s':>14}{'width':>10}{'ratio':>11}")
        print(f"{'nested integral':<22}{'-':>11}{t_nested:>11.3g}{float(2 * w_nested):>10.2g}"
              f"{'>= ' + format(DEPTH * t_nested, '.3g'):>14}{'-':>10}{'1':>11}")
        for terms in (10, 20):
            start = time.perf_counter()
            cmap = hermite_cmap.hermite_cmap(tanh, alpha, beta, _q(gamma), _q(delta), terms)
            setup = time.perf_counter() - start
            t_one = best_of(lambda m=cmap: m(half), max(repeats, 20))
            t_net = best_of(lambda m=cmap: m.network(half, DEPTH), repeats)
            w_one = float(2 * cmap(half).rad())
            w_net = float(2 * cmap.network(half, DEPTH).rad())
            one_ok = "" if w_one <= 2 * float(w_nested) else " (wider)"
            print(f"{'Hermite K = ' + str(terms):<22}{setup:>11.3g}{t_one:>11.3g}{w_one:>10.2g}"
                  f"{t_net:>14.3g}{w_net:>10.2g}"
                  f"{'>= ' + format(DEPTH * t_nested / t_net, '.0f'):>11}{one_ok}")
        print(f"one layer: nested / Hermite (K = 20) = {t_nested / t_one:.0f}x per point")


if __name__ == "__main__":
    main()
