"""The Dataset protocol and its two shapes: images in memory, images in files.

Every source (IDX, class folders, CSV, scikit-learn digits) is one of these:

- ``ArrayDataset`` keeps all images as one uint8 array (N, H, W, C): the fast
  path, batched by indexing a tensor.
- ``FileDataset`` keeps paths and decodes on ``load(i)`` with OpenCV; ``scan()``
  decodes each file once and drops the ones that cannot be used.

What a consumer may rely on: ``classes``, ``targets`` (int array), ``len``,
``load(i) -> (image uint8 HWC, target)``, ``describe(i)``, ``scan()``.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convkit.data.decode import read_image
from convkit.errors import DataError


def check_in_threads(check, items: list, workers: int = 0, progress: bool = True) -> list:
    """``check(item)`` for every item, in threads: the DataError's message, or None, per item.

    The scan of a dataset before training: OpenCV's decode releases the GIL,
    so threads decode in parallel; ``workers=0`` takes twice the cores, at most 8.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    def reason(item) -> str | None:
        try:
            check(item)
        except DataError as error:
            return str(error)
        return None

    threads = workers or min(8, (os.cpu_count() or 1) * 2)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        found = pool.map(reason, items)
        bar = tqdm(
            found, total=len(items), desc="scan", unit="img", disable=not progress, leave=False
        )
        return list(bar)


@dataclass
class ScanReport:
    """What a scan found: usable images per class and the files left out."""

    num_images: int
    classes: list[str]
    class_counts: dict[str, int]
    bad: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    @property
    def headline(self) -> str:
        return f"Found {self.num_images} images in {len(self.classes)} classes"

    def lines(self, max_bad: int = 20) -> list[str]:
        out = [self.headline]
        width = max((len(name) for name in self.classes), default=0)
        for name in self.classes:
            out.append(f"  {name:<{width}}  {self.class_counts.get(name, 0)}")
        if self.bad:
            out.append(f"Skipped {len(self.bad)} unusable files:")
            for path, reason in self.bad[:max_bad]:
                out.append(f"  {path}: {reason}")
            if len(self.bad) > max_bad:
                out.append(f"  ... and {len(self.bad) - max_bad} more")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> dict:
        return {
            "num_images": self.num_images,
            "classes": list(self.classes),
            "class_counts": dict(self.class_counts),
            "bad": [list(item) for item in self.bad],
        }


class ImageDataset(ABC):
    """Shared behaviour of every image source."""

    classes: list[str]
    targets: np.ndarray  # (N,) int64 class indices
    channels: int  # 1 or 3: the depth load() returns
    strict: bool = False  # scan() default: fail on unusable files instead of skipping

    def __len__(self) -> int:
        return len(self.targets)

    @abstractmethod
    def load(self, index: int) -> tuple[np.ndarray, int]:
        """Implemented by every subclass."""

    @abstractmethod
    def describe(self, index: int) -> str:
        """Implemented by every subclass."""

    @abstractmethod
    def scan(self, strict: bool | None = None, progress: bool = True) -> ScanReport:
        """Implemented by every subclass."""

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.targets, minlength=len(self.classes))
        return {name: int(counts[k]) for k, name in enumerate(self.classes)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} images, {len(self.classes)} classes)"


class ArrayDataset(ImageDataset):
    """Images held in memory as one uint8 array (N, H, W, C)."""

    def __init__(self, images: np.ndarray, targets, classes: list[str], name: str = "array"):
        images = np.asarray(images)
        if images.ndim == 3:  # (N, H, W) grey
            images = images[:, :, :, None]
        if images.ndim != 4 or images.dtype != np.uint8:
            raise DataError(
                f"{name}: images must be uint8 (N, H, W, C). "
                f"Received: dtype={images.dtype}, shape={images.shape}"
            )
        targets = np.asarray(targets, dtype=np.int64)
        if len(targets) != len(images):
            raise DataError(f"{name}: {len(images)} images but {len(targets)} labels")
        if len(targets) and (targets.min() < 0 or targets.max() >= len(classes)):
            raise DataError(f"{name}: labels must lie in 0..{len(classes) - 1}")
        self.images = np.ascontiguousarray(images)  # (N, H, W, C) uint8
        self.targets = targets
        self.classes = list(classes)
        self.channels = int(images.shape[3])
        self.name = name

    def load(self, index: int) -> tuple[np.ndarray, int]:
        return self.images[index], int(self.targets[index])

    def describe(self, index: int) -> str:
        return f"{self.name} #{index}"

    def scan(self, strict: bool | None = None, progress: bool = True) -> ScanReport:
        # Arrays were validated when built: nothing can be unreadable.
        return ScanReport(len(self), list(self.classes), self.class_counts())


