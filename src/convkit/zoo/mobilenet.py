"""MobileNetV2 and MobileNetV3 (small, large) with torchvision's layout.

Both stack inverted residual blocks: a 1x1 convolution widens the volume
(unless the expansion is 1), a depthwise convolution (groups = channels)
filters each map on its own, and a 1x1 "linear" convolution (no activation)
narrows it again; the block input is added back when stride and width allow.
V3 adds squeeze-and-excitation gates (hard sigmoid) and hard swish.
"""

from __future__ import annotations

from convkit.spec import NetSpec
from convkit.zoo._blocks import Graph, make_divisible
from convkit.zoo.registry import register

# MobileNetV2 stages: expansion t, channels c, blocks n, first stride s (Sandler et al., 2018)
V2_STAGES = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]

# MobileNetV3 blocks: kernel, expanded width, out, squeeze-excite, activation, stride (Howard et al.)
V3_LARGE = [
    (3, 16, 16, False, "relu", 1),
    (3, 64, 24, False, "relu", 2),
    (3, 72, 24, False, "relu", 1),
    (5, 72, 40, True, "relu", 2),
    (5, 120, 40, True, "relu", 1),
    (5, 120, 40, True, "relu", 1),
    (3, 240, 80, False, "hardswish", 2),
    (3, 200, 80, False, "hardswish", 1),
    (3, 184, 80, False, "hardswish", 1),
    (3, 184, 80, False, "hardswish", 1),
    (3, 480, 112, True, "hardswish", 1),
    (3, 672, 112, True, "hardswish", 1),
    (5, 672, 160, True, "hardswish", 2),
    (5, 960, 160, True, "hardswish", 1),
    (5, 960, 160, True, "hardswish", 1),
]
V3_SMALL = [
    (3, 16, 16, True, "relu", 2),
    (3, 72, 24, False, "relu", 2),
    (3, 88, 24, False, "relu", 1),
    (5, 96, 40, True, "hardswish", 2),
    (5, 240, 40, True, "hardswish", 1),
    (5, 240, 40, True, "hardswish", 1),
    (5, 120, 48, True, "hardswish", 1),
    (5, 144, 48, True, "hardswish", 1),
    (5, 288, 96, True, "hardswish", 2),
    (5, 576, 96, True, "hardswish", 1),
    (5, 576, 96, True, "hardswish", 1),
]
V3_HEAD = {"mobilenet_v3_large": (V3_LARGE, 1280), "mobilenet_v3_small": (V3_SMALL, 1024)}


def mobilenet_v2_graph(classes: int) -> Graph:
    graph = Graph()
    source = graph.conv_bn(
        "stem", "input", 32, 3, 2, activation="relu6", paths=("features.0.0", "features.0.1")
    )
    channels, index = 32, 1
    for expansion, width, count, first_stride in V2_STAGES:
        for repeat in range(count):
            stride = first_stride if repeat == 0 else 1
            name, path = f"block{index}", f"features.{index}.conv"
            hidden, step, current = channels * expansion, 0, source
            if expansion != 1:
                current = graph.conv_norm_act(
                    f"{name}_expand", current, hidden, 1, "relu6", f"{path}.0"
                )
                step = 1
            current = graph.conv_norm_act(
                f"{name}_dw", current, hidden, 3, "relu6", f"{path}.{step}", stride, depthwise=True
            )
            current = graph.conv_bn(
                f"{name}_project",
                current,
                width,
                1,
                paths=(f"{path}.{step + 1}", f"{path}.{step + 2}"),
            )
            if stride == 1 and channels == width:
                current = graph.add("add", f"{name}_add", [current, source])
            source, channels, index = current, width, index + 1
    graph.conv_bn(
        "head",
        source,
        1280,
        1,
        activation="relu6",
        paths=(f"features.{index}.0", f"features.{index}.1"),
    )
    graph.add("global_avg_pool", "pool", ["head_act"])
    graph.add("dropout", "dropout", ["pool"], rate=0.2)
    graph.add("output", "output", ["dropout"], "classifier.1", classes=classes)
    return graph


def mobilenet_v3_graph(name: str, classes: int) -> Graph:
    blocks, last_channel = V3_HEAD[name]
    graph = Graph(bn_epsilon=0.001, bn_momentum=0.01)  # torchvision's V3 batch norm
    source = graph.conv_bn(
        "stem", "input", 16, 3, 2, activation="hardswish", paths=("features.0.0", "features.0.1")
    )
    channels = 16
    for index, (kernel, hidden, width, se, activation, stride) in enumerate(blocks, 1):
        block, path = f"block{index}", f"features.{index}.block"
        step, current = 0, source
        if hidden != channels:
            current = graph.conv_norm_act(
                f"{block}_expand", current, hidden, 1, activation, f"{path}.0"
            )
            step += 1
        current = graph.conv_norm_act(
            f"{block}_dw", current, hidden, kernel, activation, f"{path}.{step}", stride, True
        )
        step += 1
        if se:
            squeeze = make_divisible(hidden // 4, 8)
            current = graph.squeeze_excite(
                f"{block}_se", current, hidden, squeeze, "relu", "hardsigmoid", f"{path}.{step}"
            )
            step += 1
        current = graph.conv_bn(
            f"{block}_project", current, width, 1, paths=(f"{path}.{step}.0", f"{path}.{step}.1")
        )
        if stride == 1 and channels == width:
            current = graph.add("add", f"{block}_add", [current, source])
        source, channels = current, width
    last = len(blocks) + 1
    graph.conv_bn(
        "head",
        source,
        6 * channels,
        1,
        activation="hardswish",
        paths=(f"features.{last}.0", f"features.{last}.1"),
    )
    graph.add("global_avg_pool", "pool", ["head_act"])
    graph.add(
        "dense", "classifier", ["pool"], "classifier.0", units=last_channel, activation="hardswish"
    )
    graph.add("dropout", "dropout", ["classifier"], rate=0.2)
    graph.add("output", "output", ["dropout"], "classifier.3", classes=classes)
    return graph


@register("mobilenet_v2", layout=lambda classes=1000, **_: mobilenet_v2_graph(classes).paths)
def mobilenet_v2(classes: int = 1000, input: str = "224x224x3") -> NetSpec:
    return mobilenet_v2_graph(classes).spec("mobilenet_v2", input)


def _v3_layout(name: str):
    return lambda classes=1000, **_: mobilenet_v3_graph(name, classes).paths


@register("mobilenet_v3_small", layout=_v3_layout("mobilenet_v3_small"))
def mobilenet_v3_small(classes: int = 1000, input: str = "224x224x3") -> NetSpec:
    return mobilenet_v3_graph("mobilenet_v3_small", classes).spec("mobilenet_v3_small", input)


@register("mobilenet_v3_large", layout=_v3_layout("mobilenet_v3_large"))
def mobilenet_v3_large(classes: int = 1000, input: str = "224x224x3") -> NetSpec:
    return mobilenet_v3_graph("mobilenet_v3_large", classes).spec("mobilenet_v3_large", input)
