"""Rigorous bounds of a quantity over a box — the one routine both the search and the
independent certificate checker trust.

:func:`bound` returns an exact rational U (resp. L) with

    quantity(x) ≤ U   (side = +1)      or      quantity(x) ≥ L   (side = −1)

for **every** x in the closed box, λ in the λ ball and α in the α ball.  It combines
rigorous steps (docs/mathematics.md §7), all in arb ball arithmetic at the current precision:

0. **Cheap whole-box enclosure** (:func:`global_enclosure`): the plain ball evaluation over
   the box, for the spectral norm intersected with ‖H‖_F/√2 ≤ S ≤ ‖H‖_F.  Loose, but finite
   on wide boxes where the gradient is not, and often enough to decide a claim with a wide
   margin (the search may stop here, see ``decides``);

1. **Gradient enclosure over the box**: the gradient of the quantity in compact form
   (:func:`snn_theory.derive.formulas.compact_gradient`: chain rule through the moments, with the
   analytically cancelling terms cancelled) evaluated in ball arithmetic over the box, so it
   contains the gradient at every point of the box.  (:mod:`snn_theory.evaluate.dual` computes the
   same enclosure by forward-mode differentiation; it is looser, and serves as a check.)
2. **Monotonicity reduction**: if the gradient enclosure of coordinate i excludes 0, the
   quantity is strictly monotone in x_i on the box, so its maximum (minimum) lies on the face
   x_i = upper or lower end; the box is replaced by that face, and step 1 is repeated on the
   face (at most four times).
3. **Centred (mean-value) form** on what remains: q(X) ⊆ q(c) + Σ_i ∂_i q(X)·(X_i − c_i), with
   q(c) a ball evaluation at the exact centre c; intersected with the direct enclosure (a
   non-finite centred form falls back to the direct enclosure).
   The bound returned is the better of this and step 0.

The rational returned is the exact end mid ± rad of the arb ball (a dyadic number, the same
whatever precision the caller has set), so comparisons against thresholds are exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import NamedTuple, Protocol

from flint import arb, fmpq

from snn_theory.evaluate import backends
from snn_theory.exact import to_fraction

Box = Sequence[tuple[Fraction, Fraction]]


def interval_ball(lo: Fraction, hi: Fraction) -> arb:
    """A ball containing the closed interval [lo, hi] (exact rationals)."""
    a = arb(fmpq(lo.numerator, lo.denominator))
    if lo == hi:
        return a
    return a.union(arb(fmpq(hi.numerator, hi.denominator)))


def upper(x: arb) -> Fraction:
    """Exact rational upper end mid + rad of a ball (NaN or infinite: ArithmeticError).

    Computed from the exact midpoint and radius, not with ``arb.upper()``, which rounds to
    the *current* precision: the result must not depend on the caller's global precision.
    """
    if not x.is_finite():
        raise ArithmeticError("enclosure is not finite")
    return to_fraction(x.mid()) + to_fraction(x.rad())


def lower(x: arb) -> Fraction:
    """Exact rational lower end mid − rad of a ball (see :func:`upper`)."""
    if not x.is_finite():
        raise ArithmeticError("enclosure is not finite")
    return to_fraction(x.mid()) - to_fraction(x.rad())


def point_value(quantity: str, point: Sequence[Fraction], lam: arb, alpha: arb) -> arb:
    """Ball containing quantity(point) at an exact rational point."""
    balls = [interval_ball(p, p) for p in point]
    return backends.evaluator("arb", (quantity,))(*balls, lam, alpha)[0]


def _combine(centred: arb, direct: arb) -> arb:
    """The tighter of the centred and the direct enclosure of the same value.

    Both contain the value, so their intersection does too; a non-finite (NaN or infinite)
    ball contains everything and must not replace a finite one — a NaN ball "overlaps"
    every ball, and intersecting with it would discard the finite direct enclosure.
    """
    if not centred.is_finite():
        return direct
    if not direct.is_finite():
        return centred
    if centred.overlaps(direct):
        return centred.intersection(direct)
    return centred  # (disjoint enclosures of one value cannot happen; keep one of them)


def _abs_lower(x: arb) -> arb:
    """An exact lower bound ≥ 0 of |t| for every t in the ball ``x`` (0 when it contains 0).

    Not ``abs(x).lower()``: arb's absolute value of a ball that contains 0 keeps the
    radius, so its lower end is negative, and squaring that end is no lower bound of t².
    """
    lo = x.abs_lower().lower()
    return lo if lo > 0 else arb(0)


def global_enclosure(quantity: str, balls: Sequence[arb], lam: arb, alpha: arb,
                     direct: arb, entries: Sequence[arb] | None = None) -> arb:
    """Cheap whole-box enclosure: ``direct`` (the plain ball evaluation of the quantity over
    the box), for the spectral norm intersected with ‖H‖_F/√2 ≤ S ≤ ‖H‖_F (S is the largest
    singular value of the 2×2 matrix H, ‖H‖_F² = s₁² + s₂² ≤ 2 s₁²), the four entries of H
    evaluated over the box (or ``entries``: enclosures of any 2×2 matrix's entries, whose
    largest singular value ``direct`` encloses).  Non-finite parts are ignored; the result may
    be non-finite."""
    if quantity != "spectral_norm":
        return direct
    if entries is None:
        entries = backends.evaluator("arb", ("H11", "H12", "H21", "H22"))(*balls, lam, alpha)
    if not all(h.is_finite() for h in entries):
        return direct
    big = sum((abs(h).upper() ** 2 for h in entries), arb(0))
    small = sum((_abs_lower(h) ** 2 for h in entries), arb(0))
    # each end from its own exact point: the square root of the union ball would widen the
    # upper end by the slope of √ at the lower one
    hi = arb(big.upper()).sqrt().upper()
    lo = (arb(small.lower()).sqrt() / arb(2).sqrt()).lower()
    sandwich = arb(lo).union(arb(hi))
    if not direct.is_finite():
        return sandwich
    return direct.intersection(sandwich) if direct.overlaps(sandwich) else direct


def _end(x: arb, side: int) -> Fraction:
    return upper(x) if side > 0 else lower(x)


class BoxQuantity(Protocol):
    """What :func:`bound_of` asks of a quantity: the per-box bound's protocol.

    ``value_and_gradient(balls)``: ball enclosures of the quantity and of its gradient over
    the box of ``balls`` (the gradient None or not finite where none is available: the
    bound is then the cheap enclosure alone); ``cheap(balls, value)``: the whole-box
    enclosure (``value`` or tighter); ``point_value(point)``: a ball containing the value at
    an exact point.  Everything at the current working precision."""

    def value_and_gradient(self, balls: Sequence[arb]) -> tuple[arb, Sequence[arb] | None]: ...

    def cheap(self, balls: Sequence[arb], value: arb) -> arb: ...

    def point_value(self, point: Sequence[Fraction]) -> arb: ...


class FormulaQuantity:
    """One layer's quantity of :data:`snn_theory.derive.formulas.QUANTITIES` with λ, α balls:
    the generated compact-gradient code (:func:`snn_theory.evaluate.backends.value_and_gradient`),
    the Frobenius sandwich of S (:func:`global_enclosure`)."""

    def __init__(self, quantity: str, lam: arb, alpha: arb) -> None:
        self.quantity, self.lam, self.alpha = quantity, lam, alpha

    def value_and_gradient(self, balls: Sequence[arb]) -> tuple[arb, Sequence[arb] | None]:
        value, *grad = backends.value_and_gradient("arb", self.quantity)(*balls, self.lam,
                                                                          self.alpha)
        return value, grad

    def cheap(self, balls: Sequence[arb], value: arb) -> arb:
        return global_enclosure(self.quantity, balls, self.lam, self.alpha, value)

    def point_value(self, point: Sequence[Fraction]) -> arb:
        return point_value(self.quantity, point, self.lam, self.alpha)


def bound(quantity: str, box: Box, lam: arb, alpha: arb, side: int,
          decides: Callable[[Fraction], bool] | None = None) -> tuple[Fraction, list]:
    """Rigorous upper (side=+1) or lower (side=−1) bound of ``quantity`` over ``box``.

    Returns ``(bound, face)``: the exact rational bound, and the face (a sub-box, possibly
    degenerate in some coordinates) the monotonicity reduction led to — its centre is a
    good candidate for the extremum.  Raises :class:`ArithmeticError` if no enclosure is
    finite (e.g. precision too low); callers split the box or raise the precision.

    The bound is the best of (a) the cheap whole-box enclosure of :func:`global_enclosure`
    and (b) the monotonicity reduction + centred form (whose gradient may not be finite on a
    wide box, then (a) alone is used).  ``decides``: a test on a bound (does it prove the
    claim?); when (a) passes it, (a) is returned without computing (b).  Without
    ``decides`` (the certificate checker) both are computed, so the fresh bound is never
    weaker than one returned early.
    """
    return bound_of(FormulaQuantity(quantity, lam, alpha), box, side, decides)


def bound_of(quantity: BoxQuantity, box: Box, side: int,
             decides: Callable[[Fraction], bool] | None = None) -> tuple[Fraction, list]:
    """:func:`bound` for any :class:`BoxQuantity` (one layer's formulas, a network's map)."""
    detail = _bound(quantity, box, side, decides)
    return detail.bound, detail.face


def bound_modes(quantity: str, box: Box, lam: arb, alpha: arb, side: int,
                decides: Callable[[Fraction], bool]) -> tuple[Fraction, Fraction]:
    """``(bound(..., decides), bound(...))`` — the early and the full mode of :func:`bound`
    — from one evaluation: the early mode returns the cheap whole-box end when it decides,
    else exactly the full bound.  What the certificate checker compares a stored bound
    with."""
    return bound_modes_of(FormulaQuantity(quantity, lam, alpha), box, side, decides)


def bound_modes_of(quantity: BoxQuantity, box: Box, side: int,
                   decides: Callable[[Fraction], bool]) -> tuple[Fraction, Fraction]:
    """:func:`bound_modes` for any :class:`BoxQuantity`."""
    full, _, cheap_end, _, _ = _bound(quantity, box, side, None)
    early = cheap_end if cheap_end is not None and decides(cheap_end) else full
    return early, full


class BoundDetail(NamedTuple):
    """:func:`bound` with what it computed on the way, for a caller that would otherwise
    compute it again: ``gradient`` the gradient enclosure over ``face`` (None when the bound
    did not end with one: the cheap end decided first, the centred form failed, or the face
    is a point), ``centre_value`` the ball value at the exact centre of ``face`` (None when
    not computed)."""

    bound: Fraction
    face: list
    cheap_end: Fraction | None
    gradient: Sequence[arb] | None
    centre_value: arb | None


def bound_detail(quantity: str, box: Box, lam: arb, alpha: arb, side: int,
                 decides: Callable[[Fraction], bool] | None = None) -> BoundDetail:
    """:func:`bound` (the same bound and face), with the gradient enclosure over the face
    and the value at the face's centre it computed (see :class:`BoundDetail`)."""
    return _bound(FormulaQuantity(quantity, lam, alpha), box, side, decides)


