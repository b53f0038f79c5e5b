"""Resumable training state, written atomically, never unpickled.

A checkpoint is a safetensors file: tensors for the model, the optimizer's
per-parameter state and the RNG states; JSON metadata for everything else
(position in the data, scheduler, history, best score, numpy and Python RNG).
Writing goes through a temporary file and ``os.replace``, so a run killed
while saving still has its previous checkpoint.

Integrity, as for model files: a SHA-256 over the tensors and the JSON state
is stored beside them and checked on load, and the JSON state is validated
(types, ranges, every piece present) before anything is restored. The
checkpoint before the last one is kept as ``previous.ckpt``, so a damaged
``last.ckpt`` (a bit flip, a full disk) costs one checkpoint interval, not
the run (``resume_candidates`` / the Trainer fall back to it and say so).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from convkit.errors import ModelFileError
from convkit.modelfile import atomic_write_bytes

META_KEY = "convkit_checkpoint"
DIGEST_KEY = "convkit_checkpoint_sha256"
PREVIOUS_NAME = "previous.ckpt"


def state_digest(tensors: dict, meta_text: str) -> str:
    import hashlib

    from convkit.modelfile import weights_digest

    return hashlib.sha256((weights_digest(tensors) + "|" + meta_text).encode()).hexdigest()


def previous_path(path: Path) -> Path:
    return Path(path).with_name(PREVIOUS_NAME)


def save_checkpoint(
    path: Path, *, net, optimizer, scheduler, scaler, state: dict[str, Any]
) -> None:
    import numpy as np
    import torch
    from safetensors.torch import save

    module = getattr(net, "module", net)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    optimizer_state = optimizer.state_dict()
    optimizer_meta: dict[str, dict] = {}
    for param_id, entries in optimizer_state["state"].items():
        for key, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"optim.{param_id}.{key}"] = value.detach().cpu().contiguous()
            else:
                optimizer_meta.setdefault(str(param_id), {})[key] = value
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for index, cuda_state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{index}"] = cuda_state
    numpy_state = np.random.get_state()
    meta = {
        **state,
        "optimizer": {"param_groups": optimizer_state["param_groups"], "state": optimizer_meta},
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "numpy_rng": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
        "python_rng": _jsonable(random.getstate()),
    }
    meta_text = json.dumps(meta)
    data = save(
        tensors, metadata={META_KEY: meta_text, DIGEST_KEY: state_digest(tensors, meta_text)}
    )
    path = Path(path)
    if path.exists():  # keep the last good one until the new one is safely in place
        import os

        os.replace(path, previous_path(path))
    atomic_write_bytes(path, data)


def read_checkpoint(path: Path) -> tuple[dict[str, Any], dict]:
    """The checked JSON state and tensors of a checkpoint; ModelFileError if damaged."""
    import torch
    from safetensors.torch import load

    from convkit.fileio import read_file_bytes

    path = Path(path)
    data = read_file_bytes(path, error=ModelFileError, what="checkpoint")
    try:
        tensors = load(data)
        length = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8 : 8 + length]).get("__metadata__") or {}
        meta_text = metadata[META_KEY]
        meta = json.loads(meta_text)
    except Exception as error:  # safetensors' own error types, KeyError, JSON errors
        reason = (str(error).splitlines() or [type(error).__name__])[0][:150]
        raise ModelFileError(f"{path}: not a readable checkpoint ({reason})") from None
    if metadata.get(DIGEST_KEY) != state_digest(tensors, meta_text):
        raise ModelFileError(f"{path}: damaged checkpoint (its contents do not match the checksum)")
    if not all(bool(torch.isfinite(t).all()) for t in tensors.values() if t.is_floating_point()):
        raise ModelFileError(f"{path}: damaged checkpoint (it holds NaN or infinite values)")
    _check_state(meta, tensors, path)
    return meta, tensors


def _check_state(meta: Any, tensors: dict, path: Path) -> None:
    """Every piece resume needs, with the right types, before anything is restored."""

    def bad(what: str):
        raise ModelFileError(f"{path}: damaged checkpoint ({what})")

    if not isinstance(meta, dict):
        bad("its state is not a JSON object")
    for key in ("epoch", "batch", "bad_epochs"):
        value = meta.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            bad(f"`{key}` must be a whole number >= 0, found {str(value)[:20]!r}")
    if not isinstance(meta.get("history"), list) or not isinstance(meta.get("best"), dict):
        bad("`history` or `best` is missing")
    optimizer = meta.get("optimizer")
    if not (
        isinstance(optimizer, dict)
        and isinstance(optimizer.get("param_groups"), list)
        and isinstance(optimizer.get("state"), dict)
    ):
        bad("the optimizer state is missing")
    numpy_rng, python_rng = meta.get("numpy_rng"), meta.get("python_rng")
    if not (isinstance(numpy_rng, list) and len(numpy_rng) == 5):
        bad("the numpy RNG state is missing")
    if not (isinstance(python_rng, list) and len(python_rng) == 3):
        bad("the Python RNG state is missing")
    if "rng.torch" not in tensors:
        bad("the torch RNG state is missing")


def load_checkpoint(path: Path, *, net, optimizer, scheduler, scaler) -> dict[str, Any]:
    """Restore everything into the given objects; return the JSON state."""
    import numpy as np
    import torch

    path = Path(path)
    meta, tensors = read_checkpoint(path)

    module = getattr(net, "module", net)
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        module.load_state_dict(model_state, strict=True)
    except RuntimeError:
        raise ModelFileError(
            f"cannot resume from {path}: it was made by a different network spec"
        ) from None

    optimizer_meta = meta["optimizer"]
    per_param: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, param_id, name = key.split(".", 2)
            per_param.setdefault(int(param_id), {})[name] = value
    try:
        for param_id, entries in optimizer_meta["state"].items():
            per_param.setdefault(int(param_id), {}).update(entries)
        optimizer.load_state_dict(
            {"state": per_param, "param_groups": optimizer_meta["param_groups"]}
        )
        if scheduler is not None and meta.get("scheduler") is not None:
            scheduler.load_state_dict(meta["scheduler"])
        if scaler is not None and meta.get("scaler") is not None:
            scaler.load_state_dict(meta["scaler"])
        torch.set_rng_state(tensors["rng.torch"])
        cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
        if cuda_states and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(cuda_states)
        numpy_rng = meta["numpy_rng"]
        np.random.set_state((numpy_rng[0], np.array(numpy_rng[1], dtype=np.uint32), *numpy_rng[2:]))
        python_rng = meta["python_rng"]
        random.setstate((python_rng[0], tuple(python_rng[1]), python_rng[2]))
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as error:
        reason = (str(error).splitlines() or [type(error).__name__])[0][:150]
        raise ModelFileError(
            f"cannot resume from {path}: damaged training state ({reason})"
        ) from None
    return meta


def _jsonable(value):
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    return value
