"""The per-box bound a search asks of a moment map: the protocol and its implementations.

The branch-and-bound of :mod:`snn_theory.certify.search` is generic: every number it trusts
comes from a :class:`BoxBounder`, a small picklable object that a moment model hands out
(:func:`bounder_for`) and that travels with every per-box task
(:mod:`snn_theory.certify.search.workers`).  A bounder

* bounds a quantity rigorously over a 4-D box (μ, ω, ν, τ) on one side (:meth:`BoxBounder.bound`:
  an exact rational U with q(x) ≤ U for every x of the closed box — or q(x) ≥ L — and the
  face its monotonicity reduction led to);
* encloses the quantity at an exact point (:meth:`BoxBounder.point`, an arb ball);
* may score the coordinates for bisection (:meth:`BoxBounder.split_scores`; the search cuts
  the widest coordinate relative to the domain when it does not);
* records how its map is defined (:attr:`BoxBounder.map_field`, :meth:`BoxBounder.map_record`):
  that record is the certificate's field the checker re-derives the map from
  (:mod:`snn_theory.certify.certificate.maps` holds the checker's side, which shares with
  this module only the per-box primitives it audits).

Implementations:

* :class:`ClosedFormBounder` — SELU with λ01, α01 or user intervals of λ, α: the closed
  forms' bound :func:`snn_theory.certify.enclosure.bound` (gradient-based monotonicity
  reduction and centred form; split where |∂ᵢq|·wᵢ is largest); certificate field
  ``constants``;
* :class:`~snn_theory.certify.search.model_bounders.GaussianBounder` — any activation: the
  (m, v)-cell enclosure of :func:`snn_theory.certify.activation_cells.box_bound` (rigorous
  Gaussian integrals); certificate field ``activation`` (the activation's exact definition).
  It lives with :func:`~snn_theory.certify.search.model_bounders.bounder_for` (a moment
  model's bounder), so that the closed forms' search imports no Gaussian engine.

A network's composed (μ, ν) map is the third:
:class:`~snn_theory.certify.search.network_bounder.NetworkBounder` (with its evaluator in
:mod:`snn_theory.certify.certificate.maps`).

Every method runs its arb work inside :func:`snn_theory.precision.working_precision` at the
``bits`` it is given, so no process needs its precision set beforehand and the caller's
precision is never changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any, ClassVar, NamedTuple, Protocol

from flint import arb

from snn_theory.certify import enclosure
from snn_theory.errors import InputError
from snn_theory.evaluate import backends
from snn_theory.exact import decimal_text, format_fraction, parse_exact
from snn_theory.precision import working_precision

Interval = tuple[Fraction, Fraction]
Box = list[Interval]


class BoxBound(NamedTuple):
    """What :meth:`BoxBounder.bound` returns: the exact rational bound, the face (a sub-box,
    possibly degenerate in some coordinates) the bound was taken on — its centre is where
    the search evaluates a point —, and optional split scores (one per coordinate, larger:
    cut there first; None: ask :meth:`BoxBounder.split_scores` when the box is split; []: no
    finite scores, cut the widest coordinate), and
    optionally the ball value at the face's centre at the same precision (what
    :meth:`BoxBounder.point` would return there; None: not computed)."""

    bound: Fraction
    face: Box
    scores: list[float] | None = None
    point: arb | None = None


class BoxBounder(Protocol):
    """The per-box bound of a moment map (see the module docstring).  Implementations are
    frozen dataclasses (picklable, hashable: they travel with every task)."""

    #: The certificate field that records the map's definition (its value is
    #: :meth:`map_record`); the checker dispatches on it.
    map_field: ClassVar[str]
    #: The leaf-box budget of a search when the caller gives none.
    default_max_boxes: ClassVar[int]
    #: Whether a point value is cheap beside a box bound: then every box gets one (the
    #: witness of the enclosure is the best of them); otherwise points are evaluated only
    #: where a counterexample is plausible, on the initial grid and while refining.
    cheap_points: ClassVar[bool]

    def map_record(self) -> dict[str, Any]:
        """How the map is defined, as JSON: the certificate's ``map_field`` (and part of the
        resume state's key)."""
        ...

    def json_fields(self) -> dict[str, Any]:
        """What ``--json`` prints about the map in each claim's entry."""
        ...

    def describe(self) -> str:
        """One human line about the map (the verifier's table)."""
        ...

    def claim_suffix(self) -> str:
        """What a built-in claim's name gains under this map (``""``: the paper's theorems
        themselves)."""
        ...

    def prepare(self, quantities: Sequence[str]) -> None:
        """Warm up in this process (compile evaluators) before a pool of workers forks."""
        ...

    def bound(self, quantity: str, box: Sequence[Interval], side: int, bits: int,
              decides: Callable[[Fraction], bool] | None = None) -> BoxBound:
        """Rigorous upper (``side`` +1) or lower (−1) bound of ``quantity`` over the closed
        ``box`` at ``bits`` of precision.  ``decides``: the search only needs a bound that
        passes this test (an implementation may stop at a cheaper bound that does; the
        checker reproduces either mode).  Raises :class:`ArithmeticError` when no finite
        enclosure is found (the search splits the box or raises the precision)."""
        ...

    def point(self, quantity: str, point: Sequence[Fraction], bits: int) -> arb:
        """A ball containing ``quantity`` at the exact ``point``."""
        ...

    def split_scores(self, quantity: str, box: Sequence[Interval], face: Sequence[Interval],
                     bits: int) -> list[float] | None:
        """Where bisecting ``box`` helps most (one finite score ≥ 0 per coordinate), or
        None (the search then cuts the widest coordinate relative to the domain)."""
        ...