def _bound(quantity: BoxQuantity, box: Box, side: int,
           decides: Callable[[Fraction], bool] | None) -> BoundDetail:
    """:func:`bound`, plus the cheap whole-box end (None when not finite), the gradient
    over the face and the value at its centre where computed."""
    if side not in (1, -1):
        raise ValueError("side must be +1 (upper bound) or -1 (lower bound)")
    current = [tuple(iv) for iv in box]
    if all(lo == hi for lo, hi in current):
        value = quantity.point_value([lo for lo, _ in current])
        end = _end(value, side)
        return BoundDetail(end, current, end, None, value)
    balls = [interval_ball(lo, hi) for lo, hi in current]
    value, grad = quantity.value_and_gradient(balls)
    cheap = quantity.cheap(balls, value)
    cheap_end = _end(cheap, side) if cheap.is_finite() else None
    whole_box = list(current)
    if cheap_end is not None and decides is not None and decides(cheap_end):
        return BoundDetail(cheap_end, whole_box, cheap_end, None, None)
    try:
        fine_end, face, face_grad, centre_value = _reduced_centred_bound(
            quantity, current, value, grad, side)
    except ArithmeticError:
        if cheap_end is None:
            raise
        return BoundDetail(cheap_end, whole_box, cheap_end, None, None)
    if cheap_end is not None and side * cheap_end < side * fine_end:
        return BoundDetail(cheap_end, face, cheap_end, face_grad, centre_value)
    return BoundDetail(fine_end, face, cheap_end, face_grad, centre_value)


