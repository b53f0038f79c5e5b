"""Shared helpers of the Spark tests: a tiny MNIST folder and a tiny trained model."""

from __future__ import annotations

from pathlib import Path

TINY_SPEC = """\
name: tiny
input: 28x28x1
layers:
  - conv2d: {filters: 6, kernel: 5}
  - max_pool: {kernel: 2, stride: 2}
  - dense: {units: 32, activation: relu}
  - output: {classes: 10, activation: softmax}
"""


def write_digit_folder(mnist_dir: Path, root: Path, per_class: int) -> Path:
    """``per_class`` MNIST test digits per class as PNGs under root/<digit>/."""
    import cv2

    from convkit.data.idx import mnist

    dataset = mnist(mnist_dir, "test")
    counts = dict.fromkeys(range(10), 0)
    for index in range(len(dataset)):
        digit = int(dataset.targets[index])
        if counts[digit] >= per_class:
            continue
        folder = root / str(digit)
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{index}.png"), dataset.images[index][:, :, 0])  # (28, 28)
        counts[digit] += 1
        if min(counts.values()) >= per_class:
            break
    return root


def write_idx_slice(mnist_dir: Path, folder: Path, count: int) -> Path:
    """The first ``count`` MNIST training digits as an uncompressed IDX pair; returns the images file.

    IDX data load into memory in one go (no per-file decoding), so a tiny
    training run spends its time training.
    """
    import numpy as np

    from convkit.data.idx import mnist

    dataset = mnist(mnist_dir, "train")
    images = np.ascontiguousarray(dataset.images[:count, :, :, 0], dtype=np.uint8)  # (N, 28, 28)
    labels = np.asarray(dataset.targets[:count], dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    images_path = folder / "tiny-images-idx3-ubyte"
    header = np.array([2051, count, 28, 28], dtype=">u4").tobytes()
    images_path.write_bytes(header + images.tobytes())
    labels_header = np.array([2049, count], dtype=">u4").tobytes()
    (folder / "tiny-labels-idx1-ubyte").write_bytes(labels_header + labels.tobytes())
    return images_path


def write_tiny_spec(folder: Path) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(TINY_SPEC)
    return path


def train_tiny_model(spec_path: Path, data: Path, run_dir: Path) -> Path:
    """One quick single-process epoch: enough for predictions to mean something."""
    from convkit import api
    from convkit.train import TrainConfig

    config = TrainConfig(epochs=1, batch_size=32, workers=0, seed=0)
    report = api.fit(
        spec_path, data, run_dir=run_dir, config=config, progress=False, evaluate_test=False
    )
    return report.model_path
