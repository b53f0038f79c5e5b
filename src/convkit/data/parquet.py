"""Training data as a Parquet dataset of encoded images and labels (pyarrow, no Spark).

A Spark job can gather images from anywhere (``binaryFile``, a table, a
stream) into one Parquet dataset with a bytes column and a label column;
``convkit train --data photos.parquet`` (or ``convkit.spark.fit_distributed``)
then trains on it like on a folder. ``convkit.spark.images_to_parquet``
writes one from a class folder.

    path | content (binary: PNG/JPEG/... bytes) | label (string or int)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from convkit.data.dataset import ImageDataset, ScanReport, sort_class_names
from convkit.errors import DataError

CONTENT_COLUMN = "content"
LABEL_COLUMN = "label"


def is_parquet(path: str | os.PathLike) -> bool:
    """A ``.parquet`` file, or a folder of Parquet part files (as Spark writes them)."""
    path = Path(path)
    if path.is_file():
        return path.suffix.lower() == ".parquet"
    return path.is_dir() and any(path.glob("*.parquet"))


class ParquetImageDataset(ImageDataset):
    """Images held as encoded bytes in a Parquet dataset, decoded on ``load(i)``.

    The two columns are read once with pyarrow (bytes stay encoded, so memory
    is about the size of the files); ``scan()`` decodes each row once and
    leaves the unreadable ones out, as a folder scan does.
    """

    def __init__(self, path, channels: int = 3, classes: list[str] | None = None):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise DataError(
                f"{path}: reading Parquet needs pyarrow: pip install 'convkit[spark]'"
            ) from None

        self.path = str(path)
        try:
            table = pq.read_table(self.path, columns=[CONTENT_COLUMN, LABEL_COLUMN])
        except (KeyError, ValueError) as error:  # pyarrow names the missing column
            raise DataError(
                f"{self.path}: a Parquet image dataset needs the columns "
                f"{CONTENT_COLUMN!r} (image bytes) and {LABEL_COLUMN!r} ({error})"
            ) from None
        labels = [
            None if value is None else str(value) for value in table[LABEL_COLUMN].to_pylist()
        ]
        if any(label is None for label in labels):
            raise DataError(f"{self.path}: {labels.count(None)} rows have no label")
        self.classes = list(classes) if classes else sort_class_names(labels)
        index = {name: k for k, name in enumerate(self.classes)}
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise DataError(
                f"{self.path}: labels {', '.join(unknown[:5])} are not among the classes"
            )
        self.targets = np.array([index[label] for label in labels], dtype=np.int64)
        self.rows = np.arange(len(labels))  # Parquet row of each example (scan drops some)
        self._content = table[CONTENT_COLUMN]  # ChunkedArray of binary, zero-copy
        self.channels = channels
        self.strict = False

    def _bytes(self, index: int) -> bytes:
        value = self._content[int(self.rows[index])].as_py()
        if value is None:
            raise DataError(f"{self.describe(index)}: no image bytes")
        return value

    def load(self, index: int) -> tuple[np.ndarray, int]:
        from convkit.data.decode import read_image

        return read_image(self._bytes(index), self.channels), int(self.targets[index])

    def describe(self, index: int) -> str:
        return f"{self.path} row {int(self.rows[index])}"

    def scan(self, strict: bool | None = None, progress: bool = True) -> ScanReport:
        from tqdm import tqdm

        bad, keep = [], np.ones(len(self.targets), dtype=bool)
        for index in tqdm(
            range(len(self.targets)), desc="scan", unit="img", disable=not progress, leave=False
        ):
            try:
                self.load(index)
            except DataError as error:
                bad.append((self.describe(index), str(error).split(": ", 1)[-1]))
                keep[index] = False
        if (self.strict if strict is None else strict) and bad:
            raise DataError(f"{len(bad)} unusable rows with strict data checking: {bad[0][0]}")
        self.rows, self.targets = self.rows[keep], self.targets[keep]
        if not len(self.rows):
            raise DataError(f"{self.path}: no usable images in {len(keep)} rows")
        return ScanReport(len(self.rows), list(self.classes), self.class_counts(), bad)
