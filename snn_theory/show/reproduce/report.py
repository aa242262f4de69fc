"""The reproduction report, rendered from the typed stage results of
:mod:`snn_theory.show.reproduce.results`.

* ``PROOFS/REPORT.md`` — Markdown tables: constants, each claim with the paper's statement
  (:data:`snn_theory.certify.claims.PAPER_STATEMENTS`) and the certified result, the checker's
  verdicts, the Monte Carlo runs, the domain map, the figures, the stages; for another
  activation: its parameters, its Theorem 1 analogue, the checker, its gains;
* ``PROOFS/reproduce.json`` — everything, machine-readable (:func:`to_json`), but no timings
  or versions: those go to the git-ignored ``PROOFS/reproduce.timings.json``, so that a
  repeat run rewrites the committed files byte for byte.

Numbers are copied verbatim from the results' own JSON (outward-rounded decimals); a number
too long for a table cell is cut with a pointer to the JSON, never presented as a bound.
The committed files do not depend on the machine: Monte Carlo numbers (evidence) keep the
digits their error law supports (:func:`~snn_theory.show.reproduce.results.mc_decimals`,
:data:`~snn_theory.show.reproduce.results.MC_SUMMARY_DIGITS`), other floats
:data:`FLOAT_DIGITS` significant digits, and where it ran goes to the timings file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from snn_theory import __version__
from snn_theory.certify.claims import CLAIM_FIGURES, EXPECTED_FALSE, PAPER_STATEMENTS
from snn_theory.exact import ball_text, decimal_text, format_fraction, interval_text
from snn_theory.files import atomic_write, dumps_json
from snn_theory.show.reproduce import networks
from snn_theory.show.reproduce.results import (
    PAVING,
    PAVING_MODES,
    AnalogueStage,
    CheckStage,
    ClaimsStage,
    ConstantsStage,
    DomainStage,
    Figure,
    FiguresStage,
    GainsStage,
    MonteCarloStage,
    ReportStage,
    Reproduction,
    Stage,
    invocation,
    mc_decimals,
    mc_summary,
)

#: Where reproduce writes what changes from run to run (git-ignored).
TIMINGS_FILE = "reproduce.timings.json"
#: Keys holding timings, versions or the machine, kept out of the committed outputs.
VOLATILE_KEYS = frozenset({"seconds", "compile_seconds", "points_per_second", "version",
                           "software", "elapsed", "devices"})


# --------------------------------------------------------------------------- JSON
def _figure_json(f: Figure) -> dict[str, Any]:
    return {"error": f.error} if f.path is None else {"path": str(f.path),
                                                       **_significant(f.summary)}


def _activation_name(repro: Reproduction) -> str | None:
    return None if repro.activation is None else repro.activation.definition


def stage_data(result: Any) -> dict[str, Any]:
    """The JSON of one typed stage result (the keys after name, ok, seconds, summary)."""
    if isinstance(result, ConstantsStage):
        return {"constants": result.result.to_json()}
    if isinstance(result, ClaimsStage):
        return {"verify": {"claims": [r.json_entry() for r in result.results]},
                "errata": list(result.errata), "unexpected": list(result.unexpected)}
    if isinstance(result, CheckStage):
        return {"certificates": [r.to_json() for r in result.reports],
                "missing": list(result.missing)}
    if isinstance(result, MonteCarloStage):
        runs = [_mc_run_json(r.to_json(), result.batch) for r in result.runs]
        checks = [{"width": c.width, "within_tolerance": c.within_tolerance,
                   "max_deviation": j["max_deviation"],
                   "converged_at_layer": j["converged_at_layer"], "seconds": j["seconds"]}
                  for c, j in zip(result.checks, runs, strict=True)]
        law = result.deviation_law
        return {"widths": list(result.widths), "batch": result.batch, "runs": runs,
                "checks": checks, "deviation_exponent": mc_summary(result.deviation_exponent),
                "deviation_law": None if law is None else _mc_summaries(law.to_json()),
                "final_widest": list(result.final_widest)}
    if isinstance(result, FiguresStage):
        data: dict[str, Any] = {"figures": {f.name: _figure_json(f) for f in result.figures}}
        if result.note:
            data["note"] = result.note
        return data
    if isinstance(result, DomainStage):
        return {"certificate": str(result.certificate), "check": result.report.to_json(),
                "figure": None if result.figure is None else _figure_json(result.figure)}
    if isinstance(result, AnalogueStage):
        row = result.row
        return {"activation": row.activation.to_json(), "parameters": row.parameters,
                "spectral_norm_at_fixed_point": row.spectral_norm.str(20),
                "verdict": row.verdict, "time_limit": result.time_limit,
                "max_boxes": result.max_boxes,
                "claims": [r.json_entry() for r in row.results]}
    if isinstance(result, GainsStage):
        return {"gains": gains_json(result)}
    if isinstance(result, ReportStage):
        return {}
    if isinstance(result, networks.NetworksStage):
        return {"tables": result.tables, "certificates": [r.to_json() for r in result.reports]}
    raise TypeError(f"no JSON for {type(result).__name__}")  # pragma: no cover


# ----------------------------------------------------- numbers that may differ by machine
#: Significant digits kept of the float (not certified) numbers of the figures' summaries;
#: float64 results of elementary functions differ in the last bits from one machine (or
#: numerical library) to another.
FLOAT_DIGITS = 10
#: Keys of the figures' summaries that hold Monte Carlo results (statistical summaries).
MC_KEYS = frozenset({"max_deviation", "monte_carlo_max_deviation"})


def _mc_run_json(run: dict[str, Any], batch: int) -> dict[str, Any]:
    """One Monte Carlo run as committed: per-layer means and variances (and spreads) to the
    decimals their error law supports (:func:`mc_decimals`), the deviations to
    :data:`MC_SUMMARY_DIGITS` significant digits, the iterates of g to :data:`FLOAT_DIGITS`;
    where it ran (``devices``) is left to the timings file."""
    d = mc_decimals(run["config"]["width"], batch)

    def layer(row: dict[str, Any]) -> dict[str, Any]:
        return {k: (v if k == "layer" or v is None else
                    _significant(v) if k.startswith("predicted") else round(v, d))
                for k, v in row.items()}

    return {**run, "layers": [layer(row) for row in run["layers"]],
            "max_deviation": _mc_summaries(run["max_deviation"])}


def _mc_summaries(obj: Any) -> Any:
    """Every float of ``obj`` rounded by :func:`mc_summary` (strings and the rest kept)."""
    if isinstance(obj, float):
        return mc_summary(obj)
    if isinstance(obj, dict):
        return {k: _mc_summaries(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_mc_summaries(v) for v in obj]
    return obj


def _significant(obj: Any, digits: int = FLOAT_DIGITS) -> Any:
    """Every float of ``obj`` to ``digits`` significant digits; under :data:`MC_KEYS` to
    the statistical summaries' digits.  Keys ending in ``_bounds`` hold float bounds rounded
    outward from an arb ball (the same on every machine): kept as they are, never rounded
    to nearest."""
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}") if math.isfinite(obj) else obj
    if isinstance(obj, dict):
        return {k: v if k.endswith("_bounds") else
                _mc_summaries(v) if k in MC_KEYS else _significant(v, digits)
                for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_significant(v, digits) for v in obj]
    return obj


def gains_json(stage: GainsStage) -> dict[str, Any]:
    """As ``snn-theory gain --json`` prints it (decimals rounded outward)."""
    from snn_theory.exact import decimal_enclosure

    r, d = stage.result, stage.digits
    return {"activation": r.activation.to_json(), "certified": True, "digits": d,
            "variance_gain": decimal_enclosure(r.variance_gain, d).as_dict(),
            "second_moment_gain": decimal_enclosure(r.second_moment_gain, d).as_dict(),
            "mean": decimal_enclosure(r.mean, d).as_dict(),
            "second_moment": decimal_enclosure(r.second_moment, d).as_dict(),
            "frameworks": [{"framework": f.framework, "value": f.value, "formula": f.formula,
                            "compared_with": f.compared_with,
                            "relative_error": ball_text(f.relative_error, 3),
                            "note": f.note} for f in r.frameworks]}


def stage_json(stage: Stage) -> dict[str, Any]:
    head = {"name": stage.name, "ok": stage.ok, "seconds": round(stage.seconds, 3),
            "summary": stage.summary}
    if stage.result is None:
        return {**head, "error": stage.error}
    return {**head, **stage_data(stage.result)}


def to_json(repro: Reproduction) -> dict[str, Any]:
    """Everything of a run (with its timings and version; :func:`write_json` splits them)."""
    data: dict[str, Any] = {"mode": repro.mode, "out": str(repro.out), "ok": repro.ok}
    if repro.activation is not None:
        data["activation"] = repro.activation.to_json()
        data["outcome"] = repro.outcome.value
    data.update({"report": str(repro.report) if repro.report else None,
                 "version": __version__,
                 "stages": {s.name: stage_json(s) for s in repro.stages},
                 "seconds": round(sum(s.seconds for s in repro.stages), 3)})
    return _jsonable(data)


def write_json(repro: Reproduction) -> Path:
    """``PROOFS/reproduce.json`` (no timings or versions, so that a repeat run rewrites it
    byte for byte) and the git-ignored ``PROOFS/reproduce.timings.json``."""
    full = to_json(repro)
    path = repro.proofs / "reproduce.json"
    atomic_write(path, json.dumps(_without_timings(full), indent=1) + "\n")
    timings = {"note": "timings and software versions of the last reproduction (not "
                       "committed: they change from run to run)",
               "software": _software(), "stage_seconds": {s.name: round(s.seconds, 3)
                                                          for s in repro.stages},
               "run": _timings_only(full)}
    atomic_write(repro.proofs / TIMINGS_FILE, dumps_json(timings, indent=1) + "\n")
    return path


def _without_timings(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _without_timings(v) for k, v in obj.items() if k not in VOLATILE_KEYS}
    if isinstance(obj, list):
        return [_without_timings(v) for v in obj]
    return obj


def _timings_only(obj: Any) -> Any:
    """The volatile entries of ``obj``, at their paths (empty branches dropped)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in VOLATILE_KEYS:
                out[k] = v
            else:
                sub = _timings_only(v)
                if sub not in ({}, [], None):
                    out[k] = sub
        return out
    if isinstance(obj, list):
        items = [_timings_only(v) for v in obj]
        return items if any(i not in ({}, [], None) for i in items) else []
    return None


