"""Classic plain stacks: LeNet (Deeplearning4j's MNIST example), AlexNet, VGG."""

from __future__ import annotations

from convkit.spec import NetSpec, layer
from convkit.zoo.registry import register


@register("lenet")
def lenet(classes: int = 10, input: str = "28x28x1") -> NetSpec:
    """Conv 5x5x20, max pool 2/2, conv 5x5x50, max pool 2/2, dense 500, output."""
    return NetSpec(
        input=input,
        name="lenet",
        layers=[
            layer("conv2d", filters=20, kernel=5),
            layer("max_pool", kernel=2, stride=2),
            layer("conv2d", filters=50, kernel=5),
            layer("max_pool", kernel=2, stride=2),
            layer("dense", units=500),
            layer("output", classes=classes),
        ],
    )


@register("alexnet")
def alexnet(classes: int = 1000, input: str = "224x224x3") -> NetSpec:
    """AlexNet (torchvision's single-tower variant, with local response norm as in the paper)."""
    return NetSpec(
        input=input,
        name="alexnet",
        layers=[
            layer("conv2d", filters=64, kernel=11, stride=4, padding=2),
            layer("local_response_norm"),
            layer("max_pool", kernel=3, stride=2),
            layer("conv2d", filters=192, kernel=5, padding=2),
            layer("local_response_norm"),
            layer("max_pool", kernel=3, stride=2),
            layer("conv2d", filters=384, kernel=3, padding=1),
            layer("conv2d", filters=256, kernel=3, padding=1),
            layer("conv2d", filters=256, kernel=3, padding=1),
            layer("max_pool", kernel=3, stride=2),
            layer("dropout", rate=0.5),
            layer("dense", units=4096),
            layer("dropout", rate=0.5),
            layer("dense", units=4096),
            layer("output", classes=classes),
        ],
    )


def _vgg(name: str, stages: list[list[int]], classes: int, input: str, bn: bool = False) -> NetSpec:
    layers = []
    for filters_per_conv in stages:
        for filters in filters_per_conv:
            if bn:  # conv (with bias, as torchvision's), batch norm, relu
                layers += [
                    layer("conv2d", filters=filters, kernel=3, padding=1, activation="identity"),
                    layer("batch_norm"),
                    layer("activation", function="relu"),
                ]
            else:
                layers.append(layer("conv2d", filters=filters, kernel=3, padding=1))
        layers.append(layer("max_pool", kernel=2, stride=2))
    layers += [
        layer("dense", units=4096),
        layer("dropout", rate=0.5),
        layer("dense", units=4096),
        layer("dropout", rate=0.5),
        layer("output", classes=classes),
    ]
    return NetSpec(input=input, name=name, layers=layers)


def vgg_layout(spec: NetSpec) -> dict[str, str]:
    """torchvision's VGG keys: ``features.N`` counts every module (conv, bn, relu, pool);
    ``classifier.0/3/6`` are the three linear layers (relu and dropout between them)."""
    paths, index, linear = {}, 0, 0
    for spec_layer in spec.layers:
        if spec_layer.type in ("conv2d", "batch_norm"):
            paths[spec_layer.name] = f"features.{index}"
        if spec_layer.type in ("dense", "output"):
            paths[spec_layer.name] = f"classifier.{3 * linear}"
            linear += 1
            continue
        if spec_layer.type == "dropout":
            continue
        # a plain conv2d carries its relu inside: torchvision has a separate ReLU module
        index += (
            2 if spec_layer.type == "conv2d" and spec_layer.params["activation"] == "relu" else 1
        )
    return paths


VGG16_STAGES = [[64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3]


@register("vgg11")
def vgg11(classes: int = 1000, input: str = "224x224x3") -> NetSpec:
    return _vgg("vgg11", [[64], [128], [256, 256], [512, 512], [512, 512]], classes, input)


@register("vgg16", layout=lambda classes=1000, **_: vgg_layout(vgg16(classes)))
def vgg16(classes: int = 1000, input: str = "224x224x3") -> NetSpec:
    """VGG-16 as torchvision's; its adaptive 7x7 average pool is a no-op at 224x224."""
    return _vgg("vgg16", VGG16_STAGES, classes, input)


@register("vgg16_bn", layout=lambda classes=1000, **_: vgg_layout(vgg16_bn(classes)))
def vgg16_bn(classes: int = 1000, input: str = "224x224x3") -> NetSpec:
    return _vgg("vgg16_bn", VGG16_STAGES, classes, input, bn=True)
