"""A model file's tensors read as bytes, without torch: their table and their digest.

Why: ONNX Runtime runs a model from its cached export, so `convkit predict`
need not import torch (0.8 s of a 1.4 s start-up). The weights are still
checked against the digest in the header, computed here exactly as
``modelfile.weights_digest`` computes it from torch tensors (name, torch dtype
name, shape, then the raw little-endian bytes, in name order), so a damaged
or edited file is refused whichever runtime runs it.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from convkit.errors import ModelFileError

# safetensors dtype code -> (the name torch prints, bytes per element)
DTYPES = {
    "F64": ("torch.float64", 8),
    "F32": ("torch.float32", 4),
    "F16": ("torch.float16", 2),
    "BF16": ("torch.bfloat16", 2),
    "I64": ("torch.int64", 8),
    "I32": ("torch.int32", 4),
    "I16": ("torch.int16", 2),
    "I8": ("torch.int8", 1),
    "U8": ("torch.uint8", 1),
    "BOOL": ("torch.bool", 1),
}


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of the file: dtype code, shape, and where its bytes lie in the file."""

    dtype: str
    shape: tuple[int, ...]
    start: int  # absolute offsets into the file's bytes
    end: int

    def numel(self) -> int:
        return math.prod(self.shape)


def tensor_entries(data: bytes, path: str | Path) -> dict[str, TensorEntry]:
    """The tensor table of a safetensors file's bytes; ModelFileError if it is damaged."""
    damaged = f"{path} is not a readable convkit model file (truncated or corrupt tensor table)"
    if len(data) < 8:
        raise ModelFileError(damaged)
    header_length = int.from_bytes(data[:8], "little")
    base = 8 + header_length
    if base > len(data):
        raise ModelFileError(damaged)
    try:
        header = json.loads(data[8:base])
    except (ValueError, RecursionError):
        raise ModelFileError(damaged) from None
    if not isinstance(header, dict):
        raise ModelFileError(damaged)
    entries = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        entries[name] = _entry(entry, base, len(data), damaged)
    return entries


def _entry(entry, base: int, size: int, damaged: str) -> TensorEntry:
    try:
        dtype, shape = entry["dtype"], tuple(entry["shape"])
        start, end = entry["data_offsets"]
    except (TypeError, KeyError, ValueError):
        raise ModelFileError(damaged) from None
    numbers = (*shape, start, end)
    if dtype not in DTYPES or not all(type(n) is int and n >= 0 for n in numbers):
        raise ModelFileError(damaged)
    if end < start or base + end > size or end - start != math.prod(shape) * DTYPES[dtype][1]:
        raise ModelFileError(damaged)
    return TensorEntry(dtype, shape, base + start, base + end)


def weights_digest_of_bytes(data: bytes, entries: dict[str, TensorEntry]) -> str:
    """The same SHA-256 as ``modelfile.weights_digest`` of the loaded tensors."""
    digest = hashlib.sha256()
    view = memoryview(data)
    for name in sorted(entries):
        entry = entries[name]
        digest.update(f"{name}|{DTYPES[entry.dtype][0]}|{entry.shape}|".encode())
        digest.update(view[entry.start : entry.end])
    return digest.hexdigest()
