"""Trained networks against the theorem: do the weights stay where it holds?

The theorems (docs/mathematics.md §4) and the Monte Carlo (:mod:`snn_theory.simulate.engine`) are about networks
at initialisation.  Here deep fully connected networks are *trained* on small real data sets
that ship with scikit-learn (digits, breast cancer, wine, iris: nothing is downloaded), and
after every epoch the quantities the theorems are stated in are recorded:

* the activations' pooled mean and variance per layer on a held-out batch (the validation
  set, at most ``heldout`` samples, inference mode: no dropout, batch norm on its running
  statistics), ``μ_l = mean over samples and units``, ``ν_l = mean of (x − μ_l)²`` (law of
  total variance: within-unit variance plus the spread of the unit means) — the (μ, ν) that
  the map g acts on (docs/mathematics.md §1);
* per hidden unit i of layer l the weight statistics ``ω_i = Σ_j w_ij`` and
  ``τ_i = Σ_j w_ij²`` (row i of the layer's weight matrix, z = W x + b), their median and
  5–95 % range, and the fraction of units whose (ω_i, τ_i) lies in the rectangle of
  Theorem 1 (the domain on which ``verify-contraction --theorem 1`` proves the contraction), ``ω ∈ [−0.1, 0.1], τ ∈ [0.95, 1.1]`` (read from
  :data:`snn_theory.certify.claims.THEOREM_DOMAINS`, never copied).  The theorem proves contraction of
  g for *every* (ω, τ) in that rectangle; a unit outside it is not covered by the proof (which
  does not mean it misbehaves);
* training loss (full training set, inference mode) and the loss of every minibatch step,
  validation loss and accuracy, test loss and accuracy, and the per-layer gradient norms
  ``‖∂L/∂W_l‖_F`` averaged over the steps of the epoch.

Variants (:data:`VARIANTS`): SELU with LeCun-normal or *normalised* initialisation (rows
rescaled so that Σw = 0, Σw² = 1 exactly, the theorem's assumption) and alpha dropout;
ReLU with batch normalisation; plain ReLU (He initialisation); tanh; LeCun's scaled tanh
1.7159·tanh(2x/3).  SELU uses the float64 roundings of the *certified* λ01, α01 and of the
certified alpha-dropout constants a, b, α′ = −λα for the drop rate
(:func:`snn_theory.certify.constants.solve_constants`; docs/mathematics.md §3), cast to float32 for training.
One more variant, :data:`ACTIVATION` (``--activation``), trains any activation of
:mod:`snn_theory.derive.activations`, c·f(x) + d, initialised like SELU, without batch norm, with
inverted dropout; c, d as given or, by default, the certified pair that makes (0, 1) the
fixed point of its map g at ω = 0, τ = 1 (:func:`resolve_activation`).

Libraries: optax (optimisers), equinox (``eqx.nn.Linear``, ``eqx.nn.BatchNorm``), JAX jit with
one ``lax.scan`` per epoch; scikit-learn for the data and the stratified split
(60 % train, 20 % validation, 20 % test, fixed ``split_seed``; features standardised with the
training set's mean and standard deviation).  Fixed seeds: the same config gives the same
numbers (on the same machine and JAX version).

Everything here is float32 evidence about trained networks, not a proof; the only certified
things are the constants and the rectangle the fractions are counted against.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snn_theory.errors import InputError
from snn_theory.files import json_value
from snn_theory.simulate.config import check_choice

DATASETS: tuple[str, ...] = ("digits", "breast-cancer", "wine", "iris")
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd", "momentum")
INITS: tuple[str, ...] = ("lecun", "normalized")

#: Weight constraints (``--constraint``; or the path of a paving certificate): projected after
#: every update (:mod:`snn_theory.simulate.constraints`).
CONSTRAINTS: tuple[str, ...] = ("none", "max-norm", "theorem1", "domain-map")

#: Quantiles of the per-unit weight statistics that are recorded (5 %, median, 95 %).
QUANTILES: tuple[float, float, float] = (0.05, 0.5, 0.95)

#: Momentum of the batch-norm running statistics (``eqx.nn.BatchNorm``, mode "batch").
BN_MOMENTUM = 0.9


@dataclass(frozen=True)
class Variant:
    """A network family: activation, batch norm or not, initialisation gain, dropout kind.

    ``gain``: target Σ_j w_ij² of a unit's incoming weights (LeCun: Var w = gain/fan_in;
    normalised: Σw² = gain exactly).  ``dropout``: ``"alpha"`` (SELU: dropped units set to
    α′, then a·x + b) or ``"standard"`` (inverted dropout, x·mask/q).
    """

    name: str
    activation: str
    batch_norm: bool
    gain: float
    dropout: str
    description: str


#: The compared networks (name → :class:`Variant`).
VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("selu", "selu", False, 1.0, "alpha",
            "SELU (certified λ01, α01), alpha dropout with certified a, b"),
    Variant("relu-bn", "relu", True, 2.0, "standard",
            "ReLU after batch normalisation (equinox BatchNorm), He init"),
    Variant("relu", "relu", False, 2.0, "standard", "plain ReLU, He init"),
    Variant("tanh", "tanh", False, 1.0, "standard", "tanh, LeCun init"),
    Variant("scaled-tanh", "scaled_tanh", False, 1.0, "standard",
            "LeCun's 1.7159·tanh(2x/3), LeCun init"),
)}

#: The name of the extra variant trained with ``TrainConfig.activation`` (``--activation``).
ACTIVATION_VARIANT = "activation"

#: The extra variant: any activation of :mod:`snn_theory.derive.activations`, initialised like SELU
#: (LeCun or normalised, gain 1), no batch norm, inverted dropout.
ACTIVATION = Variant(ACTIVATION_VARIANT, "custom", False, 1.0, "standard",
                     "c·f(x) + d of the given activation (c, d for the fixed point (0, 1) at "
                     "ω = 0, τ = 1 unless scale/shift are given), init like selu, no batch norm")


def variant_of(name: str) -> Variant:
    """The :class:`Variant` called ``name`` (:data:`VARIANTS` or :data:`ACTIVATION`)."""
    return ACTIVATION if name == ACTIVATION_VARIANT else VARIANTS[name]


@functools.lru_cache(maxsize=16)
def resolve_activation(text: str, scale: str | None = None,
                       shift: str | None = None) -> tuple[Any, str]:
    """(activation, how its parameters were chosen) for the activation variant.

    With ``scale`` or ``shift`` given: c·f(x) + d with those (exact decimals; the missing one
    1 resp. 0).  With neither: the member of f's affine family whose fixed point at ω = 0,
    τ = 1 is (0, 1) (:func:`snn_theory.certify.activation_table.normalized`: SELU keeps λ01, α01;
    otherwise c, d certified by :func:`snn_theory.evaluate.activation_map.solve_affine`, rounded to
    20 decimals).  :class:`InputError` for bad input; ArithmeticError if c, d cannot be
    certified."""
    from snn_theory.derive import activations

    act = activations.get(text, "1" if scale is None else scale,
                          "0" if shift is None else shift)
    if scale is not None or shift is not None:
        return act, "as given (scale, shift)"
    from snn_theory.certify.activation_table import normalized

    return normalized(text)


def certified_region() -> tuple[tuple[float, float], tuple[float, float]]:
    """Theorem 1's (ω, τ) rectangle from :data:`snn_theory.certify.claims.THEOREM_DOMAINS` as floats:
    ((ω_lo, ω_hi), (τ_lo, τ_hi)) = ((−0.1, 0.1), (0.95, 1.1))."""
    from snn_theory.certify.claims import THEOREM_DOMAINS
    from snn_theory.derive.formulas import VARIABLE_NAMES

    bounds = dict(zip(VARIABLE_NAMES, THEOREM_DOMAINS["theorem1"].bounds, strict=True))
    (wl, wh), (tl, th) = bounds["omega"], bounds["tau"]
    return (float(wl), float(wh)), (float(tl), float(th))


# ============================================================================ configuration
@dataclass(frozen=True)
class TrainConfig:
    """One training run.

    ``depth``: number of hidden layers (each ``width`` units), then a linear output layer.
    ``init``: ``"lecun"`` (w ~ N(0, gain/fan_in)) or ``"normalized"`` (each row exactly
    Σw = 0, Σw² = gain).  ``heldout``: samples of the validation set used for the per-layer
    statistics.  ``split_seed`` fixes the data split; ``seed`` the weights, the minibatch
    order and the dropout masks.
    """

    dataset: str = "digits"
    variant: str = "selu"
    depth: int = 16
    width: int = 64
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    dropout_rate: float = 0.05
    init: str = "lecun"
    seed: int = 0
    split_seed: int = 0
    heldout: int = 256
    activation: str | None = None
    scale: str | None = None
    shift: str | None = None
    constraint: str = "none"

    def validate(self) -> None:
        """Raise :class:`InputError` (one-line message) for any invalid field."""
        check_choice("data set", self.dataset, DATASETS)
        check_choice("variant", self.variant, (*VARIANTS, ACTIVATION_VARIANT))
        if self.variant == ACTIVATION_VARIANT:
            from snn_theory.derive import activations

            if not isinstance(self.activation, str):
                raise InputError("the activation variant needs an activation (a name or an "
                                 "expression)")
            activations.get(self.activation, "1" if self.scale is None else self.scale,
                            "0" if self.shift is None else self.shift)
        elif (self.activation, self.scale, self.shift) != (None, None, None):
            raise InputError(f"an activation applies to the {ACTIVATION_VARIANT!r} variant "
                             f"only (not {self.variant!r})")
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("init", self.init, INITS)
        check_constraint(self.constraint)
        for name in ("depth", "width", "epochs", "batch_size", "heldout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise InputError(f"{name.replace('_', ' ')} must be an integer >= 1 "
                                 f"(got {value!r})")
        for name in ("seed", "split_seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise InputError(f"{name.replace('_', ' ')} must be an integer >= 0 "
                                 f"(got {value!r})")
        lr = self.learning_rate
        if not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
            raise InputError(f"learning rate must be a finite number > 0 (got {lr!r})")
        r = self.dropout_rate
        if not isinstance(r, int | float) or not math.isfinite(r) or not 0 <= r < 1:
            raise InputError(f"dropout rate must be in [0, 1) (got {r!r})")
        if self.width > 4096 or self.depth > 1024:
            raise InputError(f"width <= 4096 and depth <= 1024 here (got width {self.width}, "
                             f"depth {self.depth}); this command is for laptops")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_constraint(name: Any) -> None:
    """:class:`InputError` unless ``name`` is one of :data:`CONSTRAINTS` or names an existing
    paving certificate file (``*.json.gz`` / ``*.json``; its check happens when training)."""
    if not isinstance(name, str):
        raise InputError(f"constraint must be a name or a paving file (got {name!r})")
    if name in CONSTRAINTS:
        return
    if not name.endswith((".json.gz", ".json")):
        raise InputError(f"unknown constraint {name!r}: use {', '.join(CONSTRAINTS)} or a "
                         "paving certificate (.json.gz)")
    from pathlib import Path

    if not Path(name).is_file():
        raise InputError(f"constraint: paving {name}: no such file")


# ============================================================================ data
@dataclass(frozen=True)
class Split:
    """A standardised train/validation/test split (float32 features, int32 labels)."""

    dataset: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


@functools.lru_cache(maxsize=16)
def load_split(dataset: str, split_seed: int = 0) -> Split:
    """``dataset`` (bundled with scikit-learn) split 60/20/20 stratified with ``split_seed``;
    features standardised with the training set's statistics (constant features → 0)."""
    check_choice("data set", dataset, DATASETS)
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    loader = {"digits": datasets.load_digits, "breast-cancer": datasets.load_breast_cancer,
              "wine": datasets.load_wine, "iris": datasets.load_iris}[dataset]
    x, y = loader(return_X_y=True)
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.int64)
    x_tr, x_rest, y_tr, y_rest = train_test_split(x, y, test_size=0.4, random_state=split_seed,
                                                  stratify=y)
    x_va, x_te, y_va, y_te = train_test_split(x_rest, y_rest, test_size=0.5,
                                              random_state=split_seed, stratify=y_rest)
    mean, std = x_tr.mean(axis=0), x_tr.std(axis=0)
    std = np.where(std > 0, std, 1.0)

    def f(a: np.ndarray) -> np.ndarray:
        return ((a - mean) / std).astype(np.float32)

    def i(a: np.ndarray) -> np.ndarray:
        return a.astype(np.int32)

    return Split(dataset, f(x_tr), i(y_tr), f(x_va), i(y_va), f(x_te), i(y_te),
                 int(y.max()) + 1)


