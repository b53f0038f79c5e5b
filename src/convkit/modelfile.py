"""One-file model bundle: spec, task, labels, preprocessing and weights.

The file is a safetensors file (``*.convkit``): its tensors are the network's
weights, and its string metadata holds one JSON document under the key
``convkit`` with the spec, the task (labels…), the preprocessing (input size,
channel order, normalisation, resize policy, or the audio front end) and the
training metadata. Loading never unpickles anything.

Integrity: ``weights_sha256`` covers the tensors, and ``document_sha256``
covers the whole JSON document *with* the weights' digest, so an edited
header (an activation changed from relu to tanh, a label renamed) is refused
like an edited weight. Reading is staged so nothing big happens before the
cheap checks pass: the 8-byte header length first (a 512 MB garbage file is
refused after reading 8 bytes), then the header and its checksum, then the
document's schema and the sizes it implies (input, parameters, labels vs.
outputs, channels), and only then the tensors and the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from convkit.errors import ConvkitError, ModelFileError

# The document's version and checksum are defined by its schema (checked on every
# read there); save_model writes them.
from convkit.model_schema import FORMAT_VERSION, document_digest

METADATA_KEY = "convkit"
# A convkit header is a few KB to a few MB (specs, labels, training history).
MAX_HEADER_BYTES = 64 * 1024 * 1024


class LoadedModel:
    """What a model file holds, with the network built (now, or at first use of ``.net``)."""

    def __init__(
        self,
        path: Path,
        net: Any = None,  # convkit.nn.ConvNet, in eval mode
        spec: Any = None,  # convkit.spec.NetSpec
        task: Any = None,  # convkit.tasks.Task
        preprocessing: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        weights_sha256: str = "",
        build_net: Callable[[], Any] | None = None,
    ):
        self.path = Path(path)
        self._net = net
        self._build_net = build_net
        self.spec = spec
        self.task = task
        self.preprocessing = preprocessing or {}
        self.metadata = metadata or {}
        self.weights_sha256 = weights_sha256

    @property
    def net(self):
        """The torch network; a model opened by ``open_model_file`` builds it here, once."""
        if self._net is None and self._build_net is not None:
            self._net = self._build_net()
        return self._net

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
    document["document_sha256"] = document_digest(document)
    data = save(tensors, metadata={METADATA_KEY: json.dumps(document)})
    atomic_write_bytes(Path(path), data)
    return Path(path)


def read_header_document(path: str | Path, allow_unsigned: bool = False) -> dict[str, Any]:
    """The checked JSON document of a model file, read from its header alone."""
    from convkit.fileio import read_file_head

    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"model file not found: {path}")
    head, size = read_file_head(path, 8, error=ModelFileError)
    header_length = int.from_bytes(head, "little") if len(head) == 8 else -1
    if not 2 <= header_length <= min(MAX_HEADER_BYTES, size - 8):
        raise ModelFileError(
            f"{path} is not a convkit model file (no safetensors header: truncated or not ours)"
        )
    header_bytes, _ = read_file_head(path, 8 + header_length, error=ModelFileError)
    try:
        header = json.loads(header_bytes[8:])
        metadata = header.get("__metadata__", {}) or {}
        text = metadata[METADATA_KEY]
    except (ValueError, AttributeError, TypeError):
        raise ModelFileError(f"{path} is not a convkit model file (damaged header)") from None
    except KeyError:
        raise ModelFileError(f"{path} is a safetensors file but not a convkit model file") from None
    try:
        document = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        raise ModelFileError(f"{path} has a damaged convkit header") from None
    from convkit.model_schema import check_document

    return check_document(document, path, allow_unsigned=allow_unsigned)


def read_document(path: str | Path, allow_unsigned: bool = False) -> tuple[dict[str, Any], dict]:
    """The JSON document and the tensors of a model file, checked but not built."""
    from safetensors.torch import load

    from convkit.fileio import read_file_bytes

    path = Path(path)
    document = read_header_document(path, allow_unsigned)  # cheap checks first: nothing big read
    data = read_file_bytes(path, error=ModelFileError, what="model file")
    try:
        tensors = load(data)
    except Exception as error:  # safetensors raises its own error types
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise ModelFileError(
            f"{path} is not a readable convkit model file (truncated or corrupt: {reason})"
        ) from None
    if weights_digest(tensors) != document.get("weights_sha256"):
        raise ModelFileError(f"{path} has been modified: its weights do not match their checksum")
    return document, tensors


def load_model(path: str | Path, device: str = "cpu", allow_unsigned: bool = False) -> LoadedModel:
    """Read a model file, rebuild its network and load the weights (eval mode).

    ``allow_unsigned``: also read a format-1 file (see ``upgrade_model_file``).
    """
    from convkit.nn import build

    document, tensors = read_document(path, allow_unsigned)
    spec, task = _spec_and_task(document, tensors, path)
    net = build(spec)
    try:
        net.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise ModelFileError(
            f"{path}: the weights do not fit the stored spec ({_torch_reason(error)})"
        ) from None
    net.to(device).eval()
    return LoadedModel(
        path=Path(path),
        net=net,
        spec=spec,
        task=task,
        preprocessing=document["preprocessing"],
        metadata=document.get("metadata", {}),
        weights_sha256=document["weights_sha256"],
    )


def open_model_file(path: str | Path, device: str = "cpu") -> LoadedModel:
    """Like ``load_model``, with every check, but without torch: ``.net`` is built at first use.

    The weights' digest is checked on the file's bytes (convkit.model_tensors),
    so a runtime that runs a cached export (ONNX Runtime) starts without
    importing torch, and still refuses a damaged or edited file.
    """
    from convkit.fileio import read_file_bytes
    from convkit.model_tensors import tensor_entries, weights_digest_of_bytes

    document = read_header_document(path)
    data = read_file_bytes(path, error=ModelFileError, what="model file")
    entries = tensor_entries(data, path)
    if weights_digest_of_bytes(data, entries) != document.get("weights_sha256"):
        raise ModelFileError(f"{path} has been modified: its weights do not match their checksum")
    del data  # the network, if ever wanted, reads the file again
    spec, task = _spec_and_task(document, entries, path)
    digest = document["weights_sha256"]

    def build_net():
        loaded = load_model(path, device=device)
        if loaded.weights_sha256 != digest:
            raise ModelFileError(f"{path} was replaced while it was open; load it again")
        return loaded.net

    return LoadedModel(
        path=Path(path),
        spec=spec,
        task=task,
        preprocessing=document["preprocessing"],
        metadata=document.get("metadata", {}),
        weights_sha256=digest,
        build_net=build_net,
    )


def _spec_and_task(document: dict[str, Any], tensors: dict, path):
    """The stored spec and task, checked against the tensors (anything with ``numel()``)."""
    from convkit.model_schema import check_spec_against
    from convkit.spec import NetSpec
    from convkit.tasks import task_from_dict

    try:
        spec = NetSpec.from_dict(document["spec"])
    except ConvkitError as error:
        raise ModelFileError(f"{path}: the stored spec is invalid ({error})") from None
    check_spec_against(spec, document, tensors, path)  # sizes, labels, channels: before building
    try:
        task = task_from_dict(document["task"])
    except ConvkitError as error:
        raise ModelFileError(f"{path}: the stored task is invalid ({error})") from None
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: the stored task is invalid ({error!r:.100})") from None
    return spec, task


def _torch_reason(error: Exception) -> str:
    """The first specific line of a load_state_dict error (torch prints a multi-line dump)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    detail = next((line for line in lines[1:] if "size mismatch" in line or "Missing" in line), "")
    text = detail or (lines[0] if lines else type(error).__name__)
    return text[:200]


def upgrade_model_file(path: str | Path, out: str | Path | None = None) -> Path:
    """Re-write an older model file in this format, its header now under the checksum.

    Format 1 checksummed only the weights, so its header cannot be proven
    unedited; the user who runs this vouches for it. Everything is still
    validated and the network rebuilt before anything is written.
    """
    model = load_model(path, allow_unsigned=True)
    return save_model(
        Path(out or path),
        model.net,
        task=model.task,
        preprocessing=model.preprocessing,
        metadata=model.metadata,
    )
