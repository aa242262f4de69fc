"""Gauss–Hermite quadrature (the mean-field tools' method) against the certified values.

    python benchmarks/bench_propagate.py            # degrees 25, 50, 100, 200; 5 repeats
    python benchmarks/bench_propagate.py --quick    # 1 repeat

Quantities at z ~ N(0, 1) (SELU with λ01, α01 at its certified fixed point (μ*, ν*) = (0, 1),
ω = 0, τ = 1; erf at v = 1, τ = 1): χ₁ = τ·E[f′(z)²]; the correlation map's fixed points
c* = 0 and c* = 1 (|c̃(c*) − c*|) and their slopes χ_c(0), χ_c(1); and, away from a fixed
point, c̃(1/2) and χ_c(1/2).  Gauss–Hermite: ``numpy.polynomial.hermite_e.hermegauss`` nodes,
1-D for χ₁, a tensor product for the pair expectations (as neural-tangents'
``ElementwiseNumerical``), float64.  Certified: arb enclosures at 128 bits
(:mod:`snn_theory.certify.propagation` for SELU; the closed forms of
:data:`snn_theory.derive.formulas.ERF_PROPAGATION` for erf), whose radii are printed.

Columns: ``error`` = |Gauss–Hermite − certified midpoint| (the midpoint is exact far beyond
float64); ``time`` per evaluation of the whole set, best of the repeats; ``ratio`` =
time / time of the certified evaluation, measured in the same run.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from flint import arb, ctx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of  # noqa: E402

from snn_theory.certify import propagation  # noqa: E402
from snn_theory.evaluate import backends
from snn_theory.evaluate.moment_map import default_constants  # noqa: E402

DEGREES = (25, 50, 100, 200)
NAMES = ("chi1", "|c~(0) - 0|", "chi_c(0)", "|c~(1) - 1|", "chi_c(1)", "c~(1/2)", "chi_c(1/2)")


def _selu(lam: float, alpha: float) -> tuple:
    f = lambda z: lam * np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))  # noqa: E731
    df = lambda z: lam * np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0)))  # noqa: E731
    return f, df


def _erf() -> tuple:
    from scipy.special import erf

    return erf, lambda z: 2 / math.sqrt(math.pi) * np.exp(-z * z)


def gauss_hermite(f, df, m: float, v: float, tau: float, degree: int) -> dict[str, float]:
    """The mean-field quantities by Gauss–Hermite quadrature of degree ``degree``."""
    x, w = np.polynomial.hermite_e.hermegauss(degree)
    w = w / math.sqrt(2 * math.pi)
    sd = math.sqrt(v)
    z = m + sd * x
    mean = w @ f(z)
    var = w @ f(z) ** 2 - mean**2
    e_df2 = w @ df(z) ** 2
    W = np.outer(w, w)

    def pair(F, c: float) -> float:
        u1 = m + sd * x[:, None]
        u2 = m + sd * (c * x[:, None] + math.sqrt(max(1 - c * c, 0.0)) * x[None, :])
        return float(np.sum(W * F(u1) * F(u2)))

    def cmap(c: float) -> float:
        return (pair(f, c) - mean**2) / var

    def slope(c: float) -> float:
        return v * pair(df, c) / var

    return {"chi1": tau * e_df2, "|c~(0) - 0|": abs(cmap(0.0)), "chi_c(0)": slope(0.0),
            "|c~(1) - 1|": abs(cmap(1.0) - 1), "chi_c(1)": slope(1.0), "c~(1/2)": cmap(0.5),
            "chi_c(1/2)": slope(0.5)}


def certified_selu() -> dict[str, arb]:
    point = propagation.propagation_point(0, 1)
    tol = arb(2) ** -60
    return {"chi1": point.chi1, "|c~(0) - 0|": abs(propagation.correlation_map(point, 0, tol)),
            "chi_c(0)": propagation.correlation_slope(point, 0, tol),
            "|c~(1) - 1|": abs(propagation.correlation_map(point, 1) - 1),
            "chi_c(1)": propagation.correlation_slope(point, 1),
            "c~(1/2)": propagation.correlation_map(point, arb("0.5"), tol),
            "chi_c(1/2)": propagation.correlation_slope(point, arb("0.5"), tol)}


def certified_erf() -> dict[str, arb]:
    fn = backends.erf_propagation_function("arb")
    v, tau = arb(1), arb(1)
    _, chi1, c0, s0 = fn(arb(0), v, tau)
    _, _, c1, s1 = fn(arb(1), v, tau)
    _, _, ch, sh = fn(arb("0.5"), v, tau)
    return {"chi1": chi1, "|c~(0) - 0|": abs(c0), "chi_c(0)": s0, "|c~(1) - 1|": abs(c1 - 1),
            "chi_c(1)": s1, "c~(1/2)": ch, "chi_c(1/2)": sh}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat")
    args = parser.parse_args()
    repeats = 1 if args.quick else 5
    lam, alpha = default_constants("numpy")
    ctx.prec = 128
    cases = {"selu": (_selu(lam, alpha), certified_selu), "erf": (_erf(), certified_erf)}
    for name, ((f, df), certify) in cases.items():
        certified = certify()  # warm-up (compiles the formulas once)
        t_cert = best_of(certify, repeats)
        print(f"\n{name}: certified (arb, 128 bits) in {t_cert * 1e3:.1f} ms per set; "
              f"largest radius {max(float(b.rad()) for b in certified.values()):.1e}")
        header = f"{'quantity':>13} {'certified':>22}" + "".join(
            f" {'GH ' + str(d):>10}" for d in DEGREES)
        print(header)
        gh = {d: gauss_hermite(f, df, 0.0, 1.0, 1.0, d) for d in DEGREES}
        for q in NAMES:
            mid = float(certified[q].mid())
            row = f"{q:>13} {mid:>22.15g}" + "".join(
                f" {abs(gh[d][q] - mid):>10.2e}" for d in DEGREES)
            print(row)
        times = {d: best_of(lambda d=d, f=f, df=df: gauss_hermite(f, df, 0.0, 1.0, 1.0, d),
                            repeats)
                 for d in DEGREES}
        print(f"{'time/set':>13} {t_cert * 1e3:>19.2f} ms" + "".join(
            f" {times[d] * 1e3:>7.2f} ms" for d in DEGREES))
        print(f"{'ratio':>13} {1.0:>22.2f}" + "".join(
            f" {times[d] / t_cert:>10.3f}" for d in DEGREES))
    print("\n(error columns: |Gauss-Hermite - certified|; the certified balls' radii are far "
          "below every error shown)")


if __name__ == "__main__":
    main()
