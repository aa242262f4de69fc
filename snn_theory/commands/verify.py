"""``snn-theory verify-contraction``: prove (or refute) Theorems 1–3 in ball arithmetic.

The search is :mod:`snn_theory.verify`; certificates are written by
:mod:`snn_theory.certificate` and re-checked by ``snn-theory check-certificate``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from fractions import Fraction
from pathlib import Path

import click

from snn_theory.claims import (
    BUILTIN_CLAIMS,
    THEOREM_GROUPS,
    Claim,
    Domain,
    format_fraction,
    parse_number,
)
from snn_theory.commands.activation_option import activation_options, resolve
from snn_theory.files import writable_directory
from snn_theory.moment_map import InputError


def _claims(theorem: str, domain: str | None, claim: str | None) -> list[Claim]:
    if (domain is None) != (claim is None):
        raise InputError("give --domain and --claim together (e.g. --domain "
                         "'mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1' "
                         "--claim 'spectral_norm<1')")
    if domain is not None:
        return [Claim.parse(claim, Domain.parse(domain), name="user")]
    return [BUILTIN_CLAIMS[name] for name in THEOREM_GROUPS[theorem]]


def _verdict_text(result: object) -> str:
    if result.verdict == "holds":
        return "holds (certified)"
    if result.verdict == "refuted":
        point = ", ".join(f"{float(x):.6g}" for x in result.counterexample[0])
        return f"FALSE at ({point})"
    return f"undecided: {result.reason}"


def _enclosure_text(result: object) -> str:
    from snn_theory.verify import decimal_text

    if result.extremum is None:
        return "—"
    lo, hi = result.extremum
    return (f"{result.claim.kind} ∈ [{decimal_text(lo, -1, 10)}, {decimal_text(hi, 1, 10)}]")


@click.command("verify-contraction")
@click.option("--theorem", type=click.Choice(["1", "2", "3", "appendix", "all"]), default="all",
              show_default=True, help="Which built-in claims to verify.")
@click.option("--grid", type=click.Choice(["coarse", "fine", "paper"]), default="coarse",
              show_default=True,
              help="Initial uniform partition: coarse = 2 cells per dimension (16 boxes), "
                   "fine = 8 per dimension (4096 boxes); refinement is adaptive. "
                   "'paper' only with --method paper.")
@click.option("--tolerance", default="1e-6", show_default=True,
              help="Refine each extremum enclosure until it is narrower than this.")
@click.option("--jobs", "-j", type=int, default=None,
              help="Worker processes (default: all cores).")
@click.option("--certificate-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("proofs"), show_default=True,
              help="Where the proof certificates (and the resume state, in .state/) go.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its saved state.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--domain", default=None,
              help="Own claim: domain 'mu=a:b,omega=a:b,nu=a:b,tau=a:b' (with --claim).")
@click.option("--claim", "claim_text", default=None,
              help="Own claim: e.g. 'spectral_norm<1', 'variance_change>0', 'J22<=0.9'.")
@click.option("--lam", default=None, help="λ: exact decimal or interval a:b (default λ01 "
                                          "enclosed from its closed form).")
@click.option("--alpha", default=None, help="α: exact decimal or interval a:b (default α01).")
@click.option("--max-boxes", type=int, default=None,
              help="Box budget per claim (default 400000); undecided when exhausted.")
@click.option("--time-limit", type=float, default=None,
              help="Seconds per claim; undecided when reached.")
@click.option("--method", type=click.Choice(["interval", "paper"]), default="interval",
              show_default=True,
              help="interval: branch-and-bound in ball arithmetic; paper: the paper's grid + "
                   "mean-value argument (--theorem 1|appendix).")
@activation_options
def verify_command(theorem: str, grid: str, tolerance: str, jobs: int | None,
                   certificate_dir: Path, resume: bool, as_json: bool, domain: str | None,
                   claim_text: str | None, lam: str | None, alpha: str | None,
                   max_boxes: int | None, time_limit: float | None, method: str,
                   activation: str, scale: str, shift: str) -> None:
    """Prove the paper's Theorems 1–3 by interval branch-and-bound in ball arithmetic.

    Each claim (quantity relation threshold on a box in μ, ω, ν, τ) gets a certified
    enclosure of its deciding extremum (max for < and ≤, min for > and ≥), a verdict and a
    certificate in --certificate-dir that `snn-theory check-certificate` re-verifies.

    With --activation other than selu, the claims are about that activation (--theorem 1:
    S < 1 and g maps the (μ, ν) box into itself), decided with rigorous Gaussian integrals;
    certificates record the activation's definition.

    Exit status: 0 every claim holds, 1 a claim is false (with a counterexample),
    3 a claim is undecided (budget), 2 bad input.
    """
    from rich.console import Console

    act = resolve(activation, scale, shift)
    if not act.is_selu and (method != "interval" or lam is not None or alpha is not None
                            or resume or grid == "paper"):
        raise InputError("--method paper, --grid paper, --lam, --alpha and --resume are for "
                         "SELU; with --activation use --scale/--shift")
    if jobs is not None and jobs < 1:
        raise InputError(f"--jobs must be ≥ 1 (got {jobs})")
    if max_boxes is not None and max_boxes < 1:
        raise InputError(f"--max-boxes must be ≥ 1 (got {max_boxes})")
    if time_limit is not None and not time_limit > 0:
        raise InputError(f"--time-limit must be > 0 (got {time_limit})")
    tol = parse_number(tolerance, "--tolerance")
    if tol <= 0:
        raise InputError(f"--tolerance must be > 0 (got {tolerance})")
    console = Console(stderr=True)
    show_progress = not as_json and console.is_terminal

    if method == "paper":
        if domain is not None or claim_text is not None or lam is not None or alpha is not None:
            raise InputError("--method paper checks the built-in contraction claims only "
                             "(no --domain/--claim/--lam/--alpha)")
        if theorem not in ("1", "appendix"):
            raise InputError("--method paper supports --theorem 1|appendix")
        certificate_dir = writable_directory(certificate_dir, "certificate dir")
        from snn_theory.paper_method import render_paper_result, run_paper_method

        entry = run_paper_method(theorem, grid, resume, state_dir=certificate_dir / ".state",
                                 progress=show_progress)
        if as_json:
            click.echo(json.dumps({"claims": [entry]}))
        else:
            click.echo(render_paper_result(entry))
        sys.exit({True: 0, False: 1}.get(entry.get("holds"), 3))

    if grid == "paper":
        raise InputError("--grid paper belongs to --method paper")
    if not act.is_selu:
        from snn_theory.commands import verify_activation

        verify_activation.run(act, theorem, domain, claim_text, jobs or os.cpu_count() or 1,
                              writable_directory(certificate_dir, "certificate dir"),
                              max_boxes, time_limit, as_json, show_progress)
        return
    claims = _claims(theorem, domain, claim_text)
    from snn_theory.verify import DEFAULT_MAX_BOXES, Constants, Runner, Settings, verify_claim

    constants = Constants.parse(lam, alpha)
    if not constants.closed_form:
        # A claim checked with other constants is another claim: it must not carry (or
        # overwrite the certificate of) the built-in name proven for λ01, α01.
        label = f"[lam={lam or 'lam01'},alpha={alpha or 'alpha01'}]"
        claims = [dataclasses.replace(c, name=c.name + label) for c in claims]
    certificate_dir = writable_directory(certificate_dir, "certificate dir")
    settings = Settings(grid=grid, tolerance=tol, jobs=jobs or os.cpu_count() or 1,
                        max_boxes=max_boxes or DEFAULT_MAX_BOXES, time_limit=time_limit,
                        constants=constants, state_dir=certificate_dir / ".state",
                        resume=resume)
    results = []
    with Runner(settings.jobs) as runner, _progress(console, show_progress) as progress:
        for claim in claims:
            result = verify_claim(claim, settings, runner, progress)
            result.certificate = _write(certificate_dir, result)
            results.append(result)
    if as_json:
        click.echo(json.dumps({"claims": [r.json_entry() for r in results]}))
    else:
        _table(results)
    verdicts = [r.verdict for r in results]
    sys.exit(1 if "refuted" in verdicts else 3 if "undecided" in verdicts else 0)


def _write(directory: Path, result: object) -> str | None:
    from snn_theory.certificate import write_certificate

    path = write_certificate(directory, result.certificate_data())
    return None if path is None else str(path)


class _progress:
    """Rich progress line on stderr: claim, boxes, current extremum enclosure."""

    def __init__(self, console: object, enabled: bool):
        self.console, self.enabled = console, enabled
        self.bar = None
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> _progress:
        if self.enabled:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                TimeElapsedColumn(), console=self.console, transient=True,
                                auto_refresh=False)
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, claim: Claim, boxes: int,
                 enclosure: tuple[Fraction, Fraction] | None) -> None:
        if self.bar is None:
            return
        if claim.name not in self.tasks:
            self.tasks[claim.name] = self.bar.add_task(claim.name, total=None)
        text = ""
        if enclosure is not None:
            text = f"  {claim.kind} ∈ [{float(enclosure[0]):.10g}, {float(enclosure[1]):.10g}]"
        self.bar.update(self.tasks[claim.name], description=f"{claim.name}: {boxes} boxes{text}")
        self.bar.refresh()


def _table(results: list) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="verify-contraction (ball arithmetic, python-flint/Arb)")
    for column in ("name", "statement", "certified extremum enclosure", "verdict", "boxes",
                   "seconds"):
        table.add_column(column, justify="right" if column in ("boxes", "seconds") else "left")
    for r in results:
        statement = f"{r.claim.quantity} {r.claim.relation} {format_fraction(r.claim.threshold)}"
        table.add_row(r.claim.name, statement, _enclosure_text(r), _verdict_text(r),
                      str(len(r.leaves)), f"{r.seconds:.2f}")
    Console(soft_wrap=False, width=max(160, Console().width)).print(table)
    for r in results:
        if r.certificate:
            click.echo(f"certificate: {r.certificate}")
