"""A detection dataset: images with boxes, whatever format they came in.

``open_detection_dataset(path)`` recognises the format (VOC XML, YOLO txt +
YAML, COCO JSON) and returns a ``DetectionDataset`` whose ``load(i)`` gives
``(image (H, W, C) uint8 RGB, boxes (M, 4) float32 pixels, labels (M,))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convkit.data.dataset import check_in_threads
from convkit.detect.annotation import Annotation, fit_to_image
from convkit.detect.formats import Parsed
from convkit.errors import DataError

FORMATS = ("voc", "yolo", "coco")


def read_rgb(path: Path, channels: int = 3) -> np.ndarray:
    """Decode an image file to (H, W, C) uint8 RGB (or (H, W, 1) grey); DataError if unreadable.

    Through ``read_image``: regular files only, size and pixel limits, the
    decoder's own view of the size (no decompression bombs).
    """
    from convkit.data.decode import read_image

    return read_image(path, channels=channels)


class DetectionDataset:
    """Annotated images; bad files are listed in ``skipped``, never raised mid-epoch."""

    def __init__(self, parsed: Parsed, root: Path, channels: int = 3):
        self.root = root
        self.format = parsed.format
        self.classes = parsed.classes
        self.annotations: list[Annotation] = parsed.annotations
        self.skipped: list[tuple[str, str]] = list(parsed.skipped)
        self.notes = [note for a in parsed.annotations for note in a.notes]
        self.channels = channels

    def __len__(self) -> int:
        return len(self.annotations)

    @property
    def targets(self) -> np.ndarray:
        """One label per image for stratified splits: its most common class, or -1 (background)."""
        return np.array(
            [
                int(np.bincount(a.labels).argmax()) if a.labels.size else -1
                for a in self.annotations
            ],
            np.int64,
        )

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(image (H, W, C) uint8, boxes (M, 4) float32 pixels, labels (M,) int64)."""
        annotation = self.annotations[index]
        image = read_rgb(annotation.image, self.channels)
        height, width = image.shape[:2]
        boxes, labels = fit_to_image(annotation.in_pixels(width, height), annotation.labels,
                                     width, height)  # fmt: skip
        return image, boxes, labels

    def image_boxes(self, index: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        """(boxes (M, 4) pixels, labels (M,), image (width, height)) without decoding, if it can."""
        from convkit.data.decode import image_size  # the header, or a decode

        annotation = self.annotations[index]
        if annotation.labels.size == 0:  # nothing to measure: no need to read its size
            return annotation.boxes, annotation.labels, annotation.size or (0, 0)
        width, height = annotation.size or image_size(annotation.image)
        return annotation.in_pixels(width, height), annotation.labels, (width, height)

    def make_batches(self, indices, preprocessing, augment=None, **options):
        from convkit.detect.batches import DetectBatchSource

        return DetectBatchSource(self, indices, preprocessing, augment, **options)

    def class_counts(self) -> dict[str, int]:
        per_class = np.zeros(len(self.classes), np.int64)
        for a in self.annotations:
            per_class += np.bincount(a.labels, minlength=len(self.classes))
        return dict(zip(self.classes, per_class.tolist(), strict=True))

    def scan(
        self, strict: bool = False, progress: bool = True, workers: int | None = None
    ) -> DetectScan:
        """Decode every image once (threads); drop the unreadable ones and report them.

        Afterwards ``annotations`` holds only usable images, so splits and
        batches never meet a known-bad file. ``strict=True`` raises instead.
        """
        reasons = check_in_threads(
            lambda annotation: read_rgb(annotation.image, self.channels),
            self.annotations,
            workers,
            progress,
        )
        unreadable = [
            (str(a.image), r) for a, r in zip(self.annotations, reasons, strict=True) if r
        ]
        if strict and (unreadable or self.skipped):
            bad = self.skipped + unreadable
            listed = "; ".join(f"{path}: {reason}" for path, reason in bad[:5])
            raise DataError(f"{len(bad)} unusable files with strict data checking: {listed}")
        self.annotations = [a for a, r in zip(self.annotations, reasons, strict=True) if r is None]
        self.skipped += unreadable
        if not self.annotations:
            raise DataError(
                f"{self.root}: no readable images ({unreadable[0][1] if unreadable else 'none found'})"
            )
        return DetectScan(
            self.format,
            len(self),
            sum(1 for a in self.annotations if a.labels.size == 0),
            list(self.classes),
            self.class_counts(),
            list(self.skipped),
            list(self.notes),
        )


@dataclass
class DetectScan:
    """What a scan found: images, boxes per class, files left out and boxes repaired."""

    format: str
    num_images: int
    background_images: int
    classes: list[str]
    class_counts: dict[str, int]
    bad: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    notes: list[str] = field(default_factory=list)  # boxes clipped or dropped
    bad_indices: list[int] = field(default_factory=list)  # always empty: bad images are removed

    def __str__(self) -> str:
        lines = [
            f"Found {self.num_images} images ({self.format}, {self.background_images} without objects), "
            f"{sum(self.class_counts.values())} boxes in {len(self.classes)} classes"
        ]
        width = max((len(name) for name in self.classes), default=0)
        lines += [f"  {name:<{width}}  {self.class_counts[name]}" for name in self.classes]
        if self.notes:
            lines.append(f"Repaired boxes in {len(self.notes)} files:")
            lines += [f"  {note}" for note in self.notes[:10]]
        if self.bad:
            lines.append(f"Skipped {len(self.bad)} unusable files:")
            lines += [f"  {path}: {reason}" for path, reason in self.bad[:20]]
            if len(self.bad) > 20:
                lines.append(f"  ... and {len(self.bad) - 20} more")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "format": self.format,
            "num_images": self.num_images,
            "background_images": self.background_images,
            "classes": self.classes,
            "class_counts": self.class_counts,
            "bad": [list(b) for b in self.bad],
            "notes": self.notes,
        }


