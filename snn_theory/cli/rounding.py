"""``snn-theory rounding``: what shipped (rounded or truncated) λ, α do to the fixed point.

    snn-theory rounding --dtype float32 --dtype float16 --dtype bfloat16
    snn-theory rounding --lam 1.0507 --alpha 1.67326 --stored-as float32
    snn-theory rounding --lam 1.0507009873554805 --alpha 1.6732632423543772 --no-claims --json

For each set of constants: the certified fixed point of g with them (Krawczyk test in arb),
its distance from (0, 1), S there, and Theorem 1's claims on the paper's domain run with them
(:mod:`snn_theory.certify.rounding`, :func:`snn_theory.certify.search.loop.verify_claim`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from snn_theory.cli.progress import progress_bar
from snn_theory.errors import InputError
from snn_theory.evaluate.dtypes import DTYPE_NAMES, get_format
from snn_theory.exact import SHORT_DIGITS, ball_text, format_fraction, interval_text

#: exit code when the mathematics fails (fixed point not certified, a claim undecided)
EXIT_UNDECIDED = 3


def _sci(x: Any, digits: int = 6) -> str:
    """The ball rounded outward to ``digits`` significant digits (--json: 17 digits)."""
    return ball_text(x, digits)


def _errors(c: Any) -> str:
    if not c.errors:
        return "—"
    parts = []
    for name, (dtype, (lo, hi)) in c.errors.items():
        parts.append(f"{'λ' if name == 'lambda' else 'α'} {interval_text(lo, hi, 3)} ulp "
                     f"({dtype})")
    return ", ".join(parts)


def _value(x: Any) -> str:
    return "λ01/α01 (exact)" if x is None else format_fraction(x)


def _print(results: list, with_claims: bool) -> None:
    from snn_theory.cli.console import print_table, print_wrapped

    print_table(f"fixed point of g for (ω, τ) = ({format_fraction(results[0].omega)}, "
                f"{format_fraction(results[0].tau)}) with shipped constants "
                "(certified; 6 significant digits shown)",
                ["constants", "λ", "α", "error of the literal", "μ*", "ν* − 1",
                 "distance from (0, 1)", "S at (μ*, ν*)"],
                [[r.constants.label, _value(r.constants.lam), _value(r.constants.alpha),
                  _errors(r.constants), _sci(r.mean), _sci(r.variance - 1), _sci(r.distance),
                  _sci(r.spectral_norm)] for r in results])
    print_wrapped("certified: a Krawczyk test in arb proved each (μ*, ν*) ball holds the unique "
                  "fixed point in a small box; S is a ball at that fixed point.")
    if not with_claims:
        return
    rows = []
    for r in results:
        for res in r.claims:
            statement = (f"{res.claim.quantity} {res.claim.relation} "
                         f"{format_fraction(res.claim.threshold)}")
            ext = "—"
            if res.extremum is not None:
                ext = (f"{res.claim.kind} ∈ "
                       f"{interval_text(res.extremum[0], res.extremum[1], SHORT_DIGITS)}")
            verdict = {"holds": "holds (certified)",
                       "refuted": "FALSE (certified counterexample)"}.get(
                res.verdict, f"undecided: {res.reason}")
            rows.append([r.constants.label, statement, ext, verdict])
    print_table("Theorem 1 on its domain (μ, ω ∈ [−0.1, 0.1], ν ∈ [0.8, 1.5], τ ∈ [0.95, 1.1]) "
                "with these constants (interval branch-and-bound)",
                ["constants", "claim", "certified extremum enclosure", "verdict"],
                rows)


@contextmanager
def _progress(show: bool) -> Iterator[Callable[[Any, Any], None]]:
    """The verifier's callback ``(claim, status)`` as one spinner line on stderr."""
    with progress_bar("", show=show, spinner=True, bar=False) as bar:

        def update(claim: Any, status: Any) -> None:
            bar.describe(f"{claim.name}: {status.phase}, {status.decided} of {status.boxes} "
                         "boxes decided")

        yield update


@click.command("rounding")
@click.option("--dtype", "dtypes", multiple=True, metavar="DTYPE",
              help=f"λ01, α01 correctly rounded to DTYPE ({'|'.join(DTYPE_NAMES)}); repeatable.")