class FileDataset(ImageDataset):
    """Images in files, decoded on demand; labels given per file."""

    def __init__(
        self,
        paths: list[str],
        targets,
        classes: list[str],
        channels: int = 3,
        excluded: list[tuple[str, str]] | None = None,
        root: str | os.PathLike | None = None,
    ):
        self.paths = [str(p) for p in paths]
        self.targets = np.asarray(targets, dtype=np.int64)
        self.classes = list(classes)
        self.channels = channels
        self.root = Path(root) if root is not None else None
        # Files left out before any decode (wrong suffix, missing): reported by scan()
        self.excluded = list(excluded or [])
        self.scanned: ScanReport | None = None
        self.strict = False  # open_image_dataset(..., {"strict": True}) sets it

    def load(self, index: int) -> tuple[np.ndarray, int]:
        return read_image(self.paths[index], self.channels), int(self.targets[index])

    def load_for_size(self, index: int, min_side: int) -> tuple[np.ndarray, int]:
        """``load``, allowed to decode a large JPEG at reduced scale (see read_image)."""
        image = read_image(self.paths[index], self.channels, min_side=min_side)
        return image, int(self.targets[index])

    def describe(self, index: int) -> str:
        return self.paths[index]

    def scan(
        self, strict: bool | None = None, progress: bool = True, workers: int | None = None
    ) -> ScanReport:
        """Decode every file once (threads), drop the unusable ones, report.

        After a scan ``paths``/``targets`` hold only usable files, so indices
        taken afterwards (splits, batches) never meet a known-bad file.
        ``strict=True`` raises DataError listing the bad files instead;
        ``None`` takes the ``strict`` the dataset was opened with.
        """

        def check(path: str) -> None:
            try:
                # min_side=1: JPEGs decode at 1/8 scale, which still reads every
                # entropy-coded block (so damage shows) for a fraction of the CPU
                read_image(path, self.channels, min_side=1)
            except DataError as error:
                raise DataError(strip_name(str(error), path)) from None

        results = check_in_threads(check, self.paths, workers, progress)
        bad = list(self.excluded) + [
            (path, reason) for path, reason in zip(self.paths, results, strict=True) if reason
        ]
        keep = np.array([reason is None for reason in results], dtype=bool)
        if strict is None:
            strict = self.strict
        if strict and bad:
            listed = "; ".join(f"{path}: {reason}" for path, reason in bad[:5])
            more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
            raise DataError(f"{len(bad)} unusable files with strict data checking: {listed}{more}")
        self.paths = [p for p, ok in zip(self.paths, keep, strict=True) if ok]
        self.targets = self.targets[keep] if len(keep) else self.targets
        self.excluded = bad
        report = ScanReport(len(self.paths), list(self.classes), self.class_counts(), bad)
        self.scanned = report
        if not self.paths:
            raise DataError(f"no usable images: all {len(bad)} files were unusable ({bad[0][1]})")
        return report


def strip_name(message: str, path: str) -> str:
    """The reason part of a DataError message that starts with the path."""
    prefix = f"{path}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def sort_class_names(names) -> list[str]:
    """Class names in natural order: "2" before "10", then text alphabetically."""

    def key(name: str):
        return (0, int(name), "") if name.isdigit() else (1, 0, name)

    return sorted(set(names), key=key)
