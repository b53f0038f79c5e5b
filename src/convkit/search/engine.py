"""The FAISS engine behind an index: exact inner product, or IVF / HNSW for large collections.

Vectors are L2-normalised, so inner product is cosine similarity. Below
``APPROXIMATE_ABOVE`` vectors an exact flat index is used: it is as fast as
it needs to be and never misses. Above it an approximate engine answers, and
its recall@10 against exact search is measured on a sample and kept with the
index, so a user knows what the speed costs:

- ``ivf`` (the automatic choice): k-means cells, each query scans the
  ``nprobe`` nearest cells. Builds in about a minute for a million vectors on
  two cores (k-means on a sample, then one assignment per vector), and adds
  and removes natively.
- ``hnsw``: a navigable small-world graph, faster per query at equal recall,
  but its build costs far more (many minutes per million vectors on two
  cores). A graph cannot drop nodes, so removed ids become tombstones
  filtered out at query time by an ``IDSelector`` (the caller rebuilds the
  graph when they pile up) — cheaper than rebuilding for every deleted photo.

Every vector has a stable int64 id (``IndexIDMap2`` for flat and HNSW; IVF
stores ids itself). One search-time knob, ``effort``, trades speed for
recall: efSearch for HNSW, nprobe for IVF.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from convkit.errors import UsageError
from convkit.search.errors import IndexFileError
from convkit.spec.constraints import Options, check_keys, check_value

APPROXIMATE_ABOVE = 50_000
AUTO_APPROXIMATE = "ivf"
# HNSW settings: M links per node, the candidate-list sizes when building and searching.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
# IVF settings: cells ~ sqrt(N) (0 = automatic), cells scanned per query.
IVF_NPROBE = 16
IVF_TRAIN_PER_CELL = 64  # k-means sample size per cell (FAISS wants at least 39)
ADD_CHUNK = 20_000  # vectors added per call, so progress can be shown
ENGINE_KINDS = ("auto", "exact", "ivf", "hnsw")


@dataclass
class EngineSettings:
    kind: str  # "exact", "ivf" or "hnsw" (never "auto": that is resolved when building)
    m: int = HNSW_M
    ef_construction: int = HNSW_EF_CONSTRUCTION
    ef_search: int = HNSW_EF_SEARCH
    nlist: int = 0  # IVF cells; 0 = chosen from the collection size when built
    nprobe: int = IVF_NPROBE
    recall_at_10: float | None = None  # measured against exact search (approximate only)
    recall_queries: int = 0

    @property
    def approximate(self) -> bool:
        return self.kind != "exact"

    @property
    def effort(self) -> int:
        """The search-time knob of this engine: efSearch (HNSW) or nprobe (IVF)."""
        return self.ef_search if self.kind == "hnsw" else self.nprobe

    def describe(self) -> str:
        if self.kind == "hnsw":
            return f"HNSW (M={self.m}, efSearch={self.ef_search})"
        if self.kind == "ivf":
            return f"IVF ({self.nlist} cells, nprobe={self.nprobe})"
        return "exact search"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EngineSettings:
        known = list(cls.__dataclass_fields__)
        return cls(
            **check_keys(data, known, "the index's engine settings", IndexFileError, ("kind",))
        )


def resolve_kind(kind: str, count: int, approximate_above: int = APPROXIMATE_ABOVE) -> str:
    check_value("engine", kind, Options(ENGINE_KINDS), error=UsageError)
    if kind == "auto":
        return AUTO_APPROXIMATE if count > approximate_above else "exact"
    return kind


def ivf_cells(count: int) -> int:
    """About sqrt(N) cells, each with enough vectors to train k-means."""
    return int(max(1, min(round(count**0.5), count // 39, 65_536)))


def set_threads(threads: int | None) -> None:
    """Limit FAISS's OpenMP threads (the machine is often shared)."""
    if threads:
        import faiss

        faiss.omp_set_num_threads(int(threads))


