"""One converter per ONNX op: node -> convkit layer(s), or an alias of its input.

Each converter receives the node and the ``Builder`` (convkit.onnx_import.convert)
and calls ``builder.layer(...)`` or ``builder.alias(...)``. An op without a
converter here, or a use of one that convkit cannot express (a ceil-mode
window that would need an extra row, a Clip to other bounds…), is refused
with ``builder.refuse(node, why)``, which names the node and the op.
"""

from __future__ import annotations

import math

import numpy as np


def attributes(node) -> dict:
    from onnx import helper

    return {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}


def _pads(builder, node, pads) -> tuple[int, int, int, int]:
    """ONNX [top, left, bottom, right] -> convkit [top, bottom, left, right]."""
    if not pads:
        return (0, 0, 0, 0)
    if len(pads) != 4:
        builder.refuse(node, f"pads {list(pads)} are not 2-D")
    top, left, bottom, right = (int(p) for p in pads)
    return (top, bottom, left, right)


def _no_auto_pad(builder, node, attrs) -> None:
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto not in ("NOTSET", "VALID"):
        builder.refuse(node, f"auto_pad {auto} (re-export with explicit pads)")


def conv(builder, node) -> None:
    attrs = attributes(node)
    _no_auto_pad(builder, node, attrs)
    weight = builder.constant(node, node.input[1], "weights")
    if weight.ndim != 4:
        builder.refuse(node, "only 2-D convolutions are supported")
    bias = (
        builder.constant(node, node.input[2], "bias")
        if len(node.input) > 2 and node.input[2]
        else None
    )
    tensors = {"conv.weight": weight}
    if bias is not None:
        tensors["conv.bias"] = bias
    builder.layer(
        node,
        "conv2d",
        [node.input[0]],
        tensors,
        filters=int(weight.shape[0]),
        kernel=[int(weight.shape[2]), int(weight.shape[3])],
        stride=list(attrs.get("strides", [1, 1])),
        padding=list(_pads(builder, node, attrs.get("pads"))),
        dilation=list(attrs.get("dilations", [1, 1])),
        groups=int(attrs.get("group", 1)),
        bias=bias is not None,
        activation="identity",
    )


def batch_norm(builder, node) -> None:
    attrs = attributes(node)
    scale, shift, mean, var = (
        builder.constant(node, name, "statistics") for name in node.input[1:5]
    )
    builder.layer(
        node,
        "batch_norm",
        [node.input[0]],
        {
            "weight": scale,
            "bias": shift,
            "running_mean": mean,
            "running_var": var,
            "num_batches_tracked": np.array(0, dtype=np.int64),
        },
        epsilon=float(attrs.get("epsilon", 1e-5)),
        momentum=round(1.0 - float(attrs.get("momentum", 0.9)), 6),  # ONNX keeps, torch blends
    )


def _activation(function: str):
    def convert(builder, node) -> None:
        builder.layer(node, "activation", [node.input[0]], {}, function=function)

    return convert


def leaky_relu(builder, node) -> None:
    alpha = float(attributes(node).get("alpha", 0.01))
    if not math.isclose(alpha, 0.01, rel_tol=1e-4):
        builder.refuse(node, f"negative slope {alpha} (convkit's leaky_relu uses 0.01)")
    _activation("leaky_relu")(builder, node)


def hard_sigmoid(builder, node) -> None:
    attrs = attributes(node)
    alpha, beta = float(attrs.get("alpha", 0.2)), float(attrs.get("beta", 0.5))
    if not (math.isclose(alpha, 1 / 6, rel_tol=1e-4) and math.isclose(beta, 0.5, rel_tol=1e-4)):
        builder.refuse(node, f"alpha {alpha}, beta {beta} (convkit's hardsigmoid is relu6(x+3)/6)")
    _activation("hardsigmoid")(builder, node)


def clip(builder, node) -> None:
    attrs = attributes(node)
    low, high = attrs.get("min"), attrs.get("max")
    if len(node.input) > 1 and node.input[1]:
        low = float(builder.constant(node, node.input[1], "minimum"))
    if len(node.input) > 2 and node.input[2]:
        high = float(builder.constant(node, node.input[2], "maximum"))
    if low == 0 and high == 6:
        return _activation("relu6")(builder, node)
    if low == 0 and (high is None or math.isinf(high)):
        return _activation("relu")(builder, node)
    builder.refuse(node, f"bounds [{low}, {high}] (convkit maps [0, 6] and [0, inf))")


