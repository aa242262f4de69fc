"""The reference ``dks`` package against the certified transformations, same process.

    python benchmarks/bench_dks_reference.py              # depth 20
    python benchmarks/bench_dks_reference.py --depth 100

``dks`` (Martens et al.; float Gauss–Legendre quadrature, scipy root finding from random
restarts) is not a dependency: the benchmark says so and exits 0 when it is not installed
(``pip install dks`` into the virtual environment to run it).  Both solve the same
conditions for a chain of D layers (dks: ``subnet_max_func`` = D-fold composition; here
``snn_theory.certify.shaping.shape`` at 20 digits).  Columns: dks's run time, ours, and for
each parameter |dks − certified midpoint| (the certified balls are ~1e-24 wide, so this is
dks's error), and how far dks's own parameters miss the conditions (Q(1) = 1, Q′(1) = 1 and
E[ψ] = 0 or C′(1) = 1, and the network target), enclosed in arb.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings
from fractions import Fraction

from flint import arb, fmpq

from snn_theory.certify import shaping
from snn_theory.certify.shaped import local_quantities
from snn_theory.derive import activations
from snn_theory.precision import working_precision

#: (our name, dks name, method)
CASES = (("tanh", "tanh", "dks"), ("softplus", "softplus", "dks"), ("elu", "elu", "dks"),
         ("selu", "selu", "dks"), ("gelu", "gelu_exact", "dks"), ("silu", "swish", "dks"),
         ("tanh", "tanh", "tat"), ("softplus", "softplus", "tat"),
         ("leaky_relu", "leaky_relu", "tat"))
KEYS = ("input_scale", "input_shift", "output_scale", "output_shift", "negative_slope")
SHORT = {"input_scale": "in_scale", "input_shift": "in_shift", "output_scale": "out_scale",
         "output_shift": "out_shift", "negative_slope": "slope"}


def _residual(name: str, method: str, depth: int, targets: dict, ref: dict) -> float | None:
    """max |condition − target| at dks's float parameters, enclosed in arb (upper end)."""
    if "input_scale" not in ref:
        return None
    with working_precision(digits=20):
        ball = {k: arb(float(ref.get(k, 0.0))) for k in KEYS[:4]}
        q = local_quantities(activations.builtin(name), ball["input_scale"],
                             ball["input_shift"], ball["output_scale"], ball["output_shift"],
                             curvature=method == "tat")
        if method == "dks":
            zeta = arb(fmpq(3, 2))
            gaps = [q.q_value - 1, q.q_slope - 1, q.mean, q.c_slope ** depth - zeta]
        else:
            gaps = [q.q_value - 1, q.q_slope - 1, q.c_slope - 1,
                    depth * q.c_curvature - arb(fmpq(3, 10))]
        return max(float(abs(g).upper()) for g in gaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=20)
    args = parser.parse_args()
    try:
        # the package's own parameter solver (its public API returns only the functions)
        from dks.base.activation_transform import _get_activations_params as dks_params
    except ImportError:
        print("dks is not installed: nothing to compare (pip install dks)")
        return
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # dks's float overflows
    depth = args.depth

    def chain(x: float, r_fn) -> float:
        for _ in range(depth):
            x = r_fn(x)
        return x

    print(f"depth {depth}; error = |dks - certified| per parameter")
    print(f"{'activation':<11}{'method':<7}{'dks s':>7}{'ours s':>8}  errors")
    for ours, theirs, method in CASES:
        start = time.perf_counter()
        try:
            ref = dks_params([theirs], method=method.upper(), subnet_max_func=chain)[theirs]
        except Exception as exc:  # the reference failed: say so and go on
            ref = None
            why = f"{type(exc).__name__}: {exc}"[:60]
        t_ref = time.perf_counter() - start
        start = time.perf_counter()
        targets = ({"zeta": Fraction(3, 2)} if method == "dks" else
                   {"eta": Fraction(9, 10)} if ours == "leaky_relu" else
                   {"curvature": Fraction(3, 10)})
        try:
            with working_precision(digits=20):
                result = shaping.shape(activations.builtin(ours), method, depth, targets)
            mids = {k: float(v.mid()) for k, v in result.parameters.items()}
        except ArithmeticError as exc:
            mids = None
            why = f"ours not certified: {exc}"[:60]
        t_ours = time.perf_counter() - start
        if ref is None or mids is None:
            print(f"{ours:<11}{method:<7}{t_ref:>7.2f}{t_ours:>8.2f}  {why}")
            continue
        errors = []
        for key in KEYS:
            if key in mids and key in ref:
                errors.append(f"{SHORT[key]} {abs(float(ref[key]) - mids[key]):.1e}")
        residual = _residual(ours, method, depth, targets, ref)
        print(f"{ours:<11}{method:<7}{t_ref:>7.2f}{t_ours:>8.2f}  {', '.join(errors)}")
        if residual is not None:
            print(f"{'':<27}dks's parameters miss the conditions by {residual:.1e} "
                  "(arb enclosure, upper end)")


if __name__ == "__main__":
    main()
