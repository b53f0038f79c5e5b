"""Layer types that keep the shape: dropout, batch_norm, local_response_norm, activation."""

from __future__ import annotations

from convkit.spec.activations import ACTIVATIONS
from convkit.spec.constraints import Interval, Options, Param
from convkit.spec.registry import LayerType, register_layer_type
from convkit.spec.shapes import Sequence, Vector, Volume


def _same_shape(inputs, params):
    return inputs[0]


def _channels(shape) -> int:
    if isinstance(shape, Volume):
        return shape.channels
    if isinstance(shape, Sequence):
        return shape.features
    return shape.numel()


register_layer_type(
    LayerType(
        name="dropout",
        params={
            "rate": Param(
                [Interval(float, 0, 1, closed="left")],
                default=0.5,
                doc="fraction of values zeroed while training",
            )
        },
        output_shape=_same_shape,
        count_flops=lambda inputs, output, params: 0,  # nothing at inference
        explain=lambda inputs, output, params: (
            f"{inputs[0]} → zero {params['rate']:.0%} of the values while training → {output}"
        ),
        name_prefix="dropout",
        shorthand="rate",
        doc="Randomly zero values while training (scaled so the mean is kept).",
    )
)

register_layer_type(
    LayerType(
        name="batch_norm",
        params={
            "momentum": Param([Interval(float, 0, 1, closed="right")], default=0.1),
            "epsilon": Param([Interval(float, 0, None, closed="neither")], default=1e-5),
        },
        accepts=(Volume, Vector, Sequence),
        output_shape=_same_shape,
        count_params=lambda inputs, output, params: 2 * _channels(inputs[0]),  # scale, shift
        count_flops=lambda inputs, output, params: 2 * output.numel(),
        explain=lambda inputs, output, params: (
            f"{inputs[0]} → each of the {_channels(inputs[0])} channels normalised, "
            f"then scaled and shifted → {output}"
        ),
        name_prefix="bn",
        doc="Batch normalisation per channel (learned scale and shift).",
    )
)

register_layer_type(
    LayerType(
        name="local_response_norm",
        params={
            "size": Param([Interval(int, 1, None)], default=5, doc="neighbouring channels"),
            "alpha": Param([Interval(float, 0, None)], default=1e-4),
            "beta": Param([Interval(float, 0, None)], default=0.75),
            "k": Param([Interval(float, 0, None)], default=2.0),
        },
        accepts=(Volume,),
        output_shape=_same_shape,
        count_flops=lambda inputs, output, params: (params["size"] + 3) * output.numel(),
        explain=lambda inputs, output, params: (
            f"{inputs[0]} → each value divided by the activity of its {params['size']} "
            f"neighbouring channels → {output}"
        ),
        name_prefix="lrn",
        doc="Local response normalisation across channels (AlexNet, Deeplearning4j).",
    )
)

register_layer_type(
    LayerType(
        name="activation",
        params={"function": Param([Options(ACTIVATIONS)], doc="the nonlinearity")},
        accepts=(Volume, Vector, Sequence),
        output_shape=_same_shape,
        explain=lambda inputs, output, params: f"{inputs[0]} → {params['function']} → {output}",
        name_prefix="act",
        shorthand="function",
        doc="Apply a nonlinearity on its own (softmax runs over channels).",
    )
)
