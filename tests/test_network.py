"""The network description: the parser builds the typed value, spells it back, and refuses
bad input with one line."""

from __future__ import annotations

from fractions import Fraction

import pytest

from snn_theory.derive import activations
from snn_theory.derive.network import (
    Act,
    AlphaDropout,
    Dense,
    Dropout,
    LayerNorm,
    Network,
    Repeat,
    Residual,
    count_blocks,
    parse_network,
)
from snn_theory.errors import InputError


def test_each_block_parses_to_its_typed_value() -> None:
    net = parse_network("dense(selu), alpha_dropout(0.1), dropout(1/8), "
                        "residual(0.3, dense(selu), dense(selu)), 4*dense(tanh), "
                        "act(tanh(0.5*x)), dense(gelu, omega=-0.25, tau=1.5), layer_norm()")
    selu, tanh = activations.get("selu"), activations.get("tanh")
    assert net.blocks == (
        Dense(selu), AlphaDropout(Fraction(1, 10)), Dropout(Fraction(1, 8)),
        Residual(Fraction(3, 10), (Dense(selu), Dense(selu))), Repeat(4, Dense(tanh)),
        Act(activations.get("tanh(0.5*x)")),
        Dense(activations.get("gelu"), Fraction(-1, 4), Fraction(3, 2)), LayerNorm())
    assert count_blocks(net.blocks) == 1 + 1 + 1 + 3 + 4 + 1 + 1 + 1


def test_the_spelling_parses_back_to_the_same_value() -> None:
    text = ("2*residual(0.5, 3*dense(selu, tau=1.1), alpha_dropout(0.05)), "
            "act(1.59*tanh(x)), dropout(1/3), layer_norm()")
    net = parse_network(text)
    assert parse_network(net.spelling()) == net
    assert parse_network(net) is net
    # whitespace and case of block names do not matter
    assert parse_network(" DENSE( selu ) ,Alpha_Dropout( 0.1 )") == parse_network(
        "dense(selu), alpha_dropout(0.1)")


def test_an_activation_with_commas_inside_parentheses_stays_one_argument() -> None:
    net = parse_network("dense(max(x, 0), omega=0.5)")
    assert net.blocks[0].act == activations.get("max(x, 0)")
    assert net.blocks[0].omega == Fraction(1, 2)


@pytest.mark.parametrize(("text", "message"), [
    ("dense(selu", "unbalanced parentheses"),
    ("dense(selu))", "unbalanced parentheses"),
    ("conv(selu)", "unknown block 'conv'"),
    ("dense(selu),", "empty block"),
    ("dense(selu) alpha_dropout(0.1)", "not a block"),
    ("alpha_dropout(1)", "0 <= Q < 1"),
    ("dropout(-0.1)", "0 <= Q < 1"),
    ("alpha_dropout(nan)", "finite decimal"),
    ("residual(1.01, dense(selu))", "0 <= W <= 1"),
    ("residual(-0.5, dense(selu))", "0 <= W <= 1"),
    ("residual(0.5)", "at least one block"),
    ("residual(0.5, act(tanh))", "must begin with a dense block"),
    ("0*dense(selu)", "1..1000"),
    ("1001*dense(selu)", "1..1000"),
    ("600*dense(selu), 600*dense(selu)", "more than 1000 blocks"),
    ("dense(nosuchfunction)", "activation"),
    ("dense(selu, tau=0)", "must be > 0"),
    ("dense(selu, gamma=1)", "omega=NUMBER or tau=NUMBER"),
    ("dense(selu, tau=1, tau=2)", "given twice"),
    ("dense()", "activation is missing"),
    ("layer_norm(1)", "no arguments"),
    ("", "nonempty"),
])
def test_bad_input_is_one_line(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_network(text)
    assert "\n" not in str(info.value)


def test_the_typed_values_validate_themselves() -> None:
    with pytest.raises(InputError):
        Network(())
    with pytest.raises(InputError):
        AlphaDropout(Fraction(3, 2))
    with pytest.raises(InputError):
        Repeat(True, LayerNorm())  # a bool is not a count
