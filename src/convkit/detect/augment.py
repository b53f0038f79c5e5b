"""Geometric augmentations that move the boxes with the image (OpenCV).

Each function takes ``image`` (H, W, C) uint8 and ``boxes`` (M, 4) pixels and
returns both transformed. ``DetectAugment`` chains them with a random
generator seeded by ``(seed, epoch, index)``, so an epoch is reproducible and
a resumed run sees the same images.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from convkit.errors import UsageError


def hflip(image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror left-right."""
    width = image.shape[1]
    flipped = boxes.copy()
    flipped[:, 0], flipped[:, 2] = width - boxes[:, 2], width - boxes[:, 0]
    return np.ascontiguousarray(image[:, ::-1]), flipped


def rescale(image: np.ndarray, boxes: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Resize by ``factor`` (both sides)."""
    import cv2

    height, width = image.shape[:2]
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    if resized.ndim == 2:
        resized = resized[:, :, None]
    sx, sy = size[0] / width, size[1] / height
    return resized, boxes * np.array([sx, sy, sx, sy], np.float32)


def crop(
    image: np.ndarray, boxes: np.ndarray, labels: np.ndarray, window: tuple[int, int, int, int],
    min_visible: float = 0.4,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Cut ``window`` (x, y, w, h). Boxes are clipped to it; a box that keeps less than
    ``min_visible`` of its area is dropped, since what is left may not show the object."""
    x, y, w, h = window
    cut = image[y : y + h, x : x + w]
    shifted = boxes - np.array([x, y, x, y], np.float32)
    clipped = shifted.copy()
    clipped[:, 0::2] = clipped[:, 0::2].clip(0, w)
    clipped[:, 1::2] = clipped[:, 1::2].clip(0, h)
    area = (shifted[:, 2] - shifted[:, 0]) * (shifted[:, 3] - shifted[:, 1])
    kept_area = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    keep = kept_area >= min_visible * np.maximum(area, 1e-9)
    return np.ascontiguousarray(cut), clipped[keep], labels[keep]


@dataclass
class Letterbox:
    """How an image was fitted into the network input: ``input = original * scale + pad``."""

    scale: float
    pad_x: int
    pad_y: int

    def to_original(self, boxes: np.ndarray) -> np.ndarray:
        """Boxes (M, 4) from network-input pixels back to the original image's pixels."""
        pad = np.array([self.pad_x, self.pad_y, self.pad_x, self.pad_y], np.float32)
        return (boxes - pad) / self.scale


def letterbox(
    image: np.ndarray, boxes: np.ndarray, width: int, height: int, fill: int = 114
) -> tuple[np.ndarray, np.ndarray, Letterbox]:
    """Fit into ``width`` x ``height`` keeping the aspect ratio; pad the rest with grey."""
    import cv2

    original_h, original_w = image.shape[:2]
    scale = min(width / original_w, height / original_h)
    new_w, new_h = max(1, round(original_w * scale)), max(1, round(original_h * scale))
    if (new_w, new_h) != (original_w, original_h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        if image.ndim == 2:
            image = image[:, :, None]
    pad_x, pad_y = (width - new_w) // 2, (height - new_h) // 2
    canvas = np.full((height, width, image.shape[2]), fill, np.uint8)  # (H, W, C)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = image
    info = Letterbox(scale, pad_x, pad_y)
    moved = boxes * scale + np.array([pad_x, pad_y, pad_x, pad_y], np.float32)
    return canvas, moved.astype(np.float32), info


@dataclass
class DetectAugment:
    """Random flip, rescale and crop; the letterbox to the input size follows in preprocessing."""

    flip: float = 0.5  # probability of a left-right mirror
    scale_min: float = 0.75
    scale_max: float = 1.25
    crop: float = 0.5  # probability of cutting a random window
    crop_min: float = 0.6  # smallest window side, as a fraction of the image side
    brightness: float = 0.0  # add uniform in [-brightness, brightness] x 255
    contrast: float = 0.0  # stretch around mid-grey by a factor in [1 - contrast, 1 + contrast]
    seed: int = 0

    def __post_init__(self):
        for name in ("flip", "crop"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise UsageError(
                    f"augment `{name}` must be a probability in [0, 1]. Received: {name}={value}"
                )
        if not 0 < self.scale_min <= self.scale_max:
            raise UsageError(
                f"augment scale range must satisfy 0 < scale_min <= scale_max. "
                f"Received: scale_min={self.scale_min}, scale_max={self.scale_max}"
            )
        if not (0 <= self.brightness <= 1 and 0 <= self.contrast < 1):
            raise UsageError(
                f"augment brightness must be in [0, 1] and contrast in [0, 1). "
                f"Received: brightness={self.brightness}, contrast={self.contrast}"
            )
        if not 0 < self.crop_min <= 1:
            raise UsageError(
                f"augment `crop_min` must be in (0, 1]. Received: crop_min={self.crop_min}"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_generic(cls, augment, seed: int = 0) -> DetectAugment:
        """The box-aware version of ``convkit.data.Augment`` (``convkit train --augment``).

        flip -> mirror half the time; scale s -> zoom in [1 - s, 1 + s];
        crop_padding or translate -> random crops; brightness and contrast as
        given (they leave the boxes alone). Rotation and shear would
        turn boxes into rotated boxes, so a detector refuses them.
        """
        unsupported = [n for n in ("rotation", "shear") if getattr(augment, n, 0)]
        if unsupported:
            raise UsageError(
                f"--augment {', '.join(unsupported)} would rotate the boxes; detection supports "
                "flip, scale, crop_padding/translate (crops)"
            )
        scale = float(getattr(augment, "scale", 0.0))
        cropping = getattr(augment, "crop_padding", 0) or getattr(augment, "translate", 0.0)
        return cls(
            flip=0.5 if getattr(augment, "flip", False) else 0.0,
            scale_min=1.0 - scale, scale_max=1.0 + scale,
            crop=0.5 if cropping else 0.0, seed=seed,
            brightness=float(getattr(augment, "brightness", 0.0)),
            contrast=float(getattr(augment, "contrast", 0.0)),
        )  # fmt: skip

    def rng(self, epoch: int, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, epoch, index])

    def __call__(
        self, image: np.ndarray, boxes: np.ndarray, labels: np.ndarray, epoch: int, index: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = self.rng(epoch, index)
        if rng.random() < self.flip:
            image, boxes = hflip(image, boxes)
        factor = rng.uniform(self.scale_min, self.scale_max)
        if abs(factor - 1.0) > 1e-3:
            image, boxes = rescale(image, boxes, factor)
        if rng.random() < self.crop:
            height, width = image.shape[:2]
            w = max(1, int(width * rng.uniform(self.crop_min, 1.0)))
            h = max(1, int(height * rng.uniform(self.crop_min, 1.0)))
            x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            image, boxes, labels = crop(image, boxes, labels, (x, y, w, h))
        if self.brightness or self.contrast:  # photometric: the boxes stay where they are
            gain = rng.uniform(1 - self.contrast, 1 + self.contrast)
            bias = rng.uniform(-self.brightness, self.brightness) * 255
            image = (
                ((image.astype(np.float32) - 127.5) * gain + 127.5 + bias)
                .clip(0, 255)
                .astype(np.uint8)
            )
        return image, boxes, labels
