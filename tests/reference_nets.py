"""Independent plain-PyTorch reference networks with torchvision's state-dict layout.

Written for the tests from the papers' block descriptions and torchvision's
published key names (``layer1.0.conv1.weight``, ``features.3.block.1.0.weight``, …),
without torchvision or timm. They share no code with convkit: an import that
makes convkit's logits equal theirs maps every tensor to the right place.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_norm_act(cin, cout, kernel, stride=1, groups=1, act=nn.ReLU, eps=1e-5, momentum=0.1):
    """torchvision's Conv2dNormActivation: children 0 (conv), 1 (bn), 2 (activation)."""
    layers = [
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout, eps=eps, momentum=momentum),
    ]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


def randomise_batch_norm(net: nn.Module, seed: int = 0) -> nn.Module:
    """Random running statistics and affine terms, so a misplaced BN tensor shows in the logits."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
                module.weight.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
                module.bias.copy_(torch.randn(n, generator=generator) * 0.1)
                module.num_batches_tracked.fill_(7)
    return net.eval()


# ResNet ------------------------------------------------------------------------------


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or cin != planes * 4:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4)
            )

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    def __init__(self, block, counts, classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for index, (count, planes) in enumerate(zip(counts, (64, 128, 256, 512), strict=True), 1):
            blocks = []
            for b in range(count):
                blocks.append(block(cin, planes, 2 if index > 1 and b == 0 else 1))
                cin = planes * block.expansion
            setattr(self, f"layer{index}", nn.Sequential(*blocks))
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for index in range(1, 5):
            x = getattr(self, f"layer{index}")(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def resnet18():
    return ResNet(BasicBlock, [2, 2, 2, 2])


def resnet50():
    return ResNet(Bottleneck, [3, 4, 6, 3])


# MobileNetV2 -------------------------------------------------------------------------


class InvertedResidualV2(nn.Module):
    def __init__(self, cin, cout, stride, expansion):
        super().__init__()
        hidden = cin * expansion
        self.use_res_connect = stride == 1 and cin == cout
        layers = []
        if expansion != 1:
            layers.append(conv_norm_act(cin, hidden, 1, act=nn.ReLU6))
        layers += [
            conv_norm_act(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        settings = [
            [1, 16, 1, 1],
            [6, 24, 2, 2],
            [6, 32, 3, 2],
            [6, 64, 4, 2],
            [6, 96, 3, 1],
            [6, 160, 3, 2],
            [6, 320, 1, 1],
        ]
        features = [conv_norm_act(3, 32, 3, 2, act=nn.ReLU6)]
        cin = 32
        for t, c, n, s in settings:
            for i in range(n):
                features.append(InvertedResidualV2(cin, c, s if i == 0 else 1, t))
                cin = c
        features.append(conv_norm_act(cin, 1280, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, classes))

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


# MobileNetV3 / EfficientNet ----------------------------------------------------------


def make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class SqueezeExcitation(nn.Module):
    def __init__(self, channels, squeeze, act=nn.ReLU, gate=nn.Sigmoid):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.act, self.gate = act(), gate()

    def forward(self, x):
        scale = nn.functional.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.fc2(self.act(self.fc1(scale))))


class InvertedResidualV3(nn.Module):
    def __init__(self, cin, kernel, hidden, cout, se, act, stride):
        super().__init__()
        bn = {"eps": 0.001, "momentum": 0.01}
        self.use_res_connect = stride == 1 and cin == cout
        layers = []
        if hidden != cin:
            layers.append(conv_norm_act(cin, hidden, 1, act=act, **bn))
        layers.append(conv_norm_act(hidden, hidden, kernel, stride, groups=hidden, act=act, **bn))
        if se:
            layers.append(
                SqueezeExcitation(hidden, make_divisible(hidden // 4), gate=nn.Hardsigmoid)
            )
        layers.append(conv_norm_act(hidden, cout, 1, act=None, **bn))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.block(x) if self.use_res_connect else self.block(x)


V3_SMALL = [
    (16, 3, 16, 16, True, "RE", 2),
    (16, 3, 72, 24, False, "RE", 2),
    (24, 3, 88, 24, False, "RE", 1),
    (24, 5, 96, 40, True, "HS", 2),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 120, 48, True, "HS", 1),
    (48, 5, 144, 48, True, "HS", 1),
    (48, 5, 288, 96, True, "HS", 2),
    (96, 5, 576, 96, True, "HS", 1),
    (96, 5, 576, 96, True, "HS", 1),
]


V3_LARGE = [
    (16, 3, 16, 16, False, "RE", 1),
    (16, 3, 64, 24, False, "RE", 2),
    (24, 3, 72, 24, False, "RE", 1),
    (24, 5, 72, 40, True, "RE", 2),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2),
    (80, 3, 200, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 480, 112, True, "HS", 1),
    (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2),
    (160, 5, 960, 160, True, "HS", 1),
    (160, 5, 960, 160, True, "HS", 1),
]


class MobileNetV3(nn.Module):
    def __init__(self, config=V3_SMALL, last_channel=1024, classes=1000):
        super().__init__()
        bn = {"eps": 0.001, "momentum": 0.01}
        features = [conv_norm_act(3, 16, 3, 2, act=nn.Hardswish, **bn)]
        for cin, k, hidden, cout, se, act, stride in config:
            features.append(
                InvertedResidualV3(
                    cin, k, hidden, cout, se, nn.ReLU if act == "RE" else nn.Hardswish, stride
                )
            )
        last = config[-1][3]
        features.append(conv_norm_act(last, 6 * last, 1, act=nn.Hardswish, **bn))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(
            nn.Linear(6 * last, last_channel),
            nn.Hardswish(),
            nn.Dropout(0.2),
            nn.Linear(last_channel, classes),
        )

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class MBConv(nn.Module):
    def __init__(self, cin, cout, kernel, stride, expansion):
        super().__init__()
        hidden = cin * expansion
        self.use_res_connect = stride == 1 and cin == cout
        layers = []
        if hidden != cin:
            layers.append(conv_norm_act(cin, hidden, 1, act=nn.SiLU))
        layers.append(conv_norm_act(hidden, hidden, kernel, stride, groups=hidden, act=nn.SiLU))
        layers.append(SqueezeExcitation(hidden, max(1, cin // 4), act=nn.SiLU))
        layers.append(conv_norm_act(hidden, cout, 1, act=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x):  # stochastic depth is the identity in eval mode
        return x + self.block(x) if self.use_res_connect else self.block(x)


class EfficientNetB0(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        stages = [
            (1, 3, 1, 32, 16, 1),
            (6, 3, 2, 16, 24, 2),
            (6, 5, 2, 24, 40, 2),
            (6, 3, 2, 40, 80, 3),
            (6, 5, 1, 80, 112, 3),
            (6, 5, 2, 112, 192, 4),
            (6, 3, 1, 192, 320, 1),
        ]
        features = [conv_norm_act(3, 32, 3, 2, act=nn.SiLU)]
        for expansion, kernel, stride, cin, cout, count in stages:
            blocks = []
            for b in range(count):
                blocks.append(
                    MBConv(
                        cin if b == 0 else cout, cout, kernel, stride if b == 0 else 1, expansion
                    )
                )
            features.append(nn.Sequential(*blocks))
        features.append(conv_norm_act(320, 1280, 1, act=nn.SiLU))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, classes))

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


VGG16_CONFIG = [
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    "M",
]


class VGG16(nn.Module):
    """torchvision's VGG-16 layout: ``features`` (conv[, bn], relu, …, pool), ``classifier``."""

    def __init__(self, batch_norm: bool = False, classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for width in VGG16_CONFIG:
            if width == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            layers.append(nn.Conv2d(channels, width, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU(inplace=True))
            channels = width
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(4096, classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


REFERENCES = {
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet_v2": MobileNetV2,
    "mobilenet_v3_small": MobileNetV3,
    "mobilenet_v3_large": lambda: MobileNetV3(V3_LARGE, 1280),
    "efficientnet_b0": EfficientNetB0,
    "vgg16": VGG16,
    "vgg16_bn": lambda: VGG16(batch_norm=True),
}


_BUILT: dict = {}


def reference(name: str, seed: int = 0) -> nn.Module:
    """The reference network ``name`` with seeded random weights, built once per process."""
    if (name, seed) not in _BUILT:
        torch.manual_seed(seed)
        _BUILT[name, seed] = randomise_batch_norm(REFERENCES[name](), seed)
    return _BUILT[name, seed]