# ============================================================================ constants
@dataclass(frozen=True)
class SeluConstants:
    """float64 roundings of certified balls: λ01, α01 and alpha dropout at ``rate``
    (α′ = −λα, a, b; docs/mathematics.md §3).  For rate 0: a = 1, b = 0 (no dropout)."""

    rate: float
    lam: float
    alpha: float
    alpha_prime: float
    a: float
    b: float


@functools.lru_cache(maxsize=32)
def selu_constants(rate: float = 0.0) -> SeluConstants:
    """λ01, α01 and the alpha-dropout a, b for drop rate ``rate``, each the float64 nearest to
    its certified enclosure (:func:`snn_theory.certify.constants.solve_constants`, Krawczyk test in arb).

    Raises :class:`ArithmeticError` if the solver does not certify them.
    """
    from snn_theory.certify.constants import solve_constants

    text = repr(float(rate))
    rates = [text] if rate > 0 else []
    result = solve_constants(digits=20, dropout_rates=rates)
    if not result.certified:
        raise ArithmeticError(f"λ01, α01 could not be certified: {result.failure}")
    fl = result.floats
    try:
        lam, alpha, ap = fl["lambda"], fl["alpha"], fl["alpha_prime"]
        a, b = (fl[f"dropout[{text}].a"], fl[f"dropout[{text}].b"]) if rates else (1.0, 0.0)
    except KeyError as exc:  # a ball straddled a float64 rounding boundary
        raise ArithmeticError(f"no unique float64 rounding of {exc.args[0]}") from None
    return SeluConstants(float(rate), lam, alpha, ap, a, b)


