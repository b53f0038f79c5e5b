"""Quality bar: LeNet on MNIST trained on Spark with 2 workers reaches >= 99.0% test accuracy.

    nice python benchmarks/spark_mnist_quality.py --master 'local[2]' --workers 2 --epochs 3

The same as `convkit train examples/lenet.yaml --data ../shared/data/mnist --epochs 3
--batch-size 32 --schedule cosine --spark 'local[2]' --workers 2`. The batch size is per
worker: 2 x 32 keeps the global batch (and the number of updates) of a single-process run
at 64. The cosine schedule (per batch, over the whole run) lets the last epoch settle;
with a constant learning rate this run measured 98.98% (see docs/spark.md).
Prints one JSON line: test accuracy, per-epoch history, wall time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32, help="per worker")
    parser.add_argument("--schedule", default="cosine", help="none, step, cosine, onecycle")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--run-dir", default="runs/spark-lenet-mnist")
    parser.add_argument("--bar", type=float, default=0.99)
    args = parser.parse_args()

    from convkit.spark import fit_distributed
    from convkit.train import TrainConfig

    started = time.perf_counter()
    report = fit_distributed(
        ROOT / "examples" / "lenet.yaml",
        args.data,
        TrainConfig(epochs=args.epochs, batch_size=args.batch_size, schedule=args.schedule, seed=0),
        args.run_dir,
        args.master,
        args.workers,
    )
    accuracy = report.test["accuracy"] if report.test else None
    result = {
        "master": args.master,
        "workers": args.workers,
        "epochs": args.epochs,
        "batch_size_per_worker": args.batch_size,
        "schedule": args.schedule,
        "test_accuracy": accuracy,
        "passes_bar": accuracy is not None and accuracy >= args.bar,
        "history": [
            {k: row[k] for k in ("epoch", "train_accuracy", "val_accuracy", "seconds")}
            for row in report.history
        ],
        "wall_seconds": round(time.perf_counter() - started, 1),
        "model": str(report.model_path),
    }
    print(json.dumps(result))
    return 0 if result["passes_bar"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
