"""``snn-theory dyt-table``: DyT after a dense layer — certified γ, β and S at (0, 1) over α.

The presentation half of :func:`snn_theory.certify.dyt.dyt_table` (the mathematics is
documented there): a table, or ``--json``.
"""

from __future__ import annotations

import json

import click

from snn_theory.exact import ball_text, format_fraction

DEFAULT_ALPHAS = ("0.05", "0.1", "0.25", "0.5", "1", "2", "5", "10")


@click.command("dyt-table")
@click.option("--alpha", "alphas", multiple=True, metavar="A",
              help="α of DyT(x) = γ·tanh(αx) + β (exact, > 0; repeatable).  Default: "
                   + ", ".join(DEFAULT_ALPHAS) + ".")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def dyt_table_command(alphas: tuple[str, ...], as_json: bool) -> None:
    """DyT after a dense layer: for which α is (0, 1) an attracting fixed point?

    For each α: γ, β certified (Krawczyk) so that (0, 1) is the fixed point of the layer's
    (μ, ν) map at ω = 0, τ = 1 (those of `solve-constants --activation "tanh(α*x)"`), and
    S — the largest singular value of the map's Jacobian there — enclosed in ball arithmetic
    for every γ, β in their balls.  "attracting" means S < 1 is proven.  Exit 0; 2 bad input;
    3 when γ, β could not be certified.
    """
    from snn_theory.certify.dyt import dyt_table

    rows = dyt_table(list(alphas or DEFAULT_ALPHAS))
    verdict = {True: "yes (S < 1 proven)", False: "no (S ≥ 1 proven)", None: "undecided"}
    if as_json:
        click.echo(json.dumps({"rows": [
            {"alpha": format_fraction(r.alpha), "gamma": ball_text(r.gamma),
             "beta": ball_text(r.beta), "spectral_norm": ball_text(r.spectral_norm),
             "attracting": r.attracting} for r in rows]}))
        return
    from snn_theory.cli.console import print_table

    print_table("DyT(x) = γ·tanh(αx) + β after a dense layer (ω = 0, τ = 1): fixed point "
                "(0, 1), certified in ball arithmetic",
                ("α", "γ", "β", "S at (0, 1)", "attracting"),
                [(format_fraction(r.alpha), ball_text(r.gamma, 12), ball_text(r.beta, 3),
                  ball_text(r.spectral_norm, 12), verdict[r.attracting]) for r in rows])
