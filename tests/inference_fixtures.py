"""Untrained models of every task, saved as model files, and small inputs for them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# A graph spec with both merge vertices (add and concat), small enough to export fast.
GRAPH_SPEC = """
name: tiny_graph
input: 16x16x3
layers:
  - {type: conv2d, name: stem, filters: 4, kernel: 3, padding: 1}
  - {type: conv2d, name: left, inputs: [stem], filters: 4, kernel: 3, padding: 1}
  - {type: add, name: residual, inputs: [left, stem]}
  - {type: conv2d, name: right, inputs: [stem], filters: 2, kernel: 1}
  - {type: concat, name: merged, inputs: [residual, right]}
  - {type: global_avg_pool, name: pool}
  - {type: output, name: output, classes: 3}
"""


def save_untrained(spec, path: Path, seed: int = 0, sharpen: float = 1.0) -> Path:
    """``spec`` (a file or YAML text) built with its task and default preprocessing, untrained.

    ``sharpen`` scales the weights of the layers that have any: an untrained
    detector's scores are nearly all equal, which makes its box order a coin toss.
    """
    import torch

    from convkit.modelfile import save_model
    from convkit.nn import build
    from convkit.spec import NetSpec, load_spec
    from convkit.tasks import task_for_spec

    torch.manual_seed(seed)
    spec = load_spec(spec) if isinstance(spec, Path) else NetSpec.from_yaml(spec)
    task = task_for_spec(spec)
    preprocessing = task.default_preprocessing(spec, None, {})
    net = build(spec).eval()
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.mul_(sharpen)
    save_model(path, net, task=task, preprocessing=preprocessing.to_dict(), metadata={})
    return path


def write_png(path: Path, image: np.ndarray) -> Path:
    cv2.imwrite(str(path), image)
    return path


def noise(shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def model_zoo(root: Path) -> dict[str, tuple[Path, list[Path]]]:
    """kind -> (model file, input files) for a classifier, a graph net, a detector, a reader."""
    root.mkdir(parents=True, exist_ok=True)
    photo = write_png(root / "photo.png", noise((80, 200, 3), 1))  # wide: letterbox matters
    digit = write_png(root / "digit.png", noise((28, 28), 2))
    short = write_png(root / "short.png", noise((32, 40), 3))
    long = write_png(root / "long.png", noise((32, 300), 4))
    return {
        "classify": (save_untrained(EXAMPLES / "lenet.yaml", root / "lenet.convkit"), [digit]),
        "graph": (save_untrained(GRAPH_SPEC, root / "graph.convkit"), [photo]),
        "detect": (
            save_untrained(EXAMPLES / "tinyyolo_scenes.yaml", root / "yolo.convkit", sharpen=1.6),
            [photo],
        ),
        "ocr": (save_untrained(EXAMPLES / "crnn.yaml", root / "crnn.convkit"), [short, long]),
    }
