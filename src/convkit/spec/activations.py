"""The activation functions a spec may name (the builder maps each to torch)."""

ACTIVATIONS = (
    "relu",
    "relu6",  # min(max(x, 0), 6): MobileNetV2
    "leaky_relu",  # negative slope 0.01
    "elu",
    "gelu",
    "silu",
    "tanh",
    "sigmoid",
    "hardsigmoid",  # relu6(x + 3) / 6: MobileNetV3's gates
    "hardswish",  # x * relu6(x + 3) / 6: MobileNetV3
    "softmax",  # over channels for a volume, over features otherwise
    "identity",
)
