"""ResNet-18/34/50 in the graph form, with torchvision's layout (He et al., 2015).

A basic block (18, 34) is conv-bn-relu-conv-bn, added to its shortcut, then
relu. A bottleneck block (50) is 1x1 (narrow) - 3x3 (stride here, as in
torchvision's "v1.5") - 1x1 (4x wide), each with batch norm. The first block
of a stage that halves the size or changes the width gets a 1x1 conv-bn
shortcut with that stride, so the `add` sees two volumes of one shape.
"""

from __future__ import annotations

from convkit.spec import NetSpec
from convkit.zoo._blocks import Graph
from convkit.zoo.registry import register

WIDTHS = (64, 128, 256, 512)


def _plain_conv_bn(graph: Graph, name: str, source: str, filters, kernel, stride, paths):
    # ResNet's convolutions use kernel // 2 padding, the 1x1 shortcut none: as conv_bn does
    return graph.conv_bn(name, source, filters, kernel, stride, paths=paths)


def _block(
    graph: Graph,
    name: str,
    source: str,
    width: int,
    stride: int,
    project: bool,
    bottleneck: bool,
    path: str,
) -> str:
    steps = [("a", 1), ("b", stride), ("c", 1)] if bottleneck else [("a", stride), ("b", 1)]
    kernels = {"a": 1, "b": 3, "c": 1} if bottleneck else {"a": 3, "b": 3}
    out_channels = width * 4 if bottleneck else width
    current = source
    for index, (step, step_stride) in enumerate(steps, 1):
        filters = out_channels if index == len(steps) else width
        current = _plain_conv_bn(
            graph,
            f"{name}_{step}",
            current,
            filters,
            kernels[step],
            step_stride,
            (f"{path}.conv{index}", f"{path}.bn{index}"),
        )
        if index < len(steps):
            current = graph.add("activation", f"{name}_{step}_relu", [current], function="relu")
    shortcut = source
    if project:
        shortcut = _plain_conv_bn(
            graph,
            f"{name}_short",
            source,
            out_channels,
            1,
            stride,
            (f"{path}.downsample.0", f"{path}.downsample.1"),
        )
    graph.add("add", f"{name}_add", [current, shortcut])
    return graph.add("activation", f"{name}_out", [f"{name}_add"], function="relu")


def resnet_graph(blocks: list[int], bottleneck: bool, classes: int) -> Graph:
    graph = Graph()
    graph.conv_bn("stem", "input", 64, 7, 2, activation=None, paths=("conv1", "bn1"))
    graph.add("activation", "stem_relu", ["stem_bn"], function="relu")
    graph.add("max_pool", "stem_pool", ["stem_relu"], kernel=3, stride=2, padding=1)
    source, channels = "stem_pool", 64
    for stage, (count, width) in enumerate(zip(blocks, WIDTHS, strict=True), 1):
        for block in range(1, count + 1):
            stride = 2 if stage > 1 and block == 1 else 1
            out_channels = width * 4 if bottleneck else width
            project = stride != 1 or out_channels != channels
            source = _block(
                graph,
                f"stage{stage}_block{block}",
                source,
                width,
                stride,
                project,
                bottleneck,
                f"layer{stage}.{block - 1}",
            )
            channels = out_channels
    graph.add("global_avg_pool", "pool", [source])
    graph.add("output", "output", ["pool"], "fc", classes=classes)
    return graph


def resnet(name: str, blocks: list[int], classes: int, input: str, bottleneck=False) -> NetSpec:
    return resnet_graph(blocks, bottleneck, classes).spec(name, input)


_DEPTHS = {
    "resnet18": ([2, 2, 2, 2], False),
    "resnet34": ([3, 4, 6, 3], False),
    "resnet50": ([3, 4, 6, 3], True),
}


def _layout(name: str):
    blocks, bottleneck = _DEPTHS[name]
    return lambda classes=1000, **_: resnet_graph(blocks, bottleneck, classes).paths


@register("resnet18", layout=_layout("resnet18"))
def resnet18(classes: int = 1000, input: str = "224x224x3") -> NetSpec:
    return resnet("resnet18", [2, 2, 2, 2], classes, input)


@register("resnet34", layout=_layout("resnet34"))
def resnet34(classes: int = 1000, input: str = "224x224x3") -> NetSpec:
    return resnet("resnet34", [3, 4, 6, 3], classes, input)


@register("resnet50", layout=_layout("resnet50"))
def resnet50(classes: int = 1000, input: str = "224x224x3") -> NetSpec:
    return resnet("resnet50", [3, 4, 6, 3], classes, input, bottleneck=True)
