"""EfficientNet-B0 with torchvision's layout (Tan and Le, 2019).

Seven stages of MBConv blocks: an optional 1x1 widening convolution, a
depthwise convolution, a squeeze-and-excitation gate (SiLU inside, sigmoid
gate, squeezed to a quarter of the block's *input* width), and a 1x1 linear
projection; the input is added back when stride and width allow. Stochastic
depth is a training-time regulariser only and is not part of the graph.
"""

from __future__ import annotations

from convkit.spec import NetSpec
from convkit.zoo._blocks import Graph
from convkit.zoo.registry import register

# expansion, kernel, first stride, input width, output width, blocks
B0_STAGES = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
]


def efficientnet_b0_graph(classes: int) -> Graph:
    graph = Graph()
    source = graph.conv_bn(
        "stem", "input", 32, 3, 2, activation="silu", paths=("features.0.0", "features.0.1")
    )
    for stage, (expansion, kernel, first_stride, first_in, width, count) in enumerate(B0_STAGES, 1):
        for block in range(count):
            channels = first_in if block == 0 else width
            stride = first_stride if block == 0 else 1
            name, path = f"stage{stage}_block{block + 1}", f"features.{stage}.{block}.block"
            hidden, step, current = channels * expansion, 0, source
            if hidden != channels:
                current = graph.conv_norm_act(
                    f"{name}_expand", current, hidden, 1, "silu", f"{path}.0"
                )
                step += 1
            current = graph.conv_norm_act(
                f"{name}_dw", current, hidden, kernel, "silu", f"{path}.{step}", stride, True
            )
            current = graph.squeeze_excite(
                f"{name}_se",
                current,
                hidden,
                max(1, channels // 4),
                "silu",
                "sigmoid",
                f"{path}.{step + 1}",
            )
            current = graph.conv_bn(
                f"{name}_project",
                current,
                width,
                1,
                paths=(f"{path}.{step + 2}.0", f"{path}.{step + 2}.1"),
            )
            if stride == 1 and channels == width:
                current = graph.add("add", f"{name}_add", [current, source])
            source = current
    graph.conv_bn(
        "head", source, 1280, 1, activation="silu", paths=("features.8.0", "features.8.1")
    )
    graph.add("global_avg_pool", "pool", ["head_act"])
    graph.add("dropout", "dropout", ["pool"], rate=0.2)
    graph.add("output", "output", ["dropout"], "classifier.1", classes=classes)
    return graph


@register("efficientnet_b0", layout=lambda classes=1000, **_: efficientnet_b0_graph(classes).paths)
def efficientnet_b0(classes: int = 1000, input: str = "224x224x3") -> NetSpec:
    return efficientnet_b0_graph(classes).spec("efficientnet_b0", input)
