"""The exported graph the ``auto``/``onnx`` runtime runs, cached per model.

Keyed by the weights' SHA-256 (plus the spec and the export format), so a new
training run never reuses an old graph. The cache lives in
``$CONVKIT_CACHE_DIR`` or ``$XDG_CACHE_HOME/convkit`` (``~/.cache/convkit``):
run folders stay as training wrote them. Every entry is checked on use (its
graph digest and the weights it was made from); a damaged or edited entry is
rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from convkit.errors import ModelFileError


def cache_dir() -> Path:
    root = os.environ.get("CONVKIT_CACHE_DIR")
    if root:
        return Path(root) / "onnx"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "convkit" / "onnx"


def cache_key(loaded, opset: int) -> str:
    from convkit.inference.onnx_export import EXPORT_FORMAT

    text = json.dumps(
        [loaded.weights_sha256, loaded.spec.to_dict(), opset, EXPORT_FORMAT], sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()


def cached_graph(loaded, opset: int | None = None) -> Path:
    """The path of a verified ONNX export of ``loaded``, exporting it on first use."""
    from convkit.inference.onnx_bundle import read_verified_document
    from convkit.inference.onnx_export import DEFAULT_OPSET, export_onnx

    opset = opset or DEFAULT_OPSET
    path = cache_dir() / f"{cache_key(loaded, opset)}.onnx"
    if path.is_file():
        try:
            document = read_verified_document(path)
            if document.get("weights_sha256") == loaded.weights_sha256:
                return path
        except ModelFileError:
            pass  # damaged or edited: rebuilt below
    export_onnx(loaded, path, opset=opset, dynamic_batch=True)
    return path
