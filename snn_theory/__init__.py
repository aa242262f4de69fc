"""snn-theory: rigorous numerical verification of self-normalizing network theory.

The package is a pipeline (docs/architecture.md): ``derive`` (the formulas, written once in
sympy) → ``evaluate`` (number systems: arb balls, mpmath, numpy, JAX) → ``certify`` (ball
arithmetic proofs and their certificates) → ``simulate`` (Monte Carlo and training, evidence
not proof) → ``show`` (figures, the reproduction report); ``cli`` is the command line on top.

What a notebook needs is re-exported here, flat, and imported on first use (so that
``import snn_theory`` stays cheap: JAX and matplotlib load only when asked for)::

    >>> import snn_theory as snn
    >>> m = snn.moments(mu="0", nu="1", omega="0", tau="1", digits=20)
    >>> round(float(m.mean), 12), round(float(m.variance), 12)
    (0.0, 1.0)

An activation is given by name, by an expression in x, or as a moment model
(:func:`resolve_model`, resolved once: SELU by closed forms, any other by rigorous Gaussian
integrals); docs/python-api.md answers the first questions of a notebook.

One verifier and one checker serve every activation.  :func:`verify_claim` (and
:func:`verify_claims`) decide a :class:`Claim` by branch-and-bound in ball arithmetic with the
per-box bound of a moment map — ``Settings(bounder=bounder_for(resolve_model(spec)))``:
:class:`ClosedFormBounder` (SELU's closed forms, λ, α from :class:`Constants`, the default)
or :class:`GaussianBounder` (any activation, rigorous Gaussian integrals on (m, v) cells),
or :class:`NetworkBounder` (a whole network's composed map, docs/networks.md).
Its guarantee: a :class:`ClaimResult` says ``holds`` only when every leaf box's rigorous
bound proves the claim, ``refuted`` only with a point whose ball value violates it, and its
``extremum`` encloses the deciding max/min over the domain.  :func:`write_certificate`
records the claim, the map's definition (constants or the activation) and the evidence;
:func:`check_certificate` re-derives all of it from the file alone (the map from its record,
the tiling, every box bound, the witness or counterexample), sharing with the search only
the per-box primitives it audits, and returns a :class:`CheckReport` whose printed values
are its own.

Two names differ from their modules' because the stage sub-packages ``evaluate`` and
``simulate`` own those names: the moment map's ``evaluate`` is exported as
:func:`evaluate_map`, the Monte Carlo ``simulate`` as :func:`run_simulation`.
"""

from __future__ import annotations

import importlib as _importlib
from typing import Any as _Any

__version__ = "0.1.0"

