"""``snn-theory propagate``: gradients and correlations at the fixed point, certified.

    snn-theory propagate                                 # ω = 0, τ = 1, λ01, α01
    snn-theory propagate --omega 0.05 --tau 1.1 --json
    snn-theory propagate --claim ordered                 # refuted: exit 1, with the enclosure
    snn-theory propagate --correlation 0.5 --edge-tau 0.9,1,1.1 --edge-alpha 1,1.67,2
    snn-theory propagate --network "residual(0.5, dense(selu))"   # a whole network

With ``--network SPEC`` (docs/networks.md) the same quantities for the whole network, composed
from its blocks (:mod:`snn_theory.cli.propagate_network`).

At the fixed point (μ*, ν*) of the moment map for weights (ω, τ) — certified by the Krawczyk
test — the pre-activations are z ~ N(m, v), m = μ*ω, v = ν*τ (docs/propagation.md):

* χ₁ = τ·E[f′(z)²]: per-layer growth of the squared gradient norm (mean-field, zero-mean
  backpropagated signal).  For ω ≠ 0 the signal's mean part grows by ω²·E[f′(z)]²; the growth
  rate is ρ = max of the two (= χ₁ whenever ω² < τ).  Phase: ordered (ρ < 1) or chaotic
  (ρ > 1), printed only when the arb enclosure of ρ decides it.
* The correlation map, for the *centred* correlation c of two inputs at the fixed point
  (covariance over units divided by ν*): c̃(c) = (E[f(u₁)f(u₂)] − μ̃²)/ν̃, (u₁, u₂) each
  N(m, v) with correlation c.  Its fixed points in [−1, 1] (c* = 0 and c* = 1), each with its
  slope χ_c = ∂c̃/∂c, stability and depth scale ξ_c = −1/ln χ_c (negative: perturbations grow,
  e-fold every |ξ_c| layers); the proof that there are no others (Krawczyk near 0, interval
  bisection in the middle, Mehler-expansion bounds at the ends).
* ξ_q = −1/ln |∂ν̃/∂ν| at the fixed point.
* ``--edge-tau``: certified points (τ, ν) with χ₁ = 1 at ω = 0 (the edge of chaos), with ν*
  of the fixed point at that τ; ``--edge-alpha``: certified λ with χ₁ = 1 at inputs (0, 1),
  ω = 0, τ = 1, for each α.

Numbers: the table shows each enclosure rounded outward to 10 significant digits (still an
enclosure of the exact value); ``--json`` gives the arb balls "[m +/- r]" at ``--digits``
decimal digits of working precision (default 30).  Exit codes: 0 done (with ``--claim``: the claim is proven);
1 the claim is refuted by the printed enclosure; 2 bad input (τ ≤ 0, a correlation outside
[−1, 1], no fixed point for (ω, τ), …); 3 a certificate could not be obtained (or the claim is
undecided).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from flint import arb

from snn_theory.cli.activation_option import activation_options, resolve_options
from snn_theory.cli.progress import progress_bar
from snn_theory.cli.propagation_text import (
    ball_formatter,
    claim_json,
    cmap_json,
    print_claim,
    print_phase,
)
from snn_theory.errors import InputError
from snn_theory.exact import SHORT_DIGITS, decimal_string, format_fraction, parse_exact
from snn_theory.precision import working_precision

MAX_DIGITS = 200


def _decimals(text: str, name: str) -> list[str]:
    """The comma-separated decimals of ``--NAME``, each checked by the exact parser and kept
    as text (so the library encloses the number typed, not its nearest float64)."""
    values = [decimal_string(t, f"--{name}", positive=True) for t in text.split(",")
              if t.strip()]
    if not values:
        raise InputError(f"--{name} must be comma-separated numbers > 0 (got {text!r})")
    return values


@contextmanager
def _progress(show: bool) -> Iterator[Callable[[str, int, int], None]]:
    """``propagate``'s callback ``(stage, done, total)``: the stage's name on an indeterminate
    bar (the totals are budgets, not the work that remains)."""
    with progress_bar("certifying", show=show) as bar:

        def update(stage: str, done: int, total: int) -> None:
            bar.describe(stage)
            bar(done, None)

        yield update


@click.command("propagate")
@click.option("--omega", default="0", show_default=True, help="Weight sum ω (decimal).")
@click.option("--tau", default="1", show_default=True, help="Weight sum of squares τ > 0.")
@click.option("--lam", default=None, help="SELU λ > 0 [default: λ01 from its closed form].")
@click.option("--alpha", default=None, help="SELU α > 0 [default: α01 from its closed form].")
@click.option(
    "--correlation",
    "correlation",
    default=None,
    metavar="C",
    help="Also enclose c̃(C) and χ_c(C) for a centred correlation C in [-1, 1].",
)
@click.option(
    "--claim",
    type=click.Choice(["ordered", "chaotic"]),
    default=None,
    help="Check a phase claim: exit 0 proven, 1 refuted, 3 undecided.",
)
@click.option(
    "--edge-tau",
    default=None,
    metavar="T1,T2,…",
    help="Certified edge-of-chaos points ν(τ) with χ₁ = 1 at ω = 0.",
)
@click.option(
    "--edge-alpha",
    default=None,
    metavar="A1,A2,…",
    help="Certified λ(α) with χ₁ = 1 at inputs (μ, ν) = (0, 1), ω = 0, τ = 1.",
)
@click.option(
    "--digits",
    type=int,
    default=30,
    show_default=True,
    help=f"Working precision in decimal digits (10..{MAX_DIGITS}).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--network", default=None, metavar="SPEC",
              help="A whole network, e.g. \"residual(0.5, dense(selu))\" (docs/networks.md): "
                   "its fixed point, chi, c-map and depth scales.")
@activation_options
def propagate_command(
    omega: str,
    tau: str,
    lam: str | None,
    alpha: str | None,
    correlation: str | None,
    claim: str | None,
    edge_tau: str | None,
    edge_alpha: str | None,
    digits: int,
    as_json: bool,
    network: str | None,
    activation: str,
    scale: str,
    shift: str,
) -> None:
    """Certified χ₁, correlation-map fixed points and slopes, depth scales, phase and edge of
    chaos at the fixed point (μ*, ν*) of (ω, τ), for SELU (closed forms) or any
    --activation (rigorous Gaussian integrals: χ₁ = τ·E[f′(z)²] with f′ between kinks;
    c̃(C) by a nested integral, an inner Gaussian expectation with a complex mean inside the
    outer integral; the c-map's fixed points from the Mehler expansion, which needs only
    1-D integrals; the edge of chaos by bisection with the intermediate value theorem).

    The correlation is the centred one: c = Cov(x_a, x_b)/ν* over units for two inputs at the
    fixed point, and c̃ = (E[f(u₁)f(u₂)] − μ̃²)/ν̃ after one layer.  Every printed ball contains
    the exact value; "proven"/"certified" refer to arb enclosures only.
    """
    from snn_theory.certify import propagation as P

    if network is not None:
        _network(network, omega, tau, lam, alpha, correlation, claim, edge_tau, edge_alpha,
                 digits, as_json, activation, scale, shift)
        return
    model = resolve_options(activation, scale, shift)
    if lam is not None or alpha is not None:
        model.require_closed_form(
            "--lam/--alpha are SELU's parameters; not with another --activation")
    if edge_alpha:
        model.require_closed_form(
            "--edge-alpha is the edge of SELU's (lam, alpha) family; not with another --activation"
        )
    if not 10 <= digits <= MAX_DIGITS:
        raise InputError(f"--digits must be between 10 and {MAX_DIGITS} (got {digits})")
    omega = decimal_string(omega, "--omega")
    tau = decimal_string(tau, "--tau", positive=True)
    lam = None if lam is None else decimal_string(lam, "--lam", positive=True)
    alpha = None if alpha is None else decimal_string(alpha, "--alpha", positive=True)
    c_value: str | None = None
    if correlation is not None:
        c_value = decimal_string(correlation, "--correlation")
        if not -1 <= parse_exact(c_value, "--correlation") <= 1:
            raise InputError(f"--correlation must lie in [-1, 1] (got {correlation!r})")
    taus = _decimals(edge_tau, "edge-tau") if edge_tau else []
    alphas = _decimals(edge_alpha, "edge-alpha") if edge_alpha else []
    prec = int(digits * 3.33) + 10

    try:
        with _progress(not as_json) as update:
            result = P.propagate(
                omega,
                tau,
                lam,
                alpha,
                prec=prec,
                progress=update,
                activation=model,
            )
    except ArithmeticError as exc:  # no fixed point at all is an InputError (exit 2)
        _math_failure(str(exc))
        return
    try:
        extra = _extras(
            P, result, c_value, taus, alphas, lam, alpha, prec, model
        )
    except ArithmeticError as exc:
        _math_failure(str(exc))
        return
    verdict = P.check_phase_claim(result, claim) if claim else None
    out = _to_json(result, digits, extra, claim, verdict)
    if as_json:
        json.dump(out, sys.stdout)
        sys.stdout.write("\n")
    else:
        _print(_to_json(result, digits, extra, claim, verdict, short=True))
    if verdict is not None:
        sys.exit({True: 0, False: 1, None: 3}[verdict[0]])


def _network(network: str, omega: str, tau: str, lam: str | None, alpha: str | None,
             correlation: str | None, claim: str | None, edge_tau: str | None,
             edge_alpha: str | None, digits: int, as_json: bool, activation: str, scale: str,
             shift: str) -> None:
    """``--network``: :mod:`snn_theory.cli.propagate_network`, with this command's checks."""
    from snn_theory.cli.propagate_network import check_network_options, run_network

    check_network_options(lam=lam, alpha=alpha, edge_tau=edge_tau, edge_alpha=edge_alpha,
                          activation=activation, scale=scale, shift=shift)
    if not 10 <= digits <= MAX_DIGITS:
        raise InputError(f"--digits must be between 10 and {MAX_DIGITS} (got {digits})")
    c_value = None if correlation is None else decimal_string(correlation, "--correlation")
    try:
        run_network(network, omega=decimal_string(omega, "--omega"),
                    tau=decimal_string(tau, "--tau", positive=True),
                    prec=int(digits * 3.33) + 10, digits=digits, correlation=c_value,
                    claim=claim, as_json=as_json)
    except ArithmeticError as exc:
        _math_failure(str(exc))


