"""Detection preprocessing: letterbox to the network input, then scale to [0, 1].

It travels in the model file (``to_dict``), so ``convkit detect`` sizes new
photos exactly as training did and maps boxes back to their pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convkit.detect.augment import letterbox
from convkit.errors import DataError
from convkit.spec.constraints import check_keys

KIND = "detect-letterbox"


# torchvision's ImageNet statistics: what a pretrained backbone's first layer expects.
IMAGENET_STATS = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def channel_stats(value, which: str) -> list[float] | None:
    """A per-channel mean or std from a list, ``"imagenet"``, or ``"0.5/0.5/0.5"`` (CLI text)."""
    if value is None or isinstance(value, list | tuple):
        return value
    if isinstance(value, int | float):
        return [float(value)] * 3
    text = str(value).strip().lower()
    if text == "imagenet":
        return list(IMAGENET_STATS[which])
    try:
        return [float(part) for part in text.split("/")]
    except ValueError:
        raise DataError(
            f"`{which}` must be numbers like 0.485/0.456/0.406 or 'imagenet'. Received: {value!r}"
        ) from None


class DetectPreprocessing:
    kind = KIND

    def __init__(self, height: int, width: int, channels: int = 3, mean=None, std=None):
        self.height, self.width, self.channels = int(height), int(width), int(channels)
        mean, std = channel_stats(mean, "mean"), channel_stats(std, "std")
        self.mean = [float(m) for m in (mean or [0.0] * self.channels)]
        self.std = [float(s) for s in (std or [1.0] * self.channels)]
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise DataError(
                f"mean and std need {self.channels} values (one per channel). "
                f"Received: mean={self.mean}, std={self.std}"
            )

    @classmethod
    def for_spec(cls, spec, **kwargs) -> DetectPreprocessing:
        return cls(spec.input.height, spec.input.width, spec.input.channels, **kwargs)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "height": self.height,
            "width": self.width,
            "channels": self.channels,
            "mean": self.mean,
            "std": self.std,
        }

    @classmethod
    def from_dict(cls, data: dict) -> DetectPreprocessing:
        data = check_keys(
            data,
            ("kind", "height", "width", "channels", "mean", "std"),
            "detection preprocessing",
            error=DataError,
            required=("height", "width"),
        )
        if data.get("kind") != KIND:
            raise DataError(f"not a detection preprocessing: kind={data.get('kind')!r}")
        return cls(
            data["height"],
            data["width"],
            data.get("channels", 3),
            data.get("mean"),
            data.get("std"),
        )

    def to_tensor_array(self, image: np.ndarray) -> np.ndarray:
        """(H, W, C) uint8 at input size -> (C, H, W) float32 normalised."""
        array = image.astype(np.float32) / 255.0
        array = (array - np.array(self.mean, np.float32)) / np.array(self.std, np.float32)
        return np.ascontiguousarray(array.transpose(2, 0, 1))

    def fit(self, image: np.ndarray, boxes: np.ndarray | None = None):
        """(array (C, H, W) float32, boxes in input pixels, Letterbox) for one image."""
        boxes = np.zeros((0, 4), np.float32) if boxes is None else boxes
        fitted, moved, info = letterbox(image, boxes, self.width, self.height)
        return self.to_tensor_array(fitted), moved, info

    def apply(self, image: np.ndarray) -> np.ndarray:
        """An (H, W, C) uint8 image already in memory -> (C, H, W) float32."""
        array, _, _ = self.fit(image)
        return array

    def read(self, path_or_bytes) -> np.ndarray:
        """Decode to (H, W, C) uint8 RGB (or grey for one channel)."""
        if isinstance(path_or_bytes, (bytes, bytearray)):
            import cv2

            flag = cv2.IMREAD_GRAYSCALE if self.channels == 1 else cv2.IMREAD_COLOR
            image = cv2.imdecode(np.frombuffer(path_or_bytes, np.uint8), flag)
            if image is None:
                raise DataError("the uploaded bytes are not a readable image")
            return (
                image[:, :, None] if self.channels == 1 else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            )
        from convkit.detect.dataset import read_rgb

        return read_rgb(Path(path_or_bytes), self.channels)

    def load(self, path_or_bytes) -> np.ndarray:
        """Decode and fit: (C, H, W) float32, ready to stack into a batch."""
        array, _, _ = self.fit(self.read(path_or_bytes))
        return array
