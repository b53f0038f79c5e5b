"""Convolution layer types: conv2d, depthwise_conv2d, separable_conv2d, conv2d_transpose.

Each slides small filters over the input volume with a stride; every filter
gives one activation map, and the maps stack into the output volume.
"""

from __future__ import annotations

from convkit.errors import ShapeError, SpecError
from convkit.spec.arithmetic import effective_kernel, window_output
from convkit.spec.constraints import IntTuple, Param
from convkit.spec.layer_types._common import (
    BIAS,
    DILATION,
    KERNEL,
    MODE,
    NON_NEGATIVE,
    PADDING,
    POSITIVE,
    STRIDE,
    activation_param,
    finalise_padding,
    size_text,
    stride_text,
    window_arithmetic,
    window_field,
)
from convkit.spec.registry import LayerType, register_layer_type
from convkit.spec.shapes import Volume

FILTERS = Param([POSITIVE], doc="number of filters = output channels")
MULTIPLIER = Param([POSITIVE], default=1, doc="filters per input channel (depthwise)")


def _spatial(volume: Volume, params: dict, noun: str = "filters") -> tuple[int, int]:
    return window_output(
        (volume.height, volume.width),
        params["kernel"],
        params["stride"],
        params["padding"],
        params["dilation"],
        params["mode"],
        noun,
    )


# conv2d ----------------------------------------------------------------------


def _conv2d_shape(inputs, params) -> Volume:
    volume = inputs[0]
    groups = params["groups"]
    if volume.channels % groups or params["filters"] % groups:
        raise ShapeError(
            f"`groups` {groups} must divide both the {volume.channels} input channels and the "
            f"{params['filters']} filters"
        )
    height, width = _spatial(volume, params)
    return Volume(height, width, params["filters"])