# ------------------------------------------------------------------------------ closed forms
@dataclass(frozen=True)
class Constants:
    """λ, α: the closed forms λ01, α01 (``lam is None``), or exact intervals given by the user."""

    lam: Interval | None = None
    alpha: Interval | None = None

    @property
    def closed_form(self) -> bool:
        return self.lam is None

    def balls(self, bits: int) -> tuple[arb, arb]:
        """Balls containing λ and α, computed at ``bits`` of precision.

        Closed forms: enclosures of λ01, α01 evaluated from docs/mathematics.md §3 (never decimal
        literals).  User values: balls containing the exact intervals.
        """
        with working_precision(bits=bits):
            if self.closed_form:
                return backends.constants_function("arb")()
            return enclosure.interval_ball(*self.lam), enclosure.interval_ball(*self.alpha)

    def describe(self, bits: int = 128) -> dict[str, Any]:
        """The constants as printed: source, and λ, α intervals rounded outward to 17
        digits (the closed forms' balls at ``bits``; user intervals exactly under
        ``"exact"``)."""
        if self.closed_form:
            lam, alpha = self.balls(bits)
            lam_iv = (enclosure.lower(lam), enclosure.upper(lam))
            alpha_iv = (enclosure.lower(alpha), enclosure.upper(alpha))
        else:
            lam_iv, alpha_iv = self.lam, self.alpha
        out: dict[str, Any] = {
            "source": "closed-form" if self.closed_form else "user",
            "lam": [decimal_text(lam_iv[0], -1), decimal_text(lam_iv[1], 1)],
            "alpha": [decimal_text(alpha_iv[0], -1), decimal_text(alpha_iv[1], 1)]}
        if not self.closed_form:
            out["exact"] = {"lam": [format_fraction(x) for x in self.lam],
                            "alpha": [format_fraction(x) for x in self.alpha]}
        return out

    def to_json(self) -> dict[str, Any]:
        if self.closed_form:
            return {"source": "closed-form"}
        return {"source": "user",
                "lam": [format_fraction(x) for x in self.lam],
                "alpha": [format_fraction(x) for x in self.alpha]}

    @classmethod
    def parse(cls, lam: str | None, alpha: str | None) -> Constants:
        """From ``--lam``/``--alpha`` strings: an exact decimal, or an interval ``a:b``.

        Neither given: the closed forms.  Only one given: the other is the exact dyadic
        interval of its closed form's ball at 128 bits (which contains λ01 resp. α01).
        """
        if lam is None and alpha is None:
            return cls()
        with working_precision(bits=128):
            lam01, alpha01 = backends.constants_function("arb")()
            lam_iv = (_parse_interval(lam, "--lam") if lam is not None
                      else (enclosure.lower(lam01), enclosure.upper(lam01)))
            alpha_iv = (_parse_interval(alpha, "--alpha") if alpha is not None
                        else (enclosure.lower(alpha01), enclosure.upper(alpha01)))
        return cls(lam_iv, alpha_iv)

    def label(self) -> str:
        """``[lam=…,alpha=…]`` (exact values; a constant left at its closed form shows as
        lam01 / alpha01): what a built-in claim's name gains under these constants."""
        if self.closed_form:
            return ""
        default_lam = Constants.parse(None, "1").lam  # λ's closed-form interval, as parse builds it
        default_alpha = Constants.parse("1", None).alpha

        def one(iv: Interval, closed: Interval | None, symbol: str) -> str:
            if iv == closed:
                return symbol
            lo, hi = iv
            return (format_fraction(lo) if lo == hi
                    else f"{format_fraction(lo)}:{format_fraction(hi)}")

        return (f"[lam={one(self.lam, default_lam, 'lam01')},"
                f"alpha={one(self.alpha, default_alpha, 'alpha01')}]")


