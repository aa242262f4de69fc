"""The public API: every name in ``snn_theory.__all__`` is the object its home module defines,
and ``import snn_theory`` loads neither JAX nor matplotlib (they are imported on first use)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import snn_theory


@pytest.mark.parametrize("name", sorted(snn_theory._EXPORTS))
def test_each_export_is_its_home_modules_object(name: str) -> None:
    module, attribute = snn_theory._EXPORTS[name]
    assert name in snn_theory.__all__
    assert getattr(snn_theory, name) is getattr(importlib.import_module(module), attribute)


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nosuch'"):
        snn_theory.nosuch  # noqa: B018


def test_stage_packages_are_not_shadowed_by_functions() -> None:
    """The sub-packages evaluate/ and simulate/ keep their names; the moment map's evaluate and
    the Monte Carlo simulate are exported under other names."""
    import snn_theory.evaluate
    import snn_theory.simulate

    assert snn_theory.evaluate.__name__ == "snn_theory.evaluate"
    assert snn_theory.simulate.__name__ == "snn_theory.simulate"
    assert snn_theory.evaluate_map.__module__ == "snn_theory.evaluate.point"
    assert snn_theory.run_simulation.__module__ == "snn_theory.simulate.engine"


def test_import_is_cheap() -> None:
    code = ("import sys, snn_theory; "
            "print(any(m in sys.modules for m in ('jax', 'matplotlib', 'sympy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_the_docstring_example_is_the_moment_map_at_the_fixed_point() -> None:
    m = snn_theory.moments(mu="0", omega="0", nu="1", tau="1", backend="mpmath")
    ref = snn_theory.evaluate_map(mu="0", omega="0", nu="1", tau="1",
                                  quantities=("mean", "variance"), backend="mpmath")
    assert float(m.mean) == pytest.approx(float(ref["mean"]), abs=1e-25)
    assert abs(float(m.variance) - 1) < 1e-12
