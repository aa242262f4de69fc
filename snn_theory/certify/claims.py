"""Claims as data: a domain box in (μ, ω, ν, τ), a quantity, a relation and a threshold.

The built-in claims are the paper's Theorems 1–3 and the appendix's wider-τ contraction
(docs/mathematics.md §4; Klambauer et al. 2017, Section 3 and Appendix A3).  Domain endpoints and
thresholds are exact rationals (parsed from decimal strings), never floats.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

from snn_theory.derive.formulas import QUANTITIES, VARIABLE_NAMES
from snn_theory.errors import InputError
from snn_theory.exact import format_fraction, parse_exact

#: A claim's relation as the comparison of a bound with the threshold.
_RELATIONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}

RELATIONS: tuple[str, ...] = ("<=", ">=", "<", ">")

Interval = tuple[Fraction, Fraction]


#: Claim names: plain ASCII letters, digits and ``. _ - [ ] =, : / +`` (no spaces, no
#: look-alike or invisible characters), at most 200 characters.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-\[\]=,:/+]{0,199}")


def normalise_name(name: str) -> str:
    """The form two names are compared in: NFKC, format characters (zero-width etc.) and
    whitespace removed, case folded."""
    text = unicodedata.normalize("NFKC", str(name))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf" and not ch.isspace())
    return text.casefold()


def check_name(name: str, what: str = "claim name") -> str:
    """``name`` if it is spelt in the plain alphabet of :data:`NAME_PATTERN`; InputError."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InputError(f"{what}: {str(name)[:60]!r} is not a valid name (use ASCII letters, "
                         "digits and . _ - [ ] =, : / +, starting with a letter or digit)")
    return name


@dataclass(frozen=True)
class Domain:
    """A box [a_μ, b_μ] × [a_ω, b_ω] × [a_ν, b_ν] × [a_τ, b_τ] with exact rational ends."""

    bounds: tuple[Interval, Interval, Interval, Interval]

    def __post_init__(self) -> None:
        for name, (a, b) in zip(VARIABLE_NAMES, self.bounds):
            if not a < b:
                raise InputError(f"domain: {name} interval [{format_fraction(a)}, "
                                 f"{format_fraction(b)}] is empty or reversed")
            if name in ("nu", "tau") and a <= 0:
                raise InputError(f"domain: {name} must stay > 0 (got lower end "
                                 f"{format_fraction(a)})")

    @classmethod
    def parse(cls, text: str) -> Domain:
        """Parse ``"mu=a:b,omega=a:b,nu=a:b,tau=a:b"`` (all four variables, any order)."""
        parts: dict[str, Interval] = {}
        for item in str(text).split(","):
            match = re.fullmatch(r"\s*(\w+)\s*=\s*([^:]+):([^:]+)\s*", item)
            if not match:
                raise InputError(f"domain: cannot parse {item.strip()!r}; expected name=a:b "
                                 "as in 'mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1'")
            name = match.group(1)
            if name not in VARIABLE_NAMES:
                raise InputError(f"domain: unknown variable {name!r}; use mu, omega, nu, tau")
            if name in parts:
                raise InputError(f"domain: {name} given twice")
            parts[name] = (parse_exact(match.group(2), f"domain {name}"),
                           parse_exact(match.group(3), f"domain {name}"))
        missing = [n for n in VARIABLE_NAMES if n not in parts]
        if missing:
            raise InputError(f"domain: missing {', '.join(missing)}")
        return cls(tuple(parts[n] for n in VARIABLE_NAMES))  # type: ignore[arg-type]

    def to_json(self) -> dict[str, list[str]]:
        return {n: [format_fraction(a), format_fraction(b)]
                for n, (a, b) in zip(VARIABLE_NAMES, self.bounds)}

    @classmethod
    def from_json(cls, data: dict[str, list[str]]) -> Domain:
        return cls(tuple((parse_exact(data[n][0], n), parse_exact(data[n][1], n))
                         for n in VARIABLE_NAMES))  # type: ignore[arg-type]

    def __str__(self) -> str:
        return ", ".join(f"{n} ∈ [{format_fraction(a)}, {format_fraction(b)}]"
                         for n, (a, b) in zip(VARIABLE_NAMES, self.bounds))


