"""DyT after a dense layer: certified γ, β and S at (0, 1) against 30-digit mpmath quadrature.

Independent reference: h(v) = E tanh²(α√v Z), Z ~ N(0, 1), by quadrature; γ² = 1/h(1)
(E tanh(αZ) = 0: tanh is odd, so β = 0), and at (μ, ω, ν, τ) = (0, 0, 1, 1) the Jacobian is
[[0, 0], [0, h′(1)/h(1)]] (the mean does not move with ν at m = 0), so S = h′(1)/h(1).
"""

from __future__ import annotations

import mpmath
import pytest
from flint import arb

from snn_theory.certify.dyt import dyt_row, dyt_table
from snn_theory.errors import InputError


def _reference(alpha: str) -> tuple[mpmath.mpf, mpmath.mpf]:
    with mpmath.workdps(30):
        a = mpmath.mpf(alpha)
        phi = lambda z: mpmath.exp(-z * z / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
        h = mpmath.quad(lambda z: mpmath.tanh(a * z) ** 2 * phi(z), [-mpmath.inf, 0, mpmath.inf])
        # d/dv tanh²(α√v z) at v = 1 is tanh(αz)·sech²(αz)·αz
        dh = mpmath.quad(lambda z: mpmath.tanh(a * z) * mpmath.sech(a * z) ** 2 * a * z * phi(z),
                         [-mpmath.inf, 0, mpmath.inf])
        return 1 / mpmath.sqrt(h), dh / h


@pytest.mark.parametrize("alpha", ["0.5", "2"])
def test_gamma_beta_and_s_against_quadrature(alpha: str) -> None:
    row = dyt_row(alpha, bits=96)
    gamma, s = _reference(alpha)
    assert row.gamma.contains(arb(mpmath.nstr(gamma, 25))) or abs(
        float(row.gamma.mid()) - float(gamma)) < 1e-15 + float(row.gamma.rad())
    assert row.beta.contains(0)
    assert abs(float(row.spectral_norm.mid()) - float(s)) <= float(row.spectral_norm.rad()) + 1e-20
    assert row.attracting is True


def test_s_grows_to_one_as_alpha_shrinks_and_bad_alpha_is_refused() -> None:
    small, large = dyt_table(["0.1", "1"], bits=64)
    assert small.spectral_norm > large.spectral_norm and small.spectral_norm < 1
    with pytest.raises(InputError):
        dyt_row("0")
    with pytest.raises(InputError):
        dyt_table([])