def detect_format(path: Path) -> str:
    """Which annotation format a path holds; DataError listing the layouts if none."""
    from convkit.detect.formats.coco import find_coco_json
    from convkit.detect.formats.voc import looks_like_voc
    from convkit.detect.formats.yolo import looks_like_yolo

    if path.is_file():
        if path.suffix.lower() == ".json":
            return "coco"
        if path.suffix.lower() in (".yaml", ".yml"):
            return "yolo"
        raise DataError(f"{path}: expected a folder, a COCO .json or a YOLO dataset .yaml")
    if not path.is_dir():
        raise DataError(f"{path}: no such file or folder")
    if looks_like_yolo(path):
        return "yolo"
    if looks_like_voc(path):
        return "voc"
    if find_coco_json(path) is not None:
        return "coco"
    raise DataError(
        f"{path}: no annotations found; expected VOC (Annotations/ or annots/ *.xml, or XML beside the images), "
        "YOLO (labels/*.txt + data.yaml or classes.txt) or COCO (annotations.json)"
    )


def open_detection_dataset(
    path: str | Path, format: str | None = None, split: str = "train", channels: int = 3
) -> DetectionDataset:
    """Open annotated images at ``path``; ``format`` is guessed when not given."""
    from convkit.detect.formats.coco import read_coco
    from convkit.detect.formats.voc import read_voc
    from convkit.detect.formats.yolo import read_yolo

    path = Path(path)
    format = format or detect_format(path)
    if format not in FORMATS:
        raise DataError(f"unknown annotation format {format!r}; choose one of {', '.join(FORMATS)}")
    if format == "voc":
        parsed = read_voc(path, split)
    elif format == "yolo":
        parsed = read_yolo(path, split)
    else:
        parsed = read_coco(path)
    if not parsed.annotations:
        reasons = "; ".join(reason for _, reason in parsed.skipped[:3])
        raise DataError(
            f"{path}: no usable annotated images ({format})" + (f": {reasons}" if reasons else "")
        )
    if not parsed.classes:
        raise DataError(
            f"{path}: no object classes found; add classes.txt or annotate some objects"
        )
    return DetectionDataset(parsed, path, channels)