# ============================================================================ statistics
@dataclass(frozen=True)
class WeightStatistics:
    """Per-unit ω_i = Σ_j w_ij, τ_i = Σ_j w_ij² of each hidden layer (rows of W; float64 sums
    of the float32 weights) and their summaries.

    ``omega``/``tau``: (layers, units); ``omega_quantiles``/``tau_quantiles``: (3, layers) at
    :data:`QUANTILES`; ``in_region``: (layers,) fraction of units with ω_i and τ_i both inside
    :func:`certified_region`.
    """

    omega: np.ndarray
    tau: np.ndarray
    omega_quantiles: np.ndarray
    tau_quantiles: np.ndarray
    in_region: np.ndarray


def weight_statistics(weights: Sequence[np.ndarray]) -> WeightStatistics:
    """:class:`WeightStatistics` of the hidden layers' weight matrices (each (units, fan_in))."""
    w64 = [np.asarray(w, np.float64) for w in weights]
    omega = np.stack([w.sum(axis=1) for w in w64])
    tau = np.stack([np.square(w).sum(axis=1) for w in w64])
    (wl, wh), (tl, th) = certified_region()
    inside = (omega >= wl) & (omega <= wh) & (tau >= tl) & (tau <= th)
    q = list(QUANTILES)
    return WeightStatistics(omega, tau, np.quantile(omega, q, axis=1),
                            np.quantile(tau, q, axis=1), inside.mean(axis=1))