@dataclass(frozen=True)
class Claim:
    """``quantity relation threshold`` for every point of ``domain``.

    ``kind`` is the extremum that decides the claim: the maximum for < and ≤, the minimum
    for > and ≥.
    """

    name: str
    quantity: str
    relation: str
    threshold: Fraction
    domain: Domain

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.quantity not in QUANTITIES:
            raise InputError(f"claim: unknown quantity {self.quantity!r}; choose one of "
                             f"{', '.join(QUANTITIES)}")
        if self.relation not in RELATIONS:
            raise InputError(f"claim: unknown relation {self.relation!r}; use <, <=, >, >=")

    @property
    def kind(self) -> str:
        return "max" if self.relation in ("<", "<=") else "min"

    @property
    def statement(self) -> str:
        return f"{self.quantity} {self.relation} {format_fraction(self.threshold)} on {self.domain}"

    @property
    def statement_key(self) -> tuple:
        """What the claim says (quantity, relation, threshold, domain), without its name."""
        return (self.quantity, self.relation, self.threshold, self.domain.bounds)

    def default_name(self, constants: dict | None = None) -> str:
        """A name derived from the statement (and the constants' JSON, when given):
        ``user.<quantity>.<12 hex digits of a hash>``, so that different claims never share
        a name (nor a certificate file)."""
        import hashlib
        import json

        text = json.dumps({"claim": dict(self.to_json(), name=None), "constants": constants},
                          sort_keys=True)
        return f"user.{self.quantity}.{hashlib.sha256(text.encode()).hexdigest()[:12]}"

    def satisfied_by(self, upper_or_lower: Fraction | float) -> bool:
        """Whether a bound on the deciding extremum proves the claim."""
        return _RELATIONS[self.relation](upper_or_lower, self.threshold)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "quantity": self.quantity, "relation": self.relation,
                "threshold": format_fraction(self.threshold), "domain": self.domain.to_json()}

    @classmethod
    def from_json(cls, data: dict) -> Claim:
        return cls(str(data["name"]), str(data["quantity"]), str(data["relation"]),
                   parse_exact(data["threshold"], "threshold"), Domain.from_json(data["domain"]))

    @classmethod
    def parse(cls, text: str, domain: Domain, name: str = "user") -> Claim:
        """Parse ``"spectral_norm<1"``, ``"variance_change > 0"``, ``"J22<=0.9"``."""
        match = re.fullmatch(r"\s*(\w+)\s*(<=|>=|<|>)\s*(\S+)\s*", str(text))
        if not match:
            raise InputError(f"claim: cannot parse {text!r}; expected e.g. 'spectral_norm<1'")
        return cls(name, match.group(1), match.group(2),
                   parse_exact(match.group(3), "claim threshold"), domain)


def _domain(mu: str, omega: str, nu: str, tau: str) -> Domain:
    return Domain.parse(f"mu={mu},omega={omega},nu={nu},tau={tau}")


#: The domains of docs/mathematics.md §4 (paper Theorems 1–3 and the appendix's wider τ range).
THEOREM_DOMAINS: dict[str, Domain] = {
    "theorem1": _domain("-0.1:0.1", "-0.1:0.1", "0.8:1.5", "0.95:1.1"),
    "appendix": _domain("-0.1:0.1", "-0.1:0.1", "0.8:1.5", "0.8:1.25"),
    "theorem2": _domain("-1:1", "-0.1:0.1", "3:16", "0.8:1.25"),
    "theorem3a": _domain("-0.1:0.1", "-0.1:0.1", "0.02:0.16", "0.8:1.25"),
    "theorem3b": _domain("-0.1:0.1", "-0.1:0.1", "0.02:0.24", "0.9:1.25"),
}


def _claim(name: str, text: str, domain: str) -> Claim:
    return Claim.parse(text, THEOREM_DOMAINS[domain], name=name)


#: The built-in claims, by name, grouped by theorem.
BUILTIN_CLAIMS: dict[str, Claim] = {
    c.name: c
    for c in (
        _claim("theorem1.contraction", "spectral_norm<1", "theorem1"),
        _claim("theorem1.mean_lower", "mean>=-0.03106", "theorem1"),
        _claim("theorem1.mean_upper", "mean<=0.06773", "theorem1"),
        _claim("theorem1.variance_lower", "variance>=0.80009", "theorem1"),
        _claim("theorem1.variance_upper", "variance<=1.48617", "theorem1"),
        _claim("appendix.contraction_wide_tau", "spectral_norm<1", "appendix"),
        _claim("theorem2.variance_decreases", "variance_change<0", "theorem2"),
        _claim("theorem3a.variance_increases", "variance_change>0", "theorem3a"),
        _claim("theorem3b.variance_increases", "variance_change>0", "theorem3b"),
    )
}

#: ``--theorem`` choices → claim names.
THEOREM_GROUPS: dict[str, tuple[str, ...]] = {
    "1": tuple(n for n in BUILTIN_CLAIMS if n.startswith("theorem1.")),
    "2": ("theorem2.variance_decreases",),
    "3": ("theorem3a.variance_increases", "theorem3b.variance_increases"),
    "appendix": ("appendix.contraction_wide_tau",),
}
THEOREM_GROUPS["all"] = tuple(BUILTIN_CLAIMS)


