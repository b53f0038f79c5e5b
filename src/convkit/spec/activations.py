"""The activation functions a spec may name (the builder maps each to torch)."""

ACTIVATIONS = (
    "relu",
    "leaky_relu",  # negative slope 0.01
    "elu",
    "gelu",
    "silu",
    "tanh",
    "sigmoid",
    "softmax",  # over channels for a volume, over features otherwise
    "identity",
)