def _software() -> dict[str, str]:
    from snn_theory.certify.certificate.io import software_versions

    return software_versions()


def json_default(obj: Any) -> Any:
    """``json.dumps`` default for what the results hold: arrays, paths, tuples, sets."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, tuple | set):
        return list(obj)
    return str(obj)


def _jsonable(obj: Any) -> Any:
    return json.loads(dumps_json(obj, default=json_default))


# --------------------------------------------------------------------------- Markdown
def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def verdict_text(claim: dict[str, Any]) -> str:
    """holds / FALSE (expected: erratum) / FALSE / undecided, for tables (from a claim's
    JSON entry)."""
    holds = claim.get("holds")
    if holds is True:
        return "holds"
    if holds is False:
        return "FALSE (expected: erratum)" if claim.get("name") in EXPECTED_FALSE else "FALSE"
    return "undecided"


def _enclosure(ext: dict[str, Any]) -> str:
    if ext.get("lower") is None and ext.get("upper") is None:
        return "—"
    return f"[{ext.get('lower')}, {ext.get('upper')}]"


def _long(text: str, keep: int = 110) -> str:
    """A decimal in full up to ``keep`` characters, else its start and "… (see
    reproduce.json)" — a cut number is never presented as a bound."""
    text = str(text)
    return text if len(text) <= keep else f"{text[:keep]}… (all digits in reproduce.json)"


