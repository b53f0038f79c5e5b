"""Index speed: IVF / HNSW against numpy brute force, in one run, on the same queries.

    nice python benchmarks/search_speed.py                       # 1,000,000 x 128-d
    nice python benchmarks/search_speed.py --model runs/lenet/model.convkit --n 0

For a collection of vectors this reports: each engine's build time (--engines
ivf,hnsw), queries/s of numpy brute force (matrix product + top-k, 64 queries
at a time, and one at a time), of FAISS's exact flat index, and of each
engine at several search efforts (IVF nprobe, HNSW efSearch) with recall@10
against the brute-force answer. Both sides use the same
threads (--threads, default 2: the machine is shared). With --model, the same
is done on MNIST embeddings (gallery: the 60,000 train digits; queries: test
digits), and embedding throughput (img/s) is measured.

Random vectors come in two kinds (--kind). "clustered" (default): points
around 1,000 random centres, like real embeddings, whose neighbours mean
something. "uniform": isotropic Gaussian directions, where every point is
almost equally far from every other — the worst case for any approximate
index, reported so nobody mistakes one for the other.
Target (issue 5): >= 50x brute-force queries/s at recall@10 >= 0.95.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def random_vectors(count: int, dim: int, kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        vectors = rng.standard_normal((count, dim), dtype=np.float32)
    else:
        centres = np.random.default_rng(12345).standard_normal((1000, dim), dtype=np.float32)
        vectors = centres[rng.integers(0, len(centres), count)]
        vectors += 0.6 * rng.standard_normal((count, dim), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def search_one_at_a_time(engine, queries: np.ndarray, effort: int) -> None:
    for query in queries:
        engine.search(query[None], 10, effort)


def recall_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    return float(
        np.mean([len(set(f[:10]) & set(t[:10])) / 10 for f, t in zip(found, truth, strict=True)])
    )


def compare(name: str, gallery: np.ndarray, queries: np.ndarray, args) -> dict:
    """Brute force vs FAISS flat vs HNSW on one gallery; returns a results dict."""
    import faiss

    from convkit.search.engine import Engine, EngineSettings, exact_top_k

    n = len(gallery)
    print(f"\n== {name}: {n:,} x {gallery.shape[1]}-d, {len(queries)} queries", file=sys.stderr)
    (_, truth), seconds = timed(exact_top_k, queries, gallery, 10)
    brute_qps = len(queries) / seconds
    single = queries[: args.single_queries]
    _, seconds_single = timed(lambda: [exact_top_k(q[None], gallery, 10) for q in single])
    brute_single_qps = len(single) / seconds_single
    print(
        f"numpy brute force: {brute_qps:.1f} q/s in batches of 64, "
        f"{brute_single_qps:.1f} q/s one at a time",
        file=sys.stderr,
    )

    flat = faiss.IndexFlatIP(gallery.shape[1])
    flat.add(gallery)
    flat_queries = queries[: max(len(queries) // 4, 1)]  # as slow as numpy: a quarter will do
    _, seconds = timed(flat.search, flat_queries, 10)
    flat_qps = len(flat_queries) / seconds

    engines = {}
    for kind in args.engines.split(","):
        settings = EngineSettings(
            kind, m=args.m, ef_construction=args.ef_construction, nlist=args.nlist
        )
        engine, build_seconds = timed(
            Engine.build, gallery, np.arange(n, dtype=np.int64), settings, True
        )
        print(f"{settings.describe()}: built in {build_seconds:.1f}s", file=sys.stderr)
        rows = []
        efforts = args.ef_search if kind == "hnsw" else args.nprobe
        for effort in [int(value) for value in efforts.split(",")]:
            (_, found), seconds = timed(engine.search, queries, 10, effort)
            one_at_a_time = timed(search_one_at_a_time, engine, single, effort)[1]
            row = {
                "effort": effort,
                "qps": round(len(queries) / seconds, 1),
                "qps_one_at_a_time": round(len(single) / one_at_a_time, 1),
                "recall_at_10": round(recall_at_10(found, truth), 4),
                "speedup_vs_brute": round(len(queries) / seconds / brute_qps, 1),
                "speedup_one_at_a_time": round(len(single) / one_at_a_time / brute_single_qps, 1),
            }
            rows.append(row)
            knob = "efSearch" if kind == "hnsw" else "nprobe"
            print(
                f"  {knob} {effort:4d}: {row['qps']:9.1f} q/s ({row['speedup_vs_brute']}x brute), "
                f"one at a time {row['qps_one_at_a_time']:.1f} q/s "
                f"({row['speedup_one_at_a_time']}x), recall@10 {row['recall_at_10']:.4f}",
                file=sys.stderr,
            )
        good = [row for row in rows if row["recall_at_10"] >= 0.95]
        engines[kind] = {
            **{key: value for key, value in settings.to_dict().items() if "recall" not in key},
            "build_seconds": round(build_seconds, 1),
            "by_effort": rows,
            "best_at_recall_0.95": max(good, key=lambda row: row["qps"]) if good else None,
        }
        del engine  # free the memory before the next engine is built
    return {
        "name": name,
        "vectors": n,
        "dim": int(gallery.shape[1]),
        "queries": len(queries),
        "threads": args.threads,
        "brute_numpy_qps": round(brute_qps, 1),
        "brute_numpy_one_at_a_time_qps": round(brute_single_qps, 1),
        "faiss_flat_qps": round(flat_qps, 1),
        "engines": engines,
    }


def mnist_embeddings(model: str, data: Path, queries: int) -> tuple[np.ndarray, np.ndarray, dict]:
    from convkit.data import read_idx
    from convkit.search import ModelEmbedder

    embedder = ModelEmbedder(model)
    train = read_idx(data / "train-images-idx3-ubyte.gz")[..., None]  # (60000, 28, 28, 1)
    test = read_idx(data / "t10k-images-idx3-ubyte.gz")[:queries, ..., None]
    gallery, seconds = timed(lambda: embedder.embed_images(train, batch_size=256, progress=True))
    speed = {"layer": embedder.layer, "embed_img_per_s": round(len(train) / seconds, 1)}
    print(
        f"embedded {len(train)} digits in {seconds:.1f}s = {len(train) / seconds:.0f} img/s",
        file=sys.stderr,
    )
    return gallery, embedder.embed_images(test, batch_size=256), speed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="random vectors (0: skip)")
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--kind", choices=["clustered", "uniform"], default="clustered")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--single-queries", type=int, default=50, help="timed one at a time")
    parser.add_argument("--m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=80)
    parser.add_argument("--engines", default="ivf", help="comma list of ivf, hnsw")
    parser.add_argument("--nlist", type=int, default=0, help="IVF cells (0: about sqrt(N))")
    parser.add_argument("--nprobe", default="4,8,16,32,64", help="IVF efforts to try")
    parser.add_argument("--ef-search", default="16,32,64,128,256", help="HNSW efforts to try")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", help="also benchmark MNIST embeddings of this model file")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    from convkit.search.engine import set_threads

    set_threads(args.threads)
    results = []
    with threadpool_limits(limits=args.threads):  # numpy's BLAS gets the same threads as FAISS
        if args.n:
            gallery = random_vectors(args.n, args.dim, args.kind, seed=0)
            queries = random_vectors(args.queries, args.dim, args.kind, seed=1)
            results.append(compare(f"random {args.kind}", gallery, queries, args))
            del gallery
        if args.model:
            gallery, queries, speed = mnist_embeddings(args.model, Path(args.data), args.queries)
            results.append({**compare("MNIST train embeddings", gallery, queries, args), **speed})
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