class Engine:
    """A FAISS index keyed by int64 ids, plus the tombstones of an HNSW graph."""

    def __init__(self, index, settings: EngineSettings, removed: np.ndarray | None = None):
        self.index = index
        self.settings = settings
        self.removed = np.zeros(0, np.int64) if removed is None else np.asarray(removed, np.int64)

    # -- building ---------------------------------------------------------------
    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        ids: np.ndarray,
        settings: EngineSettings,
        progress: bool = False,
        seed: int = 0,
    ) -> Engine:
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)  # (N, D)
        dim = vectors.shape[1]
        if settings.kind == "exact":
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        elif settings.kind == "hnsw":
            inner = faiss.IndexHNSWFlat(dim, settings.m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = settings.ef_construction
            inner.hnsw.efSearch = settings.ef_search
            index = faiss.IndexIDMap2(inner)
        else:
            index = cls._trained_ivf(vectors, settings, seed)
        engine = cls(index, settings)
        engine.add(vectors, ids, progress=progress)
        return engine

    @staticmethod
    def _trained_ivf(vectors: np.ndarray, settings: EngineSettings, seed: int):
        """An empty IVF index whose cells are k-means centroids of a sample of ``vectors``."""
        import faiss

        settings.nlist = settings.nlist or ivf_cells(len(vectors))
        quantizer = faiss.IndexFlatIP(vectors.shape[1])
        index = faiss.IndexIVFFlat(
            quantizer, vectors.shape[1], settings.nlist, faiss.METRIC_INNER_PRODUCT
        )
        index.cp.seed = seed
        rng = np.random.default_rng(seed)
        sample = settings.nlist * IVF_TRAIN_PER_CELL
        if len(vectors) > sample:  # k-means on a sample: as good, far cheaper
            vectors = vectors[np.sort(rng.choice(len(vectors), sample, replace=False))]
        index.train(vectors)
        index.nprobe = settings.nprobe
        return index

    def add(self, vectors: np.ndarray, ids: np.ndarray, progress: bool = False) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)  # (N, D)
        ids = np.ascontiguousarray(ids, dtype=np.int64)  # (N,)
        if len(vectors) <= ADD_CHUNK:
            self.index.add_with_ids(vectors, ids)
            return
        from tqdm import tqdm

        with tqdm(
            total=len(vectors),
            desc=f"{self.settings.kind} index",
            unit="vec",
            disable=not progress,
            leave=False,
        ) as bar:
            for start in range(0, len(vectors), ADD_CHUNK):
                stop = start + ADD_CHUNK
                self.index.add_with_ids(vectors[start:stop], ids[start:stop])
                bar.update(len(vectors[start:stop]))

    def remove(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        if self.settings.kind == "hnsw":
            self.removed = np.union1d(self.removed, ids)
        else:
            import faiss

            self.index.remove_ids(faiss.IDSelectorBatch(ids))

    # -- querying ---------------------------------------------------------------
    @property
    def graph_size(self) -> int:
        """Vectors held by FAISS, tombstones included."""
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, k: int, effort: int | None = None):
        """Top ``k`` (similarities (Q, k), ids (Q, k)); id -1 where fewer exist.

        ``effort`` overrides efSearch (HNSW) or nprobe (IVF) for this search.
        """
        import faiss

        queries = np.ascontiguousarray(queries, dtype=np.float32)  # (Q, D)
        k = max(1, int(k))
        if self.settings.kind == "exact":
            return self.index.search(queries, k)
        if self.settings.kind == "ivf":
            params = faiss.SearchParametersIVF()
            params.nprobe = int(effort or self.settings.nprobe)
            return self.index.search(queries, k, params=params)
        params = faiss.SearchParametersHNSW()
        # The wider candidate list also makes room for tombstoned neighbours.
        params.efSearch = max(int(effort or self.settings.ef_search), k)
        if len(self.removed):
            batch = faiss.IDSelectorBatch(self.removed)
            exclude = faiss.IDSelectorNot(batch)
            params.sel = exclude
            similarities, found = self.index.search(queries, k, params=params)
            del exclude, batch  # kept alive until FAISS is done with them
            return similarities, found
        return self.index.search(queries, k, params=params)

    # -- persistence ------------------------------------------------------------
    def serialize(self) -> np.ndarray | None:
        """The IVF cells or HNSW graph as bytes; None for exact (rebuilt from the vectors)."""
        if self.settings.kind == "exact":
            return None
        import faiss

        return faiss.serialize_index(self.index)  # (B,) uint8

    @classmethod
    def deserialize(cls, blob: np.ndarray, settings: EngineSettings, removed: np.ndarray) -> Engine:
        import faiss

        index = faiss.deserialize_index(np.ascontiguousarray(blob, dtype=np.uint8))
        return cls(index, settings, removed)


def exact_top_k(
    queries: np.ndarray, vectors: np.ndarray, k: int, chunk: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top ``k`` by inner product in numpy: (similarities, row numbers), best first."""
    k = min(k, len(vectors))
    all_scores, all_rows = [], []
    for start in range(0, len(queries), chunk):
        scores = queries[start : start + chunk] @ vectors.T  # (q, N)
        rows = np.argpartition(-scores, k - 1, axis=1)[:, :k]  # (q, k) unordered
        picked = np.take_along_axis(scores, rows, axis=1)
        order = np.argsort(-picked, axis=1)
        all_rows.append(np.take_along_axis(rows, order, axis=1))
        all_scores.append(np.take_along_axis(picked, order, axis=1))
    return np.concatenate(all_scores), np.concatenate(all_rows)


def measure_recall(
    engine: Engine,
    vectors: np.ndarray,
    ids: np.ndarray,
    k: int = 10,
    sample: int = 1000,
    seed: int = 0,
    effort: int | None = None,
) -> float:
    """Recall@k of ``engine`` against exact search, for stored vectors used as queries.

    Each query's own id is dropped from both answers (it is trivially found
    first), so the number measures how well real neighbours are recovered.
    """
    if len(vectors) <= k + 1:
        return 1.0
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(vectors), size=min(sample, len(vectors)), replace=False)
    queries = vectors[rows]  # (S, D)
    _, exact_rows = exact_top_k(queries, vectors, k + 1)
    _, found = engine.search(queries, k + 1, effort=effort)
    hits = 0
    for query_number, row in enumerate(rows):
        own = ids[row]
        truth = [ids[r] for r in exact_rows[query_number] if ids[r] != own][:k]
        answer = [i for i in found[query_number] if i != own and i != -1][:k]
        hits += len(set(truth) & set(answer))
    return hits / (k * len(rows))
