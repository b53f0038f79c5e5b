"""Model files and digit images for the viz, serve and browser tests.

Imported by tests/test_viz*.py, test_serve*.py and test_browser*.py (pytest
puts tests/ on sys.path). A LeNet is built from its spec and saved as a real
``.convkit`` file after a handful of Adam steps on real MNIST digits, so the
files go through the same load path users take.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np

LENET_YAML = """\
input: 28x28x1
layers:
  - conv2d: {filters: 20, kernel: 5}
  - max_pool: {kernel: 2, stride: 2}
  - conv2d: {filters: 50, kernel: 5}
  - max_pool: {kernel: 2, stride: 2}
  - dense: {units: 500, activation: relu}
  - output: {classes: 10, activation: softmax}
"""

PHOTO_YAML = """\
input: 32x32x3
layers:
  - conv2d: {filters: 8, kernel: 3, padding: same, activation: relu}
  - max_pool: {kernel: 2, stride: 2}
  - conv2d: {filters: 16, kernel: 3, padding: same, activation: relu}
  - max_pool: {kernel: 2, stride: 2}
  - output: {classes: 3, activation: softmax}
"""


def mnist_digits(mnist_dir: Path, count: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` test digits: (N, 28, 28) uint8 images and (N,) labels."""
    from convkit.data import read_idx

    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:count]
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")[:count]
    return np.asarray(images, dtype=np.uint8), np.asarray(labels, dtype=np.int64)


def write_png(path: Path, image: np.ndarray) -> Path:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return path


def save_model_file(
    path: Path,
    spec_yaml: str,
    labels: list[str],
    train_images: np.ndarray | None = None,
    train_labels: np.ndarray | None = None,
    steps: int = 0,
) -> Path:
    """Build the spec, optionally fit it a few steps, and save it as a .convkit file."""
    import torch

    from convkit.classify.task import ClassifyTask
    from convkit.data import Preprocessing
    from convkit.modelfile import save_model
    from convkit.nn import build
    from convkit.spec import NetSpec

    torch.manual_seed(0)
    spec = NetSpec.from_yaml(spec_yaml)
    net = build(spec)
    preprocessing = Preprocessing.for_spec(spec)
    task = ClassifyTask(num_classes=len(labels), labels=labels)
    if steps and train_images is not None:
        x = torch.from_numpy(
            np.stack([preprocessing.apply(image[:, :, None]) for image in train_images])
        )  # (N, C, H, W)
        y = torch.from_numpy(train_labels)
        optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
        net.train()
        for _ in range(steps):
            optimizer.zero_grad()
            task.loss(net(x), y).backward()
            optimizer.step()
    net.eval()
    save_model(path, net, task=task, preprocessing=preprocessing.to_dict(), metadata={})
    return path


_BUILT: dict[tuple[str, int], Path] = {}  # one fitted LeNet per process, copied where asked


def lenet_file(folder: Path, mnist_dir: Path, steps: int = 10) -> Path:
    """A LeNet fitted for a few steps on 64 MNIST digits (enough to name those digits)."""
    key = (str(mnist_dir), steps)
    if key not in _BUILT:
        cache = Path(tempfile.mkdtemp(prefix="convkit-viz-tests-"))
        atexit.register(shutil.rmtree, cache, True)
        images, labels = mnist_digits(mnist_dir, 64)
        _BUILT[key] = save_model_file(
            cache / "lenet.convkit", LENET_YAML, [str(i) for i in range(10)], images, labels, steps
        )
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(_BUILT[key], folder / "lenet.convkit"))


def photo_file(folder: Path) -> Path:
    """An untrained 3-channel 'photo' model with named labels."""
    return save_model_file(folder / "photo.convkit", PHOTO_YAML, ["cat", "dog", "bird"])


def test_lenet_file_round_trips(tmp_path, mnist_dir):
    from convkit.viz.model_view import ModelView

    view = ModelView.from_file(lenet_file(tmp_path, mnist_dir, steps=0))
    assert view.labels == [str(i) for i in range(10)]
    assert [layer.title for layer in view.default_map_layers()] == [
        "conv1 24x24x20",
        "pool1 12x12x20",
        "conv2 8x8x50",
        "pool2 4x4x50",
    ]
    assert view.last_conv_layer().name == "conv2"
