"""Sequence layer types for text readers (CRNN): columns to steps, recurrence, CTC.

A text line is read left to right, so the width axis of the last feature
volume becomes time: ``to_sequence`` turns H x W x C into W steps of H*C
features. ``lstm``/``gru`` (bidirectional by default) and ``seq_conv`` (a 1-D
convolution along the steps) mix neighbouring steps; ``ctc_output`` scores the
blank and every alphabet symbol at each step, and trains with CTC loss.

Shapes are inferred at the spec's nominal input width; at run time a reader
takes any width (lines are padded per batch) and the steps follow it.
"""

from __future__ import annotations

from typing import Any

from convkit.errors import ShapeError
from convkit.spec.activations import ACTIVATIONS
from convkit.spec.constraints import Boolean, Constraint, Interval, Options, Param
from convkit.spec.registry import LayerType, register_layer_type
from convkit.spec.shapes import Sequence, Shape, Volume

# Named alphabets (kept here too: the spec layer imports nothing but itself).
ALPHABET_PRESETS = {
    "digits": "0123456789",
    "lowercase": "abcdefghijklmnopqrstuvwxyz",
    "uppercase": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "alnum": "0123456789abcdefghijklmnopqrstuvwxyz",
    "alnum_upper": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "letters": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
}


class AlphabetText(Constraint):
    """A string of distinct printable symbols, or a preset name (digits, alnum, …)."""

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, str) or not value:
            return False
        symbols = ALPHABET_PRESETS.get(value, value)
        return len(set(symbols)) == len(symbols) and all(c.isprintable() for c in symbols)

    def normalise(self, value: Any) -> str:
        return ALPHABET_PRESETS.get(value, value)

    def describe(self) -> str:
        presets = ", ".join(ALPHABET_PRESETS)
        return f"a string of distinct printable symbols or one of {presets}"


def _sequence_input(inputs, type_name: str) -> Sequence:
    shape = inputs[0]
    if not isinstance(shape, Sequence):
        raise ShapeError(
            f"{type_name} reads a sequence but gets {shape.describe()}; put a "
            "`to_sequence` layer before it to turn the volume's columns into steps"
        )
    return shape


# -- to_sequence ------------------------------------------------------------------


def _to_sequence_shape(inputs, params) -> Sequence:
    volume = inputs[0]
    if not isinstance(volume, Volume):
        raise ShapeError(f"to_sequence turns a volume into steps but gets {volume.describe()}")
    return Sequence(steps=volume.width, features=volume.height * volume.channels)


def _explain_to_sequence(inputs, output, params) -> str:
    v = inputs[0]
    return f"{v.width} columns become {v.width} steps of {v.height}x{v.channels} = {output.features} features"


register_layer_type(
    LayerType(
        name="to_sequence",
        params={},
        accepts=(Volume,),
        output_shape=_to_sequence_shape,
        count_flops=lambda inputs, output, params: 0,
        explain=_explain_to_sequence,
        name_prefix="seq",
        doc="Volume H x W x C -> W steps of H*C features: the width axis becomes time.",
    )
)


# -- lstm / gru ------------------------------------------------------------------------

_RECURRENT_PARAMS = {
    "units": Param([Interval(int, 1, None)], doc="hidden units per direction"),
    "bidirectional": Param([Boolean()], default=True, doc="read left-to-right and right-to-left"),
    "layers": Param([Interval(int, 1, None)], default=1, doc="stacked recurrent layers"),
    "dropout": Param(
        [Interval(float, 0.0, 1.0, closed="left")],
        default=0.0,
        doc="dropout between stacked layers (needs layers >= 2 to act)",
    ),
}
_GATES = {"lstm": 4, "gru": 3}


def _recurrent_shape(type_name: str):
    def rule(inputs, params) -> Sequence:
        sequence = _sequence_input(inputs, type_name)
        directions = 2 if params["bidirectional"] else 1
        return Sequence(steps=sequence.steps, features=params["units"] * directions)

    return rule


