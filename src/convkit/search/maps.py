"""A 2-D map of a collection: t-SNE of the embeddings, drawn as a coloured scatter PNG."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def tsne_points(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, D) vectors -> (N, 2) t-SNE coordinates (PCA to 50 dims first, as is usual)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if len(vectors) < 4:  # t-SNE needs perplexity < N; a line is honest for so few
        return np.stack([np.arange(len(vectors), dtype=float), np.zeros(len(vectors))], axis=1)
    reduced = vectors
    if vectors.shape[1] > 50 and len(vectors) > 50:
        reduced = PCA(n_components=50, random_state=seed).fit_transform(vectors)
    perplexity = float(min(30, (len(vectors) - 1) / 3))
    tsne = TSNE(
        n_components=2, perplexity=perplexity, init="pca", random_state=seed, metric="cosine"
    )
    with few_threads_when_small(len(vectors)):
        return tsne.fit_transform(reduced)


def few_threads_when_small(count: int, small: int = 2000):
    """One OpenMP thread for small jobs: on a busy machine, idle-spinning threads
    make a 30-point t-SNE or k-means take seconds instead of milliseconds."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1) if count < small else nullcontext()


def tsne_map(
    vectors: np.ndarray,
    colour_by: list[str],
    out: str | os.PathLike,
    title: str,
    max_points: int = 5000,
    seed: int = 0,
) -> Path:
    """Scatter a t-SNE map of (a sample of) ``vectors``, one colour per distinct label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    rows = np.arange(len(vectors))
    if len(rows) > max_points:  # t-SNE is quadratic-ish: a sample shows the shape as well
        rows = np.sort(rng.choice(rows, max_points, replace=False))
    points = tsne_points(vectors[rows], seed)  # (S, 2)
    labels = [colour_by[row] for row in rows]
    names = sorted(set(labels), key=lambda name: (len(name), name))
    colours = plt.get_cmap("tab20" if len(names) > 10 else "tab10")
    figure, axes = plt.subplots(figsize=(8, 7), dpi=100)
    for number, name in enumerate(names):
        chosen = np.array([label == name for label in labels])
        axes.scatter(*points[chosen].T, s=4, color=colours(number % colours.N), label=name)
    axes.set_title(f"{title} ({len(rows)} of {len(vectors)} photos)")
    axes.set_xticks([])
    axes.set_yticks([])
    if len(names) <= 20:
        axes.legend(markerscale=3, fontsize=7, loc="best", frameon=False)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(out)
    plt.close(figure)
    return out
