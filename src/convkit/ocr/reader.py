"""Read text from image files with a trained reader: text and confidence per line.

``TextReader`` is a thin view on ``convkit.inference.InferenceModel``: lines
are batched (padded to the widest of the batch) and the OCR task decodes each
line over its own time steps only, so a short line next to a long one reads
exactly as it would alone — in every front end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from convkit.errors import UsageError
from convkit.ocr.labels import IMAGE_SUFFIXES


class TextReader:
    """A loaded ``.convkit`` reader (a network ending in ``ctc_output``)."""

    def __init__(self, model_path: str | Path, device: str = "cpu", runtime: str = "torch"):
        from convkit.inference import open_model

        self.model = open_model(model_path, device=device, runtime=runtime)
        if self.model.kind != "ocr":
            raise UsageError(
                f"{model_path} is a {self.model.kind} model, not a text reader; "
                "use `convkit predict` for it"
            )
        self.net, self.task = self.model.net, self.model.task
        self.preprocessing = self.model.preprocessing

    def read_arrays(self, arrays: list, beam: int = 1) -> list[dict]:
        """Preprocessed float32 (C, H, W_i) lines -> [{"text", "confidence"}]."""
        prepared = [(array, {"width": int(array.shape[2])}) for array in arrays]
        return self.model.predict_prepared(prepared, beam=beam)

    def read(self, sources: Iterable, beam: int = 1, batch_size: int = 32) -> Iterator[tuple]:
        """Yield ``(source, {"text", "confidence"} or None, error or None)`` per image."""
        yield from self.model.predict_stream(sources, batch_size=batch_size, beam=beam)


def image_files(items: Iterable[str]) -> Iterator[str]:
    """Files as given; folders walked recursively (sorted) for image files."""
    for item in items:
        path = Path(item)
        if path.is_dir():
            from convkit.data.listing import list_input_files  # train's rule: no hidden files

            found = list_input_files(path, IMAGE_SUFFIXES, "an image")[0]
            if not found:
                raise UsageError(f"no images (.png, .jpg, …) in folder {item}")
            yield from (str(p) for p in found)
        elif path.is_file():
            yield str(path)
        else:
            raise UsageError(f"image not found: {item}")
