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


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX).

    Without it PyTorch emulates bf16 and mixed precision is slower than float32.
    """
    import torch

    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without these probes: stay in float32
        return False


def amp_dtype(device, requested: bool | None):
    """The autocast dtype for mixed precision, or None for full precision.

    ``requested=None`` (the default) turns it on where it pays: every CUDA GPU,
    and CPUs with native bf16 (LeNet trains 1.9x faster in channels-last + bf16
    than in float32 on the 2-core AVX512-BF16 machine, to the same accuracy;
    docs/benchmarks.md).
    """
    import torch

    if requested is None:
        enabled = device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16())
    else:
        enabled = requested
    if not enabled:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16
