"""Refuse a network that cannot be trained in this machine's memory, before allocating it.

Why: ``filters: 1000000000`` is a valid spec, and building it would ask the
allocator for hundreds of GB: at best a MemoryError traceback minutes later,
at worst the kernel's OOM killer takes the machine. The summary already
knows the parameter count and the activation sizes, so the check is exact
arithmetic on the spec, with no torch involved.

Training holds, per parameter, the weight, its gradient and up to two
optimizer moments (Adam): 4 x 4 bytes. Per example in a batch, every
layer's output is kept for the backward pass and gets a gradient: 2 x 4 bytes
per value. Weights are always created in host memory first, so they must fit
there whatever the device; the whole estimate must fit when training on CPU.
"""

from __future__ import annotations

from convkit.errors import UsageError
from convkit.limits import physical_memory

BYTES_PER_PARAM_TRAINING = 16  # weight + gradient + two Adam moments, float32
BYTES_PER_ACTIVATION_TRAINING = 8  # forward value + its gradient, float32
GB = 1e9


def training_bytes(spec, batch_size: int) -> tuple[int, int]:
    """``(weights_bytes, training_bytes)`` for ``spec`` at ``batch_size``."""
    infos = spec.infer()
    params = sum(info.params for info in infos)
    values = spec.input.numel() + sum(info.output_shape.numel() for info in infos)
    weights = params * 4
    return weights, params * BYTES_PER_PARAM_TRAINING + values * batch_size * (
        BYTES_PER_ACTIVATION_TRAINING
    )


def runs_on_cpu(device: str) -> bool:
    if device == "cpu":
        return True
    if device != "auto":
        return False
    import torch

    return not torch.cuda.is_available()


def check_fits_in_memory(spec, batch_size: int, device: str = "cpu") -> None:
    """UsageError naming the numbers when ``spec`` cannot be trained here."""
    on_cpu = runs_on_cpu(device)
    memory = physical_memory()
    if memory is None:
        return
    weights, total = training_bytes(spec, batch_size)
    if weights > memory:
        raise UsageError(
            f"the network's weights alone need {weights / GB:,.1f} GB and this machine has "
            f"{memory / GB:,.1f} GB of memory; see `convkit summary` and use fewer filters/units"
        )
    if on_cpu and total > memory:
        raise UsageError(
            f"training needs about {total / GB:,.1f} GB (weights, gradients and optimizer state, "
            f"plus activations at batch size {batch_size}) and this machine has "
            f"{memory / GB:,.1f} GB; use a smaller --batch-size or a smaller network"
        )
