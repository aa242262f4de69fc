"""Human tables fit the terminal and never split a number: at 80 columns no line is wider,
every number of the wide layout appears whole in the narrow one, a 50-digit constant is one
unbroken run of digits that copy and paste returns whole, and a number shortened for a table
is still an enclosure (rounded outward) of the value computed independently."""

from __future__ import annotations

import contextlib
import io
import json
import re
from fractions import Fraction

import mpmath
import pytest
from rich.cells import cell_len

#: A number as printed: sign, digits, decimals, exponent.
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")


def numbers(text: str) -> set[str]:
    """The numbers of ``text``, leaving out timings ("0.157 s") which differ between runs."""
    return {m.group() for m in NUMBER.finditer(re.sub(r"\d+(\.\d+)? s\b", "", text))}


def assert_fits(narrow: str, wide: str, width: int = 80) -> None:
    """Every line of ``narrow`` fits ``width`` columns and it shows exactly the numbers of
    ``wide`` (the same output laid out without width limit): a split number would show as
    two fragments in place of one number."""
    too_wide = [line for line in narrow.splitlines() if cell_len(line) > width]
    assert not too_wide, too_wide[:2]
    assert numbers(narrow) == numbers(wide), numbers(narrow) ^ numbers(wide)


def short_interval(text: str, label: str) -> tuple[Fraction, Fraction]:
    """The interval [a, b] printed after ``label`` (on its line, else wrapped onto the next)."""
    line = next(line for line in text.splitlines() if label in line)
    found = re.search(r"\[(\S+), (\S+)\]", line.split(label, 1)[1])
    if found is None:
        found = re.search(r"\[(\S+), (\S+)\]", " ".join(text.split()).split(label, 1)[1])
    a, b = found.groups()
    return Fraction(a), Fraction(b)


def both_widths(cli, monkeypatch, args: list[str]) -> tuple[str, str]:
    outs = []
    for columns in ("80", "1000"):
        monkeypatch.setenv("COLUMNS", columns)
        code, out, _ = cli(args)
        assert code == 0
        outs.append(out)
    return outs[0], outs[1]