@click.option("--lam", default=None,
              help="λ as shipped: an exact decimal (> 0); default λ01 when only --alpha is given.")
@click.option("--alpha", default=None,
              help="α as shipped: an exact decimal (> 0); default α01 when only --lam is given.")
@click.option("--stored-as", default=None, metavar="DTYPE",
              help="Round --lam/--alpha to DTYPE first, as a compiler stores a literal "
                   "(to nearest, ties to even), and report their error in ulps.")
@click.option("--omega", default="0", show_default=True, help="Weight sum ω of the fixed point.")
@click.option("--tau", default="1", show_default=True, help="Weight sum of squares τ (> 0).")
@click.option("--claims/--no-claims", default=True, show_default=True,
              help="Run Theorem 1's claims with these constants (a few seconds per set).")
@click.option("--grid", type=click.Choice(["coarse", "fine"]), default="coarse",
              show_default=True, help="Initial grid of the claim search (see verify-contraction).")
@click.option("--jobs", "-j", type=int, default=1, show_default=True,
              help="Worker processes for the claim search.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def rounding_command(dtypes: tuple[str, ...], lam: str | None, alpha: str | None,
                     stored_as: str | None, omega: str, tau: str, claims: bool, grid: str,
                     jobs: int, as_json: bool) -> None:
    """What shipped λ, α cost: the certified fixed point, its distance from (0, 1), S there,
    and Theorem 1 with those constants.

    The constants are λ01, α01 correctly rounded to each --dtype (proven, as in
    `solve-constants --dtype`), and/or the exact decimals --lam/--alpha (a truncated
    1.0507, say), optionally rounded to --stored-as first.  For each set:

    \b
    * (μ*, ν*): the fixed point of g for (--omega, --tau), proven unique in a small box by
      a Krawczyk test in arb; its distance √(μ*² + (ν* − 1)²) from (0, 1);
    * S, the contraction constant (largest singular value of g's Jacobian), at (μ*, ν*);
    * Theorem 1's five claims on the paper's domain, run by the verify-contraction search
      with these constants: holds (certified) or FALSE (certified counterexample).

    \b
    snn-theory rounding --dtype float32 --dtype bfloat16
    snn-theory rounding --lam 1.0507 --alpha 1.67326 --stored-as float32

    Exit status: 0 everything decided (a FALSE claim is a result, see the table; note that
    Theorem 1's printed lower mean bound is false even for λ01, α01), 3 a fixed point could
    not be certified or a claim stayed undecided, 2 bad input.
    """
    from snn_theory.certify.rounding import (
        constants_for_dtype,
        constants_from_text,
        rounding_impact,
    )

    if jobs < 1:
        raise InputError(f"--jobs must be ≥ 1 (got {jobs})")
    for d in dtypes + ((stored_as,) if stored_as else ()):
        get_format(d)
    if stored_as is not None and lam is None and alpha is None:
        raise InputError("--stored-as rounds --lam/--alpha: give at least one of them")
    sets = [constants_for_dtype(d) for d in dict.fromkeys(dtypes)]
    if lam is not None or alpha is not None:
        sets.append(constants_from_text(lam, alpha, stored_as))
    if not sets:
        raise InputError("give --dtype DTYPE and/or --lam/--alpha (e.g. --dtype float32, or "
                         "--lam 1.0507 --alpha 1.67326)")
    results = []
    with _progress(claims and not as_json) as progress:
        for c in sets:
            try:
                results.append(rounding_impact(c, omega, tau, claims=claims, jobs=jobs,
                                               grid=grid, progress=progress))
            except ArithmeticError as exc:
                click.echo(f"snn-theory rounding: error: NOT certified for {c.label}: {exc}",
                           err=True)
                sys.exit(EXIT_UNDECIDED)
    if as_json:
        click.echo(json.dumps({"results": [r.to_json() for r in results]}))
    else:
        _print(results, claims)
    sys.exit(0 if all(r.decided for r in results) else EXIT_UNDECIDED)


__all__ = ["rounding_command"]