#: public name -> (module, attribute)
_EXPORTS: dict[str, tuple[str, str]] = {
    # errors and precision
    "InputError": ("snn_theory.errors", "InputError"),
    "NumericalFailure": ("snn_theory.errors", "NumericalFailure"),
    "working_precision": ("snn_theory.precision", "working_precision"),
    "parse_exact": ("snn_theory.exact", "parse_exact"),
    "decimal_enclosure": ("snn_theory.exact", "decimal_enclosure"),
    # the moment model (one activation, resolved once) and the map g
    "MomentModel": ("snn_theory.evaluate.model", "MomentModel"),
    "ClosedFormModel": ("snn_theory.evaluate.model", "ClosedFormModel"),
    "GaussianModel": ("snn_theory.evaluate.model", "GaussianModel"),
    "resolve_model": ("snn_theory.evaluate.model", "resolve"),
    "MapPoint": ("snn_theory.evaluate.point", "MapPoint"),
    "FixedPoint": ("snn_theory.evaluate.activation_map", "FixedPoint"),
    "map_point": ("snn_theory.evaluate.point", "map_point"),
    "evaluate_map": ("snn_theory.evaluate.point", "evaluate_map"),
    "moments": ("snn_theory.evaluate.point", "moments"),
    "jacobian": ("snn_theory.evaluate.point", "jacobian"),
    "fixed_point": ("snn_theory.evaluate.point", "fixed_point"),
    "default_constants": ("snn_theory.evaluate.moment_map", "default_constants"),
    "Moments": ("snn_theory.evaluate.moment_map", "Moments"),
    "spectral_norm": ("snn_theory.evaluate.point", "spectral_norm"),
    "iterate": ("snn_theory.evaluate.point", "iterate"),
    # activations
    "Activation": ("snn_theory.derive.activations", "Activation"),
    "get_activation": ("snn_theory.derive.activations", "get"),
    # certified constants, claims, the verifier and certificates
    "solve_constants": ("snn_theory.certify.constants", "solve_constants"),
    "certified_gains": ("snn_theory.certify.gains", "certified_gains"),
    "Claim": ("snn_theory.certify.claims", "Claim"),
    "Domain": ("snn_theory.certify.claims", "Domain"),
    "BUILTIN_CLAIMS": ("snn_theory.certify.claims", "BUILTIN_CLAIMS"),
    "Settings": ("snn_theory.certify.search.settings", "Settings"),
    "ClaimResult": ("snn_theory.certify.search.result", "ClaimResult"),
    "verify_claim": ("snn_theory.certify.search.loop", "verify_claim"),
    "verify_claims": ("snn_theory.certify.search.loop", "verify_claims"),
    "Constants": ("snn_theory.certify.search.bounders", "Constants"),
    "BoxBounder": ("snn_theory.certify.search.bounders", "BoxBounder"),
    "ClosedFormBounder": ("snn_theory.certify.search.bounders", "ClosedFormBounder"),
    "GaussianBounder": ("snn_theory.certify.search.model_bounders", "GaussianBounder"),
    "bounder_for": ("snn_theory.certify.search.model_bounders", "bounder_for"),
    "read_certificate": ("snn_theory.certify.certificate.io", "read_certificate"),
    "write_certificate": ("snn_theory.certify.certificate.io", "write_certificate"),
    "check_certificate": ("snn_theory.certify.certificate.check", "check_certificate"),
    "CheckReport": ("snn_theory.certify.certificate.check", "CheckReport"),
    # networks as data: the description, its composed map and the map's fixed point
    "Network": ("snn_theory.derive.network", "Network"),
    "parse_network": ("snn_theory.derive.network", "parse_network"),
    "NetworkMap": ("snn_theory.evaluate.network_map", "NetworkMap"),
    "network_map": ("snn_theory.evaluate.network_map", "network_map"),
    "network_fixed_point": ("snn_theory.certify.network_fixed_point", "network_fixed_point"),
    "NetworkBounder": ("snn_theory.certify.search.network_bounder", "NetworkBounder"),
    "dyt_table": ("snn_theory.certify.dyt", "dyt_table"),
    "NetworkPropagation": ("snn_theory.certify.propagation.network", "NetworkPropagation"),
    "propagate_network": ("snn_theory.certify.propagation.network", "propagate_network"),
    # beyond the paper: signal propagation and domain maps
    "propagate": ("snn_theory.certify.propagation", "propagate"),
    "PavingSpec": ("snn_theory.certify.domains", "PavingSpec"),
    "map_domain": ("snn_theory.certify.domains", "map_domain"),
    "check_paving": ("snn_theory.certify.domains", "check_paving"),
    # evidence: Monte Carlo and training
    "SimulationConfig": ("snn_theory.simulate.config", "SimulationConfig"),
    "run_simulation": ("snn_theory.simulate.engine", "simulate"),
    "ActivationSimulation": ("snn_theory.simulate.activation", "ActivationSimulation"),
    "NetworkSimulationConfig": ("snn_theory.simulate.network_run", "NetworkSimulationConfig"),
    "NetworkSimulation": ("snn_theory.simulate.network_run", "NetworkSimulation"),
    "simulate_network": ("snn_theory.simulate.network_run", "simulate_network"),
    "NetworkGradients": ("snn_theory.simulate.network_gradients", "NetworkGradients"),
    "simulate_network_gradients": ("snn_theory.simulate.network_gradients",
                                   "simulate_network_gradients"),
    "TrainConfig": ("snn_theory.simulate.training", "TrainConfig"),
    "train": ("snn_theory.simulate.network", "train"),
    # training that keeps the theorem true: certified (omega, tau) regions and constraints
    "CertifiedRegion": ("snn_theory.certify.weight_regions", "CertifiedRegion"),
    "theorem1_region": ("snn_theory.certify.weight_regions", "theorem1_region"),
    "domain_map_region": ("snn_theory.certify.weight_regions", "domain_map_region"),
    "paving_region": ("snn_theory.certify.weight_regions", "paving_region"),
    "exact_row_statistics": ("snn_theory.certify.weight_regions", "exact_row_statistics"),
    "certify_network": ("snn_theory.certify.network_certificate", "certify_network"),
    "certified_constraint": ("snn_theory.simulate.constraints", "certified_constraint"),
    "max_norm_constraint": ("snn_theory.simulate.constraints", "max_norm_constraint"),
    "project_weights": ("snn_theory.simulate.constraints", "project_weights"),
    "normalized_init": ("snn_theory.simulate.constraints", "normalized_init"),
    # the one-command reproduction
    "reproduce": ("snn_theory.show.reproduce.stages", "run"),
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> _Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'snn_theory' has no attribute {name!r}") from None
    value = getattr(_importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
