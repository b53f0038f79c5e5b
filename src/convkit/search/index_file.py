"""A search index on disk: vectors, paths, the model that made them, and the FAISS engine.

One safetensors file, like the model file: tensors ``vectors`` (N, D)
float32, ``ids`` (N,) int64, ``removed`` (tombstoned HNSW ids) and, for an
approximate engine, ``engine`` (the serialised IVF or HNSW index as uint8); one JSON document
under the metadata key ``convkit_index`` with the paths, the model's
fingerprint, its path and layer, the engine settings and a SHA-256 over every
tensor. The exact engine is not stored: it is a copy of ``vectors`` and is
rebuilt in milliseconds. Written to a temporary file then ``os.replace``d, so
a crash never leaves half an index behind.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from convkit.modelfile import atomic_write_bytes
from convkit.search.engine import (
    APPROXIMATE_ABOVE,
    Engine,
    EngineSettings,
    measure_recall,
    resolve_kind,
)
from convkit.search.errors import IndexFileError, ModelMismatchError

FORMAT_VERSION = 1
METADATA_KEY = "convkit_index"
# An HNSW graph is rebuilt once this share of its nodes are tombstones.
REBUILD_TOMBSTONE_SHARE = 0.25


@dataclass
class ModelSource:
    """Which model and layer made the vectors; the fingerprint is what is compared."""

    fingerprint: str
    model_path: str
    layer: str
    pooling: str = "avg"  # how a feature volume became a vector: "avg" or "flatten"

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        return f"layer {self.layer}" + (", flattened" if self.pooling == "flatten" else "")


@dataclass
class SearchIndex:
    vectors: np.ndarray  # (N, D) float32, L2-normalised, one row per indexed photo
    ids: np.ndarray  # (N,) int64, the engine's id of each row
    paths: list[str]
    source: ModelSource
    engine: Engine
    next_id: int = 0
    approximate_above: int = APPROXIMATE_ABOVE
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), last run

    # -- creating and changing ----------------------------------------------------
    @classmethod
    def create(
        cls,
        vectors: np.ndarray,
        paths: list[str],
        source: ModelSource,
        engine: str = "auto",
        approximate_above: int = APPROXIMATE_ABOVE,
        settings: EngineSettings | None = None,
        progress: bool = False,
    ) -> SearchIndex:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.arange(len(vectors), dtype=np.int64)
        index = cls(vectors, ids, list(paths), source, None, len(vectors), approximate_above)
        index._build_engine(engine, settings, progress)
        return index

    def _build_engine(
        self, engine: str = "auto", settings: EngineSettings | None = None, progress: bool = False
    ) -> None:
        kind = resolve_kind(engine, len(self.vectors), self.approximate_above)
        settings = EngineSettings(**{**(settings.to_dict() if settings else {}), "kind": kind})
        settings.recall_at_10, settings.recall_queries = None, 0
        self.engine = Engine.build(self.vectors, self.ids, settings, progress=progress)
        if settings.approximate:
            self.measure_recall()

    def measure_recall(self, sample: int = 1000) -> float:
        """Recall@10 of the engine against exact search, stored with the index."""
        recall = measure_recall(self.engine, self.vectors, self.ids, k=10, sample=sample)
        self.engine.settings.recall_at_10 = recall
        self.engine.settings.recall_queries = min(sample, len(self.vectors))
        return recall

    def add(self, vectors: np.ndarray, paths: list[str], progress: bool = False) -> None:
        """Add new photos; a path already indexed is replaced by its new vector."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)  # (M, D)
        if len(vectors) == 0:
            return
        if vectors.shape[1] != self.dim:
            raise ModelMismatchError(
                f"new vectors have {vectors.shape[1]} dimensions, the index holds {self.dim}"
            )
        already = set(self.paths) & set(paths)
        if already:
            self.remove(sorted(already))
        new_ids = np.arange(self.next_id, self.next_id + len(vectors), dtype=np.int64)
        self.next_id += len(vectors)
        self.vectors = np.concatenate([self.vectors, vectors])
        self.ids = np.concatenate([self.ids, new_ids])
        self.paths = self.paths + list(paths)
        wanted = resolve_kind("auto", len(self.vectors), self.approximate_above)
        if self.engine.settings.kind == "exact" and wanted != "exact":
            self._build_engine(wanted, self.engine.settings, progress)  # outgrew exact search
            return
        # The graph's recall was measured when it was built; a few additions do not move it.
        self.engine.add(vectors, new_ids, progress=progress)

    def remove(self, paths: list[str]) -> list[str]:
        """Remove photos by path; returns the paths that were not in the index."""
        wanted = set(paths)
        keep = np.array([path not in wanted for path in self.paths], dtype=bool)
        missing = sorted(wanted - set(self.paths))
        gone_ids = self.ids[~keep]
        self.vectors, self.ids = self.vectors[keep], self.ids[keep]
        self.paths = [path for path, kept in zip(self.paths, keep, strict=True) if kept]
        self.engine.remove(gone_ids)
        graph = self.engine.graph_size
        if (
            self.engine.settings.kind == "hnsw"
            and graph
            and (len(self.engine.removed) > REBUILD_TOMBSTONE_SHARE * graph)
        ):
            small = len(self) <= self.approximate_above
            self._build_engine("exact" if small else "hnsw", self.engine.settings)
        return missing

    # -- reading ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.vectors)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def check_source(self, source: ModelSource) -> None:
        """Refuse vectors from a model or layer other than the one that built the index."""
        if source.fingerprint != self.source.fingerprint:
            raise ModelMismatchError(
                f"this index was built with {self.source.model_path} ({self.source.describe()}); "
                f"{source.model_path} ({source.describe()}) makes different vectors — "
                "query with the original model or rebuild the index with `convkit index`"
            )

    def neighbours(self, queries: np.ndarray, k: int, effort: int | None = None):
        """Top ``k`` per query as (similarities (Q, k), rows (Q, k)); row -1 where none."""
        similarities, found = self.engine.search(queries, min(k, max(len(self), 1)), effort)
        # ids only ever grow and removal keeps order, so they are sorted: binary search.
        rows = np.searchsorted(self.ids, found).clip(0, max(len(self.ids) - 1, 0))
        known = (found >= 0) & (len(self.ids) > 0)
        known &= self.ids[rows] == found if len(self.ids) else known
        return similarities, np.where(known, rows, -1)

    # -- persistence --------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        from safetensors.numpy import save

        tensors = {
            "vectors": self.vectors,
            "ids": self.ids,
            "removed": self.engine.removed.astype(np.int64),
        }
        blob = self.engine.serialize()
        if blob is not None:
            tensors["engine"] = blob
        document = {
            "format_version": FORMAT_VERSION,
            "paths": self.paths,
            "source": self.source.to_dict(),
            "engine": self.engine.settings.to_dict(),
            "next_id": self.next_id,
            "approximate_above": self.approximate_above,
            "skipped": [list(item) for item in self.skipped],
            "sha256": _tensors_digest(tensors),
        }
        data = save(tensors, metadata={METADATA_KEY: json.dumps(document)})
        atomic_write_bytes(Path(path), data)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> SearchIndex:
        document, tensors = _read(Path(path))
        try:
            settings = EngineSettings.from_dict(document["engine"])
            source = ModelSource(**document["source"])
            vectors, ids = tensors["vectors"], tensors["ids"]
            removed = tensors.get("removed", np.zeros(0, np.int64))
            if settings.kind == "exact":
                engine = Engine.build(vectors, ids, settings)
            else:
                engine = Engine.deserialize(tensors["engine"], settings, removed)
            index = cls(
                vectors,
                ids,
                list(document["paths"]),
                source,
                engine,
                int(document["next_id"]),
                int(document.get("approximate_above", APPROXIMATE_ABOVE)),
                [tuple(item) for item in document.get("skipped", [])],
            )
        except IndexFileError as error:  # e.g. an unknown key in the engine settings
            raise IndexFileError(f"{path} is a damaged convkit index ({error})") from None
        except (KeyError, TypeError, ValueError, RuntimeError) as error:
            raise IndexFileError(f"{path} is a damaged convkit index ({error!r})") from None
        if len(index.paths) != len(vectors) or len(ids) != len(vectors):
            raise IndexFileError(f"{path} is a damaged convkit index (paths and vectors disagree)")
        return index


def _tensors_digest(tensors: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(f"{name}|{array.dtype}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _read(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    from safetensors.numpy import load

    if not path.is_file():
        raise IndexFileError(f"index file not found: {path} (make one with `convkit index`)")
    data = path.read_bytes()
    try:
        tensors = load(data)
        header_length = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8 : 8 + header_length]).get("__metadata__") or {}
    except Exception as error:  # safetensors and json raise their own error types
        raise IndexFileError(
            f"{path} is not a readable convkit index (truncated or corrupt: {error}); "
            "rebuild it with `convkit index`"
        ) from None
    if METADATA_KEY not in metadata:
        raise IndexFileError(f"{path} is a safetensors file but not a convkit index")
    try:
        document = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError:
        raise IndexFileError(f"{path} has a damaged index header; rebuild it") from None
    if document.get("format_version", 0) > FORMAT_VERSION:
        raise IndexFileError(f"{path} was written by a newer convkit; upgrade convkit to read it")
    if _tensors_digest(tensors) != document.get("sha256"):
        raise IndexFileError(
            f"{path} is corrupt: its contents do not match their checksum; rebuild it"
        )
    return document, tensors
