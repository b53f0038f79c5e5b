"""Read text from image files with a trained reader: text and confidence per line.

Lines are batched (padded to the widest of the batch) and each line is decoded
over its own time steps only, so a short line next to a long one reads exactly
as it would alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from convkit.errors import DataError, UsageError
from convkit.ocr.labels import IMAGE_SUFFIXES


class TextReader:
    """A loaded ``.convkit`` reader (a network ending in ``ctc_output``)."""

    def __init__(self, model_path: str | Path, device: str = "cpu"):
        from convkit.modelfile import load_model
        from convkit.ocr.preprocess import TextLinePreprocessing

        loaded = load_model(model_path, device=device)
        if getattr(loaded.task, "kind", None) != "ocr":
            kind = getattr(loaded.task, "kind", "unknown")
            raise UsageError(
                f"{model_path} is a {kind} model, not a text reader; use `convkit predict` for it"
            )
        self.net = loaded.net
        self.task = loaded.task
        self.preprocessing = TextLinePreprocessing.from_dict(loaded.preprocessing)
        self.device = next(self.net.parameters()).device

    def read_arrays(self, arrays: list, beam: int = 1) -> list[dict]:
        """Preprocessed float32 (C, H, W_i) lines -> [{"text", "confidence"}]."""
        import torch

        from convkit.ocr.decoding import decode_lines
        from convkit.ocr.preprocess import pad_batch

        batch, widths = pad_batch(arrays)  # (N, C, H, W_max)
        with torch.inference_mode():
            logits = self.net(torch.from_numpy(batch).to(self.device)).float().cpu()  # (N, T, K)
        steps = self.task.step_lengths(torch.tensor(widths), logits.shape[1]).tolist()
        results = []
        for line, length in zip(logits, steps, strict=True):
            results += decode_lines(line[None, :length], self.task.alphabet, beam=beam)
        return results

    def read(self, sources: Iterable, beam: int = 1, batch_size: int = 32) -> Iterator[tuple]:
        """Yield ``(source, {"text", "confidence"} or None, error or None)`` per image."""
        pending: list[tuple] = []
        for source in sources:
            try:
                pending.append((source, self.preprocessing.load(source)))
            except DataError as error:
                yield source, None, str(error)
            if len(pending) == batch_size:
                yield from self._flush(pending, beam)
                pending = []
        if pending:
            yield from self._flush(pending, beam)

    def _flush(self, pending, beam):
        results = self.read_arrays([array for _, array in pending], beam=beam)
        for (source, _), result in zip(pending, results, strict=True):
            yield source, result, None


def image_files(items: Iterable[str]) -> Iterator[str]:
    """Files as given; folders walked recursively (sorted) for image files."""
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise UsageError(f"no images (.png, .jpg, …) in folder {item}")
            yield from (str(p) for p in found)
        elif path.is_file():
            yield str(path)
        else:
            raise UsageError(f"image not found: {item}")
