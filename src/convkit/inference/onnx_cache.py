"""The exported graph the ``auto``/``onnx`` runtime runs, cached per model.

Keyed by the weights' SHA-256 (plus the spec and the export format), so a new
training run never reuses an old graph. The cache lives in
``$CONVKIT_CACHE_DIR`` or ``$XDG_CACHE_HOME/convkit`` (``~/.cache/convkit``):
run folders stay as training wrote them. Every entry is checked on use (its
graph digest and the weights it was made from); a damaged or edited entry is
rebuilt, never trusted. The check on use is a SHA-256 of the file's bytes
against the record written beside it at export (``<key>.onnx.json``): it
costs a hash, not an ``import onnx`` (seconds), so start-up stays short.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


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


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_intact(path: Path, record: Path, weights_sha256: str) -> bool:
    try:
        expected = json.loads(record.read_text())
    except (OSError, ValueError):
        return False
    return (
        isinstance(expected, dict)
        and expected.get("weights_sha256") == weights_sha256
        and path.is_file()
        and expected.get("file_sha256") == _digest(path)
    )


def cached_graph(loaded, opset: int | None = None) -> Path:
    """The path of an intact ONNX export of ``loaded``, exporting it on first use."""
    from convkit.inference.onnx_export import DEFAULT_OPSET, export_onnx

    opset = opset or DEFAULT_OPSET
    path = cache_dir() / f"{cache_key(loaded, opset)}.onnx"
    record = path.with_suffix(".onnx.json")
    if _is_intact(path, record, loaded.weights_sha256):
        return path
    # Missing, damaged or edited: export again (the export checks itself against torch).
    export_onnx(loaded, path, opset=opset, dynamic_batch=True)
    text = json.dumps({"weights_sha256": loaded.weights_sha256, "file_sha256": _digest(path)})
    atomic_write_text(record, text)
    return path


def atomic_write_text(path: Path, text: str) -> None:
    from convkit.modelfile import atomic_write_bytes

    atomic_write_bytes(path, text.encode())
