"""``snn-theory map``: evaluate the SELU moment map g, its Jacobian H and S(H) at one point.

    snn-theory map --mu 0 --nu 1                       # ω = 0, τ = 1, λ01, α01, mpmath, 30 digits
    snn-theory map --mu 0.1 --nu 1.2 --omega 0.05 --tau 1.1 --backend arb --digits 50 --json
    snn-theory map --mu 0.5 --nu 2 --iterate 20 --backend numpy
    snn-theory map --network "dense(selu), alpha_dropout(0.1)" --mu 0 --nu 1 --fixed-point

With ``--network SPEC`` the map is a whole network's, composed from its blocks
(:mod:`snn_theory.cli.map_network`, docs/networks.md); ``--fixed-point`` adds the network
map's certified fixed point.

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
import sys
from typing import Any

import click

from snn_theory.cli.activation_option import activation_options, resolve_options
from snn_theory.cli.console import value_formatter
from snn_theory.errors import InputError, PrecisionExhausted
from snn_theory.evaluate import backends
from snn_theory.evaluate.point import MAX_DIGITS, MAX_ITERATIONS, map_point
from snn_theory.exact import decimal_string


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
@click.option("--network", default=None, metavar="SPEC",
              help="A whole network, e.g. \"dense(selu), alpha_dropout(0.1)\" "
                   "(docs/networks.md): its map, Jacobian and S; backends arb, mpmath, numpy.")
@click.option("--fixed-point", "fixed_point", is_flag=True,
              help="With --network: also the network map's fixed point, certified by a "
                   "Krawczyk test (Newton from --mu, --nu).")
@activation_options
def map_command(mu: str, nu: str, omega: str, tau: str, lam: str | None, alpha: str | None,
                steps: int | None, backend: str, digits: int, as_json: bool,
                network: str | None, fixed_point: bool,
                activation: str, scale: str, shift: str) -> None:
    """Evaluate g(μ, ν) = (μ̃, ν̃), the Jacobian H and its spectral norm S(H).

    Numbers are exact decimal strings; ω defaults to 0 and τ to 1, λ and α to λ01, α01.
    Nonzero inputs must have magnitudes in [1e-50, 1e50].  Values from mpmath are point
    values (D digits); from arb, balls "[m +/- r]" that contain the exact value; from
    numpy/JAX, float64.  --activation other than selu: the rigorous Gaussian integrals
    (backends arb and mpmath only; mpmath prints the midpoints of the arb enclosures).
    """
    if network is not None:
        from snn_theory.cli.map_network import check_network_options, run_network

        check_network_options(lam=lam, alpha=alpha, steps=steps, activation=activation,
                              scale=scale, shift=shift)
        run_network(network, mu=mu, nu=nu, omega=omega, tau=tau, backend=backend,
                    digits=digits, as_json=as_json, fixed_point=fixed_point)
        return
    if fixed_point:
        raise InputError("--fixed-point needs --network (for one layer see "
                         "`snn-theory propagate`)")
    model = resolve_options(activation, scale, shift)
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
    try:
        point = map_point(model, mu=mu, nu=nu, omega=omega, tau=tau, lam=lam, alpha=alpha,
                          steps=steps, backend=backend, digits=digits)
    except PrecisionExhausted as exc:
        click.echo(f"snn-theory map: error: {exc}; not printing wrong digits", err=True)
        sys.exit(3)
    fmt = value_formatter(point.backend, point.digits, point.display_digits, as_json)
    values = point.values
    out: dict[str, Any] = {
        "mean": fmt(values["mean"]),
        "second_moment": fmt(values["second_moment"]),
        "variance": fmt(values["variance"]),
        "jacobian": [[fmt(values["H11"]), fmt(values["H12"])],
                     [fmt(values["H21"]), fmt(values["H22"])]],
        "spectral_norm": fmt(values["spectral_norm"]),
    }
    if steps is not None:
        out["trajectory"] = [[fmt(m), fmt(v)] for m, v in point.trajectory]
    if point.unresolved is not None:
        out["working_bits"] = point.bits
        out["zero_to_working_precision"] = list(point.unresolved)
        if not as_json and point.precision_raised:
            click.echo(f"note: cancellation at this point: the working precision was raised "
                       f"to {point.bits} bits so that all {digits} digits are correct", err=True)
    if point.ill_conditioned is not None:
        flagged = point.ill_conditioned
        out["ill_conditioned"] = sorted(flagged)
        if not as_json:
            for name, error in sorted(flagged.items()):
                click.echo(f"warning: float64 {name} is ill-conditioned here: relative error "
                           f"{error:.2g} against a 17-digit arb-checked reference "
                           "(see `snn-theory map --help`)", err=True)
    if point.activation_record is not None:
        out["activation"] = point.activation_record
    if as_json:
        json.dump(out, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
        return
    _print_table(out, backend, digits, model.label)


def _print_table(out: dict[str, Any], backend: str, digits: int, label: str = "SELU") -> None:
    from snn_theory.cli.console import print_table

    kind = {"mpmath": f"mpmath, {digits} digits (point values)",
            "arb": f"arb balls at {digits} digits (each contains the exact value)",
            "numpy": "numpy float64", "jax": "JAX float64"}[backend]
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
