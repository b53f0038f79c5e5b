"""Group an indexed collection by similarity: k-means, K chosen by silhouette if not given.

Vectors are unit length, so Euclidean k-means groups by cosine similarity.
The silhouette (how much closer a photo is to its own cluster than to the
next one, -1..1) is computed on a sample for each candidate K; the best wins.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convkit.errors import UsageError
from convkit.search.index_file import SearchIndex

K_MAX = 12  # candidates tried when K is not given: 2..K_MAX
SILHOUETTE_SAMPLE = 3000
MINIBATCH_ABOVE = 50_000  # full k-means below, mini-batch k-means above


@dataclass
class ClusterResult:
    k: int
    labels: np.ndarray  # (N,) int, cluster of each photo
    paths: list[str]
    silhouettes: dict[int, float] = field(default_factory=dict)  # K -> score, when K was chosen

    @property
    def sizes(self) -> list[int]:
        return np.bincount(self.labels, minlength=self.k).tolist()

    def members(self, cluster: int) -> list[str]:
        return [
            path for path, label in zip(self.paths, self.labels, strict=True) if label == cluster
        ]

    def to_dict(self) -> dict:
        return {
            "k": self.k,
            "sizes": self.sizes,
            "silhouettes": {str(k): round(score, 4) for k, score in self.silhouettes.items()},
            "labels": {
                path: int(label) for path, label in zip(self.paths, self.labels, strict=True)
            },
        }


def kmeans_labels(vectors: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """(N,) cluster labels of (N, D) vectors, ordered so cluster 0 is the largest."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if len(vectors) > MINIBATCH_ABOVE:
        model = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=4096)
    else:
        model = KMeans(n_clusters=k, random_state=seed, n_init=4)
    from convkit.search.maps import few_threads_when_small

    with few_threads_when_small(len(vectors)):
        labels = model.fit_predict(vectors)
    by_size = np.argsort(-np.bincount(labels, minlength=k), kind="stable")
    renumber = np.empty(k, dtype=np.int64)
    renumber[by_size] = np.arange(k)
    return renumber[labels]


def choose_k(
    vectors: np.ndarray, k_max: int = K_MAX, seed: int = 0, sample: int = SILHOUETTE_SAMPLE
) -> tuple[int, dict[int, float]]:
    """The K in 2..k_max with the best silhouette, and every K's score."""
    from sklearn.metrics import silhouette_score

    from convkit.search.maps import few_threads_when_small

    rng = np.random.default_rng(seed)
    if len(vectors) > sample:
        vectors = vectors[rng.choice(len(vectors), sample, replace=False)]
    scores = {}
    for k in range(2, min(k_max, len(vectors) - 1) + 1):
        labels = kmeans_labels(vectors, k, seed)
        with few_threads_when_small(len(vectors)):
            scores[k] = float(silhouette_score(vectors, labels, metric="cosine"))
    if not scores:
        raise UsageError(f"too few photos to cluster ({len(vectors)}); index at least 3")
    return max(scores, key=scores.get), scores


def cluster(
    index: SearchIndex | str | os.PathLike,
    k: int | None = None,
    *,
    k_max: int = K_MAX,
    seed: int = 0,
) -> ClusterResult:
    """Cluster every indexed photo into ``k`` groups (chosen by silhouette when None)."""
    if not isinstance(index, SearchIndex):
        index = SearchIndex.load(index)
    if k is not None and not 1 <= k <= len(index):
        raise UsageError(
            f"k must be between 1 and the number of photos ({len(index)}). Received: k={k}"
        )
    if len(index) < 2:
        raise UsageError(f"too few photos to cluster ({len(index)}); index at least 2")
    silhouettes: dict[int, float] = {}
    if k is None:
        if k_max < 2:
            raise UsageError(f"k_max must be at least 2. Received: k_max={k_max}")
        k, silhouettes = choose_k(index.vectors, k_max, seed)
    labels = kmeans_labels(index.vectors, k, seed)
    return ClusterResult(k, labels, list(index.paths), silhouettes)


def folder_labels(paths: list[str]) -> list[str]:
    """The known label of each photo: the name of its parent folder."""
    return [Path(path).parent.name for path in paths]


def write_cluster_outputs(
    result: ClusterResult,
    vectors: np.ndarray,
    out_dir: str | os.PathLike,
    per_sheet: int = 48,
    map_points: int = 5000,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, list[Path] | Path]:
    """labels.csv, clusters.json, one contact sheet per cluster and t-SNE maps, in ``out_dir``."""
    import csv
    import json

    from tqdm import tqdm

    from convkit.search.maps import tsne_map
    from convkit.search.sheets import contact_sheet

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "labels.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["path", "cluster"])
        writer.writerows(zip(result.paths, result.labels.tolist(), strict=True))
    summary = {key: value for key, value in result.to_dict().items() if key != "labels"}
    (out_dir / "clusters.json").write_text(json.dumps(summary, indent=2) + "\n")

    rng = np.random.default_rng(seed)
    sheets = []
    for number in tqdm(range(result.k), desc="contact sheets", disable=not progress, leave=False):
        members = result.members(number)
        shown = sorted(rng.choice(members, min(per_sheet, len(members)), replace=False).tolist())
        title = f"cluster {number}: {len(members)} photos" + (
            f" ({len(shown)} shown)" if len(shown) < len(members) else ""
        )
        sheets.append(contact_sheet(shown, out_dir / f"cluster_{number:02d}.png", title=title))

    maps = [
        tsne_map(
            vectors,
            [f"cluster {label}" for label in result.labels],
            out_dir / "map_clusters.png",
            "t-SNE map, coloured by cluster",
            map_points,
            seed,
        )
    ]
    known = folder_labels(result.paths)
    if 1 < len(set(known)) <= 50:  # parent folders look like labels: colour by them too
        maps.append(
            tsne_map(
                vectors,
                known,
                out_dir / "map_folders.png",
                "t-SNE map, coloured by folder",
                map_points,
                seed,
            )
        )
    return {"sheets": sheets, "maps": maps, "labels": out_dir / "labels.csv"}
