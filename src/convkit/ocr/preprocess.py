"""Text-line preprocessing: scale every line to the reader's height, keep its aspect.

Unlike photos, lines are never stretched to a fixed width: a long line keeps
its length so each symbol keeps its shape, and batches pad to their widest
line instead (see ``batching``). The settings travel in the model file as
``{"kind": "textline", …}`` so ``convkit ocr`` reads lines exactly as training did.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convkit.errors import DataError
from convkit.spec.constraints import Options, check_keys, check_value

# What to_dict writes (and from_dict reads).
STORED_KEYS = ("kind", "height", "channels", "mean", "std", "min_width", "max_width")


class TextLinePreprocessing:
    """Decode, convert to ``channels``, resize to ``height`` (aspect kept), normalise.

    ``max_width`` squeezes lines wider than it (memory guard); ``min_width`` pads
    very short lines on the right with their last column.
    """

    kind = "textline"

    def __init__(
        self,
        height: int,
        channels: int = 1,
        mean: float = 0.5,
        std: float = 0.5,
        min_width: int = 8,
        max_width: int | None = 2048,
    ):
        check_value("channels", channels, Options({1, 3}), "text-line preprocessing", DataError)
        self.height = int(height)
        self.channels = int(channels)
        self.mean = float(mean)
        self.std = float(std)
        self.min_width = int(min_width)
        self.max_width = int(max_width) if max_width else None

    @classmethod
    def for_spec(cls, spec, **kwargs) -> TextLinePreprocessing:
        return cls(height=spec.input.height, channels=spec.input.channels, **kwargs)

    def scaled_width(self, width: int, height: int) -> int:
        """The width a ``width`` x ``height`` line has once scaled to ``self.height``."""
        scaled = max(int(round(width * self.height / max(height, 1))), 1)
        if self.max_width:
            scaled = min(scaled, self.max_width)
        return max(scaled, self.min_width)

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """uint8 (H, W, C) -> uint8 (height, W', C), aspect kept."""
        import cv2

        height, width = image.shape[:2]
        new_width = self.scaled_width(width, height)
        resized_width = min(new_width, max(int(round(width * self.height / height)), 1))
        if (height, width) != (self.height, resized_width):
            shrinking = self.height < height
            interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
            image = cv2.resize(image, (resized_width, self.height), interpolation=interpolation)
            if image.ndim == 2:
                image = image[:, :, None]
        if image.shape[1] < new_width:  # too short: extend with the last column
            image = np.pad(image, ((0, 0), (0, new_width - image.shape[1]), (0, 0)), mode="edge")
        return image

    def to_array(self, prepared: np.ndarray) -> np.ndarray:
        """uint8 (H, W, C) -> float32 (C, H, W), normalised."""
        array = prepared.astype(np.float32).transpose(2, 0, 1) / 255.0
        return (array - self.mean) / self.std

    def load(self, source) -> np.ndarray:
        """A file path or encoded bytes -> float32 (C, height, W)."""
        from convkit.data.decode import read_image

        return self.to_array(self.prepare(read_image(source, channels=self.channels)))

    def apply(self, image: np.ndarray) -> np.ndarray:
        """A decoded uint8 (H, W, C) or (H, W) image -> float32 (C, height, W)."""
        import cv2

        if image.ndim == 2:
            image = image[:, :, None]
        if image.shape[2] != self.channels:
            code = cv2.COLOR_RGB2GRAY if self.channels == 1 else cv2.COLOR_GRAY2RGB
            image = cv2.cvtColor(image, code)
            if image.ndim == 2:
                image = image[:, :, None]
        return self.to_array(self.prepare(image))

    def stack(self, arrays: list[np.ndarray]) -> np.ndarray:
        """(C, H, W_i) arrays of different widths -> one padded (N, C, H, W_max) batch."""
        return pad_batch(arrays)[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "height": self.height,
            "channels": self.channels,
            "mean": self.mean,
            "std": self.std,
            "min_width": self.min_width,
            "max_width": self.max_width,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextLinePreprocessing:
        data = check_keys(data, STORED_KEYS, "text-line preprocessing", DataError, ("height",))
        return cls(**{k: v for k, v in data.items() if k != "kind"})


def pad_batch(arrays: list[np.ndarray], multiple: int = 4) -> tuple[np.ndarray, list[int]]:
    """float32 (C, H, W_i) arrays -> (N, C, H, W_max) batch and the true widths.

    Each line is extended with its own last column (its background), not with
    zeros, so padding never draws an edge the reader could mistake for a stroke.
    The batch width is rounded up to ``multiple`` so pooling divides it evenly.
    """
    widths = [a.shape[2] for a in arrays]
    target = -(-max(widths) // multiple) * multiple
    batch = np.empty((len(arrays), *arrays[0].shape[:2], target), np.float32)
    for row, array in zip(batch, arrays, strict=True):
        width = array.shape[2]
        row[:, :, :width] = array
        row[:, :, width:] = array[:, :, width - 1 : width]
    return batch, widths