def _reduced_centred_bound(quantity: BoxQuantity, current: list, value: arb,
                           grad: Sequence[arb] | None, side: int
                           ) -> tuple[Fraction, list, Sequence[arb] | None, arb]:
    """Steps 2 and 3 of the module docstring, starting from the value and gradient
    enclosures over ``current``; also returns the gradient enclosure over the face (None
    for a point) and the value at the face's centre."""
    for _ in range(len(current) + 1):
        if all(lo == hi for lo, hi in current):
            value = quantity.point_value([lo for lo, _ in current])
            return _end(value, side), current, None, value
        if grad is None:
            raise ArithmeticError("no gradient enclosure over the box")
        reduced = False
        for i, (lo, hi) in enumerate(current):
            if lo == hi:
                continue
            g = grad[i]
            if g > 0 or g < 0:  # strictly monotone in x_i on the box
                increasing = bool(g > 0)
                end = hi if increasing == (side > 0) else lo
                current[i] = (end, end)
                reduced = True
        if reduced:
            if not all(lo == hi for lo, hi in current):
                balls = [interval_ball(lo, hi) for lo, hi in current]
                value, grad = quantity.value_and_gradient(balls)
            continue
        centre = [(lo + hi) / 2 for lo, hi in current]
        value_at_centre = quantity.point_value(centre)
        centred = value_at_centre
        for i, (lo, hi) in enumerate(current):
            if lo != hi:
                c = centre[i]
                offset = interval_ball(lo - c, hi - c)
                centred = centred + grad[i] * offset
        enclosure = _combine(centred, value)
        return _end(enclosure, side), current, grad, value_at_centre
    raise AssertionError("unreachable: each reduction fixes a coordinate")
