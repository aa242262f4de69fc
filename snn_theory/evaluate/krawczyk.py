"""Krawczyk test: a rigorous proof that a box holds exactly one root of F: ℝ² → ℝ².

For a box X with midpoint c and a fixed (approximate inverse) matrix Y ≈ F′(c)⁻¹,

    K(X) = c − Y·F(c) + (I − Y·F′(X))·(X − c).

If K(X) lies in the interior of X, F has exactly one root in X, and that root lies in
K(X) ∩ X (Krawczyk 1969; Moore 1977; docs/mathematics.md §7).  F(c) and F′(X) must be arb
enclosures: F(c) of the value at the (exact) point c, F′(X) of the Jacobian over all of X.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flint import arb

Matrix = Sequence[Sequence[arb]]


@dataclass(frozen=True)
class KrawczykResult:
    """``proved``: K(X) ⊂ int(X); then ``enclosure`` (= K(X) ∩ X) holds the unique root."""

    proved: bool
    box: tuple[arb, arb]
    enclosure: tuple[arb, arb]


def _inverse_midpoint(matrix: Matrix) -> list[list[arb]]:
    """Inverse of the midpoint matrix (any approximate inverse is allowed by the theorem)."""
    a, b = arb(matrix[0][0].mid()), arb(matrix[0][1].mid())
    c, d = arb(matrix[1][0].mid()), arb(matrix[1][1].mid())
    det = a * d - b * c
    # Midpoints of the inverse: the test only needs Y to be *some* fixed real matrix.
    return [[arb((d / det).mid()), arb((-b / det).mid())],
            [arb((-c / det).mid()), arb((a / det).mid())]]


def _strictly_inside(inner: arb, outer: arb) -> bool:
    return bool(outer.lower() < inner.lower() and inner.upper() < outer.upper())


def krawczyk(
    function: Callable[[arb, arb], tuple[arb, arb]],
    jacobian: Callable[[arb, arb], Matrix],
    box: tuple[arb, arb],
) -> KrawczykResult:
    """Run the Krawczyk test for ``function`` on ``box`` (two balls).

    ``function(x, y)`` must return enclosures of F at the points in the balls given (it is
    called at the exact midpoint), ``jacobian(x, y)`` enclosures of F′ over the whole box.
    """
    c = [arb(box[0].mid()), arb(box[1].mid())]
    fc = function(*c)
    jac_box = jacobian(*box)
    y = _inverse_midpoint(jacobian(*c))
    delta = [box[0] - c[0], box[1] - c[1]]
    k = []
    for i in range(2):
        yf = y[i][0] * fc[0] + y[i][1] * fc[1]
        term = arb(0)
        for j in range(2):
            m_ij = (1 if i == j else 0) - (y[i][0] * jac_box[0][j] + y[i][1] * jac_box[1][j])
            term += m_ij * delta[j]
        k.append(c[i] - yf + term)
    proved = all(_strictly_inside(k[i], box[i]) for i in range(2))
    enclosure = tuple(k[i].intersection(box[i]) if proved else box[i] for i in range(2))
    return KrawczykResult(proved, tuple(box), enclosure)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Krawczyk1DResult:
    """``proved``: K(X) ⊂ int(X); then ``enclosure`` (= K(X) ∩ X) holds the unique root in X."""

    proved: bool
    box: arb
    enclosure: arb


def krawczyk_1d(function: Callable[[arb], arb], derivative: Callable[[arb], arb],
                box: arb) -> Krawczyk1DResult:
    """The one-dimensional Krawczyk test K(X) = x₀ − y·g(x₀) + (1 − y·g′(X))·(X − x₀) with
    x₀ the midpoint of X and y ≈ 1/g′(x₀): if K(X) ⊂ int X, g has exactly one root in X and
    it lies in K(X).  ``function`` encloses g at a point, ``derivative`` g′ over a ball."""
    x0 = arb(box.mid())
    d0 = derivative(x0)
    if not d0.is_finite() or d0.mid() == 0:
        return Krawczyk1DResult(False, box, box)
    y = arb((1 / arb(d0.mid())).mid())
    k = x0 - y * function(x0) + (1 - y * derivative(box)) * (box - x0)
    proved = bool(k.is_finite() and _strictly_inside(k, box))
    return Krawczyk1DResult(proved, box, k.intersection(box) if proved else box)


@dataclass(frozen=True)
class KrawczykNDResult:
    """``proved``: K(X) ⊂ int(X); then ``enclosure`` (= K(X) ∩ X) holds the unique root in X."""

    proved: bool
    box: tuple[arb, ...]
    enclosure: tuple[arb, ...]


def _approximate_inverse(matrix: Matrix) -> list[list[arb]]:
    """An approximate inverse of the midpoint matrix, as exact arb points (mpmath at the
    working precision; the theorem allows any fixed real matrix)."""
    import mpmath

    n = len(matrix)
    mid = mpmath.matrix([[mpmath.mpf(matrix[i][j].mid()) for j in range(n)] for i in range(n)])
    inv = mpmath.inverse(mid)
    return [[arb(inv[i, j]) for j in range(n)] for i in range(n)]


def krawczyk_nd(
    function: Callable[..., Sequence[arb]],
    jacobian: Callable[..., Matrix],
    box: Sequence[arb],
) -> KrawczykNDResult:
    """The Krawczyk test for F: ℝⁿ → ℝⁿ on ``box`` (n balls), as :func:`krawczyk` for any n.

    ``function(*x)`` encloses F at the (exact) midpoint, ``jacobian(*X)`` encloses F′ over the
    whole box.  A singular midpoint Jacobian (or a non-finite enclosure) is reported as not
    proved."""
    n = len(box)
    box = tuple(box)
    c = [arb(b.mid()) for b in box]
    fc = list(function(*c))
    jac_box = jacobian(*box)
    try:
        y = _approximate_inverse(jacobian(*c))
    except (ZeroDivisionError, ValueError):
        return KrawczykNDResult(False, box, box)
    delta = [box[j] - c[j] for j in range(n)]
    k = []
    for i in range(n):
        yf = sum((y[i][j] * fc[j] for j in range(n)), arb(0))
        term = arb(0)
        for j in range(n):
            yj = sum((y[i][l] * jac_box[l][j] for l in range(n)), arb(0))
            term += ((1 if i == j else 0) - yj) * delta[j]
        k.append(c[i] - yf + term)
    proved = all(k[i].is_finite() and _strictly_inside(k[i], box[i]) for i in range(n))
    enclosure = tuple(k[i].intersection(box[i]) if proved else box[i] for i in range(n))
    return KrawczykNDResult(proved, box, enclosure)
