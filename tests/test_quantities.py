"""A moment-like quantity added through the public interface, without editing the library.

E[f(x)⁴], x ~ N(m, v), and its partial in m, for SELU, tanh and an affine member 2·tanh + 1/2
(whose fourth moment the library forms from E[tanhʲ], j ≤ 4, by the binomial theorem):
the model's enclosures are checked against 40-digit mpmath quadrature of functions written
here from their definitions (SELU's λ01, α01 from the paper's closed forms), and must exclude
a value moved by 1e-25 relative (so a wrong power, Hermite factor or binomial coefficient
fails)."""

from __future__ import annotations

import mpmath
import pytest

import snn_theory as snn
from snn_theory.errors import InputError


def _selu_constants() -> tuple[mpmath.mpf, mpmath.mpf]:
    """λ01, α01 from their closed forms (Klambauer et al. 2017, eq. 14), independently of the
    library's formulas."""
    e, pi = mpmath.e, mpmath.pi
    c1 = mpmath.erfc(1 / mpmath.sqrt(2))
    alpha = -mpmath.sqrt(2 / pi) / (c1 * mpmath.exp(mpmath.mpf(1) / 2) - 1)
    lam = (1 - c1 * mpmath.sqrt(e)) * mpmath.sqrt(2 * pi) / mpmath.sqrt(
        2 * mpmath.erfc(mpmath.sqrt(2)) * e**2 + pi * c1**2 * e
        - 2 * (2 + pi) * c1 * mpmath.sqrt(e) + pi + 2)
    return lam, alpha


def _function(name: str):  # noqa: ANN202 (an mpmath function)
    if name == "selu":
        lam, alpha = _selu_constants()
        return lambda t: lam * t if t > 0 else lam * alpha * (mpmath.exp(t) - 1)
    if name == "tanh":
        return mpmath.tanh
    return lambda t: 2 * mpmath.tanh(t) + mpmath.mpf(1) / 2


def _reference(f, m: mpmath.mpf, v: mpmath.mpf, hermite: int) -> mpmath.mpf:  # noqa: ANN001
    """E[f(x)⁴·Heₙ(z)]/sⁿ (= ∂ⁿ_m E[f⁴] for n ≤ 1), z = (x − m)/s, by quadrature split at
    the kink x = 0."""
    s = mpmath.sqrt(v)
    he = (lambda z: 1) if hermite == 0 else (lambda z: z)
    cuts = [-mpmath.inf, -m / s, mpmath.inf]
    return mpmath.quad(lambda z: f(m + s * z) ** 4 * he(z) * mpmath.npdf(z), cuts) / s**hermite


def test_selu_constants_are_the_papers() -> None:
    with mpmath.workdps(40):
        lam, alpha = _selu_constants()
        assert abs(lam - mpmath.mpf("1.0507009873554804934193349852946")) < 1e-30
        assert abs(alpha - mpmath.mpf("1.6732632423543772848170429916717")) < 1e-30


@pytest.mark.parametrize("spec, scale, shift", [("selu", "1", "0"), ("tanh", "1", "0"),
                                                ("tanh", "2", "0.5")])
def test_fourth_moment_against_quadrature(spec: str, scale: str, shift: str) -> None:
    model = snn.resolve_model(spec, scale=scale, shift=shift)
    name = spec if (scale, shift) == ("1", "0") else "affine"
    with snn.working_precision(bits=160):
        p = model.expectations("0.3", "0.7", order=1, powers=(4,))
        # the ends of the balls as 50-digit text
        ends = [(p.partial(4, n).lower().str(50, radius=False),
                 p.partial(4, n).upper().str(50, radius=False)) for n in (0, 1)]
    with mpmath.workdps(40):
        f = _function(name)
        m, v = mpmath.mpf("0.3"), mpmath.mpf("0.7")
        for n, (lo_text, hi_text) in enumerate(ends):
            want = _reference(f, m, v, n)
            lo, hi = mpmath.mpf(lo_text), mpmath.mpf(hi_text)
            slack = abs(want) * mpmath.mpf("1e-38")  # the quadrature's own error
            assert lo - slack <= want <= hi + slack, (spec, n, lo, hi, want)
            assert hi - lo < abs(want) * mpmath.mpf("1e-30"), (spec, n, lo, hi)
            moved = want * (1 + mpmath.mpf("1e-25"))
            assert not lo <= moved <= hi, (spec, n)


def test_fourth_moment_over_a_box_contains_its_points() -> None:
    """Over an (m, v) box the enclosure holds E[f⁴] at every point (corners and centre)."""
    model = snn.resolve_model("tanh")
    with snn.working_precision(bits=64):
        ball = model.expectations("0.3 +/- 0.01", "0.7 +/- 0.01", order=0, powers=(4,))
    box = ball.partial(4, 0)
    with mpmath.workdps(30):
        for m in ("0.29", "0.3", "0.31"):
            for v in ("0.69", "0.7", "0.71"):
                want = _reference(mpmath.tanh, mpmath.mpf(m), mpmath.mpf(v), 0)
                assert float(box.lower()) - 1e-15 <= want <= float(box.upper()) + 1e-15
    assert box.rad() < 0.01


def test_powers_are_validated() -> None:
    with pytest.raises(InputError, match="powers"):
        snn.resolve_model("tanh").expectations("0", "1", powers=(0,))


def test_a_derived_quantity_is_one_formula_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A quantity of the map written as one sympy entry of formulas.DERIVED (here
    κ = ξ̃ − μ̃² + ν, i.e. ν̃ + ν) is evaluated by the closed forms and by the Gaussian engine
    with no other change."""
    from snn_theory.derive import formulas

    base = dict(zip(formulas.BASE, formulas.BASE_SYMBOLS))
    monkeypatch.setitem(formulas.DERIVED, "kappa_test",
                        base["second_moment"] - base["mean"] ** 2 + formulas.nu)
    for spec in ("selu", "tanh"):
        with snn.working_precision(bits=80):
            q = snn.resolve_model(spec).evaluate("0.1", "0.2", "1.5", "1",
                                                 quantities=("kappa_test", "variance"))
            assert q["kappa_test"].overlaps(q["variance"] + 1.5), spec
            assert not q["kappa_test"].overlaps(q["variance"] + 1.5 + 1e-15), spec