def _conv2d_params(inputs, output, params) -> int:
    kernel_h, kernel_w = params["kernel"]
    weights = kernel_h * kernel_w * (inputs[0].channels // params["groups"]) * params["filters"]
    return weights + (params["filters"] if params["bias"] else 0)


def _conv2d_flops(inputs, output, params) -> int:
    kernel_h, kernel_w = params["kernel"]
    taps = kernel_h * kernel_w * (inputs[0].channels // params["groups"])
    return 2 * taps * output.numel()  # one multiply and one add per tap


def _conv2d_explain(inputs, output, params) -> str:
    return (
        f"{inputs[0]} → {size_text(params['kernel'])} filters, stride "
        f"{stride_text(params['stride'])}, {params['filters']} of them → {output}: "
        f"{window_arithmetic(inputs[0], output, params)}"
    )


def _window_rf(field, params):
    return window_field(field, params["kernel"], params["stride"], params["dilation"])


register_layer_type(
    LayerType(
        name="conv2d",
        params={
            "filters": FILTERS,
            "kernel": KERNEL,
            "stride": STRIDE,
            "padding": PADDING,
            "dilation": DILATION,
            "groups": Param([POSITIVE], default=1, doc="split channels into groups"),
            "bias": BIAS,
            "activation": activation_param("relu"),
            "mode": MODE,
        },
        accepts=(Volume,),
        output_shape=_conv2d_shape,
        count_params=_conv2d_params,
        count_flops=_conv2d_flops,
        receptive_field=_window_rf,
        finalise=finalise_padding,
        explain=_conv2d_explain,
        name_prefix="conv",
        doc="2-D convolution: `filters` filters of `kernel` size slide with `stride`.",
    )
)

# depthwise_conv2d ------------------------------------------------------------


def _depthwise_shape(inputs, params) -> Volume:
    height, width = _spatial(inputs[0], params)
    return Volume(height, width, inputs[0].channels * params["multiplier"])


def _depthwise_params(inputs, output, params) -> int:
    kernel_h, kernel_w = params["kernel"]
    return kernel_h * kernel_w * output.channels + (output.channels if params["bias"] else 0)


def _depthwise_flops(inputs, output, params) -> int:
    kernel_h, kernel_w = params["kernel"]
    return 2 * kernel_h * kernel_w * output.numel()


register_layer_type(
    LayerType(
        name="depthwise_conv2d",
        params={
            "kernel": KERNEL,
            "multiplier": MULTIPLIER,
            "stride": STRIDE,
            "padding": PADDING,
            "dilation": DILATION,
            "bias": BIAS,
            "activation": activation_param("relu"),
            "mode": MODE,
        },
        accepts=(Volume,),
        output_shape=_depthwise_shape,
        count_params=_depthwise_params,
        count_flops=_depthwise_flops,
        receptive_field=_window_rf,
        finalise=finalise_padding,
        explain=lambda inputs, output, params: (
            f"{inputs[0]} → one {size_text(params['kernel'])} filter per channel "
            f"(x{params['multiplier']}), stride {stride_text(params['stride'])} → {output}: "
            f"{window_arithmetic(inputs[0], output, params)}"
        ),
        name_prefix="dwconv",
        doc="Depthwise convolution: each input channel has its own filters (groups = channels).",
    )
)

# separable_conv2d ------------------------------------------------------------


def _separable_shape(inputs, params) -> Volume:
    height, width = _spatial(inputs[0], params)
    return Volume(height, width, params["filters"])


def _separable_params(inputs, output, params) -> int:
    kernel_h, kernel_w = params["kernel"]
    middle = inputs[0].channels * params["multiplier"]
    depthwise = kernel_h * kernel_w * middle  # no bias: the pointwise step has one
    pointwise = middle * params["filters"] + (params["filters"] if params["bias"] else 0)
    return depthwise + pointwise


def _separable_flops(inputs, output, params) -> int:
    kernel_h, kernel_w = params["kernel"]
    middle = inputs[0].channels * params["multiplier"]
    positions = output.height * output.width
    return 2 * positions * middle * (kernel_h * kernel_w + params["filters"])


register_layer_type(
    LayerType(
        name="separable_conv2d",
        params={
            "filters": FILTERS,
            "kernel": KERNEL,
            "multiplier": MULTIPLIER,
            "stride": STRIDE,
            "padding": PADDING,
            "dilation": DILATION,
            "bias": BIAS,
            "activation": activation_param("relu"),
            "mode": MODE,
        },
        accepts=(Volume,),
        output_shape=_separable_shape,
        count_params=_separable_params,
        count_flops=_separable_flops,
        receptive_field=_window_rf,
        finalise=finalise_padding,
        explain=lambda inputs, output, params: (
            f"{inputs[0]} → {size_text(params['kernel'])} depthwise filters, stride "
            f"{stride_text(params['stride'])}, then {params['filters']} 1x1 filters → {output}: "
            f"{window_arithmetic(inputs[0], output, params)}"
        ),
        name_prefix="sepconv",
        doc="Separable convolution: a depthwise convolution, then a 1x1 (pointwise) one.",
    )
)

# conv2d_transpose ------------------------------------------------------------


def _transpose_finalise(params: dict) -> dict:
    for axis, (extra, stride, dilation) in enumerate(
        zip(params["output_padding"], params["stride"], params["dilation"], strict=True)
    ):
        if extra >= max(stride, dilation):
            which = "height" if axis == 0 else "width"
            raise SpecError(
                f"`output_padding` must be smaller than the stride or the dilation ({which}: "
                f"{max(stride, dilation)}). Received: output_padding={extra}"
            )
    return params


def _transpose_sizes(volume: Volume, params: dict) -> tuple[int, int]:
    sizes = []
    for size, k, s, p, d, extra in zip(
        (volume.height, volume.width),
        params["kernel"],
        params["stride"],
        params["padding"],
        params["dilation"],
        params["output_padding"],
        strict=True,
    ):
        sizes.append((size - 1) * s - 2 * p + effective_kernel(k, d) + extra)
    return sizes[0], sizes[1]


def _transpose_shape(inputs, params) -> Volume:
    height, width = _transpose_sizes(inputs[0], params)
    if height < 1 or width < 1:
        raise ShapeError(
            f"the output would be {height}x{width}: (in − 1) × stride − 2 × padding + "
            f"dilation × (kernel − 1) + output_padding + 1 must be positive; use less padding"
        )
    return Volume(height, width, params["filters"])


def _transpose_params(inputs, output, params) -> int:
    kernel_h, kernel_w = params["kernel"]
    weights = inputs[0].channels * params["filters"] * kernel_h * kernel_w
    return weights + (params["filters"] if params["bias"] else 0)


def _transpose_flops(inputs, output, params) -> int:
    kernel_h, kernel_w = params["kernel"]
    return 2 * inputs[0].numel() * params["filters"] * kernel_h * kernel_w


def _transpose_field(field, params):
    if field is None:
        return None
    height, width, jump_h, jump_w = field
    jump_h, jump_w = jump_h / params["stride"][0], jump_w / params["stride"][1]
    eff_h, eff_w = (
        effective_kernel(k, d) for k, d in zip(params["kernel"], params["dilation"], strict=True)
    )
    return (height + (eff_h - 1) * jump_h, width + (eff_w - 1) * jump_w, jump_h, jump_w)


register_layer_type(
    LayerType(
        name="conv2d_transpose",
        params={
            "filters": FILTERS,
            "kernel": KERNEL,
            "stride": STRIDE,
            "padding": Param([IntTuple(NON_NEGATIVE)], default=(0, 0), doc="[height, width]"),
            "output_padding": Param([IntTuple(NON_NEGATIVE)], default=(0, 0)),
            "dilation": DILATION,
            "bias": BIAS,
            "activation": activation_param("relu"),
        },
        accepts=(Volume,),
        output_shape=_transpose_shape,
        count_params=_transpose_params,
        count_flops=_transpose_flops,
        receptive_field=_transpose_field,
        finalise=_transpose_finalise,
        explain=lambda inputs, output, params: (
            f"{inputs[0]} → {size_text(params['kernel'])} transposed filters, stride "
            f"{stride_text(params['stride'])}, {params['filters']} of them → {output}: "
            f"(in − 1) × stride − 2 × padding + dilation × (kernel − 1) + output_padding + 1"
        ),
        name_prefix="deconv",
        doc="Transposed convolution (deconvolution): upsamples by `stride`.",
    )
)