def builtin_claim_for(claim: Claim, closed_form: bool) -> Claim | None:
    """The built-in claim ``claim`` *is*, decided by its statement, not by its name.

    Returns the built-in claim with the same quantity, relation, threshold and domain when
    the constants are the closed forms λ01, α01 (whatever ``claim`` is called), else None.
    Raises InputError for a name that normalises (NFKC, invisible characters, whitespace,
    case; :func:`normalise_name`) to a built-in name but states something else — a
    look-alike of a theorem must not pass as that theorem or as a user claim.
    """
    key = normalise_name(claim.name)
    for builtin in BUILTIN_CLAIMS.values():
        if normalise_name(builtin.name) == key and (
                builtin.statement_key != claim.statement_key or not closed_form):
            raise InputError(
                f"claim {claim.name!r} bears the name of the built-in claim {builtin.name!r} "
                "but states something else (" + ("other constants than λ01, α01" if
                builtin.statement_key == claim.statement_key else
                f"{claim.quantity} {claim.relation} {format_fraction(claim.threshold)} on "
                f"{claim.domain}") + ")")
    if not closed_form:
        return None
    for builtin in BUILTIN_CLAIMS.values():
        if builtin.statement_key == claim.statement_key:
            return builtin
    return None


# ------------------------------------------------------------------------------ paper text
# What the paper says about each built-in claim, its figures and its errata: the one home of
# this metadata (the reproduction report and the figures read it from here).

#: Labels of the theorem domains of :data:`THEOREM_DOMAINS` in figures and reports.
THEOREM_LABELS: dict[str, str] = {
    "theorem1": "Theorem 1",
    "appendix": "appendix (τ ∈ [0.8, 1.25])",
    "theorem2": "Theorem 2",
    "theorem3a": "Theorem 3 (a)",
    "theorem3b": "Theorem 3 (b)",
}

#: The paper's wording of each built-in claim (Klambauer et al. 2017, Section 3 and appendix;
#: domains as in docs/mathematics.md §4).
PAPER_STATEMENTS: dict[str, str] = {
    "theorem1.contraction": "Theorem 1: g is a contraction on Ω (S(H) < 1)",
    "theorem1.mean_lower": "Theorem 1: g maps Ω into itself, μ̃ ≥ −0.03106",
    "theorem1.mean_upper": "Theorem 1: μ̃ ≤ 0.06773",
    "theorem1.variance_lower": "Theorem 1: ν̃ ≥ 0.80009",
    "theorem1.variance_upper": "Theorem 1: ν̃ ≤ 1.48617",
    "appendix.contraction_wide_tau": "Appendix: contraction also for τ ∈ [0.8, 1.25]",
    "theorem2.variance_decreases": "Theorem 2: variance decreases for ν ∈ [3, 16]",
    "theorem3a.variance_increases": "Theorem 3: variance increases for ν ∈ [0.02, 0.16]",
    "theorem3b.variance_increases": "Theorem 3: variance increases for ν ∈ [0.02, 0.24], "
                                    "τ ≥ 0.9",
}

#: Built-in claims whose *paper* statement is known to be false, with the reason.  A
#: reproduction holds when each of these is refuted (with a certificate the checker accepts)
#: and every other claim holds; the report lists them as errata.  Only facts established by
#: a rigorous counterexample belong here.
EXPECTED_FALSE: dict[str, str] = {
    "theorem1.mean_lower": (
        "the paper prints μ̃ ≥ −0.03106 on Ω, but at the corner (μ, ω, ν, τ) = (−0.1, 0.1, "
        "0.8, 0.95) μ̃ = −0.0310605017922… < −0.03106: the printed bound was rounded the wrong "
        "way (the substance of Theorem 1 is unaffected: g still maps Ω into the (μ, ν) box)"),
}

#: The figures (of :mod:`snn_theory.show.figures`) that show each built-in claim.
CLAIM_FIGURES: dict[str, tuple[str, ...]] = {
    "theorem1.contraction": ("contraction", "flow_field"),
    "theorem1.mean_lower": ("fixed_points", "flow_field"),
    "theorem1.mean_upper": ("fixed_points", "flow_field"),
    "theorem1.variance_lower": ("fixed_points", "flow_field"),
    "theorem1.variance_upper": ("fixed_points", "flow_field"),
    "appendix.contraction_wide_tau": ("contraction",),
    "theorem2.variance_decreases": ("variance_change",),
    "theorem3a.variance_increases": ("variance_change",),
    "theorem3b.variance_increases": ("variance_change",),
}
