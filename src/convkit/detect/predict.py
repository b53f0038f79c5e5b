"""Run a detector model file on photos: boxes in each photo's own pixels.

``Detector`` loads the model once; ``detect(images)`` letterboxes each photo
to the network input exactly as training did, decodes, and maps the boxes
back through the letterbox so that they land on the original pixels.
"""

from __future__ import annotations

import sys
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
        found = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not found:
            raise DataError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        return found
    raise UsageError(f"not found: {path} (give an image file or a folder of images)")


class Detector:
    def __init__(
        self, model_path, conf: float | None = None, iou: float | None = None, device: str = "cpu"
    ):
        from convkit.detect.preprocess import DetectPreprocessing
        from convkit.modelfile import load_model

        loaded = load_model(model_path, device=device)
        if loaded.task.kind != "detect":
            raise UsageError(
                f"{model_path} is a {loaded.task.kind} model; `convkit detect` needs a detector "
                "(a spec ending in yolo_output). Use `convkit predict` for it"
            )
        for name, value in (("--conf", conf), ("--iou", iou)):
            if value is not None and not 0.0 <= value <= 1.0:
                raise UsageError(f"{name} must be in [0, 1]. Received: {value}")
        self.net, self.task = loaded.net, loaded.task
        self.preprocessing = DetectPreprocessing.from_dict(loaded.preprocessing)
        self.conf = self.task.conf_threshold if conf is None else conf
        self.iou = self.task.iou_threshold if iou is None else iou
        self.device = device

    @property
    def labels(self) -> list[str]:
        return self.task.labels

    def detect(self, images: list[np.ndarray]) -> list[list[dict]]:
        """Detections for images (H, W, C) uint8 RGB, in each image's pixels, best first."""
        import torch

        fitted = [self.preprocessing.fit(image) for image in images]
        batch = torch.from_numpy(np.stack([array for array, _, _ in fitted])).to(
            self.device
        )  # (N, C, H, W)
        with torch.inference_mode():
            output = self.net(batch.contiguous(memory_format=torch.channels_last))
        results = []
        for image, (_, _, box_map), (boxes, scores, labels) in zip(
            images, fitted, self.task.detect(output, self.conf, self.iou), strict=True
        ):
            original = box_map.to_original(boxes.cpu().numpy())
            original[:, 0::2] = original[:, 0::2].clip(0, image.shape[1])
            original[:, 1::2] = original[:, 1::2].clip(0, image.shape[0])
            results.append([
                {"label": self.labels[k], "index": k, "confidence": round(s, 4),
                 "box": [round(v, 1) for v in box]}
                for box, s, k in zip(original.tolist(), scores.tolist(), labels.tolist(), strict=True)
            ])  # fmt: skip
        return results

    def detect_files(
        self, paths: list[Path], batch_size: int = 16, progress: bool = False
    ) -> Iterator[tuple[Path, np.ndarray | None, list[dict] | None, str | None]]:
        """Yield ``(path, image, detections, error)``; an unreadable file does not stop the rest."""
        from tqdm import tqdm

        bar = tqdm(
            total=len(paths), desc="detecting", unit="img", file=sys.stderr, disable=not progress
        )
        pending: list[tuple[Path, np.ndarray]] = []

        def flush():
            found = self.detect([image for _, image in pending])
            for (path, image), detections in zip(pending, found, strict=True):
                yield path, image, detections, None
            bar.update(len(pending))
            pending.clear()

        for path in paths:
            try:
                pending.append((path, self.preprocessing.read(path)))
            except DataError as error:
                bar.update(1)
                yield path, None, None, str(error)
            if len(pending) == batch_size:
                yield from flush()
        if pending:
            yield from flush()
        bar.close()