def _summary(stage: Stage | None) -> str:
    return stage.summary if stage else "stage missing"


def _figure_links(fig_paths: dict[str, Figure], names: Any, prefix: str) -> str:
    return ", ".join(f"[{f}]({prefix}{fig_paths[f].path.name})" for f in names
                     if f in fig_paths and fig_paths[f].path is not None)


def write_report(repro: Reproduction) -> Path:
    """Write ``PROOFS/REPORT.md`` (Markdown tables; numbers verbatim from the JSON)."""
    lines = (_selu_report(repro) if repro.activation is None else _activation_report(repro))
    path = repro.proofs / "REPORT.md"
    atomic_write(path, "\n".join(lines))
    return path


def _head(repro: Reproduction, add: Any) -> None:
    status = "everything holds" if repro.ok else "NOT everything holds"
    add("# snn-theory: reproduction report" + ("" if repro.activation is None else
                                               f" for {repro.activation.label()}"))
    add("")
    add(f"`{invocation(repro.mode, _activation_name(repro))}`: **{status}**.  (Timings and "
        f"software versions of the run: `{_rel(repro.proofs / TIMINGS_FILE, repro)}`, not "
        f"committed.)")
    add("")


def _rel(path: Path, repro: Reproduction) -> Path:
    try:
        return path.relative_to(repro.out)
    except ValueError:  # pragma: no cover - proofs is always under out
        return path