def _window(builder, node, kind: str) -> None:
    attrs = attributes(node)
    _no_auto_pad(builder, node, attrs)
    kernel = [int(k) for k in attrs["kernel_shape"]]
    stride = [int(s) for s in attrs.get("strides", [1, 1])]
    padding = _pads(builder, node, attrs.get("pads"))
    if any(d != 1 for d in attrs.get("dilations", [1, 1])):
        builder.refuse(node, "dilated pooling")
    if kind == "avg" and any(padding) and not attrs.get("count_include_pad", 0):
        builder.refuse(node, "padding left out of the average (convkit counts padded zeros)")
    if attrs.get("ceil_mode", 0):
        _, _, height, width = builder.shape(node.input[0])
        for size, k, s, before, after in (
            (height, kernel[0], stride[0], *padding[:2]),
            (width, kernel[1], stride[1], *padding[2:]),
        ):
            if (size + before + after - k) % s:
                builder.refuse(node, "ceil_mode that adds a partial window")
    builder.layer(
        node,
        f"{kind}_pool",
        [node.input[0]],
        {},
        kernel=kernel,
        stride=stride,
        padding=list(padding),
    )


def _global(kind: str):
    def convert(builder, node) -> None:
        builder.layer(node, f"global_{kind}_pool", [node.input[0]], {}, keep_dims=True)

    return convert


def _reduce(kind: str):
    def convert(builder, node) -> None:
        attrs = attributes(node)
        axes = attrs.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = builder.constant(node, node.input[1], "axes").tolist()
        if sorted(int(a) % 4 for a in (axes or [])) != [2, 3]:
            builder.refuse(node, f"a reduction over axes {axes} (convkit pools over height, width)")
        keep = bool(attrs.get("keepdims", 1))
        builder.layer(node, f"global_{kind}_pool", [node.input[0]], {}, keep_dims=keep)

    return convert


def flatten(builder, node) -> None:
    if int(attributes(node).get("axis", 1)) != 1:
        builder.refuse(node, "flattening at an axis other than 1")
    builder.layer(node, "flatten", [node.input[0]], {})


def reshape(builder, node) -> None:
    target = builder.constant(node, node.input[1], "target shape").tolist()
    dims = builder.shape(node.input[0])
    features = math.prod(dims[1:]) if dims and all(dims[1:]) else None
    if (
        len(target) == 2
        and target[0] in (0, -1, dims[0] if dims else None, 1)
        and (target[1] == -1 or target[1] == features)
    ):
        return builder.layer(node, "flatten", [node.input[0]], {})
    builder.refuse(node, f"reshape to {target} (convkit maps reshapes to (N, -1) only)")


def gemm(builder, node) -> None:
    attrs = attributes(node)
    if (
        attrs.get("transA", 0)
        or float(attrs.get("alpha", 1)) != 1
        or float(attrs.get("beta", 1)) != 1
    ):
        builder.refuse(node, "transA, alpha or beta other than the defaults")
    weight = builder.constant(node, node.input[1], "weights")
    if not attrs.get("transB", 0):
        weight = weight.T
    bias = (
        builder.constant(node, node.input[2], "bias")
        if len(node.input) > 2 and node.input[2]
        else None
    )
    tensors = {"linear.weight": np.ascontiguousarray(weight)}
    if bias is not None:
        tensors["linear.bias"] = np.broadcast_to(bias, (weight.shape[0],)).copy()
    builder.layer(
        node,
        "dense",
        [node.input[0]],
        tensors,
        units=int(weight.shape[0]),
        activation="identity",
        bias=bias is not None,
    )


def matmul(builder, node) -> None:
    weight = builder.constant(node, node.input[1], "weights")
    if weight.ndim != 2:
        builder.refuse(node, "a matrix product that is not (N, in) x (in, out)")
    builder.layer(
        node,
        "dense",
        [node.input[0]],
        {"linear.weight": np.ascontiguousarray(weight.T)},
        units=int(weight.shape[1]),
        activation="identity",
        bias=False,
    )


