"""Query an index by example: which indexed photos look most like these?"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from convkit.errors import UsageError
from convkit.search.embed import DEFAULT_BATCH_SIZE
from convkit.search.index_file import SearchIndex
from convkit.search.indexing import embedder_for_index


@dataclass
class Match:
    path: str
    similarity: float  # cosine similarity, 1.0 = same direction

    def to_dict(self) -> dict:
        return {"path": self.path, "similarity": round(float(self.similarity), 6)}


@dataclass
class QueryResult:
    query: str
    matches: list[Match]

    def to_dict(self) -> dict:
        return {"query": self.query, "matches": [match.to_dict() for match in self.matches]}


def search(
    index: SearchIndex | str | os.PathLike,
    queries: list[str | os.PathLike],
    *,
    model=None,
    top: int = 10,
    effort: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = False,
) -> list[QueryResult]:
    """The ``top`` most similar indexed photos for each query image, best first.

    ``model`` defaults to the model path stored in the index; a model or layer
    that makes different vectors is refused. An unreadable query raises
    DataError naming the file. ``effort`` overrides the approximate engine's
    search-time knob (IVF nprobe, HNSW efSearch): higher finds more, slower.
    """
    if top < 1:
        raise UsageError(f"top must be at least 1. Received: top={top}")
    if not queries:
        raise UsageError("give at least one query image")
    if not isinstance(index, SearchIndex):
        index = SearchIndex.load(index)
    embedder = embedder_for_index(index, model)
    paths = [str(query) for query in queries]
    vectors, _, _ = embedder.embed_files(
        paths, batch_size=batch_size, progress=progress, strict=True
    )
    return search_vectors(index, vectors, paths, top=top, effort=effort)


def search_vectors(
    index: SearchIndex,
    vectors: np.ndarray,
    names: list[str],
    *,
    top: int = 10,
    effort: int | None = None,
) -> list[QueryResult]:
    """Like ``search`` for vectors already embedded (N, D), one name per vector."""
    if len(index) == 0:
        return [QueryResult(name, []) for name in names]
    similarities, rows = index.neighbours(vectors, top, effort=effort)  # (Q, k) each
    results = []
    for name, scores, found in zip(names, similarities, rows, strict=True):
        matches = [
            Match(index.paths[row], float(score))
            for score, row in zip(scores, found, strict=True)
            if row >= 0
        ]
        results.append(QueryResult(name, matches))
    return results