def _figures_section(fig_paths: dict[str, Figure], add: Any, prefix: str) -> None:
    add("## Figures")
    add("")
    for name, info in fig_paths.items():
        if info.path is not None:
            add(f"![{name}]({prefix}{info.path.name})")
            add("")
        else:
            add(f"- {name}: not drawn ({_md(info.error)})")
    add("")


def _stages_section(repro: Reproduction, add: Any) -> None:
    add("## Stages")
    add("")
    add("| stage | holds | summary |")
    add("|---|---|---|")
    for s in repro.stages:
        add(f"| {s.name} | {s.ok} | {_md(s.summary)} |")
    add("")


def _selu_report(repro: Reproduction) -> list[str]:
    lines: list[str] = []
    add = lines.append
    _head(repro, add)
    add("Certified numbers are rigorous enclosures computed in ball arithmetic (Arb through "
        "python-flint) and re-checked by the independent certificate checker; the Monte Carlo "
        "stage is a statistical sanity check, not a proof.")
    add("")

    const = repro.stage("constants")
    add("## Constants (docs/mathematics.md §3)")
    add("")
    cj = const.result.result.to_json() if const and const.result else {}
    if cj.get("certified"):
        add("| constant | certified enclosure [lower, upper] | value | digits |")
        add("|---|---|---|---|")
        for key, name in (("lambda", "λ01"), ("alpha", "α01")):
            c = cj[key]
            add(f"| {name} | [{_long(c['lower'])}, {_long(c['upper'])}] | {_long(c['value'])} "
                f"| {cj['digits']} |")
        add("")
        add(f"Closed forms agree: {cj.get('closed_form_agrees')}. Nearest float64: "
            + ", ".join(f"{k} = {v!r}" for k, v in (cj.get("float64") or {}).items()
                        if "[" not in k) + ".")
        if cj.get("dropout"):
            add("")
            add("| dropout rate | α′ (value) | a (value) | b (value) |")
            add("|---|---|---|---|")
            for d in cj["dropout"]:
                add(f"| {d['rate']} | {_long(d['alpha_prime'])} | {_long(d['a'])} | "
                    f"{_long(d['b'])} |")
    else:
        add(f"Not certified: {_summary(const)}")
    add("")

    claims = repro.stage("claims")
    check = repro.result("check")
    figures = repro.result("figures")
    fig_paths = {f.name: f for f in figures.figures} if figures else {}
    checked = {Path(r.path).name: r for r in (check.reports if check else ())}
    add("## Claims (docs/mathematics.md §4)")
    add("")
    entries = ([r.json_entry() for r in claims.result.results]
               if claims and claims.result else [])
    if entries:
        add("| claim | paper's statement | checked statement | extremum | certified enclosure "
            "[lower, upper] | verdict | boxes | certificate | checker | figures |")
        add("|---|---|---|---|---|---|---|---|---|---|")
        for c in entries:
            ext = c.get("extremum") or {}
            cert = c.get("certificate")
            rep = checked.get(Path(cert).name) if cert else None
            checker = ("valid" if rep and rep.valid else
                       f"INVALID: {rep.message}" if rep else "—")
            figs = _figure_links(fig_paths, CLAIM_FIGURES.get(c["name"], ()), "../figures/")
            add(f"| {c['name']} | {_md(PAPER_STATEMENTS.get(c['name'], '—'))} | "
                f"{_md(c.get('statement', ''))} | {ext.get('kind', '')} | "
                f"{_enclosure(ext)} | {verdict_text(c)} | {c.get('boxes')} | "
                f"{Path(cert).name if cert else '—'} | {_md(checker)} | {figs or '—'} |")
        errata = [c for c in entries if c.get("holds") is False and c["name"] in EXPECTED_FALSE]
        if errata:
            add("")
            add("Errata (claims refuted as expected, each with a certified counterexample the "
                "checker re-verified):")
            add("")
            for c in errata:
                add(f"- **{c['name']}**: {EXPECTED_FALSE[c['name']]}. Counterexample: "
                    f"`{json.dumps(c.get('counterexample'))}`.")
    else:
        add(f"Not verified: {_summary(claims)}")
    add("")

    mc_stage = repro.stage("monte-carlo")
    mc = mc_stage.result if mc_stage else None
    add("## Monte Carlo (docs/mathematics.md §6; statistical, not a proof)")
    add("")
    if mc is not None and mc.runs:
        add("| width | depth | batch | max abs mean deviation | max abs variance deviation | "
            "converged at layer | within tolerance |")
        add("|---|---|---|---|---|---|---|")
        for run, chk in zip(mc.runs, mc.checks, strict=True):
            run_json = run.to_json()
            cfg = run_json["config"]
            dev = run_json["max_deviation"]
            add(f"| {cfg['width']} | {cfg['depth']} | {cfg['batch']} | "
                f"{mc_summary(dev['mean']):g} | {mc_summary(dev['variance']):g} | "
                f"{run_json['converged_at_layer']} | {chk.within_tolerance} |")
        add("")
        add(f"{mc.summary}.")
        add("")
        if mc.deviation_exponent is not None:
            add(f"Power-law fit of the largest deviation against width: "
                f"N^{mc.deviation_exponent:.2f} (pure sampling error would give −0.5, pure "
                "finite-width fluctuation −1).")
            add("")
        if mc.deviation_law is not None:
            law = mc.deviation_law.to_json()
            add(f"Deviation law {law['law']} (sampling error of N·B values plus the frozen "
                f"fluctuations of one network of width N): {law['verdict']}.")
    else:
        add(f"Not run: {_summary(mc_stage)}")
    add("")

    net = repro.stage("networks")
    lines += networks.report_lines(net.result if net else None, _summary(net))
    _domain_section(repro, add)
    _figures_section(fig_paths, add, "../figures/")
    _stages_section(repro, add)
    return lines


