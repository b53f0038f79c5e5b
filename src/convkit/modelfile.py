"""One-file model bundle: spec, task, labels, preprocessing and weights.

The file is a safetensors file (``*.convkit``): its tensors are the network's
weights, and its string metadata holds one JSON document under the key
``convkit`` with the spec, the task (labels…), the preprocessing (input size,
channel order, normalisation, resize policy, or the audio front end) and the
training metadata. Loading never unpickles anything, and a SHA-256 of the
weights catches a file that was edited after it was written.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convkit.errors import ModelFileError

FORMAT_VERSION = 1
METADATA_KEY = "convkit"


@dataclass
class LoadedModel:
    """What a model file holds, with the network built and its weights loaded."""

    path: Path
    net: Any  # convkit.build.ConvNet, in eval mode
    spec: Any  # convkit.spec.NetSpec
    task: Any  # convkit.tasks.Task
    preprocessing: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    weights_sha256: str = ""

    @property
    def labels(self) -> list[str]:
        return list(getattr(self.task, "labels", []) or [])


def weights_digest(tensors: dict) -> str:
    """SHA-256 over the weights in name order: names, dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.view(-1).view(dtype=_byte_dtype()).numpy().tobytes())
    return digest.hexdigest()


def _byte_dtype():
    import torch

    return torch.uint8


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def state_tensors(net) -> dict:
    """The network's weights and buffers as plain contiguous CPU tensors."""
    module = getattr(net, "module", net)  # unwrap DistributedDataParallel
    return {name: value.detach().cpu().contiguous() for name, value in module.state_dict().items()}


def save_model(
    path: str | Path,
    net,
    *,
    task,
    preprocessing: dict[str, Any],
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write the model file atomically and return its path."""
    from safetensors.torch import save

    tensors = state_tensors(net)
    module = getattr(net, "module", net)
    document = {
        "format_version": FORMAT_VERSION,
        "spec": module.spec.to_dict(),
        "task": task.to_dict(),
        "preprocessing": preprocessing,
        "metadata": metadata or {},
        "weights_sha256": weights_digest(tensors),
    }
    data = save(tensors, metadata={METADATA_KEY: json.dumps(document)})
    atomic_write_bytes(Path(path), data)
    return Path(path)


def read_document(path: str | Path) -> tuple[dict[str, Any], dict]:
    """The JSON document and the tensors of a model file, checked but not built."""
    from safetensors.torch import load

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    data = path.read_bytes()
    try:
        tensors = load(data)
        header_metadata = _safetensors_metadata(data)
    except Exception as error:  # safetensors raises its own error types
        raise ModelFileError(
            f"{path} is not a readable convkit model file (truncated or corrupt: {error})"
        ) from None
    if METADATA_KEY not in header_metadata:
        raise ModelFileError(f"{path} is a safetensors file but not a convkit model file")
    try:
        document = json.loads(header_metadata[METADATA_KEY])
    except json.JSONDecodeError:
        raise ModelFileError(f"{path} has a damaged convkit header") from None
    if document.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer convkit (format {document['format_version']}); "
            "upgrade convkit to read it"
        )
    if weights_digest(tensors) != document.get("weights_sha256"):
        raise ModelFileError(f"{path} has been modified: its weights do not match their checksum")
    return document, tensors


def _safetensors_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors byte string (header = 8-byte length + JSON)."""
    header_length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_length])
    return header.get("__metadata__", {}) or {}


def load_model(path: str | Path, device: str = "cpu") -> LoadedModel:
    """Read a model file, rebuild its network and load the weights (eval mode)."""
    from convkit.build import build
    from convkit.spec import NetSpec
    from convkit.tasks import task_from_dict

    document, tensors = read_document(path)
    spec = NetSpec.from_dict(document["spec"])
    net = build(spec)
    try:
        net.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise ModelFileError(f"{path}: the weights do not fit the stored spec ({error})") from None
    net.to(device).eval()
    return LoadedModel(
        path=Path(path),
        net=net,
        spec=spec,
        task=task_from_dict(document["task"]),
        preprocessing=document["preprocessing"],
        metadata=document.get("metadata", {}),
        weights_sha256=document["weights_sha256"],
    )
