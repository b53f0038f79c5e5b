"""Resumable training state, written atomically, never unpickled.

A checkpoint is a safetensors file: tensors for the model, the optimizer's
per-parameter state and the RNG states; JSON metadata for everything else
(position in the data, scheduler, history, best score, numpy and Python RNG).
Writing goes through a temporary file and ``os.replace``, so a run killed
while saving still has its previous checkpoint.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from convkit.errors import ModelFileError
from convkit.modelfile import atomic_write_bytes

META_KEY = "convkit_checkpoint"


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
    atomic_write_bytes(path, save(tensors, metadata={META_KEY: json.dumps(meta)}))


def load_checkpoint(path: Path, *, net, optimizer, scheduler, scaler) -> dict[str, Any]:
    """Restore everything into the given objects; return the JSON state."""
    import numpy as np
    import torch
    from safetensors import safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads(handle.metadata()[META_KEY])
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as error:
        raise ModelFileError(
            f"cannot resume from {path}: not a readable checkpoint ({error})"
        ) from None

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
    for param_id, entries in optimizer_meta["state"].items():
        per_param.setdefault(int(param_id), {}).update(entries)
    optimizer.load_state_dict({"state": per_param, "param_groups": optimizer_meta["param_groups"]})
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
    return meta


def _jsonable(value):
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    return value