def test_solve_constants_table_keeps_each_constant_on_one_line(cli, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = cli(["solve-constants", "--digits", "50"])
    assert code == 0
    lines = out.splitlines()
    assert all(cell_len(line) <= 80 for line in lines)
    lam_line = next(line for line in lines if line.startswith("  λ = "))
    printed = lam_line.split("=")[1].strip()
    # the whole certified decimal of λ01 on that line: compare with its closed form at 60 digits
    with mpmath.workdps(60):
        from snn_theory.evaluate import backends

        lam01, alpha01 = backends.constants_function("mpmath")()
        assert abs(mpmath.mpf(printed) - lam01) < mpmath.mpf("1e-49")
    assert len(printed.replace("-", "").replace(".", "")) >= 51  # 1 + 50 decimals, not cut
    alpha_line = next(line for line in lines if line.startswith("  α = "))
    with mpmath.workdps(60):
        assert abs(mpmath.mpf(alpha_line.split("=")[1].strip()) - alpha01) < mpmath.mpf("1e-49")
    # the table's short enclosure of λ still contains λ01
    lo, hi = short_interval(out, "│ λ ")
    with mpmath.workdps(60):
        assert lo <= Fraction(mpmath.nstr(lam01, 55)) <= hi and hi - lo < Fraction(1, 10**8)


def test_map_table_keeps_each_value_on_one_line(cli, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    args = ["map", "--mu", "0.1", "--omega", "0.05", "--nu", "1.2", "--digits", "70"]
    code, out, _ = cli(args)
    assert code == 0
    code, js, _ = cli([*args, "--json"])
    expected = json.loads(js)["spectral_norm"]
    # too wide for a table row at 80 columns: each value on its own line, whole
    lines = out.splitlines()
    k = next(i for i, line in enumerate(lines) if "spectral norm" in line)
    assert lines[k + 1].split() == ["value"] and lines[k + 2].split() == [expected]
    assert len(expected) > 70 and all(cell_len(line) <= 80 for line in lines)


def test_verify_table_fits_80_columns(cli, monkeypatch, tmp_path) -> None:
    """The Theorem 1 table (rows of 251 characters before) fits 80 columns, rendered from the
    same results as at 1000 columns with the same numbers."""
    from snn_theory.cli import verify

    rendered: dict[str, str] = {}
    original = verify.print_claims

    def render_both(results, *args):
        for columns in ("1000", "80"):
            monkeypatch.setenv("COLUMNS", columns)
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                original(results, *args)
            rendered[columns] = buffer.getvalue()

    monkeypatch.setattr(verify, "print_claims", render_both)
    monkeypatch.chdir(tmp_path)  # short certificate paths (a path is one word: never split)
    code, _, _ = cli(["verify-contraction", "--theorem", "1", "-j", "1",
                      "--certificate-dir", "c"])
    assert code == 1  # mean_lower is the paper's known erratum
    assert_fits(rendered["80"], rendered["1000"])
    assert "theorem1.variance_upper" in rendered["80"]


def test_gain_table_fits_and_stays_an_enclosure(cli, monkeypatch) -> None:
    narrow, wide = both_widths(cli, monkeypatch, ["gain", "--activation", "gelu"])
    assert_fits(narrow, wide)
    assert "calculate_ga…" not in narrow
    # the short enclosure of γ_var contains the independent value 1/sd(gelu(Z)), Z ~ N(0, 1)
    with mpmath.workdps(40):
        phi = lambda z: mpmath.npdf(z)  # noqa: E731
        gelu = lambda z: z * mpmath.ncdf(z)  # noqa: E731
        m1 = mpmath.quad(lambda z: gelu(z) * phi(z), [-mpmath.inf, 0, mpmath.inf])
        m2 = mpmath.quad(lambda z: gelu(z) ** 2 * phi(z), [-mpmath.inf, 0, mpmath.inf])
        gain = Fraction(mpmath.nstr(1 / mpmath.sqrt(m2 - m1**2), 35))
    lo, hi = short_interval(narrow, "γ_var: Var")
    assert lo <= gain <= hi and hi - lo < Fraction(1, 10**8)


def test_solve_constants_activation_table_fits(cli, monkeypatch) -> None:
    narrow, wide = both_widths(cli, monkeypatch, ["solve-constants", "--activation", "tanh"])
    assert_fits(narrow, wide)
    with mpmath.workdps(60):
        c = 1 / mpmath.sqrt(mpmath.quad(lambda z: mpmath.tanh(z) ** 2 * mpmath.npdf(z),
                                        [-mpmath.inf, 0, mpmath.inf]))
        exact = Fraction(mpmath.nstr(c, 55))
    lo, hi = short_interval(narrow, "c (scale)")
    assert lo <= exact <= hi
    line = next(line for line in narrow.splitlines() if line.startswith("  c = "))
    assert abs(Fraction(line.split("=")[1].strip()) - exact) <= Fraction(1, 10**50)


def test_propagate_table_fits_with_short_labels(cli, monkeypatch) -> None:
    narrow, wide = both_widths(cli, monkeypatch, ["propagate", "--correlation", "0.5"])
    assert_fits(narrow, wide)
    assert "c* = 1: slope" in narrow and "1.0000000000" not in narrow
    # χ₁ = λ01²·(P(z > 0) + α01²·E[e^{2z}; z < 0]) at the fixed point (0, 1), by quadrature
    from snn_theory.evaluate import backends

    with mpmath.workdps(40):
        lam, alpha = backends.constants_function("mpmath")()
        chi1 = lam**2 * (mpmath.mpf(1) / 2 + alpha**2 * mpmath.quad(
            lambda z: mpmath.exp(2 * z) * mpmath.npdf(z), [-mpmath.inf, 0]))
        exact = Fraction(mpmath.nstr(chi1, 35))
    lo, hi = short_interval(narrow, "χ₁ = τ·E[f′(z)²]")
    assert lo <= exact <= hi and hi - lo < Fraction(1, 10**8)


@pytest.mark.parametrize("markdown", [False, True])
def test_activation_table_markdown_switches_the_format(cli, monkeypatch, markdown) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    args = ["activation-table", "--only", "relu", "--max-boxes", "16", "--time-limit", "5",
            "-j", "1"]
    code, out, _ = cli([*args, "--markdown"] if markdown else args)
    assert code == 0
    assert ("|---|" in out) == markdown
    if not markdown:
        assert all(cell_len(line) <= 80 for line in out.splitlines())
        # relu's contraction counterexample: the printed enclosure of S there is outward
        # (it must not collapse to one rounded number as [1.07456, 1.07456] did)
        lo, hi = short_interval(out, "contraction: FALSE")
        assert lo < hi


def test_print_table_never_splits_a_number(monkeypatch) -> None:
    """The layout itself, on cells wider than the terminal: table or blocks, every number whole."""
    from snn_theory.cli.console import print_table

    rows = [("row" + str(k), "x = " + "1234567890." + "9" * (10 * k), "[0.5, 0.75] and more words",
             str(k)) for k in range(1, 6)]
    out = {}
    for columns in ("80", "1000"):
        monkeypatch.setenv("COLUMNS", columns)
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            print_table("a title", ("name", "value", "note", "k"), rows, right=("k",))
        out[columns] = buffer.getvalue()
    assert numbers(out["80"]) == numbers(out["1000"])
    assert all(cell_len(line) <= 80 for line in out["80"].splitlines())


#: Each command that prints to the terminal, with cheap arguments; commands of one case run
#: in order in one directory (a certificate written by the first is checked by the second).
EIGHTY_COLUMN_RUNS = {
    "initializers": [["initializers", "--fan-in", "16"]],
    "rounding": [["rounding", "--dtype", "float32", "--no-claims"]],
    "map": [["map", "--mu", "0.1", "--nu", "1.2", "--backend", "arb", "--iterate", "3"]],
    "simulate": [["simulate", "--width", "16", "--batch", "8", "--depth", "4"],
                 ["simulate", "--width", "16", "--batch", "8", "--depth", "2",
                  "--widths", "8,16"]],
    "verify-contraction --activation, check-certificate": [
        ["verify-contraction", "--activation", "tanh", "--domain",
         "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1", "--claim", "variance<=0.3",
         "--certificate-dir", "c", "-j", "1"],
        ["check-certificate", "c"]],
    "map-domain, check-certificate": [
        ["map-domain", "--cells", "1", "--depth", "0", "--out", "p.json.gz"],
        ["check-certificate", "p.json.gz"]],
    "plot": [["plot", "flow-field", "--out", "f.png", "--width", "300", "--height", "200",
              "--dpi", "50"]],
    "largest-box": [["largest-box", "--omega", "0:0.05", "--tau", "0.975:1.0125",
                     "--scale-max", "1.1", "--steps", "0", "--cells", "1", "--depth", "0",
                     "--max-boxes", "200", "--out", "b.json.gz", "-j", "1"]],
}


@pytest.mark.parametrize("case", list(EIGHTY_COLUMN_RUNS))
def test_every_command_fits_80_columns(case: str, cli, monkeypatch, tmp_path) -> None:
    """At COLUMNS=80 no line a command prints is wider than 80 cells (certificate paths are
    kept short: a path is one word, never split)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    for args in EIGHTY_COLUMN_RUNS[case]:
        if args[0] == "check-certificate" and args[1] == "c":
            args = ["check-certificate", *sorted(f"c/{p.name}" for p in (tmp_path / "c").iterdir())]
        code, out, err = cli(args)
        assert code in (0, 1, 3), err
        assert out.strip(), args
        too_wide = [line for line in out.splitlines() if cell_len(line) > 80]
        assert not too_wide, (args, too_wide[:2])