def _math_failure(message: str) -> None:
    click.echo(f"snn-theory propagate: not certified: {' '.join(message.split())}", err=True)
    sys.exit(3)


def _extras(
    P: Any,
    result: Any,
    c_value: str | None,
    taus: list[str],
    alphas: list[str],
    lam: str | None,
    alpha: str | None,
    prec: int,
    model: Any = None,
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if c_value is not None:
        with working_precision(bits=prec):
            tol = arb(2) ** (-(prec // 2))
            c = arb(c_value)  # the decimal enclosed at the working precision
            if not (c.rad() == 0 or (c > -1 and c < 1)):
                raise InputError(
                    f"--correlation {c_value} is too close to -1 or 1 for the "
                    "working precision; raise --digits"
                )
            extra["correlation"] = (
                c,
                P.correlation_map(result.point, c, tol),
                P.correlation_slope(result.point, c, tol),
            )
    if taus:
        from snn_theory.certify.edge import edge_of_chaos

        extra["edge_tau"] = edge_of_chaos(taus, model, lam, alpha, prec=prec)
    if alphas:
        extra["edge_alpha"] = P.edge_of_chaos_lambda(alphas, prec=prec)
    return extra


def _to_json(
    r: Any,
    digits: int,
    extra: dict[str, Any],
    claim: str | None,
    verdict: tuple[bool | None, str] | None,
    short: bool = False,
) -> dict[str, Any]:
    """The results as JSON: arb balls at ``digits`` digits, or (``short``, for the table)
    outward-rounded enclosures to a few significant digits."""
    p = r.point

    b = ball_formatter(digits, short)
    source = p.activation.source
    out: dict[str, Any] = {
        "activation": p.activation.name,
        "activation_definition": None if source is None else source[0].to_json(),
        "parameters": {k: b(v) for k, v in p.activation.parameters.items()},
        "omega": b(p.omega),
        "tau": b(p.tau),
        "fixed_point": {
            "mu": b(p.mu_star),
            "nu": b(p.nu_star),
            "certified": "Krawczyk test in arb",
        },
        "preactivation": {"m": b(p.m), "v": b(p.v)},
        "chi1": b(p.chi1),
        "chi_mean": b(p.chi_mean),
        "slope_mean": b(p.slope_mean),
        "slope_second_moment": b(p.slope_second_moment),
        **cmap_json(r, b),
        "depth_scale_q": b(r.depth_scale_q),
        "depth_scale_q_note": ""
        if r.depth_scale_q is not None
        else "none: |dnu~/dnu| < 1 is not proven at the fixed point",
        "dnu_dnu": b(p.H22),
        "precision_bits": r.prec,
        "definition": "c = centred correlation Cov(x_a, x_b)/nu* over units; "
        "c~ = (E[f(u1) f(u2)] - mu~^2)/nu~",
    }
    if "correlation" in extra:
        c, cm, cs = extra["correlation"]
        out["correlation"] = {"c": b(c), "c_map": b(cm), "slope": b(cs)}
    if "edge_tau" in extra:
        out["edge_of_chaos_tau"] = [
            {
                "tau": format_fraction(e.tau),
                "nu": b(e.nu),
                "nu_star": b(e.nu_star),
                "chi1_at_fixed_point": b(e.chi1_at_fixed_point),
                "fixed_point_note": e.note,
                "certificate": e.how or f"Krawczyk: unique root of chi1(nu) - 1 in {b(e.box)}",
            }
            for e in extra["edge_tau"]
        ]
    if "edge_alpha" in extra:
        out["edge_of_chaos_lambda"] = [
            {"alpha": format_fraction(e.alpha), "lam": b(e.lam), "chi1": b(e.chi1)}
            for e in extra["edge_alpha"]
        ]
    if claim is not None and verdict is not None:
        out["claim"] = claim_json(claim, verdict)
    return out


def _print(out: dict[str, Any]) -> None:
    """The table of ``out`` (:func:`_to_json` with ``short``), laid out for the terminal."""
    from snn_theory.cli.console import print_table, print_wrapped

    rows = [
        ("fixed point μ*", out["fixed_point"]["mu"]),
        ("fixed point ν*", out["fixed_point"]["nu"]),
        ("χ₁ = τ·E[f′(z)²]", out["chi1"]),
        ("ω²·E[f′(z)]² (mean part)", out["chi_mean"]),
        ("∂ν̃/∂ν", out["dnu_dnu"]),
        ("ξ_q = −1/ln|∂ν̃/∂ν|", out["depth_scale_q"] or out["depth_scale_q_note"]),
    ]
    for f in out["correlation_fixed_points"]:
        stable = {True: "stable", False: "unstable", None: "undecided"}[f["stable"]]
        rows.append((f"c* = {f['c']}: slope χ_c ({stable})", f["slope"]))
        rows.append((f"c* = {f['c']}: ξ_c = −1/ln χ_c", f["depth_scale"] or f["depth_scale_note"]))
    if "correlation" in out:
        c = out["correlation"]
        rows += [(f"c̃({c['c']})", c["c_map"]), (f"χ_c({c['c']})", c["slope"])]
    print_table(f"Signal propagation of {out['activation']} at the certified fixed point "
                f"(omega = {out['omega']}, tau = {out['tau']}; "
                f"{out['precision_bits']} bits)",
                ("quantity", f"enclosure ({SHORT_DIGITS} significant digits, rounded "
                             "outward; --json: every digit)"),
                [(str(name), str(value)) for name, value in rows])
    print_phase(out, "the")
    for e in out.get("edge_of_chaos_tau", []):
        there = (
            f"fixed point nu* = {e['nu_star']}, chi1 there = {e['chi1_at_fixed_point']}"
            if e["nu_star"] is not None
            else e["fixed_point_note"]
        )
        print_wrapped(
            f"edge of chaos (omega = 0): tau = {e['tau']}, chi1 = 1 at "
            f"nu in {e['nu']}; {there}"
        )
    for e in out.get("edge_of_chaos_lambda", []):
        print_wrapped(
            f"edge of chaos at inputs (0, 1), tau = 1: alpha = {e['alpha']}, "
            f"lam in {e['lam']} (chi1 there: {e['chi1']})"
        )
    print_claim(out)


__all__ = ["propagate_command"]
