"""Packed Parquet streaming: memory per rank against dataset size, and speed against memory.

    nice python benchmarks/spark_packed.py                     # both parts
    nice python benchmarks/spark_packed.py --part rss --rows 10000 100000
    nice python benchmarks/spark_packed.py --part speed --epochs 1

1. Peak RSS per rank. Synthetic packs of --rows rows (MNIST training digits,
   repeated and shifted by a pixel per copy so that no two rows are the same
   bytes) are written with `pack_dataset`; for each, a fresh process runs rank
   0 of 2: it opens the pack, plans its shard, streams one epoch of it
   (read -> decode -> preprocess -> batch) and trains LeNet on every batch,
   as a training rank does after the Spark scan. VmHWM of that process is its
   peak RSS. The ratio largest / smallest should stay near 1.
2. Throughput. `api.fit` of examples/lenet.yaml on MNIST (60,000 digits, one
   process, --threads torch threads), once from the IDX files (the in-memory
   path) and once from the same digits packed as PNG rows; training images/s
   of each epoch and their ratio (target: packed >= 0.9 x in memory).

Prints one JSON document. Timings on a shared machine are provisional.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"
LENET = ROOT / "examples" / "lenet.yaml"


def synthetic_idx(folder: Path, rows: int) -> Path:
    """``rows`` digits as an IDX pair: MNIST's, each copy shifted by one more pixel."""
    import numpy as np

    from convkit.data.idx import mnist

    source = mnist(MNIST, "train")
    base = source.images[:, :, :, 0]
    copies = []
    for copy in range(-(-rows // len(base))):
        copies.append(np.roll(base, copy, axis=2))
    images = np.concatenate(copies)[:rows].astype(np.uint8)
    labels = np.tile(source.targets, len(copies))[:rows].astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"synthetic-{rows}-images-idx3-ubyte"
    path.write_bytes(np.array([2051, rows, 28, 28], ">u4").tobytes() + images.tobytes())
    (folder / f"synthetic-{rows}-labels-idx1-ubyte").write_bytes(
        np.array([2049, rows], ">u4").tobytes() + labels.tobytes()
    )
    return path


def rank_zero_epoch(pack: str, threads: int) -> dict:
    """One rank's epoch over its half of ``pack``, training LeNet; in this process."""
    import numpy as np
    import torch

    from convkit.data import open_image_dataset
    from convkit.data.packed import remember_scan
    from convkit.data.preprocessing import Preprocessing
    from convkit.nn import build
    from convkit.spec import load_spec

    torch.set_num_threads(threads)
    remember_scan(pack, [])  # the Spark scan ran on the driver (see fit_distributed)
    dataset = open_image_dataset(pack, options={"channels": 1})
    dataset.scan(progress=False)
    spec = load_spec(LENET)
    pre = Preprocessing.for_spec(spec)
    batches = dataset.make_batches(
        np.arange(len(dataset)), pre, None, batch_size=64, shuffle=True, seed=0
    ).shard(0, 2)
    net = build(spec)
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    started, images = time.perf_counter(), 0
    for inputs, targets in batches.epoch(0):
        loss = torch.nn.functional.cross_entropy(net(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        images += len(targets)
    seconds = time.perf_counter() - started
    return {
        "rows": len(dataset),
        "rank_images": images,
        "images_per_second": round(images / seconds, 1),
        "peak_rss_mib": round(peak_rss_kib() / 1024, 1),
    }


def peak_rss_kib() -> int:
    """This process's peak RSS since exec: /proc's VmHWM.

    Not getrusage's ru_maxrss: Linux carries that across fork + exec, so a
    child would report its (large) parent's RSS at the moment it was forked.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_rss(rows_list: list[int], threads: int, work: Path) -> dict:
    from convkit.spark.pack import pack_dataset

    results = []
    for rows in rows_list:
        idx = synthetic_idx(work / "idx", rows)
        pack = work / f"synthetic-{rows}.pack"
        started = time.perf_counter()
        pack_dataset(idx, str(pack), channels=1, progress=False)
        pack_seconds = time.perf_counter() - started
        child = subprocess.run(
            [sys.executable, __file__, "--rank-zero", str(pack), "--threads", str(threads)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        result = json.loads(child.stdout.strip().splitlines()[-1])
        result["pack_seconds"] = round(pack_seconds, 1)
        results.append(result)
        for path in idx.parent.glob(f"synthetic-{rows}-*"):
            path.unlink()
    peaks = [r["peak_rss_mib"] for r in results]
    return {"runs": results, "peak_rss_ratio_largest_to_smallest": round(peaks[-1] / peaks[0], 3)}


def measure_speed(epochs: int, threads: int, work: Path) -> dict:
    from convkit import api
    from convkit.spark.pack import pack_dataset
    from convkit.train import TrainConfig

    pack = work / "mnist.pack"
    started = time.perf_counter()
    pack_dataset(MNIST, str(pack), channels=1, progress=False)
    pack_seconds = time.perf_counter() - started
    runs = {}
    for name, data in (("in_memory_idx", MNIST), ("packed_parquet", pack)):
        config = TrainConfig(epochs=epochs, batch_size=64, seed=0, workers=0, threads=threads)
        started = time.perf_counter()
        report = api.fit(
            LENET,
            str(data),
            run_dir=work / name,
            config=config,
            progress=False,
            evaluate_test=False,
        )
        runs[name] = {
            "images_per_second": [row["images_per_second"] for row in report.history],
            "val_accuracy": [round(row.get("val_accuracy", 0.0), 4) for row in report.history],
            "wall_seconds": round(time.perf_counter() - started, 1),
        }
    memory = max(runs["in_memory_idx"]["images_per_second"])
    packed = max(runs["packed_parquet"]["images_per_second"])
    return {
        "pack_seconds": round(pack_seconds, 1),
        "runs": runs,
        "ratio_packed_to_in_memory": round(packed / memory, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["rss", "speed", "both"], default="both")
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument("--rank-zero", metavar="PACK", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rank_zero:
        print(json.dumps(rank_zero_epoch(args.rank_zero, args.threads)))
        return
    load = os.getloadavg()[0]
    out = {"cpus": os.cpu_count(), "threads": args.threads, "load_average_start": load}
    with tempfile.TemporaryDirectory(prefix="convkit-packed-") as tmp:
        work = Path(tmp)
        if args.part in ("rss", "both"):
            out["rss"] = measure_rss(sorted(args.rows), args.threads, work)
        if args.part in ("speed", "both"):
            out["speed"] = measure_speed(args.epochs, args.threads, work)
    out["load_average_end"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
