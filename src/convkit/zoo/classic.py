"""Classic plain stacks: LeNet (Deeplearning4j's MNIST example), AlexNet, VGG."""

from __future__ import annotations

from convkit.spec import NetSpec, layer
from convkit.zoo import register


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


def _vgg(name: str, stages: list[list[int]], classes: int, input: str) -> NetSpec:
    layers = []
    for filters_per_conv in stages:
        layers += [layer("conv2d", filters=f, kernel=3, padding=1) for f in filters_per_conv]
        layers.append(layer("max_pool", kernel=2, stride=2))
    layers += [
        layer("dense", units=4096),
        layer("dropout", rate=0.5),
        layer("dense", units=4096),
        layer("dropout", rate=0.5),
        layer("output", classes=classes),
    ]
    return NetSpec(input=input, name=name, layers=layers)


@register("vgg11")
def vgg11(classes: int = 1000, input: str = "224x224x3") -> NetSpec:
    return _vgg("vgg11", [[64], [128], [256, 256], [512, 512], [512, 512]], classes, input)


@register("vgg16")
def vgg16(classes: int = 1000, input: str = "224x224x3") -> NetSpec:
    stages = [[64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3]
    return _vgg("vgg16", stages, classes, input)
