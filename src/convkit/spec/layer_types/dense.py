"""Fully connected layer types: dense, output, flatten.

A volume in front of a dense or output layer is flattened implicitly, in
PyTorch's (C, H, W) order: feature index = c * H * W + h * W + w.
"""

from __future__ import annotations

from convkit.spec.constraints import Boolean, Interval, Options, Param
from convkit.spec.layer_types._common import activation_param
from convkit.spec.registry import LayerType, register_layer_type
from convkit.spec.shapes import Sequence, Vector, Volume

LOSSES = ("cross_entropy", "binary_cross_entropy", "mse")


def _features(shape) -> int:
    return shape.features if isinstance(shape, Sequence) else shape.numel()


def _steps(shape) -> int:
    return shape.steps if isinstance(shape, Sequence) else 1


def _dense_shape(inputs, params):
    if isinstance(inputs[0], Sequence):  # applied to each step on its own
        return Sequence(inputs[0].steps, params["units"])
    return Vector(params["units"])


def _linear_params(inputs, units: int, bias: bool) -> int:
    return _features(inputs[0]) * units + (units if bias else 0)


def _linear_flops(inputs, units: int) -> int:
    return 2 * _steps(inputs[0]) * _features(inputs[0]) * units


def _flat_field(field, params):
    return None  # every unit sees the whole input


def _dense_explain(inputs, output, params) -> str:
    flat = f" (flattened to {inputs[0].numel()})" if isinstance(inputs[0], Volume) else ""
    return (
        f"{inputs[0]}{flat} → {params['units']} units, each connected to all "
        f"{_features(inputs[0])} inputs → {output}"
    )


register_layer_type(
    LayerType(
        name="dense",
        params={
            "units": Param([Interval(int, 1, None)], doc="number of outputs"),
            "activation": activation_param("relu"),
            "bias": Param([Boolean()], default=True),
        },
        accepts=(Volume, Vector, Sequence),
        output_shape=_dense_shape,
        count_params=lambda inputs, output, p: _linear_params(inputs, p["units"], p["bias"]),
        count_flops=lambda inputs, output, p: _linear_flops(inputs, p["units"]),
        receptive_field=_flat_field,
        explain=_dense_explain,
        name_prefix="dense",
        shorthand="units",
        doc="Fully connected layer; a volume input is flattened in (C, H, W) order.",
    )
)

register_layer_type(
    LayerType(
        name="output",
        params={
            "classes": Param([Interval(int, 1, None)], doc="one output per label"),
            "activation": Param(
                [Options(("softmax", "sigmoid", "identity"))],
                default="softmax",
                doc="applied by the task at prediction time; the layer returns logits",
            ),
            "loss": Param([Options(LOSSES)], default="cross_entropy"),
            "bias": Param([Boolean()], default=True),
        },
        accepts=(Volume, Vector),
        output_shape=lambda inputs, params: Vector(params["classes"]),
        count_params=lambda inputs, output, p: _linear_params(inputs, p["classes"], p["bias"]),
        count_flops=lambda inputs, output, p: _linear_flops(inputs, p["classes"]),
        receptive_field=_flat_field,
        explain=lambda inputs, output, params: (
            f"{inputs[0]} → {params['classes']} class scores (logits; {params['activation']} "
            f"at prediction, {params['loss']} loss) → {output}"
        ),
        name_prefix="output",
        single_name=True,
        shorthand="classes",
        doc="The classifier: a fully connected layer with one node per label.",
    )
)

register_layer_type(
    LayerType(
        name="flatten",
        params={},
        accepts=(Volume, Vector, Sequence),
        output_shape=lambda inputs, params: Vector(inputs[0].numel()),
        count_flops=lambda inputs, output, params: 0,
        receptive_field=lambda field, params: field,
        explain=lambda inputs, output, params: (
            f"{inputs[0]} → one vector in (C, H, W) order → {output}"
        ),
        name_prefix="flatten",
        doc="Flatten a volume into a vector, in PyTorch's (C, H, W) order.",
    )
)
