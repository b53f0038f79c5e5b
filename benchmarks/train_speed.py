"""convkit's training speed against plain PyTorch loops, in one run, as ratios.

    python benchmarks/train_speed.py                  # 20,000 MNIST images, batch 64, 2 threads
    python benchmarks/train_speed.py --images 60000 --repeats 3

Measurements of LeNet (examples/lenet.yaml) on the same in-memory MNIST
images, batch size, thread count and optimizer (Adam):

  plain NCHW          a hand-written torch loop, default memory format, float32
  plain CL            the same loop in channels-last memory format
  plain CL bf16       the same, under bfloat16 autocast (only on CPUs with native bf16)
  convkit             convkit's Trainer, defaults (progress bar off, no validation)
  convkit float32     the Trainer with amp=False (`convkit train --no-amp`)
  loader              convkit's batches alone (what the trainer consumes), no model

The issue's target: convkit >= 1.6x plain NCHW and at least as fast as the
best plain loop. Each number is the best of --repeats epochs after one
warm-up; the variants take turns for --rounds rounds and keep their best, so
a slow spell of the machine does not land on one variant only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"


def plain_lenet():
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 20, 5),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Conv2d(20, 50, 5),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(800, 500),
        nn.ReLU(),
        nn.Linear(500, 10),
    )


def plain_epoch_seconds(
    images, labels, batch_size: int, channels_last: bool, repeats: int, bf16: bool = False
) -> float:
    """Best epoch time of a plain loop: permute, slice, forward, loss, backward, step."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    model = plain_lenet()
    x_all = images.float().div_(255).unsqueeze(1)  # (N, 1, 28, 28)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    best = float("inf")
    for _ in range(repeats + 1):  # the first epoch warms up
        started = time.perf_counter()
        order = torch.randperm(len(x_all))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            x = x_all.index_select(0, rows)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(model(x), labels.index_select(0, rows))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        best = min(best, time.perf_counter() - started)
    return best


def convkit_epoch_seconds(
    dataset, batch_size: int, repeats: int, threads: int, amp: bool | None = None
) -> float:
    from convkit import api
    from convkit.train import TrainConfig

    config = TrainConfig(
        epochs=repeats + 1,
        batch_size=batch_size,
        workers=0,
        threads=threads,
        amp=amp,
        val_fraction=0.0,
    )
    with tempfile.TemporaryDirectory() as run_dir:
        report = api.fit(
            ROOT / "examples" / "lenet.yaml",
            dataset,
            run_dir=run_dir,
            config=config,
            evaluate_test=False,
            progress=False,
        )
    return min(row["seconds"] for row in report.history[1:])


def loader_images_per_second(dataset_path: str, batch_size: int, augment: str | None) -> float:
    from convkit import api
    from convkit.data import open_image_dataset
    from convkit.spec import load_spec
    from convkit.tasks import task_for_spec

    spec = load_spec(ROOT / "examples" / "lenet.yaml")
    task = task_for_spec(spec)
    dataset = open_image_dataset(dataset_path, options={"channels": 1})
    task._adopt_labels(list(dataset.classes), dataset_path)
    import numpy as np

    batches = task.make_batches(
        dataset,
        np.arange(len(dataset)),
        task.default_preprocessing(spec, dataset),
        api._augment(augment),
        batch_size=batch_size,
        shuffle=True,
        seed=0,
        workers=0,
    )
    started = time.perf_counter()
    for _ in batches.epoch(0):
        pass
    return len(dataset) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=20000, help="MNIST training images used")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="timed epochs (best is kept)")
    parser.add_argument("--rounds", type=int, default=2, help="turns each variant takes")
    parser.add_argument("--mnist", default=str(MNIST))
    args = parser.parse_args()

    import torch

    from convkit.data import ArrayDataset, mnist

    torch.set_num_threads(args.threads)
    full = mnist(args.mnist, "train")
    subset = ArrayDataset(
        full.images[: args.images], full.targets[: args.images], full.classes, name="mnist subset"
    )
    # the trainer reads data by path: write the subset as an IDX folder it can open
    with tempfile.TemporaryDirectory() as folder:
        write_idx_folder(Path(folder), subset)
        images = torch.from_numpy(subset.images[..., 0].copy())  # (N, 28, 28) uint8
        labels = torch.from_numpy(subset.targets.copy())
        n = len(labels)
        from convkit.train.environment import cpu_has_native_bf16

        def plain(channels_last, bf16=False):
            return lambda: plain_epoch_seconds(
                images, labels, args.batch_size, channels_last, args.repeats, bf16
            )

        def trainer(amp=None):
            return lambda: convkit_epoch_seconds(
                folder, args.batch_size, args.repeats, args.threads, amp
            )

        variants = {"plain NCHW": plain(False), "plain channels-last": plain(True)}
        if cpu_has_native_bf16():
            variants["plain channels-last bf16"] = plain(True, bf16=True)
        variants |= {"convkit Trainer": trainer(), "convkit Trainer float32": trainer(amp=False)}
        results = dict.fromkeys(variants, 0.0)
        for _ in range(args.rounds):
            for name, epoch_seconds in variants.items():
                results[name] = max(results[name], n / epoch_seconds())
        loader = {
            "loader, no augmentation": loader_images_per_second(folder, args.batch_size, None),
            "loader, rotation+scale+crop": loader_images_per_second(
                folder, args.batch_size, "rotation=10,scale=0.1,crop=2"
            ),
        }
    print(
        f"LeNet on {n:,} MNIST images, batch {args.batch_size}, {args.threads} threads, "
        f"torch {torch.__version__}, best of {args.repeats} epochs"
    )
    for name, value in results.items():
        print(f"  {name:<28} {value:9,.0f} img/s")
    base = results["plain NCHW"]
    best_name = max((name for name in results if name.startswith("plain")), key=results.get)
    ours, ours_fp32 = results["convkit Trainer"], results["convkit Trainer float32"]
    print(f"  convkit / plain NCHW               {ours / base:.2f}x   (target >= 1.6x)")
    print(
        f"  convkit / best plain ({best_name}) {ours / results[best_name]:.2f}x   (target >= 1.0x)"
    )
    print(
        f"  convkit float32 / plain channels-last  {ours_fp32 / results['plain channels-last']:.2f}x"
    )
    print(f"  plain channels-last / NCHW         {results['plain channels-last'] / base:.2f}x")
    for name, value in loader.items():
        print(f"  {name:<28} {value:9,.0f} img/s  ({value / ours:.0f}x what training consumes)")
    return 0


def write_idx_folder(folder: Path, dataset) -> None:
    """Write images and labels as MNIST-named IDX files (big-endian headers)."""
    import gzip

    import numpy as np

    images = dataset.images[..., 0]
    header = np.array([2051, len(images), images.shape[1], images.shape[2]], dtype=">i4").tobytes()
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb", compresslevel=1) as stream:
        stream.write(header + images.tobytes())
    header = np.array([2049, len(images)], dtype=">i4").tobytes()
    with gzip.open(folder / "train-labels-idx1-ubyte.gz", "wb", compresslevel=1) as stream:
        stream.write(header + dataset.targets.astype(np.uint8).tobytes())


if __name__ == "__main__":
    sys.exit(main())
