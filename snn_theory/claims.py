"""Claims as data: a domain box in (μ, ω, ν, τ), a quantity, a relation and a threshold.

The built-in claims are the paper's Theorems 1–3 and the appendix's wider-τ contraction
(MATH.md §4; Klambauer et al. 2017, Section 3 and Appendix A3).  Domain endpoints and
thresholds are exact rationals (parsed from decimal strings), never floats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from snn_theory.formulas import QUANTITIES
from snn_theory.moment_map import InputError

VARIABLE_NAMES: tuple[str, ...] = ("mu", "omega", "nu", "tau")
RELATIONS: tuple[str, ...] = ("<=", ">=", "<", ">")

Interval = tuple[Fraction, Fraction]


#: Nonzero magnitudes accepted in domains, thresholds and certificates.
MAX_MAGNITUDE = Fraction(10) ** 50


def parse_number(text: str, what: str) -> Fraction:
    """An exact rational from a decimal string ('-0.1', '1e-3', '3/7'); InputError otherwise.

    Nonzero magnitudes must lie in [1e-50, 1e50] (the exponent is checked before the number
    is built, so '1e999999999' is refused at once instead of expanding to a billion digits).
    """
    s = str(text).strip()
    exponent = re.search(r"[eE]([+-]?\d+)$", s)
    if len(s) > 200_000 or (exponent and abs(int(exponent.group(1))) > 1000):
        raise InputError(f"{what}: {s[:40]!r} is out of range (nonzero magnitudes must lie in "
                         "[1e-50, 1e50])")
    try:
        value = Fraction(s)
    except (ValueError, ZeroDivisionError):
        raise InputError(f"{what}: {text!r} is not a number") from None
    if value != 0 and not (1 / MAX_MAGNITUDE <= abs(value) <= MAX_MAGNITUDE):
        raise InputError(f"{what}: {s[:40]!r} is out of range (nonzero magnitudes must lie in "
                         "[1e-50, 1e50])")
    return value


def format_fraction(x: Fraction) -> str:
    """Exact text of a rational: a finite decimal when it has one, else 'p/q'."""
    q = x.denominator
    twos = fives = 0
    while q % 2 == 0:
        q //= 2
        twos += 1
    while q % 5 == 0:
        q //= 5
        fives += 1
    if q != 1:
        return f"{x.numerator}/{x.denominator}"
    digits = max(twos, fives)
    scaled = x * 10**digits
    sign = "-" if scaled < 0 else ""
    n = abs(scaled.numerator)
    if digits == 0:
        return f"{sign}{n}"
    s = str(n).rjust(digits + 1, "0")
    return f"{sign}{s[:-digits]}.{s[-digits:]}".rstrip("0").rstrip(".")


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
            parts[name] = (parse_number(match.group(2), f"domain {name}"),
                           parse_number(match.group(3), f"domain {name}"))
        missing = [n for n in VARIABLE_NAMES if n not in parts]
        if missing:
            raise InputError(f"domain: missing {', '.join(missing)}")
        return cls(tuple(parts[n] for n in VARIABLE_NAMES))  # type: ignore[arg-type]

    def to_json(self) -> dict[str, list[str]]:
        return {n: [format_fraction(a), format_fraction(b)]
                for n, (a, b) in zip(VARIABLE_NAMES, self.bounds)}

    @classmethod
    def from_json(cls, data: dict[str, list[str]]) -> Domain:
        return cls(tuple((parse_number(data[n][0], n), parse_number(data[n][1], n))
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

    def satisfied_by(self, upper_or_lower: Fraction | float) -> bool:
        """Whether a bound on the deciding extremum proves the claim."""
        t = self.threshold
        return {"<": upper_or_lower < t, "<=": upper_or_lower <= t,
                ">": upper_or_lower > t, ">=": upper_or_lower >= t}[self.relation]

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "quantity": self.quantity, "relation": self.relation,
                "threshold": format_fraction(self.threshold), "domain": self.domain.to_json()}

    @classmethod
    def from_json(cls, data: dict) -> Claim:
        return cls(str(data["name"]), str(data["quantity"]), str(data["relation"]),
                   parse_number(data["threshold"], "threshold"), Domain.from_json(data["domain"]))

    @classmethod
    def parse(cls, text: str, domain: Domain, name: str = "user") -> Claim:
        """Parse ``"spectral_norm<1"``, ``"variance_change > 0"``, ``"J22<=0.9"``."""
        match = re.fullmatch(r"\s*(\w+)\s*(<=|>=|<|>)\s*(\S+)\s*", str(text))
        if not match:
            raise InputError(f"claim: cannot parse {text!r}; expected e.g. 'spectral_norm<1'")
        return cls(name, match.group(1), match.group(2),
                   parse_number(match.group(3), "claim threshold"), domain)


def _domain(mu: str, omega: str, nu: str, tau: str) -> Domain:
    return Domain.parse(f"mu={mu},omega={omega},nu={nu},tau={tau}")


#: The domains of MATH.md §4 (paper Theorems 1–3 and the appendix's wider τ range).
THEOREM_DOMAINS: dict[str, Domain] = {
    "theorem1": _domain("-0.1:0.1", "-0.1:0.1", "0.8:1.5", "0.95:1.1"),
    "appendix": _domain("-0.1:0.1", "-0.1:0.1", "0.8:1.5", "0.8:1.25"),
    "theorem2": _domain("-1:1", "-0.1:0.1", "3:16", "0.8:1.25"),
    "theorem3a": _domain("-0.1:0.1", "-0.1:0.1", "0.02:0.16", "0.8:1.25"),
    "theorem3b": _domain("-0.1:0.1", "-0.1:0.1", "0.02:0.24", "0.9:1.25"),
}


def _claim(name: str, text: str, domain: str) -> Claim:
    return Claim.parse(text, THEOREM_DOMAINS[domain], name=name)


#: The built-in claims, by the names of issue 4, grouped by theorem.
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
