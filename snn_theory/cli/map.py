"""``snn-theory map``: evaluate the SELU moment map g, its Jacobian H and S(H) at one point.

    snn-theory map --mu 0 --nu 1                       # ω = 0, τ = 1, λ01, α01, mpmath, 30 digits
    snn-theory map --mu 0.1 --nu 1.2 --omega 0.05 --tau 1.1 --backend arb --digits 50 --json
    snn-theory map --mu 0.5 --nu 2 --iterate 20 --backend numpy

Numbers are read as exact decimal strings: mpmath rounds each once at the working precision,
arb encloses it in a ball (so ``--mu 0.1`` means the real number 1/10, not the nearest double);
numpy and JAX round it to float64.

Output (docs/mathematics.md §1–2): mean μ̃, second moment ξ̃, variance ν̃, the Jacobian
H = ∂(μ̃, ν̃)/∂(μ, ν) and its spectral norm S(H); with ``--iterate N`` also the trajectory
(μ_k, ν_k), k = 0..N, of g from (μ, ν).

Number formats in ``--json`` (one object on stdout):

* mpmath: decimal strings with D significant digits (``--digits D``) of the value computed
  at D digits + 20 guard bits.  A point value, *not* an enclosure.
* arb: decimal strings of the form ``"[m +/- r]"`` (or an exact ``"m"`` where the radius is
  0).  Arb prints every digit of the midpoint that the ball determines and widens the
  printed radius to cover the conversion to decimal, so the printed ball *contains* the
  computed ball, which contains the exact value: no digit is lost and none is claimed that
  the ball does not prove.
* numpy / jax: JSON numbers (float64; JAX runs inside ``jax.enable_x64(True)``).  A value that
  float64 cannot represent (overflow, a NaN from it) is ``null``.  Every float result is
  compared with a 17-digit reference (mpmath, its digits vouched for by arb); the key
  ``ill_conditioned`` lists the quantities whose relative error exceeds 1e-12 — the regions
  the backends document (ν̃ and H2x for large (μω)²/(ντ), μ̃ near 0, ν·τ ≪ 1, underflow) —
  and the human output prints a warning for each.

The mpmath working precision follows the inputs: it is doubled until arb balls evaluated at
the same precision determine every printed digit and contain the mpmath value (cancellation
for large |μω| costs digits); exit 3 if 8 doublings do not suffice.  ``working_bits`` is the
precision used; ``zero_to_working_precision`` lists quantities whose ball still contains 0
(exact zeros such as μ̃(0, 1), or values below 2^(−bits/2) that are not resolved).

Limits (bad input → one line, exit 2): ν, τ, λ, α > 0; every number finite and, to keep
every error-function argument inside mpmath's range, 0 or of magnitude in [1e-50, 1e50];
1 ≤ D ≤ 10000 (10000 digits take a few seconds per evaluation in mpmath); 0 ≤ N ≤ 100000.

Accuracy notes: the variance ν̃ = ξ̃ − μ̃² and H21, H22 cancel when r² = (μω)²/(2ντ) is large
(about log10(r²) digits are lost in every number system; arb shows it as a wider ball).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any

import click
import mpmath
from flint import ctx

from snn_theory.cli.activation_option import activation_options, resolve
from snn_theory.errors import InputError
from snn_theory.evaluate import backends
from snn_theory.evaluate.moment_map import evaluate, evaluate_digits, iterate
from snn_theory.exact import decimal_string
from snn_theory.precision import digits_to_bits, working_precision

#: Largest accepted ``--digits``.
MAX_DIGITS = 10_000
#: Largest accepted ``--iterate``.
MAX_ITERATIONS = 100_000
_QUANTITIES = ("mean", "second_moment", "variance", "H11", "H12", "H21", "H22", "spectral_norm")


def _formatter(backend: str, digits: int, as_json: bool) -> Callable[[Any], Any]:
    if backend == "mpmath":
        return lambda x: mpmath.nstr(x, digits, min_fixed=-4, max_fixed=digits)
    if backend == "arb":
        # all digits the ball determines at the working precision (arb trims the rest)
        n = max(digits, ctx.dps)
        return lambda x: x.str(n, radius=True)

    def as_float(x: Any) -> Any:
        value = float(x)
        if not math.isfinite(value):
            return None if as_json else "nan/inf (outside float64)"
        return value if as_json else repr(value)

    return as_float


def _run(mu: str, nu: str, omega: str, tau: str, lam: str | None, alpha: str | None,
         steps: int | None, backend: str) -> tuple[dict[str, Any], list[tuple[Any, Any]]]:
    if backend == "jax":
        import jax

        # float64 for this command only (a context: in-process callers keep their setting)
        with jax.enable_x64(True):
            return _evaluate_and_iterate(mu, nu, omega, tau, lam, alpha, steps, backend)
    return _evaluate_and_iterate(mu, nu, omega, tau, lam, alpha, steps, backend)


def _evaluate_and_iterate(mu: str, nu: str, omega: str, tau: str, lam: str | None,
                          alpha: str | None, steps: int | None, backend: str
                          ) -> tuple[dict[str, Any], list[tuple[Any, Any]]]:
    values = evaluate(mu, omega, nu, tau, lam, alpha, backend=backend, quantities=_QUANTITIES)
    trajectory: list[tuple[Any, Any]] = []
    if steps is not None:
        try:
            trajectory = iterate(mu, omega, nu, tau, steps=steps, lam=lam, alpha=alpha,
                                 backend=backend)
        except (ArithmeticError, ValueError) as exc:  # InputError is a ValueError
            raise InputError(f"--iterate: the trajectory left the domain: {exc}") from None
        if backend == "jax":  # the library does not check (traced) JAX values
            for k, (_, v) in enumerate(trajectory):
                if not float(v) > 0 or not math.isfinite(float(v)):
                    raise InputError(f"--iterate: the trajectory left the domain: "
                                     f"nu_{k} = {float(v)!r} is not > 0")
    return values, trajectory


@click.command("map")
@click.option("--mu", required=True, help="Input mean μ (decimal).")
@click.option("--nu", required=True, help="Input variance ν > 0 (decimal).")
@click.option("--omega", default="0", show_default=True, help="Weight sum ω (decimal).")
@click.option("--tau", default="1", show_default=True, help="Weight sum of squares τ > 0.")
@click.option("--lam", default=None, help="SELU λ > 0 [default: λ01 from its closed form].")
@click.option("--alpha", default=None, help="SELU α > 0 [default: α01 from its closed form].")
@click.option("--iterate", "steps", type=int, default=None, metavar="N",
              help=f"Also print the trajectory of g, N steps (0..{MAX_ITERATIONS}).")
@click.option("--backend", default="mpmath", show_default=True,
              help="Number system: " + " | ".join(backends.BACKENDS) + ".")
@click.option("--digits", type=int, default=30, show_default=True,
              help=f"Decimal digits for mpmath/arb (1..{MAX_DIGITS}); ignored by float backends.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@activation_options
def map_command(mu: str, nu: str, omega: str, tau: str, lam: str | None, alpha: str | None,
                steps: int | None, backend: str, digits: int, as_json: bool,
                activation: str, scale: str, shift: str) -> None:
    """Evaluate g(μ, ν) = (μ̃, ν̃), the Jacobian H and its spectral norm S(H).

    Numbers are exact decimal strings; ω defaults to 0 and τ to 1, λ and α to λ01, α01.
    Nonzero inputs must have magnitudes in [1e-50, 1e50].  Values from mpmath are point
    values (D digits); from arb, balls "[m +/- r]" that contain the exact value; from
    numpy/JAX, float64.  --activation other than selu: the rigorous Gaussian integrals
    (backends arb and mpmath only; mpmath prints the midpoints of the arb enclosures).
    """
    act = resolve(activation, scale, shift)
    if backend not in backends.BACKENDS:
        raise InputError(f"--backend must be one of {', '.join(backends.BACKENDS)} "
                         f"(got {backend!r})")
    if not 1 <= digits <= MAX_DIGITS:
        raise InputError(f"--digits must be between 1 and {MAX_DIGITS} (got {digits})")
    if steps is not None and not 0 <= steps <= MAX_ITERATIONS:
        raise InputError(f"--iterate must be between 0 and {MAX_ITERATIONS} (got {steps})")
    mu = decimal_string(mu, "--mu")
    nu = decimal_string(nu, "--nu", positive=True)
    omega = decimal_string(omega, "--omega")
    tau = decimal_string(tau, "--tau", positive=True)
    lam = None if lam is None else decimal_string(lam, "--lam", positive=True)
    alpha = None if alpha is None else decimal_string(alpha, "--alpha", positive=True)

    if not act.is_selu:
        if lam is not None or alpha is not None:
            raise InputError("--lam/--alpha are SELU parameters; with --activation use "
                             "--scale/--shift")
        if backend not in ("arb", "mpmath"):
            raise InputError(f"--backend {backend} evaluates the SELU closed forms only; with "
                             "--activation use arb or mpmath")
    bits = None
    unresolved: tuple[str, ...] = ()
    if act.is_selu and backend == "mpmath":
        # the working precision follows the inputs: raised until arb vouches for D digits
        try:
            checked = evaluate_digits(mu, omega, nu, tau, lam, alpha, digits=digits,
                                      quantities=_QUANTITIES)
            bits, unresolved = checked.bits, checked.unresolved
        except ArithmeticError as exc:
            click.echo(f"snn-theory map: error: {exc}; not printing wrong digits", err=True)
            sys.exit(3)
    with working_precision(digits=digits) if bits is None else working_precision(bits=bits):
        if act.is_selu:
            values, trajectory = _run(mu, nu, omega, tau, lam, alpha, steps, backend)
        else:
            values, trajectory = _run_activation(act, mu, nu, omega, tau, steps, backend)
        fmt = _formatter(backend, digits, as_json)
        out = {
            "mean": fmt(values["mean"]),
            "second_moment": fmt(values["second_moment"]),
            "variance": fmt(values["variance"]),
            "jacobian": [[fmt(values["H11"]), fmt(values["H12"])],
                         [fmt(values["H21"]), fmt(values["H22"])]],
            "spectral_norm": fmt(values["spectral_norm"]),
        }
        if steps is not None:
            out["trajectory"] = [[fmt(m), fmt(v)] for m, v in trajectory]

    if act.is_selu and backend == "mpmath":
        out["working_bits"] = bits
        out["zero_to_working_precision"] = list(unresolved)
        if not as_json and bits > digits_to_bits(digits):
            click.echo(f"note: cancellation at this point: the working precision was raised "
                       f"to {bits} bits so that all {digits} digits are correct", err=True)
    if backend in ("numpy", "jax"):
        flagged = float_errors(values, mu, omega, nu, tau, lam, alpha)
        out["ill_conditioned"] = sorted(flagged)
        if not as_json:
            for name, error in sorted(flagged.items()):
                click.echo(f"warning: float64 {name} is ill-conditioned here: relative error "
                           f"{error:.2g} against a 17-digit arb-checked reference "
                           "(see `snn-theory map --help`)", err=True)
    if not act.is_selu:
        out["activation"] = act.to_json()
    if as_json:
        json.dump(out, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
        return
    _print_table(out, backend, digits, act.label())


#: Float results are flagged above this relative error (the well-conditioned accuracy of
#: the float64 backends is 1e-12, see :mod:`snn_theory.evaluate.backends`).
FLOAT_TOLERANCE = 1e-12


def float_errors(values: dict[str, Any], mu: str, omega: str, nu: str, tau: str,
                 lam: str | None, alpha: str | None) -> dict[str, float]:
    """Relative errors above :data:`FLOAT_TOLERANCE` of float results, measured against
    17-digit mpmath values checked by arb (:func:`evaluate_digits`); an error of 1 means
    the float result has no correct digit (e.g. 0 for a nonzero value, or the wrong sign).
    """
    try:
        reference = evaluate_digits(mu, omega, nu, tau, lam, alpha, digits=17,
                                    quantities=tuple(values)).values
    except ArithmeticError:
        return {name: math.inf for name in values}
    flagged = {}
    for name, value in values.items():
        exact = reference[name]
        x = float(value)
        if exact == 0:
            error = 0.0 if x == 0 else math.inf
        elif not math.isfinite(x):
            error = math.inf
        else:
            error = min(float(abs((mpmath.mpf(x) - exact) / exact)), 1.0)
        if error > FLOAT_TOLERANCE:
            flagged[name] = error
    return flagged


def _run_activation(act: Any, mu: str, nu: str, omega: str, tau: str, steps: int | None,
                    backend: str) -> tuple[dict[str, Any], list[tuple[Any, Any]]]:
    """The map for a non-SELU activation: arb enclosures (mpmath: their midpoints)."""
    from snn_theory.evaluate import activation_map

    try:
        values = activation_map.evaluate(act, mu, omega, nu, tau, _QUANTITIES)
        trajectory = [] if steps is None else activation_map.iterate(act, mu, omega, nu, tau,
                                                                     steps=steps)
    except ArithmeticError as exc:
        raise InputError(f"the Gaussian integrals failed: {exc}") from None
    if backend == "mpmath":
        values = {k: activation_map.to_mpf(x) for k, x in values.items()}
        trajectory = [(activation_map.to_mpf(m), activation_map.to_mpf(v))
                      for m, v in trajectory]
    return values, trajectory


def _print_table(out: dict[str, Any], backend: str, digits: int, name: str = "selu") -> None:
    from snn_theory.cli.console import print_table

    kind = {"mpmath": f"mpmath, {digits} digits (point values)",
            "arb": f"arb balls at {digits} digits (each contains the exact value)",
            "numpy": "numpy float64", "jax": "JAX float64"}[backend]
    label = "SELU" if name == "selu" else name
    (h11, h12), (h21, h22) = out["jacobian"]
    rows = [("mean μ̃", out["mean"]), ("second moment ξ̃", out["second_moment"]),
            ("variance ν̃", out["variance"]), ("H11 = ∂μ̃/∂μ", h11), ("H12 = ∂μ̃/∂ν", h12),
            ("H21 = ∂ν̃/∂μ", h21), ("H22 = ∂ν̃/∂ν", h22),
            ("spectral norm S(H)", out["spectral_norm"])]
    # laid out for the terminal; a value is never wrapped (copy and paste gives the whole
    # number): where the rows do not fit, each value goes on its own line
    print_table(f"{label} moment map g ({kind})", ["quantity", "value"],
                [[q, str(v)] for q, v in rows])
    if "trajectory" in out:
        print_table("trajectory of g (start first)", ["k", "μ_k", "ν_k"],
                    [[str(k), str(m), str(v)] for k, (m, v) in enumerate(out["trajectory"])],
                    right=("k",))
