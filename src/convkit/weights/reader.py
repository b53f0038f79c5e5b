"""Read a state dict (name -> tensor) from a .pth/.pt or .safetensors file, safely.

``.pth`` files are pickles. ``torch.load(weights_only=True)`` unpickles only
tensors and plain containers, so a file that would run code (or build any
other object) is refused before anything executes.
"""

from __future__ import annotations

from pathlib import Path

from convkit.errors import ModelFileError

# checkpoints that wrap the state dict (training scripts, DataParallel)
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net")


def read_state_dict(path: str | Path) -> dict:
    """name -> float tensor; ModelFileError (one line) for anything else."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"weights file not found: {path}")
    if path.suffix.lower() == ".safetensors":
        tensors = _read_safetensors(path)
    elif path.suffix.lower() in (".pth", ".pt", ".bin", ".ckpt"):
        tensors = _read_pickle(path)
    else:
        raise ModelFileError(
            f"{path}: unknown weights format {path.suffix!r}; give a .pth, .pt or .safetensors file"
        )
    return _plain_state_dict(tensors, path)


def _read_safetensors(path: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelFileError(f"{path}: not a readable safetensors file ({error})") from None


def _read_pickle(path: Path) -> dict:
    import pickle
    import warnings
    import zipfile

    import torch

    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols; we say one line
            warnings.simplefilter("ignore")
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "unsafe content"
        raise ModelFileError(
            f"{path}: refused: the file holds objects other than tensors, and loading it could run "
            f"code ({first[:160]}); convert it to a plain state dict or .safetensors"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelFileError(
            f"{path}: not a readable PyTorch weights file (truncated or corrupt? {first[:160]})"
        ) from None


def _plain_state_dict(loaded, path: Path) -> dict:
    import torch

    for key in WRAPPER_KEYS:
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
            break
    if not isinstance(loaded, dict) or not loaded:
        raise ModelFileError(f"{path}: holds no state dict (a mapping of names to tensors)")
    tensors = {}
    for name, value in loaded.items():
        if not isinstance(value, torch.Tensor):
            raise ModelFileError(
                f"{path}: entry {name!r} is a {type(value).__name__}, not a tensor; "
                "give a state dict (model.state_dict())"
            )
        # DataParallel / DistributedDataParallel save every name under "module."
        tensors[name[len("module.") :] if name.startswith("module.") else name] = value
    return tensors
