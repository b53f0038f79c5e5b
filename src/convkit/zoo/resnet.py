"""ResNet-18/34 in the graph form: basic blocks with residual `add`s (He et al., 2015).

Each block is conv-bn-relu-conv-bn, added to its shortcut, then relu. The first
block of a stage that halves the size or changes the width gets a 1x1 conv-bn
shortcut with stride 2, so the `add` sees two volumes of one shape.
"""

from __future__ import annotations

from convkit.spec import NetSpec, layer
from convkit.zoo import register


def _conv_bn(name: str, source: str, filters: int, kernel: int, stride: int, padding: int):
    return [
        layer(
            "conv2d",
            name=f"{name}_conv",
            inputs=[source],
            filters=filters,
            kernel=kernel,
            stride=stride,
            padding=padding,
            bias=False,
            activation="identity",  # batch norm, then relu (or the add) come next
        ),
        layer("batch_norm", name=f"{name}_bn"),
    ]


def _basic_block(name: str, source: str, filters: int, stride: int, project: bool):
    layers = _conv_bn(f"{name}_a", source, filters, 3, stride, 1)
    layers.append(layer("activation", name=f"{name}_a_relu", function="relu"))
    layers += _conv_bn(f"{name}_b", f"{name}_a_relu", filters, 3, 1, 1)
    shortcut = source
    if project:
        layers += _conv_bn(f"{name}_short", source, filters, 1, stride, 0)
        shortcut = f"{name}_short_bn"
    layers.append(layer("add", name=f"{name}_add", inputs=[f"{name}_b_bn", shortcut]))
    layers.append(layer("activation", name=f"{name}_out", function="relu"))
    return layers


def resnet(name: str, blocks: list[int], classes: int, input: str) -> NetSpec:
    layers = _conv_bn("stem", "input", 64, 7, 2, 3)
    layers.append(layer("activation", name="stem_relu", function="relu"))
    layers.append(layer("max_pool", name="stem_pool", kernel=3, stride=2, padding=1))
    source, channels = "stem_pool", 64
    for stage, (count, filters) in enumerate(zip(blocks, (64, 128, 256, 512), strict=True), 1):
        for block in range(1, count + 1):
            stride = 2 if stage > 1 and block == 1 else 1
            block_name = f"stage{stage}_block{block}"
            project = stride != 1 or filters != channels
            layers += _basic_block(block_name, source, filters, stride, project)
            source, channels = f"{block_name}_out", filters
    layers.append(layer("global_avg_pool", name="pool", inputs=[source]))
    layers.append(layer("output", name="output", classes=classes))
    return NetSpec(input=input, name=name, layers=layers)


@register("resnet18")
def resnet18(classes: int = 1000, input: str = "224x224x3") -> NetSpec:
    return resnet("resnet18", [2, 2, 2, 2], classes, input)


@register("resnet34")
def resnet34(classes: int = 1000, input: str = "224x224x3") -> NetSpec:
    return resnet("resnet34", [3, 4, 6, 3], classes, input)