def g_iterates(mu0: float, nu0: float, steps: int, *, omega: float = 0.0,
               tau: float = 1.0) -> np.ndarray:
    """(steps + 1, 2): the iterates (μ_k, ν_k) of g (λ01, α01, float64) from (mu0, nu0)
    (:func:`snn_theory.evaluate.moment_map.closed_form_trajectory`); NaN once they leave the domain."""
    from snn_theory.simulate.prediction import analytic_trajectory

    c = selu_constants(0.0)
    m, v = analytic_trajectory(float(mu0), omega, float(nu0), tau, steps=steps, lam=c.lam,
                               alpha=c.alpha)
    return np.stack([m, v], axis=1)


def g_prediction(x: np.ndarray, depth: int, width: int) -> np.ndarray:
    """(depth + 1, 2): the pooled (μ_l, ν_l) that the iterates of g predict for a SELU network
    with *normalised* weights (every row Σw = 0, Σw² = 1) on the inputs ``x`` (samples, features).

    For a fixed sample a and a row w drawn uniformly from {Σw = 0, Σw² = 1} ⊂ ℝⁿ,
    z = w·x has mean 0 and variance Σ_j (x_j − x̄)²/(n − 1) = ν_a·n/(n − 1), with (μ_a, ν_a)
    the mean and variance of the sample's n inputs, whatever μ_a: so each sample follows its
    own iterates of g at ω = 0, τ = n/(n − 1) (:func:`snn_theory.evaluate.moment_map.closed_form_quantities`,
    float64, vectorised over samples; n = features, then ``width``).  Pooled over samples:
    μ_l = mean_a μ_a, ν_l = mean_a ν_a + var_a μ_a (law of total variance), the statistic
    :class:`RunResult` records.  A large-width prediction: the network deviates from it by
    O(1/√width).  For LeCun weights it is only indicative (their rows have ω_i ~ N(0, 1)).
    """
    from snn_theory.evaluate.moment_map import closed_form_quantities

    c = selu_constants(0.0)
    x = np.asarray(x, np.float64)
    mu, nu = x.mean(axis=1), x.var(axis=1)
    n = x.shape[1]
    out = [(mu.mean(), nu.mean() + mu.var())]
    with np.errstate(all="ignore"):
        for _ in range(depth):
            q = closed_form_quantities(mu, 0.0, nu, n / (n - 1) if n > 1 else 1.0, c.lam, c.alpha,
                                       backend="numpy", quantities=("mean", "variance"),
                                       check=False)
            mu, nu = np.asarray(q["mean"]), np.asarray(q["variance"])
            out.append((mu.mean(), nu.mean() + mu.var()))
            n = width
    return np.array(out, dtype=np.float64)


