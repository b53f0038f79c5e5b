"""The one internal form every annotation format is parsed into.

An ``Annotation`` is an image path with its boxes ``(x1, y1, x2, y2)`` in
pixels and integer labels. Formats that store boxes relative to the image
size (YOLO txt) keep them ``normalized`` until the image is read, so that
parsing a dataset never has to decode every image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convkit.data.suffixes import IMAGE_SUFFIXES


@dataclass
class Annotation:
    image: Path
    boxes: np.ndarray  # (M, 4) float32, x1 y1 x2 y2
    labels: np.ndarray  # (M,) int64, index into the dataset's classes
    normalized: bool = False  # boxes in [0, 1] of the image size (YOLO txt)
    notes: list[str] = field(default_factory=list)  # boxes clipped or dropped, for the report
    size: tuple[int, int] | None = None  # (width, height) when the annotation states it (VOC)

    @classmethod
    def background(cls, image: Path) -> Annotation:
        """An image with no objects: every prediction on it is a false positive."""
        return cls(image, np.zeros((0, 4), np.float32), np.zeros((0,), np.int64))

    def in_pixels(self, width: int, height: int) -> np.ndarray:
        """Boxes (M, 4) in pixels of an image ``width`` x ``height``."""
        if not self.normalized:
            return self.boxes.copy()
        return self.boxes * np.array([width, height, width, height], np.float32)


def fit_to_image(
    boxes: np.ndarray, labels: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (M, 4) pixels clipped to the decoded image, and those left with no area dropped.

    Done again once an image is decoded: a VOC <size>, a COCO width or a
    packed size can disagree with the pixels.
    """
    boxes = boxes.copy()
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return boxes[keep], labels[keep].copy()


def clean_boxes(
    boxes: np.ndarray, labels: np.ndarray, width: float, height: float, source: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Clip boxes to the image and drop degenerate ones, saying what was changed.

    ``width``/``height`` are 1.0 for normalised boxes. A box is degenerate when,
    after clipping, it has no width or no height (it lay outside the image, or
    its corners were swapped or equal).
    """
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    labels = np.asarray(labels, np.int64).reshape(-1)
    notes: list[str] = []
    clipped = boxes.copy()
    clipped[:, 0::2] = clipped[:, 0::2].clip(0, width)
    clipped[:, 1::2] = clipped[:, 1::2].clip(0, height)
    moved = np.any(np.abs(clipped - boxes) > 1e-6, axis=1)
    if moved.any():
        notes.append(
            f"{source}: {int(moved.sum())} box(es) reached outside the image and were clipped"
        )
    keep = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
    if not keep.all():
        notes.append(
            f"{source}: {int((~keep).sum())} degenerate box(es) (no width or height) dropped"
        )
    return clipped[keep], labels[keep], notes


def find_image(folder: Path, stem: str) -> Path | None:
    """The image file named ``stem`` with any image suffix in ``folder``."""
    for suffix in IMAGE_SUFFIXES:
        for candidate in (folder / f"{stem}{suffix}", folder / f"{stem}{suffix.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