def add(builder, node) -> None:
    constant = [name for name in node.input if builder.is_constant(name)]
    if constant:  # a bias after MatMul: fold it into that dense layer
        other = [name for name in node.input if name not in constant]
        if len(other) == 1 and builder.fold_bias(node, other[0], builder.constants[constant[0]]):
            return None
        builder.refuse(node, "adding a constant that is not the bias of a MatMul")
    builder.layer(node, "add", list(node.input), {})


def mul(builder, node) -> None:
    if any(builder.is_constant(name) for name in node.input):
        builder.refuse(node, "multiplying by a constant")
    builder.layer(node, "multiply", list(node.input), {})


def concat(builder, node) -> None:
    if int(attributes(node).get("axis", 1)) != 1:
        builder.refuse(node, "concatenating along an axis other than the channels")
    builder.layer(node, "concat", list(node.input), {})


def pad(builder, node) -> None:
    attrs = attributes(node)
    mode = attrs.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    pads = attrs.get("pads")
    if pads is None and len(node.input) > 1:
        pads = builder.constant(node, node.input[1], "pads").tolist()
    value = 0.0
    if len(node.input) > 2 and node.input[2]:
        value = float(builder.constant(node, node.input[2], "value"))
    if mode != "constant" or value != 0 or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)):
        builder.refuse(node, "padding other than zeros around height and width")
    top, left, bottom, right = pads[2], pads[3], pads[6], pads[7]
    builder.layer(node, "zero_pad", [node.input[0]], {}, padding=[top, bottom, left, right])


def resize(builder, node) -> None:
    attrs = attributes(node)
    mode = attrs.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    before = builder.shape(node.input[0])
    if len(node.input) > 3 and node.input[3]:  # sizes
        after = [int(v) for v in builder.constant(node, node.input[3], "output size")]
    elif len(node.input) > 2 and node.input[2]:  # scales
        factors = builder.constant(node, node.input[2], "scales")
        after = [round(b * f) for b, f in zip(before, factors, strict=True)]
    else:
        after = list(builder.shape(node.output[0]))
    if len(before) != 4 or len(after) != 4 or not all(after[2:]):
        builder.refuse(node, "a resize whose output size is not known")
    scale = [after[2] // before[2], after[3] // before[3]]
    if after[2] != before[2] * scale[0] or after[3] != before[3] * scale[1] or min(scale) < 1:
        builder.refuse(node, "a resize by a fractional factor")
    transform = attrs.get("coordinate_transformation_mode", b"half_pixel")
    transform = transform.decode() if isinstance(transform, bytes) else transform
    if mode == "linear" and transform in ("half_pixel", "pytorch_half_pixel"):
        method = "bilinear"
    elif mode == "nearest":
        method = "nearest"
    else:
        builder.refuse(node, f"resize mode {mode} with {transform} coordinates")
    builder.layer(node, "upsample", [node.input[0]], {}, scale=scale, method=method)


def softmax(builder, node) -> None:
    if builder.is_last(node) and builder.mark_softmax(node):
        return None
    builder.layer(node, "activation", [node.input[0]], {}, function="softmax")


def identity(builder, node) -> None:
    builder.alias(node.output[0], node.input[0])


OPS = {
    "Conv": conv,
    "BatchNormalization": batch_norm,
    "Relu": _activation("relu"),
    "LeakyRelu": leaky_relu,
    "Sigmoid": _activation("sigmoid"),
    "Tanh": _activation("tanh"),
    "HardSwish": _activation("hardswish"),
    "HardSigmoid": hard_sigmoid,
    "Clip": clip,
    "MaxPool": lambda builder, node: _window(builder, node, "max"),
    "AveragePool": lambda builder, node: _window(builder, node, "avg"),
    "GlobalAveragePool": _global("avg"),
    "GlobalMaxPool": _global("max"),
    "ReduceMean": _reduce("avg"),  # mean over (2, 3): how torch writes x.mean((2, 3))
    "ReduceMax": _reduce("max"),
    "Gemm": gemm,
    "MatMul": matmul,
    "Add": add,
    "Mul": mul,
    "Concat": concat,
    "Flatten": flatten,
    "Reshape": reshape,
    "Dropout": identity,  # inference graph: dropout does nothing
    "Identity": identity,
    "Pad": pad,
    "Resize": resize,
    "Softmax": softmax,
}