def _domain_section(repro: Reproduction, add: Any) -> None:
    add("## Domain map (README, \"How far does Theorem 1 stretch?\"; `snn-theory map-domain`)")
    add("")
    stage = repro.stage("domain-map")
    if stage is None:
        add(f"The committed paving certificate `{PAVING}` (and `figures/domain_map.png`) is "
            f"re-checked from scratch by `{invocation(PAVING_MODES[0])}` (the checker "
            "takes about 35 s); this run did not check it, so nothing about it is claimed "
            "here (`snn-theory check-certificate proofs/domain.paving.json.gz` checks it "
            "alone).")
        add("")
        return
    domain: DomainStage | None = stage.result
    if domain is None or not domain.report.valid:
        add(f"NOT re-checked: {_md(stage.summary)}")
        add("")
        return
    r = domain.report
    spec = r.spec or {}
    box, region = spec.get("box", {}), spec.get("region", {})
    add(f"Re-checked from scratch in this run (`{invocation(repro.mode)}`): every cell's "
        f"evidence of `{PAVING}` re-derived by the independent checker ({_md(r.message)}). "
        f"For B = μ ∈ [{', '.join(box.get('mu', []))}] × ν ∈ [{', '.join(box.get('nu', []))}] "
        f"over ω ∈ [{', '.join(region.get('omega', []))}] × τ ∈ "
        f"[{', '.join(region.get('tau', []))}] (constants λ01, α01), a proven cell satisfies "
        "S < 1 and g(B × cell) ⊆ B (ball arithmetic); a refuted one has a checked "
        "counterexample.")
    add("")
    add("| verdict | cells | area |")
    add("|---|---|---|")
    for v in ("proven", "refuted", "undecided"):
        add(f"| {v} | {r.counts.get(v, 0)} | {r.areas.get(v)} |")
    add("")
    if r.largest:
        from fractions import Fraction

        from snn_theory.certify.domains import paper_areas

        paper = paper_areas()
        ratio = Fraction(r.largest["area"]) / Fraction(paper["Theorem 1"])
        add(f"Largest certified rectangle around (0, 1): ω ∈ [{', '.join(r.largest['omega'])}] "
            f"× τ ∈ [{', '.join(r.largest['tau'])}], area {r.largest['area']}, "
            f"{interval_text(ratio, ratio, 4)} × Theorem 1's rectangle ω ∈ [−0.1, 0.1] × τ ∈ [0.95, 1.1] "
            f"(area {paper['Theorem 1']}; the appendix's contraction-only rectangle, area "
            f"{paper['Appendix (wide tau, contraction only)']}, is about S < 1 alone, not "
            "g(B) ⊆ B).")
        add("")
    if domain.figure is not None and domain.figure.path is not None:
        add(f"![domain_map](../figures/{domain.figure.path.name})")
        add("")


