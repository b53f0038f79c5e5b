"""Read a convkit-exported ``.onnx`` file: check its graph digest, rebuild spec, task, preprocessing.

This is how an exported file alone is served (``convkit predict model.onnx``):
everything the model file would have said travels in the ONNX metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convkit.errors import ModelFileError


@dataclass
class OnnxBundle:
    """What a model file holds, minus the torch network (``net`` is None)."""

    path: Path
    spec: Any
    task: Any
    preprocessing: dict
    metadata: dict = field(default_factory=dict)
    weights_sha256: str = ""
    net: Any = None


def read_verified_document(path: str | Path) -> dict:
    """The ``convkit`` metadata of an exported graph; ModelFileError if missing or tampered."""
    import onnx

    from convkit.inference.onnx_export import DIGEST_KEY, METADATA_KEY, graph_digest

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"ONNX file not found: {path}")
    try:
        model = onnx.load(str(path))
    except Exception as error:  # protobuf parse errors of a damaged file
        raise ModelFileError(f"{path}: not a readable ONNX file ({type(error).__name__})") from None
    props = {entry.key: entry.value for entry in model.metadata_props}
    if METADATA_KEY not in props or DIGEST_KEY not in props:
        raise ModelFileError(
            f"{path}: not exported by convkit (no `convkit` metadata); export it with "
            "`convkit export MODEL --format onnx`"
        )
    if graph_digest(model) != props[DIGEST_KEY]:
        raise ModelFileError(f"{path}: the graph does not match its SHA-256 (the file was changed)")
    try:
        return json.loads(props[METADATA_KEY])
    except json.JSONDecodeError:
        raise ModelFileError(f"{path}: its `convkit` metadata is not valid JSON") from None


def load_onnx_bundle(path: str | Path) -> OnnxBundle:
    from convkit.spec import NetSpec
    from convkit.tasks import task_from_dict

    document = read_verified_document(path)
    metadata = dict(document.get("metadata") or {})
    metadata["embedding_layer"] = document.get("embedding_layer")
    return OnnxBundle(
        path=Path(path),
        spec=NetSpec.from_dict(document["spec"]),
        task=task_from_dict(document["task"]),
        preprocessing=document["preprocessing"],
        metadata=metadata,
        weights_sha256=document.get("weights_sha256", ""),
    )
