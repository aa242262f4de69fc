"""One door in, one door out: user numbers reach the mathematics through the exact parser
and certified numbers leave through the outward formatter (:mod:`snn_theory.exact`).

The scan reads every module of the package (library and command line) and finds each
``float(…)``, ``round(…)``, ``%g``-style and ``{x:.Ng}``/``{x:.Nf}``-style formatting (of
anything but a timing) and arb's
``.str(…, radius=False)`` (a midpoint: not an enclosure).  Each must be listed below with the
reason it neither rounds a certified value for printing nor reads a user's number on a
certified path (evidence, a heuristic, a starting guess, an exact conversion, a timing).
Anything else is a number taking a detour through a float, and the test names it.  The
property tests (tests/cli/test_doors.py) check the other half: what the commands print
contains the true value.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "snn_theory"

#: Whole modules of evidence (floats by design, labelled as such where they are printed).
EVIDENCE_MODULES: dict[str, str] = {
    "simulate/": "Monte Carlo and training: float evidence, never called certified",
    "show/canvas.py": "figure coordinates and labels (plots are evidence)",
    "show/figure_data.py": "figure coordinates and labels (plots are evidence)",
    "show/figures.py": "figure coordinates and labels (plots are evidence)",
    "show/flow_figures.py": "figure coordinates and labels (plots are evidence)",
    "show/map_figures.py": "figure coordinates and labels (plots are evidence)",
    "show/propagation_figures.py": "figure coordinates and labels (plots are evidence)",
    "show/network_figures.py": "figure coordinates (plots are evidence)",
    "show/domain_figures.py": "figure coordinates and labels (plots are evidence)",
    "show/training_figures.py": "figure coordinates and labels (plots are evidence)",
    "cli/simulate.py": "the Monte Carlo command: evidence, labelled so",
    "cli/simulate_activation.py": "the Monte Carlo command: evidence, labelled so",
    "cli/simulate_network.py": "the Monte Carlo of a network: evidence, labelled so (its "
                               "certified iterates go through exact.decimal_enclosure and, in "
                               "JSON, exact.ball_text)",
    "cli/train.py": "the training command: evidence, labelled so",
    "cli/plot.py": "plots (float quadrature, labelled as evidence); ranges are axes",
    "certify/paper/": "the paper's own float64 grid method: labelled not a proof; its "
                      "rigorous bounds are rounded upward explicitly (float_up)",
    "cli/verify_paper.py": "prints the paper method's float grid (labelled not a proof)",
}

#: (module, function, what) → why it is not a number's detour through a float.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("certify/weight_regions.py", "CertifiedRegion.float_cells", "float("):
        "cell ends rounded inward (checked against the exact end) as the projection's float "
        "targets; membership is decided on exact rationals, nothing printed",
    ("certify/weight_regions.py", "_outward_cells", "float("):
        "cell ends rounded outward (checked against the exact end) to decide that a row's "
        "rigorous float enclosure misses every cell; undecided rows are decided on exact "
        "rationals, nothing printed",
    ("exact.py", "_to_float", "float("):
        "nearest_float: the correctly rounded float64, returned only when the whole ball "
        "rounds to it",
    ("certify/activation_table.py", "_rounded", "round("):
        "chooses the exact c, d that are verified (recorded exactly); not a printed bound",
    ("certify/activation_table.py", "_rounded", ".str(radius=False)"):
        "chooses the exact c, d that are verified (recorded exactly); not a printed bound",
    ("certify/activation_cells.py", "box_bound", "float("):
        "the split heuristic |dq/dx|·width (where to bisect), not a bound",
    ("certify/constants_result.py", "ConstantsResult.to_json", "float("):
        "'approximate' values of a failed solve, labelled approximate beside certified: false",
    ("certify/constants.py", "_infeasible_message", "float("):
        "explains an infeasible target in its error message (nothing certified is printed)",
    ("certify/constants.py", "_infeasible_message", ":.Ng"):
        "explains an infeasible target in its error message (nothing certified is printed)",
    ("certify/constants.py", "_ratio_limits", "float("):
        "explains an infeasible target in its error message (nothing certified is printed)",
    ("certify/constants.py", "_newton_search", "float("):
        "starting points for the solver; the Krawczyk test certifies the root",
    ("certify/constants.py", "_reduced_candidates", "float("):
        "starting points for the solver; the Krawczyk test certifies the root",
    ("certify/initializers.py", "_inv.f", "float("):
        "the float64 a framework stores for its literal, taken at its exact binary value",
    ("certify/initializers.py", "sample_law", "float("):
        "parameters of a Monte Carlo sample (evidence)",
    ("certify/initializers.py", "monte_carlo", "float("):
        "Monte Carlo statistics (evidence)",
    ("certify/shaping.py", "_float_residuals", "float("):
        "the float residuals of the start search (evidence); the Krawczyk test certifies the root",
    ("certify/shaping.py", "_float_residuals.residuals", "float("):
        "the float residuals of the start search (evidence); the Krawczyk test certifies the root",
    ("certify/shaping.py", "_float_candidates", "float("):
        "starting points for the shaping solver; the Krawczyk test certifies the root",
    ("certify/shaping.py", "_newton", "float("):
        "Newton's step size on midpoints (a stopping heuristic); the Krawczyk test certifies the root",
    ("certify/shaping.py", "shape", "float("):
        "float targets of the start search and the size of the Krawczyk box (heuristics; the box is then proven)",
    ("certify/shaping.py", "shape_leaky_relu", "float("):
        "float bisection for the starting slope; the Krawczyk test certifies the root",
    ("certify/propagation/cmap.py", "_certify_zero.derivative", "float("):
        "the Krawczyk preconditioner (any approximation of g'(x0) is valid)",
    ("certify/propagation/integrals.py", "_exact", "float("):
        "integration split points (floats taken at their exact binary values)",
    ("certify/propagation/integrals.py", "pair_expectation", "float("):
        "where to split the integration interval (a heuristic; the integral is rigorous)",
    ("certify/propagation/edge.py", "edge_of_chaos_tau", "float("):
        "the mpmath starting guess and the first Krawczyk radius; the root is certified",
    ("certify/propagation/edge.py", "edge_of_chaos_tau.h", "float("):
        "the mpmath function whose root is the starting guess; the root is certified",
    ("certify/propagation/edge.py", "correlation_iterates", "float("):
        "iterates for plots and the Monte Carlo comparison (documented as evidence)",
    ("certify/search/state.py", "saved_elapsed", "float("):
        "elapsed seconds of a saved search (a timing)",
    ("certify/search/bounders.py", "_gradient_scores", "float("):
        "the split heuristic (which coordinate to bisect), not a bound",
    ("certify/search/network_bounder.py", "NetworkBounder.split_scores", "float("):
        "the split heuristic (which coordinate to bisect), not a bound",
    ("cli/initializers.py", "_print", ":.Ng"):
        "the Monte Carlo table (titled 'evidence only')",
    ("cli/console.py", "value_formatter.as_float", "float("):
        "the float backends (numpy, JAX) of map and map --network print their float64 "
        "results, labelled float64",
    ("cli/map.py", "map_command", ":.Ng"):
        "the size of a float backend's error in a warning",
    ("certify/network_fixed_point.py", "network_variance_collapse", "float("):
        "iterates of the network's map at 64 bits: a diagnosis labelled as float evidence, "
        "nothing certified",
    ("certify/network_fixed_point.py", "_raise_if_collapsing", ":.Ng"):
        "the last variance of that diagnosis, in a message that says it is float evidence",
    ("evaluate/network_map.py", "NetworkMap.__repr__.text", "float("):
        "the repr of the numpy backend's result (float64, labelled by its backend)",
    ("evaluate/network_map.py", "number", "float("):
        "an input for the numpy backend (float64 evidence)",
    ("cli/solve_constants.py", "_python_literals", "float("):
        "the dropout rate as a key of the generated Python dict (what Python reads)",
    ("cli/solve_constants.py", "_python_dtype_literals", "float("):
        "a value of a float format is a float64 exactly (no rounding)",
    ("cli/solve_constants.py", "_table", ":.Ng"):
        "another solution, printed as 'not certified'",
    ("evaluate/activation_functions.py", "value_numpy", "float("):
        "the float64 evaluator of the activation (evidence backends)",
    ("evaluate/activation_functions.py", "value_jax", "float("):
        "the float64 evaluator of the activation (evidence backends)",
    ("derive/activation_parser.py", "_Parser.call", "float("):
        "an integer growth constant ceil(1.001·exp(a0) + 1): the 0.1 % margin is far above "
        "the float error of exp",
    ("evaluate/point.py", "_values_and_trajectory", "float("):
        "checks a JAX float trajectory for leaving the domain",
    ("evaluate/point.py", "float_errors", "float("):
        "the relative error of a float backend (evidence about floats)",
    ("evaluate/point.py", "_text", "float("):
        "the repr of a float backend's result (float64, labelled by its backend)",
    ("evaluate/activation_map.py", "evaluate_float", "float("):
        "the float quadrature of other activations (evidence)",
    ("evaluate/activation_map.py", "fixed_points_float", "float("):
        "the float quadrature of other activations (evidence)",
    ("evaluate/activation_map.py", "iterate_float", "float("):
        "the float quadrature of other activations (evidence)",
    ("evaluate/activation_map.py", "variance_collapse", "float("):
        "float64 iterates of g: a diagnosis labelled as float evidence, nothing certified",
    ("evaluate/activation_map.py", "collapsed_variance", "float("):
        "the rule on float64 iterates of a map: a diagnosis labelled as float evidence",
    ("evaluate/activation_map.py", "trivial_fixed_point", "float("):
        "float64 iterates of g: a diagnosis labelled as float evidence, nothing certified",
    ("evaluate/activation_map.py", "trivial_fixed_point", ":.Ng"):
        "the float evidence quoted in the diagnosis message (labelled so)",
    ("evaluate/dtypes.py", "exact_value", "float("):
        "a value of a float format is a float64 exactly (no rounding)",
    ("evaluate/dtypes.py", "neighbours", "float("):
        "a value of a float format is a float64 exactly (no rounding)",
    ("evaluate/dtypes.py", "Rounding.bits", "float("):
        "a value of a float format is a float64 exactly (no rounding)",
    ("evaluate/dtypes.py", "Rounding.hex", "float("):
        "a value of a float format is a float64 exactly (no rounding)",
    ("evaluate/dtypes.py", "_odd", "float("):
        "a value of a float format is a float64 exactly (no rounding)",
    ("evaluate/dtypes.py", "round_rational", "float("):
        "a starting candidate; the nearest value is then chosen by exact comparison",
    ("evaluate/dtypes.py", "round_ball", "float("):
        "the value is a float64 exactly; the boundary is named in a failure message only",
    ("evaluate/dtypes.py", "paste_literal", "float("):
        "the shortest literal that rounds to the value, each candidate checked exactly",
    ("evaluate/dtypes.py", "paste_literal", ":.Ng"):
        "the shortest literal that rounds to the value, each candidate checked exactly",
    ("evaluate/gaussian.py", "expectations", "float("):
        "how many guard bits to add (a heuristic)",
    ("evaluate/gaussian.py", "integration_budget", "float("):
        "a time budget in seconds",
    ("evaluate/moment_map.py", "to_number", "float("):
        "a float argument taken at its exact binary value (documented)",
    ("evaluate/moment_map.py", "_float_constants", "float("):
        "λ01, α01 for the float backends (evidence)",
    ("evaluate/moment_map.py", "newton_fixed_point", "float("):
        "the float Newton loop's tolerance (the Krawczyk test certifies the fixed point)",
    ("show/reproduce/results.py", "MonteCarloStage.final_widest", "float("):
        "Monte Carlo statistics (evidence)",
    ("show/reproduce/stages.py", "stage_monte_carlo", "float("):
        "the Monte Carlo power-law fit (evidence)",
    ("show/reproduce/results.py", "MonteCarloStage.summary", ":.Ng"):
        "where the widest Monte Carlo network ends (labelled statistical)",
    ("show/reproduce/report.py", "_selu_report", ":.Ng"):
        "the Monte Carlo power-law fit (evidence, in its own section)",
    ("show/reproduce/results.py", "mc_summary", "float("):
        "Monte Carlo summaries (evidence) kept to the digits their error supports",
    ("show/reproduce/results.py", "mc_summary", ":.Ng"):
        "Monte Carlo summaries (evidence) kept to the digits their error supports",
    ("show/reproduce/report.py", "_mc_run_json.layer", "round("):
        "Monte Carlo means and variances (evidence) kept to the decimals their error law "
        "supports, so that the committed report does not depend on the machine",
    ("show/reproduce/report.py", "_significant", "float("):
        "float evidence of the figures' summaries (certified values there are strings) kept "
        "to 10 significant digits, so that the committed report does not depend on the "
        "machine",
    ("show/reproduce/report.py", "_significant", ":.Ng"):
        "float evidence of the figures' summaries (certified values there are strings) kept "
        "to 10 significant digits, so that the committed report does not depend on the "
        "machine",
}

_PERCENT = re.compile(r"%[-+ 0#]*\d*(\.\d+)?[gGeEf]")


def _timing(value: ast.expr) -> bool:
    """``round(x.seconds, n)``, ``f"{total:.1f}"`` and friends: a timing, never a certified
    value."""
    text = ast.unparse(value)
    return "seconds" in text or text == "total"


def detours(source: str) -> list[tuple[str, str, int]]:
    """(function, what, line) of each float(…), round(…), %g / {:.Ng} formatting and
    ``.str(…, radius=False)`` in ``source`` (a module's text)."""
    found: list[tuple[str, str, int]] = []

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = (*scope, child.name)
            what = None
            if isinstance(child, ast.Call):
                f = child.func
                if isinstance(f, ast.Name) and f.id == "float":
                    what = "float("
                elif (isinstance(f, ast.Name) and f.id == "round" and child.args
                      and not _timing(child.args[0])):
                    what = "round("
                elif isinstance(f, ast.Attribute) and f.attr == "str" and any(
                        k.arg == "radius" and isinstance(k.value, ast.Constant)
                        and k.value.value is False for k in child.keywords):
                    what = ".str(radius=False)"
            elif isinstance(child, ast.FormattedValue) and child.format_spec is not None:
                spec = "".join(v.value if isinstance(v, ast.Constant) else "{}"
                               for v in child.format_spec.values)  # type: ignore[attr-defined]
                if "." in spec and re.search(r"[gGeEfF%]$", spec) and not _timing(child.value):
                    what = ":.Ng"
            elif (isinstance(child, ast.BinOp) and isinstance(child.op, ast.Mod)
                  and isinstance(child.left, ast.Constant) and isinstance(child.left.value, str)
                  and _PERCENT.search(child.left.value)):
                what = "%g"
            if what:
                found.append((".".join(scope) or "<module>", what, child.lineno))
            visit(child, inner)

    visit(ast.parse(source), ())
    return found


def unjustified(package: Path = PACKAGE) -> list[str]:
    """Every detour in ``package`` that neither an evidence module nor :data:`ALLOWED`
    justifies, as ``module:line function what``."""
    out = []
    for path in sorted(package.rglob("*.py")):
        module = path.relative_to(package).as_posix()
        if any(module.startswith(prefix) for prefix in EVIDENCE_MODULES):
            continue
        for function, what, line in detours(path.read_text(encoding="utf-8")):
            if (module, function, what) not in ALLOWED:
                out.append(f"snn_theory/{module}:{line} {function} {what}")
    return out


def test_no_number_takes_a_detour_through_a_float() -> None:
    problems = unjustified()
    assert not problems, (
        "certified values must be printed with snn_theory.exact's outward formatters and user "
        "numbers read with its parser; justify a float use in tests/test_doors.py ALLOWED "
        "only when it is evidence, a heuristic or exact:\n" + "\n".join(problems))


def test_the_scan_finds_each_kind_of_detour() -> None:
    source = '''
def show(x, lo, hi, text):
    a = float(text)
    b = f"{lo:.6g}" + f"{hi:.3f}"
    c = "%.3g" % hi
    d = round(x, 3)
    e = x.str(8, radius=False)
    f = f"{x:.{n}g}"
    g = round(result.seconds, 3)   # a timing: not a detour
    t = f"{r.seconds:.2f} s"       # a timing: not a detour
    h = x.str(8, radius=True)      # arb's enclosure: not a detour
    return f"{lo}" + f"{hi:>8}"
'''
    kinds = [what for _, what, _ in detours(source)]
    assert kinds == ["float(", ":.Ng", ":.Ng", "%g", "round(", ".str(radius=False)", ":.Ng"]
    assert {function for function, _, _ in detours(source)} == {"show"}


def test_every_allowance_names_a_real_module() -> None:
    for module, _, _ in ALLOWED:
        assert (PACKAGE / module).is_file(), module
    for prefix in EVIDENCE_MODULES:
        assert (PACKAGE / prefix).exists(), prefix