def _activation_report(repro: Reproduction) -> list[str]:
    lines: list[str] = []
    add = lines.append
    _head(repro, add)
    add("Certified numbers are rigorous enclosures in ball arithmetic (rigorous Gaussian "
        "integrals, Arb through python-flint), each claim's certificate re-checked by the "
        "independent checker.  A refuted claim has a checked counterexample; an undecided "
        "one ran out of its budget: neither is claimed to hold.")
    add("")
    stage = repro.stage("analogue")
    analogue: AnalogueStage | None = stage.result if stage else None
    check: CheckStage | None = repro.result("check")
    checked = {Path(r.path).name: r for r in (check.reports if check else ())}
    add("## Parameters and the Theorem 1 analogue (docs/mathematics.md §8)")
    add("")
    if analogue is None:
        add(f"Not run: {_md(_summary(stage))}")
    else:
        row = analogue.row
        add(f"Activation c·f + d with f = `{repro.activation.definition}`: {row.parameters} "
            "(certified to make (0, 1) the fixed point of g at ω = 0, τ = 1, then rounded to "
            "the decimals shown: the claims are about exactly this c, d).  S(H) at (0, 1): "
            f"{row.spectral_norm.str(20)}.")
        add("")
        add(f"Theorem 1 analogue on the paper's domain (μ, ω ∈ [−0.1, 0.1], ν ∈ [0.8, 1.5], "
            f"τ ∈ [0.95, 1.1]): **{row.verdict}** (budget {analogue.time_limit:g} s and "
            f"{analogue.max_boxes} boxes per claim).")
        add("")
        add("| claim | statement | verdict | extremum bound | boxes | certificate | checker |")
        add("|---|---|---|---|---|---|---|")
        for r in row.results:
            lo, hi = r.extremum if r.extremum is not None else (None, None)
            end = hi if r.claim.kind == "max" else lo
            # rounded outward: the printed bound is implied by the certified one
            bound = ("—" if end is None else f"{r.claim.kind} ≤ {decimal_text(end, 1, 10)}"
                     if r.claim.kind == "max" else f"min ≥ {decimal_text(end, -1, 10)}")
            verdict = ("holds (certified)" if r.verdict == "holds" else
                       f"undecided: {r.reason}" if r.verdict != "refuted" else
                       "FALSE at (μ, ω, ν, τ) = (" + ", ".join(
                           format_fraction(x) for x in r.counterexample[0]) + ")")
            rep = checked.get(Path(r.certificate).name) if r.certificate else None
            checker = ("valid" if rep and rep.valid else
                       f"INVALID: {rep.message}" if rep else "—")
            add(f"| {r.claim.name} | {_md(r.claim.statement)} | {_md(verdict)} | {bound} | "
                f"{len(r.leaves)} | {Path(r.certificate).name if r.certificate else '—'} | "
                f"{_md(checker)} |")
    add("")
    gains_stage = repro.stage("gains")
    gains: GainsStage | None = gains_stage.result if gains_stage else None
    add("## Gains (`snn-theory gain`)")
    add("")
    if gains is None:
        add(f"Not certified: {_md(_summary(gains_stage))}")
    else:
        g = gains_json(gains)
        add(f"For f = `{repro.activation.definition}` itself and Z ~ N(0, 1), "
            f"{gains.digits} decimals, rounded outward:")
        add("")
        add("| quantity | certified enclosure [lower, upper] |")
        add("|---|---|")
        for key, label in (("variance_gain", "γ_var = 1/√Var[f(Z)]"),
                           ("second_moment_gain", "γ_2 = 1/√E[f(Z)²]"),
                           ("mean", "E[f(Z)]"), ("second_moment", "E[f(Z)²]")):
            add(f"| {label} | [{g[key]['lower']}, {g[key]['upper']}] |")
        for f in g["frameworks"]:
            add("")
            add(f"{f['framework']}: {f['value']!r} ({_md(f['formula'])}), relative error "
                f"against the {f['compared_with']} gain {f['relative_error']}"
                + (f" ({_md(f['note'])})" if f["note"] else "") + ".")
    add("")
    figures: FiguresStage | None = repro.result("figures")
    fig_paths = {f.name: f for f in figures.figures} if figures else {}
    if figures is not None and figures.note and not fig_paths:
        add("## Figures")
        add("")
        add(f"None in this mode: {_md(figures.note)}.")
        add("")
    else:
        _figures_section(fig_paths, add, f"../../figures/{repro.figures.name}/")
    _stages_section(repro, add)
    return lines


__all__ = ["TIMINGS_FILE", "json_default", "stage_json", "to_json", "verdict_text",
           "write_json", "write_report"]
