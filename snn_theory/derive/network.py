"""Networks as data: the typed description of a network of blocks, and its one parser.

A network is a tuple of blocks applied in order to a unit's (mean, variance) (μ, ν) at
infinite width (docs/networks.md gives the map of each block)::

    >>> from snn_theory.derive.network import parse_network
    >>> net = parse_network("dense(selu), alpha_dropout(0.1), 2*residual(0.3, dense(tanh))")
    >>> [type(b).__name__ for b in net.blocks]
    ['Dense', 'AlphaDropout', 'Repeat']
    >>> net.spelling()
    'dense(selu), alpha_dropout(0.1), 2*residual(0.3, dense(tanh))'

The blocks (frozen dataclasses; numbers are exact :class:`~fractions.Fraction`, activations
:class:`~snn_theory.derive.activations.Activation`):

    dense(ACT[, omega=W][, tau=T])  :class:`Dense`   z = Wx then ACT (ω, τ: None = the caller's)
    act(ACT)                        :class:`Act`     ACT elementwise, no weights
    alpha_dropout(Q)                :class:`AlphaDropout`  0 ≤ Q < 1
    dropout(Q)                      :class:`Dropout`       inverted dropout, 0 ≤ Q < 1
    residual(W, BLOCK, …)           :class:`Residual`      y = √(1−W²)·x + W·branch(x), 0 ≤ W ≤ 1
    layer_norm()                    :class:`LayerNorm`
    N*BLOCK                         :class:`Repeat`        N ≥ 1 copies

ACT is the activation syntax of :func:`snn_theory.derive.activations.get` (a built-in name or
an expression in x), numbers go through :func:`snn_theory.exact.parse_exact`.  A residual
branch must begin with a dense block: only a weight layer makes the branch's output
independent of the unit's own input at infinite width, which the residual map assumes
(docs/networks.md).  Bad input raises :class:`~snn_theory.errors.InputError` with one line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from snn_theory.derive import activations
from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError
from snn_theory.exact import format_fraction, parse_exact

#: Largest repetition count N of N*BLOCK (and of blocks in a network, after repetition).
MAX_REPEAT = 1000
#: Longest accepted network text.
MAX_LENGTH = 4000


@dataclass(frozen=True)
class Placeholder:
    """An activation written by name only, to be chosen later (kernel shaping's ``psi``):
    :func:`parse_network` gives it where its ``placeholder`` name stands for an activation.
    No map is defined for it; only the commands that choose it accept it."""

    name: str

    def label(self) -> str:
        return self.name


def _act_text(act: Activation | Placeholder) -> str:
    if isinstance(act, Placeholder):
        return act.name
    if (act.scale, act.shift) == (1, 0):
        return act.definition
    return act.label()


@dataclass(frozen=True)
class Dense:
    """z = Wx (weight sum ω, sum of squares τ; None: the network's default), then ``act``
    (a :class:`Placeholder` only where the parser was given its name)."""

    act: Activation | Placeholder
    omega: Fraction | None = None
    tau: Fraction | None = None

    def __post_init__(self) -> None:
        if self.tau is not None and not self.tau > 0:
            raise InputError(f"dense(...): tau must be > 0 (got {format_fraction(self.tau)})")

    def spelling(self) -> str:
        extra = "".join(f", {k}={format_fraction(v)}"
                        for k, v in (("omega", self.omega), ("tau", self.tau)) if v is not None)
        return f"dense({_act_text(self.act)}{extra})"


@dataclass(frozen=True)
class Act:
    """``act`` applied elementwise, no weights."""

    act: Activation | Placeholder

    def spelling(self) -> str:
        return f"act({_act_text(self.act)})"


def _check_rate(name: str, q: Fraction) -> None:
    if not 0 <= q < 1:
        raise InputError(f"{name}(Q): the drop rate Q must satisfy 0 <= Q < 1 "
                         f"(got {format_fraction(q)})")


@dataclass(frozen=True)
class AlphaDropout:
    """Alpha dropout with drop rate ``q``: keep with probability 1 − q, dropped units set to
    α′ = −λ01·α01, then y ↦ a·y + b with the a, b that keep the fixed point (0, 1)."""

    q: Fraction

    def __post_init__(self) -> None:
        _check_rate("alpha_dropout", self.q)

    def spelling(self) -> str:
        return f"alpha_dropout({format_fraction(self.q)})"


@dataclass(frozen=True)
class Dropout:
    """Inverted dropout with drop rate ``q``: keep with probability 1 − q, scale by 1/(1 − q)."""

    q: Fraction

    def __post_init__(self) -> None:
        _check_rate("dropout", self.q)

    def spelling(self) -> str:
        return f"dropout({format_fraction(self.q)})"


@dataclass(frozen=True)
class LayerNorm:
    """Per-sample normalisation over the units (mean 0, variance 1 at infinite width)."""

    def spelling(self) -> str:
        return "layer_norm()"


@dataclass(frozen=True)
class Repeat:
    """``count`` copies of ``block`` (1 ≤ count ≤ :data:`MAX_REPEAT`)."""

    count: int
    block: Block

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) \
                or not 1 <= self.count <= MAX_REPEAT:
            raise InputError(f"N*BLOCK: N must be an integer in 1..{MAX_REPEAT} "
                             f"(got {self.count!r})")

    def spelling(self) -> str:
        return f"{self.count}*{self.block.spelling()}"


@dataclass(frozen=True)
class Residual:
    """y = √(1 − w²)·x + w·branch(x), 0 ≤ w ≤ 1; ``branch`` is a nonempty tuple of blocks
    whose first (after repetition) is :class:`Dense`."""

    w: Fraction
    branch: tuple[Block, ...]

    def __post_init__(self) -> None:
        if not 0 <= self.w <= 1:
            raise InputError("residual(W, ...): the branch weight W must satisfy 0 <= W <= 1 "
                             f"(got {format_fraction(self.w)})")
        if not self.branch:
            raise InputError("residual(W, BLOCK, ...): the branch needs at least one block")
        first = self.branch[0]
        while isinstance(first, Repeat):
            first = first.block
        if not isinstance(first, Dense):
            raise InputError("residual(W, BLOCK, ...): the branch must begin with a dense "
                             "block (only a weight layer makes it independent of the unit's "
                             f"own input at infinite width; got {first.spelling()})")

    def spelling(self) -> str:
        return (f"residual({format_fraction(self.w)}, "
                + ", ".join(b.spelling() for b in self.branch) + ")")


Block = Dense | Act | AlphaDropout | Dropout | LayerNorm | Repeat | Residual


@dataclass(frozen=True)
class Network:
    """A network: ``blocks`` applied in order (at least one)."""

    blocks: tuple[Block, ...]

    def __post_init__(self) -> None:
        if not self.blocks:
            raise InputError("the network needs at least one block")
        if count_blocks(self.blocks) > MAX_REPEAT:
            raise InputError(f"the network has more than {MAX_REPEAT} blocks")

    def spelling(self) -> str:
        """The canonical text of the network (parses back to an equal value)."""
        return ", ".join(b.spelling() for b in self.blocks)

    def __str__(self) -> str:
        return self.spelling()


def count_blocks(blocks: tuple[Block, ...]) -> int:
    """The number of blocks after repetition, residual branches included."""
    total = 0
    for b in blocks:
        if isinstance(b, Repeat):
            total += b.count * count_blocks((b.block,))
        elif isinstance(b, Residual):
            total += 1 + count_blocks(b.branch)
        else:
            total += 1
    return total


# ----------------------------------------------------------------------------- the parser
_ITEM = re.compile(r"\s*(?:(\d+)\s*\*\s*)?([A-Za-z_]\w*)\s*\(", re.ASCII)


def _split_top(text: str, where: str) -> list[str]:
    """``text`` split at commas outside parentheses; unbalanced parentheses are an error."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise InputError(f"{where}: unbalanced parentheses (a ')' without '(')")
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise InputError(f"{where}: unbalanced parentheses ({depth} '(' not closed)")
    parts.append(text[start:])
    return parts


def _items(text: str, where: str, placeholder: str | None) -> Iterator[Block]:
    for part in _split_top(text, where):
        if not part.strip():
            raise InputError(f"{where}: an empty block (two commas, or a comma at an end)")
        yield _item(part.strip(), placeholder)


def _activation(text: str, placeholder: str | None) -> Activation | Placeholder:
    if placeholder is not None and text.strip().lower() == placeholder:
        return Placeholder(placeholder)
    return activations.get(text)


def _item(text: str, placeholder: str | None) -> Block:
    match = _ITEM.match(text)
    if not match or not text.endswith(")"):
        raise InputError(f"the network: {text!r} is not a block NAME(...) or N*NAME(...)")
    count, name = match.group(1), match.group(2).lower()
    depth, close = 1, len(text) - 1
    for i in range(match.end(), len(text)):  # the parenthesis that closes NAME(
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            close = i
            break
    if close != len(text) - 1:
        raise InputError(f"the network: {text!r} is not a block NAME(...) or N*NAME(...) "
                         "(blocks are separated by commas)")
    inner = text[match.end():-1]
    block = _block(name, inner, placeholder)
    if count is None:
        return block
    if len(count) > 6:
        raise InputError(f"N*BLOCK: N must be an integer in 1..{MAX_REPEAT} (got {count})")
    return Repeat(int(count), block)


def _keyword(arg: str, names: tuple[str, ...], where: str) -> tuple[str, str]:
    key, sep, value = arg.partition("=")
    key = key.strip().lower()
    if not sep or key not in names:
        raise InputError(f"{where}: expected {' or '.join(k + '=NUMBER' for k in names)} "
                         f"(got {arg.strip()!r})")
    return key, value.strip()


def _block(name: str, inner: str, placeholder: str | None) -> Block:
    where = f"{name}(...)"
    args = [a.strip() for a in _split_top(inner, where)] if inner.strip() else []
    if name == "dense":
        if not args:
            raise InputError("dense(ACT[, omega=W][, tau=T]): the activation is missing")
        extra: dict[str, Fraction] = {}
        for arg in args[1:]:
            key, value = _keyword(arg, ("omega", "tau"), where)
            if key in extra:
                raise InputError(f"{where}: {key} given twice")
            extra[key] = parse_exact(value, f"dense(...) {key}", positive=key == "tau")
        return Dense(_activation(args[0], placeholder), extra.get("omega"), extra.get("tau"))
    if name == "act":
        if len(args) != 1:
            raise InputError("act(ACT): exactly one activation expected")
        return Act(_activation(args[0], placeholder))
    if name in ("alpha_dropout", "dropout"):
        if len(args) != 1:
            raise InputError(f"{name}(Q): exactly one drop rate expected")
        q = parse_exact(args[0], f"{name}(Q)")
        return AlphaDropout(q) if name == "alpha_dropout" else Dropout(q)
    if name == "layer_norm":
        if args:
            raise InputError("layer_norm() takes no arguments")
        return LayerNorm()
    if name == "residual":
        if len(args) < 2:
            raise InputError("residual(W, BLOCK, ...): a weight and at least one block expected")
        w = parse_exact(args[0], "residual(W, ...) W")
        head = inner.index(",")  # the weight is the first top-level argument
        return Residual(w, tuple(_items(inner[head + 1:], where, placeholder)))
    raise InputError(f"the network: unknown block {name!r} (known: dense, act, alpha_dropout, "
                     "dropout, residual, layer_norm, and N*BLOCK)")


_PLACEHOLDER_NAME = re.compile(r"[a-z_]\w*\Z", re.ASCII)


def parse_network(text: str | Network, placeholder: str | None = None) -> Network:
    """The :class:`Network` the text describes (a :class:`Network` is returned as it is).

    With ``placeholder`` (a lower-case name that is no built-in activation, such as ``psi``),
    an activation written as that name is a :class:`Placeholder` instead of an activation
    (only the callers that choose it, such as kernel shaping, pass one).

    Raises :class:`InputError` (one line) for unbalanced parentheses, an unknown block, a
    drop rate outside [0, 1), a residual weight outside [0, 1], a repetition count outside
    1..:data:`MAX_REPEAT`, or an activation that does not parse."""
    if placeholder is not None and (not _PLACEHOLDER_NAME.match(placeholder)
                                    or placeholder in activations.NAMES):
        raise InputError(f"the placeholder {placeholder!r} must be a lower-case name that is "
                         "no built-in activation")
    if isinstance(text, Network):
        return text
    if not isinstance(text, str) or not text.strip():
        raise InputError("the network must be a nonempty text such as 'dense(selu), "
                         "alpha_dropout(0.1)'")
    if len(text) > MAX_LENGTH:
        raise InputError(f"the network text is longer than {MAX_LENGTH} characters")
    if not text.isascii():
        raise InputError("the network must be written in ASCII")
    return Network(tuple(_items(text, "the network", placeholder)))


__all__ = ["MAX_REPEAT", "Act", "AlphaDropout", "Block", "Dense", "Dropout", "LayerNorm",
           "Network", "Placeholder", "Repeat", "Residual", "count_blocks", "parse_network"]