# ============================================================================ results
def _nan_to_none(a: Any) -> Any:
    return json_value(np.asarray(a, np.float64))


def _from_json_array(x: Any) -> np.ndarray:
    return np.array(x if x is not None else [], dtype=np.float64) if not isinstance(x, list) \
        else np.array([[np.nan if v is None else v for v in r] if isinstance(r, list)
                       else (np.nan if r is None else r) for r in x], dtype=np.float64)


#: Per-epoch arrays of :class:`RunResult` (epoch 0 = initialisation), in JSON order.
EPOCH_FIELDS: tuple[str, ...] = (
    "train_loss", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "act_mean",
    "act_var", "act_var_within", "omega_quantiles", "tau_quantiles", "in_region", "grad_norm",
    "inside_fraction")


@dataclass
class RunResult:
    """The record of one training run; arrays indexed by epoch e = 0..epochs (0: at
    initialisation, before any step).

    * ``step_loss`` (epochs·steps_per_epoch,): the loss of every minibatch (training mode);
    * ``train_loss``, ``val_loss``, ``test_loss``, ``val_accuracy``, ``test_accuracy``
      (epochs + 1,): full sets, inference mode;
    * ``act_mean``, ``act_var`` (epochs + 1, depth + 1): pooled (μ_l, ν_l) on the held-out
      batch, l = 0 the input, l ≥ 1 after hidden layer l's activation; ``act_var_within``:
      the within-unit part of ν_l (mean over units of each unit's variance over samples);
    * ``omega_quantiles``, ``tau_quantiles`` (epochs + 1, 3, depth); ``in_region``
      (epochs + 1, depth) (:class:`WeightStatistics`);
    * ``inside_fraction`` (epochs + 1, depth): per hidden layer the fraction of units whose
      (ω_i, τ_i), computed *exactly* from the stored float32 weights (as rationals:
      :func:`snn_theory.certify.weight_regions.exact_row_statistics`), lies in the constraint's
      certified region (Theorem 1's rectangle for ``none`` and ``max-norm``);
    * ``grad_norm`` (epochs + 1, depth + 1): per layer (hidden 1..depth, then the output
      layer) ‖∂L/∂W‖_F averaged over the epoch's steps (row 0: NaN);
    * ``snapshots``: {epoch: (ω, τ) per unit, each (depth, width)} at the start, the middle
      and the end;
    * ``weights``: the final parameters, {name: array} (``hidden{l}.weight`` (width, fan_in),
      ``hidden{l}.bias``, ``out.weight``, ``out.bias``; with batch norm ``bn{l}.mean``,
      ``bn{l}.var`` (the running statistics used at inference), ``bn{l}.gamma``,
      ``bn{l}.beta``);
    * ``predicted`` (depth + 1, 2): :func:`g_prediction` on the held-out batch (the pooled
      (μ_l, ν_l) the iterates of g predict for normalised weights);
    * ``heldout``: the held-out batch (float32 features) the (μ, ν) were measured on;
    * ``activation``: for the activation variant, the activation trained
      (:meth:`snn_theory.derive.activations.Activation.to_json` plus ``label``, ``parameters``: how
      c, d were chosen, and their float64 values ``scale_float``, ``shift_float``); else None.
    """

    config: TrainConfig
    constants: SeluConstants
    steps_per_epoch: int
    step_loss: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    test_loss: np.ndarray
    test_accuracy: np.ndarray
    act_mean: np.ndarray
    act_var: np.ndarray
    act_var_within: np.ndarray
    omega_quantiles: np.ndarray
    tau_quantiles: np.ndarray
    in_region: np.ndarray
    grad_norm: np.ndarray
    inside_fraction: np.ndarray
    snapshots: dict[int, tuple[np.ndarray, np.ndarray]]
    predicted: np.ndarray | None = None
    weights: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    heldout: np.ndarray | None = field(default=None, repr=False)
    seconds: float = 0.0
    activation: dict[str, Any] | None = None
    #: the part of ``seconds`` JAX spent compiling (tracing, lowering, backend): a run that
    #: reuses a program compiled by an earlier run of the same shapes spends about 0 there
    compile_seconds: float = 0.0

    @property
    def diverged(self) -> bool:
        """Whether a loss became NaN or infinite."""
        return not (np.all(np.isfinite(self.step_loss)) and np.all(np.isfinite(self.train_loss)))

    @property
    def name(self) -> str:
        """The variant's name; for the activation variant ``act:`` and the activation."""
        c = self.config
        name = f"act:{c.activation}" if c.variant == ACTIVATION_VARIANT else c.variant
        return name if c.constraint == "none" else f"{name}+{c.constraint}"

    @property
    def label(self) -> str:
        return f"{self.name} depth {self.config.depth}"

    def summary(self) -> dict[str, Any]:
        """Scalars for tables: final losses/accuracy, (μ, ν) of the last hidden layer, the
        fraction of hidden units in the certified region at the start and the end."""
        return {
            "variant": self.config.variant, "name": self.name, "dataset": self.config.dataset,
            "depth": self.config.depth, "width": self.config.width,
            "train_loss_start": _f(self.train_loss[0]), "train_loss_end": _f(self.train_loss[-1]),
            "val_loss_end": _f(self.val_loss[-1]), "val_accuracy_end": _f(self.val_accuracy[-1]),
            "test_accuracy_end": _f(self.test_accuracy[-1]),
            "last_layer_mu_start": _f(self.act_mean[0, -1]),
            "last_layer_nu_start": _f(self.act_var[0, -1]),
            "last_layer_mu_end": _f(self.act_mean[-1, -1]),
            "last_layer_nu_end": _f(self.act_var[-1, -1]),
            "in_region_start": _f(self.in_region[0].mean()),
            "in_region_end": _f(self.in_region[-1].mean()),
            "constraint": self.config.constraint,
            "inside_fraction_end": (_f(self.inside_fraction[-1].min())
                                    if self.inside_fraction.size else None),
            "diverged": self.diverged, "seconds": round(self.seconds, 3),
            "compile_seconds": round(self.compile_seconds, 3),
        }

    def to_json(self, arrays: bool = True) -> dict[str, Any]:
        """JSON-ready: config, constants, summary and (``arrays``) every recorded array."""
        out: dict[str, Any] = {"config": self.config.to_dict(),
                               "constants": dataclasses.asdict(self.constants),
                               "steps_per_epoch": self.steps_per_epoch,
                               "summary": self.summary()}
        if self.activation is not None:
            out["activation"] = self.activation
        if arrays:
            out["step_loss"] = _nan_to_none(self.step_loss)
            for name in EPOCH_FIELDS:
                out[name] = _nan_to_none(getattr(self, name)) if getattr(self, name).ndim < 3 \
                    else [_nan_to_none(a) for a in getattr(self, name)]
            out["predicted"] = None if self.predicted is None else \
                [_nan_to_none(p) for p in self.predicted.T]
            out["snapshots"] = {str(e): {"omega": _nan_to_none(o), "tau": _nan_to_none(t)}
                                for e, (o, t) in self.snapshots.items()}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        """Inverse of :meth:`to_json` (without weights and the held-out batch)."""
        try:
            config = TrainConfig(**data["config"])
            config.validate()
            arrays = {}
            for name in EPOCH_FIELDS:
                v = data[name] if name != "inside_fraction" else data.get(name, [])
                arrays[name] = (np.stack([_from_json_array(a) for a in v])
                                if v and isinstance(v[0], list) and v[0]
                                and isinstance(v[0][0], list) else _from_json_array(v))
            snapshots = {int(e): (_from_json_array(s["omega"]), _from_json_array(s["tau"]))
                         for e, s in data["snapshots"].items()}
            pred = data.get("predicted")
            predicted = None if pred is None else np.stack([_from_json_array(p)
                                                            for p in pred], axis=1)
            return cls(config, SeluConstants(**data["constants"]), int(data["steps_per_epoch"]),
                       _from_json_array(data["step_loss"]), snapshots=snapshots,
                       predicted=predicted, activation=data.get("activation"),
                       seconds=float(data.get("summary", {}).get("seconds") or 0.0),
                       compile_seconds=float(data.get("summary", {}).get("compile_seconds")
                                             or 0.0), **arrays)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"not a training record: {type(exc).__name__}: {exc}") from None


def _f(x: Any) -> float | None:
    return json_value(float(x))
