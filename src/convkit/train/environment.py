"""Where and how training runs: device choice, seeds, threads, determinism."""

from __future__ import annotations

import random

from convkit.errors import UsageError


def choose_device(name: str = "auto"):
    """CUDA when present (with cuDNN autotuning), else the CPU."""
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("`--device cuda` asked for, but no CUDA GPU is visible; use --device cpu")
    device = torch.device(name)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return device


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def make_deterministic() -> None:
    """Same inputs, same weights: slower kernels where needed."""
    import torch

    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def amp_dtype(device, requested: bool | None):
    """The autocast dtype for mixed precision, or None for full precision."""
    import torch

    enabled = device.type == "cuda" if requested is None else requested
    if not enabled:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16
