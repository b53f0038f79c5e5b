"""Spark speed, in one run: 2 training processes vs 1, Spark's overheads, DataFrame inference.

    nice python benchmarks/spark_speed.py                       # all three parts
    nice python benchmarks/spark_speed.py --images 2048 --predict-images 2000

1. Training throughput. A network whose training step takes >= 100 ms on this
   machine (a VGG-style stack on MNIST, --heavy-spec), one epoch on --images
   MNIST digits: `api.fit` in one process (all cores as torch threads, batch
   64) against `fit_distributed` on local[2] with 2 processes (batch 32 each:
   the same global batch). Throughput = training images per second, summed
   over ranks; reported as the ratio 2 workers / 1 process.
2. Spark's overheads: starting a local SparkSession (JVM included), and
   launching 2 TorchDistributor processes that do nothing (barrier stage,
   torchrun, process group, interpreter and torch import).
3. Inference: `predict_dataframe` over a folder of --predict-images PNG digits
   (binaryFile -> pandas UDF -> Parquet) against single-process
   `Model.predict_stream` over the same files; images/s and their ratio. The
   Spark job runs twice: cold (workers start, import torch, load the model)
   and warm (workers reused); the ratio uses the warm run.

Prints one JSON document. Session start-up is excluded from the throughput
figures and reported on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"

# ~100+ ms per batch of 64 on one core of this machine: worth distributing.
HEAVY_SPEC = """\
name: heavy
input: 28x28x1
layers:
  - conv2d: {filters: 64, kernel: 3, padding: 1}
  - conv2d: {filters: 64, kernel: 3, padding: 1}
  - max_pool: {kernel: 2, stride: 2}
  - conv2d: {filters: 128, kernel: 3, padding: 1}
  - conv2d: {filters: 128, kernel: 3, padding: 1}
  - max_pool: {kernel: 2, stride: 2}
  - dense: {units: 256, activation: relu}
  - output: {classes: 10, activation: softmax}
