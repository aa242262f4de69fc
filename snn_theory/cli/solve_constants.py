"""``snn-theory solve-constants``: certified SELU constants λ, α for any target fixed point.

    snn-theory solve-constants                                  # λ01, α01 to 50 decimals
    snn-theory solve-constants --mean -0.1 --variance 2 --omega 1 --tau 1 --digits 30
    snn-theory solve-constants --dropout-rate 0.1 --dropout-rate 0.05 --format python
    snn-theory solve-constants --digits 1000 --json

λ and α solve μ̃(μ*, ω, ν*, τ, λ, α) = μ*, ν̃(μ*, ω, ν*, τ, λ, α) = ν* (docs/mathematics.md §3) for the
target ``--mean`` μ*, ``--variance`` ν* and weights ``--omega`` ω = Σw, ``--tau`` τ = Σw².
Inputs are exact decimals (``--mean -0.1`` is exactly −1/10).  Method and guarantee:
:mod:`snn_theory.certify.constants` — root finding, then a Krawczyk test in arb ball arithmetic
proves that a box of radius < 10^-digits holds exactly one solution; for the default target
the closed forms of λ01, α01 are evaluated too and must agree.

``--digits D``: decimal places printed.  ``lower``/``upper`` are outward-rounded bounds of the
certified enclosure; ``value`` is its midpoint rounded to D decimals (within 10^-D of the true
value).  ``--dropout-rate R`` (repeatable) is the probability of *dropping* a unit (keep
probability q = 1 − R, 0 ≤ R < 1): it adds α′ = −λα and the affine correction a, b of alpha
dropout (docs/mathematics.md §3), as balls enclosing the exact values.

``--format python`` prints float64 literals, each the float nearest to the exact constant
(the enclosure lies between two float rounding boundaries).  ``ALPHA_PRIME`` is −λα correctly
rounded: the float product of the rounded λ01 and α01 is one ulp off (−1.7580993408473766
instead of −1.7580993408473768), the value several libraries hard-code.

``--dtype float64|float32|float16|bfloat16`` (repeatable) adds, for each constant, the
correctly rounded value in that format, *proven* so: the certified enclosure lies strictly
between the two rounding boundaries around the chosen number (halfway to its neighbours,
found with numpy/ml_dtypes), so it is the nearest and no tie is possible
(:mod:`snn_theory.evaluate.dtypes`).  The error (rounded − exact) is given in ulps of the format.
``--format c`` prints C declarations, ``--format python`` numpy/ml_dtypes literals (both for
float64 unless --dtype says otherwise), ``--format json`` the same object as ``--json``.

    snn-theory solve-constants --dtype float32 --dtype bfloat16 --dropout-rate 0.1
    snn-theory solve-constants --dtype float32 --format c

What a rounded constant does to the fixed point and to Theorem 1: ``snn-theory rounding``.

Exit codes: 0 certified; 2 bad input (variance ≤ 0, τ ≤ 0, a rate outside [0, 1), digits
outside [1, 50000], numbers that are not finite decimals of magnitude in [1e-50, 1e50]) or a
target no λ > 0, α > 0 reach (the message says what was tried); 3 the proof failed (or the
closed forms disagree): nothing is printed as certified then, ``--json`` prints
``"certified": false`` with null constants.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction

import click

from snn_theory.certify.constants import MAX_DIGITS, solve_constants
from snn_theory.certify.constants_result import ConstantsResult
from snn_theory.cli.activation_option import HELP as ACTIVATION_HELP
from snn_theory.cli.activation_option import resolve_options
from snn_theory.cli.exit_codes import EXIT_NOT_CERTIFIED
from snn_theory.evaluate.dtypes import DTYPE_NAMES, Rounding, get_format, round_constants
from snn_theory.exact import interval_text

#: constant name → (Python / C identifier stem, label in tables)
_NAMES = {"lambda": "LAMBDA", "alpha": "ALPHA", "alpha_prime": "ALPHA_PRIME"}
_SUFFIX = {"float64": "", "float32": "_F32", "float16": "_F16", "bfloat16": "_BF16"}
_PY_TYPE = {"float64": "np.float64", "float32": "np.float32", "float16": "np.float16",
            "bfloat16": "ml_dtypes.bfloat16"}


def _python_literals(result: ConstantsResult) -> str:
    f = result.floats
    lines = [
        "# SELU constants certified by `snn-theory solve-constants` (Krawczyk test in arb",
        f"# ball arithmetic) for the fixed point (mean, variance) = ({result.mean}, "
        f"{result.variance})",
        f"# and weights (omega, tau) = ({result.omega}, {result.tau}).  Each float64 is the",
        "# one nearest to the exact constant; ALPHA_PRIME = -LAMBDA*ALPHA correctly rounded",
        "# (the float64 product LAMBDA * ALPHA can be one ulp off).",
        f"LAMBDA = {f['lambda']!r}",
        f"ALPHA = {f['alpha']!r}",
        f"ALPHA_PRIME = {f['alpha_prime']!r}",
    ]
    if result.dropout:
        lines.append("# alpha dropout: drop rate -> (a, b); dropped units are set to ALPHA_PRIME")
        lines.append("ALPHA_DROPOUT = {")
        for d in result.dropout:
            key = f"dropout[{d.rate}]"
            lines.append(f"    {float(Fraction(d.rate))!r}: ({f[key + '.a']!r}, {f[key + '.b']!r}),")
        lines.append("}")
    return "\n".join(lines)


def _ident(key: str) -> str:
    if key in _NAMES:
        return _NAMES[key]
    rate, part = key[len("dropout["):].split("].")
    return f"DROPOUT_{rate.replace('.', '_').replace('-', 'M')}_{part.upper()}"


def _err(r: Rounding) -> str:
    """The error in ulps, its enclosure rounded outward to 3 significant digits (the JSON
    has 17)."""
    return f"{interval_text(*r.error_ulps, 3)} ulp"


def _python_dtype_literals(result: ConstantsResult,
                           rounded: dict[str, dict[str, Rounding]]) -> str:
    lines = [
        "# SELU constants certified by `snn-theory solve-constants` for the fixed point "
        f"(mean, variance) = ({result.mean}, {result.variance}),",
        f"# weights (omega, tau) = ({result.omega}, {result.tau}).  Each value is the "
        "correctly rounded constant",
        "# in its dtype (proven from the arb enclosure); the argument is its exact value, "
        "so the conversion is exact.",
        "import numpy as np",
    ]
    if "bfloat16" in rounded:
        lines.append("import ml_dtypes")
    for dtype, table in rounded.items():
        lines.append(f"# {dtype}")
        for key, r in table.items():
            lines.append(f"{_ident(key)}{_SUFFIX[dtype]} = {_PY_TYPE[dtype]}"
                         f"({float(r.value)!r})  # {r.literal}, {_err(r)}")
    return "\n".join(lines)


def _c_literals(result: ConstantsResult, rounded: dict[str, dict[str, Rounding]]) -> str:
    lines = [
        "/* SELU constants certified by `snn-theory solve-constants` for the fixed point",
        f"   (mean, variance) = ({result.mean}, {result.variance}), weights (omega, tau) = "
        f"({result.omega}, {result.tau}).",
        "   Each is the correctly rounded constant in its type (proven from the arb "
        "enclosure).",
        "   float16/bfloat16 values are written exactly, so converting them is exact. */",
    ]
    for dtype, table in rounded.items():
        ctype = get_format(dtype).c_type
        for key, r in table.items():
            literal = r.literal + ("f" if dtype == "float32" else "")
            lines.append(f"static const {ctype} SELU_{_ident(key)}{_SUFFIX[dtype]} = {literal};"
                         f"  /* {_err(r)} */")
    return "\n".join(lines)


def _dtype_table(console: object, rounded: dict[str, dict[str, Rounding]]) -> None:
    from snn_theory.cli.console import print_table, print_wrapped

    columns = ["quantity"]
    for dtype in rounded:
        columns += [dtype, f"{dtype} error"]
    rows = []
    for key in next(iter(rounded.values())):
        cells = [key]
        for d in rounded:
            cells += [rounded[d][key].literal, _err(rounded[d][key])]
        rows.append(cells)
    print_table("correctly rounded per dtype (error = rounded − exact, in ulps)", columns, rows,
                right=[c for c in columns if c.endswith("error")], console=console)
    print_wrapped("proven: each enclosure lies strictly between the rounding boundaries "
                  "around its value (halfway to the neighbouring representable numbers), so "
                  "the value is the nearest and no tie is possible.", console=console)


def _table(result: ConstantsResult,
           rounded: dict[str, dict[str, Rounding]] | None = None) -> None:
    from rich.console import Console

    from snn_theory.cli.console import print_table, print_wrapped
    from snn_theory.exact import SHORT_DIGITS, ball_text

    console = Console()
    rows = [("λ", result.lam, "lambda"), ("α", result.alpha, "alpha"),
            ("α′ = −λα", result.alpha_prime, "alpha_prime")]
    for d in result.dropout:
        key = f"dropout[{d.rate}]"
        rows.append((f"a   (drop rate {d.rate})", d.a, key + ".a"))
        rows.append((f"b   (drop rate {d.rate})", d.b, key + ".b"))
    print_table(f"SELU constants for fixed point (mean, variance) = ({result.mean}, "
                f"{result.variance}), weights (omega, tau) = ({result.omega}, {result.tau})",
                ("quantity", f"certified enclosure ({SHORT_DIGITS} significant digits)",
                 "float64 (nearest)"),
                [(name, ball_text(ball, SHORT_DIGITS), repr(result.floats[key]) if key in result.floats
                  else "—") for name, ball, key in rows], console=console)
    # every digit asked for, one constant a line (a number is never split: copy and paste
    # gives the whole of it)
    print_wrapped(f"value to {result.digits} decimals:", console=console)
    for name, ball, _ in rows:
        label = name.removesuffix(" = −λα")
        print_wrapped(f"{label} = {result.decimals(ball).value}", console=console,
                      indent="  ", subsequent="    ")
    for lam, alpha in result.other_solutions:
        print_wrapped(f"note: the target has another solution (not certified here) near "
                      f"λ ≈ {lam:.16g}, α ≈ {alpha:.16g}", console=console)
    closed = ("; the closed forms of docs/mathematics.md §3 agree" if result.closed_form_agrees else "")
    print_wrapped(
        f"certified: a Krawczyk test in arb proved that the box of radius "
        f"{result.to_json()['box_radius']} around the values holds exactly one solution "
        f"(every value is within 10^-{result.digits} of the true constant){closed}.  "
        f"{result.seconds:.3f} s, {result.precision_bits} bits.", console=console)
    if rounded:
        _dtype_table(console, rounded)


@click.command("solve-constants")
@click.option("--mean", default="0", show_default=True, help="Target fixed-point mean μ*.")
@click.option("--variance", default="1", show_default=True,
              help="Target fixed-point variance ν* (> 0).")
@click.option("--omega", default="0", show_default=True, help="Weight sum ω = Σ w_i.")
@click.option("--tau", default="1", show_default=True, help="Weight sum of squares τ (> 0).")
@click.option("--digits", default=50, show_default=True, type=int,
              help=f"Decimal places, 1..{MAX_DIGITS}.")
@click.option("--dropout-rate", "dropout_rates", multiple=True, metavar="R",
              help="Alpha-dropout DROP probability R in [0, 1) (keep q = 1 − R); repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--format", "fmt", type=click.Choice(["table", "python", "c", "json"]),
              default="table", show_default=True,
              help="table; python (numpy/ml_dtypes literals); c (declarations); json "
                   "(= --json). python and c are float64 unless --dtype is given.")
@click.option("--dtype", "dtypes", multiple=True, metavar="DTYPE",
              help=f"Also the correctly rounded constants in DTYPE ({'|'.join(DTYPE_NAMES)}), "
                   "proven, with the error in ulps; repeatable.")
@click.option("--activation", default="selu", show_default=True, metavar="NAME|EXPR",
              help=ACTIVATION_HELP + "  Other than selu: solves the scale c and shift d of "
                   "c·f(x) + d instead of λ, α.")
def solve_constants_command(mean: str, variance: str, omega: str, tau: str, digits: int,
                            dropout_rates: tuple[str, ...], as_json: bool, fmt: str,
                            dtypes: tuple[str, ...], activation: str) -> None:
    """Certified λ, α making (MEAN, VARIANCE) a fixed point for weights (OMEGA, TAU).

    Root finding at a precision above --digits, then a Krawczyk test in arb proves that a
    box of radius < 10^-digits holds exactly one solution (docs/mathematics.md §3).  With --dtype, the
    correctly rounded value of every constant in that format, proven from the enclosure
    (strictly inside the rounding interval of the chosen number), and its error in ulps.
    Exit 2 on bad input or an unreachable target, 3 if a proof fails.  With --activation
    (not selu) the unknowns are c, d of c·f(x) + d (the two solutions are c = ±√(ν*/Var f),
    d = μ* − c·E f; c > 0 is reported).

    \b
    snn-theory solve-constants --dtype float32 --dtype bfloat16 --dropout-rate 0.1
    snn-theory solve-constants --dtype float16 --format c
    """
    model = resolve_options(activation, "1", "0")
    if dtypes or fmt == "c":
        model.require_closed_form("--dtype and --format c are for the SELU constants; they do "
                                  "not apply to --activation " + activation)
    for d in dtypes:
        get_format(d)  # unknown dtype: one line, exit 2, before any work
    try:
        result = solve_constants(mean=mean, variance=variance, omega=omega, tau=tau,
                                 digits=digits, dropout_rates=dropout_rates,
                                 activation=activation)
    except ArithmeticError as exc:  # a rigorous Gaussian integral failed: nothing certified
        result = exc
    if not isinstance(result, ConstantsResult):  # c, d of c·f + d for another activation
        from snn_theory.cli.solve_affine import run_affine

        run_affine(model.activation, mean, variance, omega, tau, digits, as_json, fmt, result)
        return
    as_json = as_json or fmt == "json"
    if not result.ok:
        reason = (result.failure if not result.certified else
                  "the closed forms of λ01, α01 do not intersect the certified enclosures")
        if as_json:
            out = result.to_json()
            out.update({"certified": False, "lambda": None, "alpha": None, "dropout": [],
                        "error": reason})
            click.echo(json.dumps(out))
        click.echo(f"snn-theory solve-constants: error: NOT certified: {reason} "
                   f"({result.method}); no constants are reported", err=True)
        sys.exit(EXIT_NOT_CERTIFIED)
    rounded = None
    if dtypes or (fmt == "c"):
        rounded = round_constants(result, dtypes or ("float64",))
        failed = [f"{key} in {d}: {r.reason}" for d, table in rounded.items()
                  for key, r in table.items() if not r.certified]
        if failed:
            click.echo("snn-theory solve-constants: error: correct rounding NOT proven for "
                       f"{failed[0]}; rerun with more --digits", err=True)
            sys.exit(EXIT_NOT_CERTIFIED)
    if as_json:
        out = result.to_json()
        if rounded:
            out["rounded"] = {d: {k: r.to_json() for k, r in table.items()}
                              for d, table in rounded.items()}
        click.echo(json.dumps(out))
    elif fmt == "c":
        click.echo(_c_literals(result, rounded))
    elif fmt == "python" and dtypes:
        click.echo(_python_dtype_literals(result, rounded))
    elif fmt == "python":
        missing = [k for k in ("lambda", "alpha", "alpha_prime") if k not in result.floats]
        missing += [f"dropout[{d.rate}].{k}" for d in result.dropout for k in ("a", "b")
                    if f"dropout[{d.rate}].{k}" not in result.floats]
        if missing:
            click.echo("snn-theory solve-constants: error: the enclosure of "
                       f"{missing[0]} straddles a float64 rounding boundary", err=True)
            sys.exit(EXIT_NOT_CERTIFIED)
        click.echo(_python_literals(result))
    else:
        _table(result, rounded)
