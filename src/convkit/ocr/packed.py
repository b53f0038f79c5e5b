"""A packed text-line dataset (``convkit dataset pack --kind ocr``), streamed like any pack.

Opening reads the manifest and the small columns — every row's text and
image size — and keeps the texts in Arrow memory (no Python string a row);
the image bytes stay in the parts until a rank streams its shard. Rows, the
decode scan and the streaming plan are the classification pack's
(``convkit.data.packed``, ``convkit.data.packed_stream``). The reader's own
checks (alphabet, empty labels, lines too narrow for their text) run on the
texts and packed sizes, as ``TextLineDataset.scan`` runs them on files, so
no image is decoded for them.
"""

from __future__ import annotations

import numpy as np

from convkit.data.packed import PackedDataset
from convkit.data.packed_layout import HEIGHT_COLUMN, TEXT_COLUMN, WIDTH_COLUMN
from convkit.data.packed_stream import StreamingBatches
from convkit.errors import DataError


class _ByItem:
    """A read-only sequence over a per-row store, indexed by dataset item (``rows[i]``)."""

    def __init__(self, dataset, value_of_row):
        self.dataset, self.value_of_row = dataset, value_of_row

    def __len__(self) -> int:
        return len(self.dataset.rows)

    def __getitem__(self, index: int):
        return self.value_of_row(int(self.dataset.rows[int(index)]))

    def __iter__(self):
        return (self.value_of_row(int(row)) for row in self.dataset.rows)


class PackedTextLineDataset(PackedDataset):
    """Text lines in a pack; item i is row ``rows[i]``; ``texts[i]`` is its label."""

    kind = "ocr"

    def __init__(self, location, channels: int = 1):
        super().__init__(location, channels)
        table = self.read_columns([TEXT_COLUMN, WIDTH_COLUMN, HEIGHT_COLUMN])
        self._texts = table[TEXT_COLUMN].combine_chunks()  # pyarrow StringArray, row order
        self._sizes = self.image_sizes_of(table)  # (rows, 2) width, height, or None
        self.reader = None  # ReaderLimits, set by OcrTask.open_data
        self.texts = _ByItem(self, lambda row: self._texts[row].as_py() or "")
        self.paths = _ByItem(self, lambda row: f"{self.location} row {row}")  # names in reports
        self.name = self.location

    def __repr__(self) -> str:
        return f"PackedTextLineDataset({self.location!r}, {len(self)} lines)"

    @property
    def targets(self) -> np.ndarray:
        """Strata for the train/validation split: each line's length (as for files)."""
        import pyarrow.compute as pc

        lengths = pc.utf8_length(self._texts).fill_null(0).to_numpy(zero_copy_only=False)
        return lengths.astype(np.int64)[self.rows]

    @property
    def classes(self) -> list[str]:
        """The characters the labels use (sorted)."""
        import pyarrow.compute as pc

        return sorted(set("".join(pc.unique(self._texts).drop_null().to_pylist())))

    def load(self, index: int) -> tuple[np.ndarray, str]:
        return self.load_image(index), self.texts[index]

    def describe(self, index: int) -> str:
        return f"{super().describe(index)} ({self.texts[index]!r})"

    def image_sizes(self, progress: bool = False) -> list[tuple[int, int] | None]:
        """(width, height) of every line in use, from the pack; None where it is not known."""
        if self._sizes is None:
            raise DataError(
                f"{self.location}: the pack holds no image sizes (packed by an older convkit): "
                "pack the lines again"
            )
        return [(w, h) if w and h else None for w, h in self._sizes[self.rows].tolist()]

    def scan(self, strict: bool = False, progress: bool = True):
        """Drop the rows that do not decode, then check every line against the reader."""
        from convkit.ocr.dataset import scan_lines

        undecodable = self.drop_undecodable(strict, progress)
        report = scan_lines(self, strict, progress)
        if undecodable:
            shown = "; ".join(f"{name}: {reason}" for name, reason in undecodable[:3])
            note = f"{len(undecodable)} undecodable rows left out [{shown}]"
            report.message = f"{note}, {report.message}" if report.message else note
            report.bad = undecodable + report.bad
        return report

    def make_batches(self, indices, preprocessing, alphabet, **options):
        return PackedLineBatches(self, indices, preprocessing, alphabet, **options)


class PackedLineBatches(StreamingBatches):
    """A rank's stream of a packed text-line dataset: ``(x (N, C, H, W_max), TextTargets)``."""

    def __init__(self, dataset, indices, preprocessing, alphabet, **options):
        options.pop("cache", None)  # a stream holds no decoded lines between epochs
        super().__init__(dataset, indices, preprocessing, None, **options)
        self.alphabet = alphabet

    def assemble(self, epoch: int, positions: np.ndarray, images: list[np.ndarray]):
        from convkit.ocr.batching import line_batch

        texts = [self.dataset.texts[int(i)] for i in self.indices[positions]]
        prepared = [self.preprocessing.prepare(image) for image in images]
        return line_batch(prepared, texts, self.preprocessing, self.alphabet)