def _parse_interval(text: str, what: str) -> Interval:
    parts = str(text).split(":")
    if len(parts) == 1:
        x = parse_exact(parts[0], what)
        lo = hi = x
    elif len(parts) == 2:
        lo, hi = parse_exact(parts[0], what), parse_exact(parts[1], what)
    else:
        raise InputError(f"{what}: {text!r} is not a number or an interval a:b")
    if lo > hi:
        raise InputError(f"{what}: interval {text!r} is reversed")
    if lo <= 0:
        raise InputError(f"{what}: must be > 0 (got {text!r})")
    return lo, hi


@lru_cache(maxsize=256)
def constant_balls(constants: Constants, bits: int) -> tuple[arb, arb]:
    """:meth:`Constants.balls` memoised per (constants, bits): a pure function of its
    arguments (arb balls are immutable), so the memo holds no state that changes a result."""
    return constants.balls(bits)


def compile_arb(quantities: Sequence[str]) -> None:
    """Compile the closed forms' arb evaluators (value and value-with-gradient) of
    ``quantities`` in this process (a few seconds each, once: they are cached)."""
    for quantity in quantities:
        backends.value_and_gradient("arb", quantity)
        backends.evaluator("arb", (quantity,))
        if quantity == "spectral_norm":  # the Jacobian entries of its whole-box bound
            backends.evaluator("arb", ("H11", "H12", "H21", "H22"))


@dataclass(frozen=True)
class ClosedFormBounder:
    """SELU's closed forms with the constants λ, α (:class:`Constants`): the bound of
    :func:`snn_theory.certify.enclosure.bound`, split scores |∂ᵢq(face)|·wᵢ."""

    constants: Constants = field(default_factory=Constants)

    map_field: ClassVar[str] = "constants"
    default_max_boxes: ClassVar[int] = 400_000
    cheap_points: ClassVar[bool] = True

    def map_record(self) -> dict[str, Any]:
        return self.constants.to_json()

    def json_fields(self) -> dict[str, Any]:
        return {"constants": self.constants.describe()}

    def describe(self) -> str:
        c = self.constants.describe()
        if c["source"] == "closed-form":
            return "λ01, α01 (closed forms)"
        return f"λ ∈ [{c['lam'][0]}, {c['lam'][1]}], α ∈ [{c['alpha'][0]}, {c['alpha'][1]}]"

    def claim_suffix(self) -> str:
        return self.constants.label()

    def prepare(self, quantities: Sequence[str]) -> None:
        compile_arb(quantities)

    def bound(self, quantity: str, box: Sequence[Interval], side: int, bits: int,
              decides: Callable[[Fraction], bool] | None = None) -> BoxBound:
        lam, alpha = constant_balls(self.constants, bits)
        with working_precision(bits=bits):
            detail = enclosure.bound_detail(quantity, box, lam, alpha, side, decides)
            face = detail.face
            scores = None
            if all(lo == hi for lo, hi in face):
                scores = [0.0] * len(box)
            elif detail.gradient is not None:  # at the precision split_scores would use
                # [] where the gradient is not finite: split_scores would say None again
                scores = _gradient_scores(box, face, detail.gradient) or []
        return BoxBound(detail.bound, face, scores, detail.centre_value)

    def point(self, quantity: str, point: Sequence[Fraction], bits: int) -> arb:
        lam, alpha = constant_balls(self.constants, bits)
        with working_precision(bits=bits):
            return enclosure.point_value(quantity, point, lam, alpha)

    def split_scores(self, quantity: str, box: Sequence[Interval], face: Sequence[Interval],
                     bits: int) -> list[float] | None:
        """|∂ᵢq(face)|·wᵢ: the gradient enclosure on the reduced face (the compact gradient
        forms of :func:`snn_theory.derive.formulas.compact_gradient`, as the bound uses)
        times the box's width; coordinates the reduction fixed score 0; None without a
        finite gradient."""
        lam, alpha = constant_balls(self.constants, bits)
        try:
            with working_precision(bits=bits):
                balls = [enclosure.interval_ball(lo, hi) for lo, hi in face]
                grad = backends.value_and_gradient("arb", quantity)(*balls, lam, alpha)[1:]
                return _gradient_scores(box, face, grad)
        except (ArithmeticError, ValueError, ZeroDivisionError):
            return None


def _gradient_scores(box: Sequence[Interval], face: Sequence[Interval],
                     grad: Sequence[arb]) -> list[float] | None:
    """|∂ᵢq(face)|·wᵢ from the gradient enclosure ``grad`` over ``face``: coordinates fixed
    on the face (or on the box) score 0; None when a needed gradient is not finite."""
    scores = []
    for i, (lo, hi) in enumerate(box):
        if face[i][0] == face[i][1] or lo == hi:
            scores.append(0.0)
            continue
        g = grad[i]
        if not g.is_finite():
            return None
        scores.append(float(abs(g).upper()) * float(hi - lo))
    return scores


__all__ = ["Box", "BoxBound", "BoxBounder", "ClosedFormBounder", "Constants", "compile_arb",
           "constant_balls"]
