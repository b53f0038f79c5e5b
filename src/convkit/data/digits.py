"""scikit-learn's bundled handwritten digits as an in-memory dataset.

1,797 real 8x8 digits (UCI "optical recognition of handwritten digits")
ship inside scikit-learn, so they exist on every machine that has convkit:
the offline fallback when MNIST is neither given, cached nor downloadable.
They are upsampled to MNIST's 28x28 grey (white strokes on black), with the
20x20 digit centred in a 4-pixel border as MNIST's are.
"""

from __future__ import annotations

import numpy as np

from convkit.data.dataset import ArrayDataset

#: The names that mean these digits wherever a dataset path is read.
DIGITS_NAMES = ("sklearn-digits", "sklearn:digits", "digits")


def is_digits_name(data) -> bool:
    """Whether ``data`` names scikit-learn's digits rather than a path (any case)."""
    return isinstance(data, str) and data.lower() in DIGITS_NAMES


def sklearn_digits(size: int = 28) -> ArrayDataset:
    """The 1,797 scikit-learn digits as uint8 (N, size, size, 1), labels 0-9."""
    import cv2

    pixels, targets = _load_digits()  # (N, 64) in 0..16, (N,)
    images = pixels.reshape(-1, 8, 8)
    inner = max(1, round(size * 20 / 28))  # MNIST: 20x20 digit box in a 28x28 frame
    border = (size - inner) // 2
    out = np.zeros((len(images), size, size, 1), dtype=np.uint8)
    for k, image in enumerate(images):
        scaled = np.clip(image * (255.0 / 16.0), 0, 255).astype(np.uint8)
        big = cv2.resize(scaled, (inner, inner), interpolation=cv2.INTER_CUBIC)
        out[k, border : border + inner, border : border + inner, 0] = big
    classes = [str(d) for d in range(10)]
    return ArrayDataset(out, targets, classes, name="sklearn digits")


def _load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Read scikit-learn's digits.csv.gz directly: importing sklearn.datasets takes seconds."""
    import gzip
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    csv = (
        Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
        if spec is not None and spec.submodule_search_locations
        else None
    )
    if csv is not None and csv.is_file():
        with gzip.open(csv) as handle:
            table = np.loadtxt(handle, delimiter=",")  # (1797, 65): 64 pixels, then the digit
        return table[:, :-1], table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits  # a future layout: the public loader

    bunch = load_digits()
    return bunch.data, bunch.target.astype(np.int64)