"""


def noop_rank() -> int:
    import torch.distributed as dist

    return dist.get_world_size()


def write_idx(folder: Path, count: int) -> Path:
    import numpy as np

    from convkit.data.idx import mnist

    data = mnist(MNIST, "train")
    folder.mkdir(parents=True, exist_ok=True)
    images = np.ascontiguousarray(data.images[:count, :, :, 0], dtype=np.uint8)  # (N, 28, 28)
    (folder / "bench-images-idx3-ubyte").write_bytes(
        np.array([2051, count, 28, 28], dtype=">u4").tobytes() + images.tobytes()
    )
    (folder / "bench-labels-idx1-ubyte").write_bytes(
        np.array([2049, count], dtype=">u4").tobytes()
        + np.asarray(data.targets[:count], dtype=np.uint8).tobytes()
    )
    return folder / "bench-images-idx3-ubyte"


def write_pngs(folder: Path, count: int) -> Path:
    import cv2

    from convkit.data.idx import mnist

    data = mnist(MNIST, "test")
    for index in range(count):
        target = folder / str(int(data.targets[index]))
        target.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(target / f"{index}.png"), data.images[index][:, :, 0])
    return folder


def train_throughput(session, work: Path, images: int, spec_path: Path) -> dict:
    from convkit import api
    from convkit.spark import fit_distributed
    from convkit.train import TrainConfig

    data = write_idx(work / "idx", images)
    cores = os.cpu_count() or 1
    common = {"epochs": 1, "seed": 0, "workers": 0, "val_fraction": 0.0}

    started = time.perf_counter()
    single = api.fit(
        spec_path,
        data,
        run_dir=work / "single",
        evaluate_test=False,
        progress=False,
        config=TrainConfig(batch_size=64, threads=cores, **common),
    )
    single_wall = time.perf_counter() - started
    row = single.history[0]
    batches = -(-int(row["images_per_second"] * row["seconds"] + 0.5) // 64)

    started = time.perf_counter()
    spark = fit_distributed(
        spec_path,
        data,
        TrainConfig(batch_size=32, **common),
        work / "spark",
        workers=2,
        session=session,
        evaluate_test=False,
        progress=False,
    )
    spark_wall = time.perf_counter() - started
    spark_row = spark.history[0]
    # Each rank reports its own share; the job's throughput is their sum.
    spark_ips = spark_row["images_per_second"] * 2
    return {
        "images": images,
        "single_process": {
            "threads": cores,
            "batch": 64,
            "step_ms": round(1000 * row["seconds"] / batches, 1),
            "images_per_second": row["images_per_second"],
            "wall_seconds": round(single_wall, 1),
        },
        "spark_2_workers": {
            "threads_each": max(1, cores // 2),
            "batch_each": 32,
            "images_per_second": round(spark_ips, 1),
            "wall_seconds": round(spark_wall, 1),
        },
        "ratio_2_workers_vs_1": round(spark_ips / row["images_per_second"], 3),
    }


def launch_overhead(session) -> float:
    from pyspark import cloudpickle

    from convkit.spark import run_on_workers

    cloudpickle.register_pickle_by_value(__import__("__main__"))
    started = time.perf_counter()
    world = run_on_workers(noop_rank, session=session, workers=2, threads_per_worker=1)
    elapsed = time.perf_counter() - started
    if world != 2:
        raise RuntimeError(f"expected a world of 2, got {world}")
    return round(elapsed, 2)


def inference(session, work: Path, count: int, model_path: Path) -> dict:
    import pandas as pd

    from convkit import api
    from convkit.spark import predict_dataframe

    folder = write_pngs(work / "pngs", count)
    paths = sorted(str(p) for p in folder.glob("*/*.png"))

    model = api.load(model_path)
    started = time.perf_counter()
    local = {path: prediction["label"] for path, prediction, _ in model.predict_stream(paths)}
    single_seconds = time.perf_counter() - started

    out = work / "predictions.parquet"
    # Cold: Python workers start, import torch, load the model. Warm: Spark
    # reuses those workers, so the second job shows the steady throughput.
    cold = predict_dataframe(model_path, folder, out_parquet=out, session=session, progress=False)
    summary = predict_dataframe(
        model_path, folder, out_parquet=out, session=session, progress=False
    )
    table = pd.read_parquet(out)
    same = sum(
        local[p.removeprefix("file:")] == label
        for p, label in zip(table.path, table.label, strict=True)
    )
    return {
        "images": len(paths),
        "single_process_images_per_second": round(len(paths) / single_seconds, 1),
        "spark_cold_images_per_second": cold["images_per_second"],
        "spark_images_per_second": summary["images_per_second"],
        "ratio_spark_vs_single": round(
            summary["images_per_second"] / (len(paths) / single_seconds), 3
        ),
        "labels_identical": same == len(paths),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2048, help="training images (1 epoch)")
    parser.add_argument("--predict-images", type=int, default=2000)
    parser.add_argument("--model", default=None, help="model for inference (default: tiny)")
    parser.add_argument("--skip-train", action="store_true")
    args = parser.parse_args()

    from convkit.spark import get_session, stop_session

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spec_path = work / "heavy.yaml"
        spec_path.write_text(HEAVY_SPEC)
        result = {"machine": f"{os.cpu_count()} cores", "load_average": os.getloadavg()}
        started = time.perf_counter()
        session = get_session("local[2]", app_name="convkit spark benchmark")
        result["session_start_seconds"] = round(time.perf_counter() - started, 2)
        try:
            result["launch_2_processes_seconds"] = launch_overhead(session)
            if not args.skip_train:
                result["training"] = train_throughput(session, work, args.images, spec_path)
            model_path = Path(args.model) if args.model else None
            if model_path is None:
                from convkit import api
                from convkit.train import TrainConfig

                model_path = api.fit(
                    ROOT / "examples" / "lenet.yaml",
                    write_idx(work / "small", 1000),
                    run_dir=work / "lenet",
                    evaluate_test=False,
                    progress=False,
                    config=TrainConfig(epochs=1, workers=0),
                ).model_path
            result["inference"] = inference(session, work, args.predict_images, model_path)
        finally:
            stop_session(session)
        result["load_average_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