def _recurrent_weights(type_name: str, features: int, params) -> tuple[int, int]:
    """(parameters, multiply-adds per step) of a stacked (bi)directional LSTM/GRU."""
    gates = _GATES[type_name]
    hidden = params["units"]
    directions = 2 if params["bidirectional"] else 1
    weights = macs = 0
    layer_input = features
    for _ in range(params["layers"]):
        # PyTorch keeps two bias vectors per gate (input-side and hidden-side).
        per_direction = gates * (layer_input * hidden + hidden * hidden + 2 * hidden)
        weights += directions * per_direction
        macs += directions * gates * (layer_input * hidden + hidden * hidden)
        layer_input = hidden * directions
    return weights, macs


def _register_recurrent(type_name: str, cell: str) -> None:
    register_layer_type(
        LayerType(
            name=type_name,
            params=_RECURRENT_PARAMS,
            # Any shape gets in: _sequence_input explains how to make a volume a sequence.
            accepts=(Shape,),
            output_shape=_recurrent_shape(type_name),
            count_params=lambda inputs, output, p: _recurrent_weights(
                type_name, inputs[0].features, p
            )[0],
            count_flops=lambda inputs, output, p: (
                2 * output.steps * _recurrent_weights(type_name, inputs[0].features, p)[1]
            ),
            receptive_field=lambda field, params: None,  # every step sees the whole line
            name_prefix=type_name,
            shorthand="units",
            doc=f"{cell} over the steps (bidirectional by default): each step learns its context.",
        )
    )


_register_recurrent("lstm", "Long short-term memory")
_register_recurrent("gru", "Gated recurrent unit")


# -- seq_conv -------------------------------------------------------------------------


def _seq_conv_shape(inputs, params) -> Sequence:
    sequence = _sequence_input(inputs, "seq_conv")
    return Sequence(steps=sequence.steps, features=params["filters"])


def _seq_conv_field(field, params):
    if field is None:
        return None
    height, width, jump_h, jump_w = field
    return (height, width + (params["kernel"] - 1) * jump_w, jump_h, jump_w)


register_layer_type(
    LayerType(
        name="seq_conv",
        params={
            "filters": Param([Interval(int, 1, None)], doc="features per step out"),
            "kernel": Param([Interval(int, 1, None)], default=3, doc="steps each filter spans"),
            "activation": Param([Options(ACTIVATIONS)], default="relu"),
        },
        # Any shape gets in: _sequence_input explains how to make a volume a sequence.
        accepts=(Shape,),
        output_shape=_seq_conv_shape,
        count_params=lambda inputs, out, p: (inputs[0].features * p["kernel"] + 1) * p["filters"],
        count_flops=lambda inputs, out, p: (
            2 * out.steps * inputs[0].features * p["kernel"] * p["filters"]
        ),
        receptive_field=_seq_conv_field,
        name_prefix="seqconv",
        shorthand="filters",
        doc="1-D convolution along the steps, 'same' padded: steps in = steps out.",
    )
)


# -- ctc_output ----------------------------------------------------------------------------


def _ctc_shape(inputs, params) -> Sequence:
    sequence = _sequence_input(inputs, "ctc_output")
    return Sequence(steps=sequence.steps, features=len(params["alphabet"]) + 1)


def _explain_ctc(inputs, output, params) -> str:
    return (
        f"{output.steps} steps x ({len(params['alphabet'])} symbols + 1 blank); "
        f"reads at most {output.steps} symbols at the nominal width"
    )


register_layer_type(
    LayerType(
        name="ctc_output",
        params={
            "alphabet": Param(
                [AlphabetText()], doc="the symbols the reader writes (index 0 is the CTC blank)"
            )
        },
        # Any shape gets in: _sequence_input explains how to make a volume a sequence.
        accepts=(Shape,),
        output_shape=_ctc_shape,
        count_params=lambda inputs, out, p: (inputs[0].features + 1) * out.features,
        count_flops=lambda inputs, out, p: 2 * out.steps * inputs[0].features * out.features,
        explain=_explain_ctc,
        name_prefix="output",
        single_name=True,
        shorthand="alphabet",
        doc="Per-step scores over blank + alphabet, trained with CTC: makes the net a reader.",
    )
)
