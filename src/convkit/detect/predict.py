"""Run a detector model file on photos: boxes in each photo's own pixels.

``Detector`` is a thin view on ``convkit.inference.InferenceModel`` (the one
engine every front end predicts through): the detect task letterboxes each
photo as training did and maps the boxes back through that letterbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from convkit.detect.annotation import IMAGE_SUFFIXES
from convkit.errors import DataError, UsageError


def list_images(target: str | Path) -> list[Path]:
    """One image file, or every image in a folder (recursively), sorted."""
    path = Path(target)
    if path.is_file():
        return [path]
    if path.is_dir():
        from convkit.data.listing import list_input_files  # train's rule: no hidden files

        found = list_input_files(path, IMAGE_SUFFIXES, "an image")[0]
        if not found:
            raise DataError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        return found
    raise UsageError(f"not found: {path} (give an image file or a folder of images)")


class Detector:
    """Boxes for photos through the shared engine, with this detector's thresholds."""

    def __init__(
        self, model_path, conf: float | None = None, iou: float | None = None,
        device: str = "cpu", runtime: str = "torch",
    ):  # fmt: skip
        from convkit.inference import open_model

        self.model = open_model(model_path, device=device, runtime=runtime)
        if self.model.kind != "detect":
            raise UsageError(
                f"{model_path} is a {self.model.kind} model; `convkit detect` needs a detector "
                "(a spec ending in yolo_output). Use `convkit predict` for it"
            )
        self.net, self.task = self.model.net, self.model.task
        self.preprocessing = self.model.preprocessing
        self.task.check_options(conf, iou)
        self.conf = self.task.conf_threshold if conf is None else conf
        self.iou = self.task.iou_threshold if iou is None else iou

    @property
    def labels(self) -> list[str]:
        return self.task.labels

    def _options(self) -> dict:
        return {"conf_threshold": self.conf, "iou_threshold": self.iou}

    def detect(self, images: list[np.ndarray]) -> list[list[dict]]:
        """Detections for images (H, W, C) uint8 RGB, in each image's pixels, best first."""
        found = self.model.predict(images, batch_size=max(len(images), 1), **self._options())
        return [prediction["boxes"] for prediction in found]

    def detect_files(
        self, paths: list[Path], batch_size: int = 16, progress: bool = False
    ) -> Iterator[tuple[Path, list[dict] | None, str | None]]:
        """Yield ``(path, boxes or None, error or None)``; an unreadable file does not stop the rest."""
        stream = self.model.predict_stream(
            paths, batch_size=batch_size, progress=progress, **self._options()
        )
        for path, prediction, error in stream:
            yield path, (prediction["boxes"] if prediction else None), error
