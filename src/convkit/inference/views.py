"""Task-shaped views on the one engine: ``Detector`` (boxes) and ``TextReader`` (text lines).

Each is a thin wrapper over ``InferenceModel``: it checks that the model file
is of its kind and names the calls in the task's words. They live here, above
the task packages, because a task package never imports the engine.

- ``Detector``: the detect task letterboxes each photo as training did and maps
  the boxes back through that letterbox, into each photo's own pixels.
- ``TextReader``: lines are batched (padded to the widest of the batch) and the
  OCR task decodes each line over its own time steps only, so a short line next
  to a long one reads exactly as it would alone — in every front end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from convkit.errors import UsageError
from convkit.inference.engine import open_model


class _TaskView:
    """The engine on one model file of ``kind``; any other kind is refused with ``refusal``."""

    kind = ""
    refusal = ""  # the end of the message: "{path} is a {kind} model" + refusal

    def __init__(self, model_path, device: str, runtime: str):
        self.model = open_model(model_path, device=device, runtime=runtime)
        if self.model.kind != self.kind:
            raise UsageError(f"{model_path} is a {self.model.kind} model{self.refusal}")
        self.net, self.task = self.model.net, self.model.task
        self.preprocessing = self.model.preprocessing


class Detector(_TaskView):
    """Boxes for photos through the shared engine, with this detector's thresholds."""

    kind = "detect"
    refusal = (
        "; `convkit detect` needs a detector (a spec ending in yolo_output). "
        "Use `convkit predict` for it"
    )

    def __init__(
        self,
        model_path,
        conf: float | None = None,
        iou: float | None = None,
        device: str = "cpu",
        runtime: str = "torch",
    ):
        super().__init__(model_path, device, runtime)
        self.task.check_options(conf, iou)
        self.conf = self.task.conf_threshold if conf is None else conf
        self.iou = self.task.iou_threshold if iou is None else iou

    @property
    def labels(self) -> list[str]:
        return self.task.labels

    def _options(self) -> dict:
        return {"conf_threshold": self.conf, "iou_threshold": self.iou}

    def detect(self, images: list) -> list[list[dict]]:
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


class TextReader(_TaskView):
    """A loaded ``.convkit`` reader (a network ending in ``ctc_output``)."""

    kind = "ocr"
    refusal = ", not a text reader; use `convkit predict` for it"

    def __init__(self, model_path: str | Path, device: str = "cpu", runtime: str = "torch"):
        super().__init__(model_path, device, runtime)

    def read_arrays(self, arrays: list, beam: int = 1) -> list[dict]:
        """Preprocessed float32 (C, H, W_i) lines -> [{"text", "confidence"}]."""
        prepared = [(array, {"width": int(array.shape[2])}) for array in arrays]
        return self.model.predict_prepared(prepared, beam=beam)

    def read(self, sources: Iterable, beam: int = 1, batch_size: int = 32) -> Iterator[tuple]:
        """Yield ``(source, {"text", "confidence"} or None, error or None)`` per image."""
        yield from self.model.predict_stream(sources, batch_size=batch_size, beam=beam)
