"""Packed Parquet datasets, opened without reading their images.

``PackedDataset`` is what every kind shares: the manifest, the rows still in
use, reading a row group's bytes, and the decode scan. Opening reads the
manifest and the small columns (labels here; boxes or texts for the
detection and OCR packs, in ``convkit.detect.packed`` and
``convkit.ocr.packed``); the image bytes stay where they are until a training
rank streams its shard (``packed_stream.StreamingBatches``). The scan for
undecodable rows runs once: ``fit_distributed`` runs it as a Spark job and
hands every rank the result (``remember_scan``); a single process scans
itself, one row group at a time. ``PackedImageDataset`` is the classification
kind.
"""

from __future__ import annotations

import os

import numpy as np

from convkit.data.dataset import ImageDataset, ScanReport
from convkit.data.packed_layout import (
    CONTENT_COLUMN,
    HEIGHT_COLUMN,
    LABEL_COLUMN,
    WIDTH_COLUMN,
    check_schema,
    read_labels,
    read_layout,
)
from convkit.errors import DataError

# location -> [(global row, reason)], set by fit_on_rank from the Spark scan.
_KNOWN_SCANS: dict[str, list[tuple[int, str]]] = {}


def remember_scan(location: str, bad_rows: list[tuple[int, str]]) -> None:
    """Make ``scan()`` of the dataset at ``location`` use this result instead of decoding."""
    _KNOWN_SCANS[str(location)] = [(int(row), str(reason)) for row, reason in bad_rows]


def forget_scan(location: str) -> None:
    _KNOWN_SCANS.pop(str(location), None)


class PackedDataset:
    """What every packed dataset shares, whatever its rows hold besides the image bytes.

    ``rows`` are the global row numbers still in use (the decode scan drops
    the bad ones); index ``i`` of the dataset is row ``rows[i]``. Subclasses
    say what a row's target is (a class, boxes, a text) and how to batch them.
    """

    kind = "classify"  # the manifest kind this class trains from

    def __init__(self, location: str | os.PathLike, channels: int = 3):
        self.location = str(location)
        self.layout = read_layout(self.location)
        if self.layout.kind != self.kind:
            raise DataError(
                f"{self.location}: a packed {self.layout.kind} dataset, but this network is for "
                f"{self.kind}: pack the data with `--kind {self.kind}`, or train a network for "
                f"{self.layout.kind} on it"
            )
        self.channels = channels
        self.strict = False
        self.rows = np.arange(self.layout.num_rows, dtype=np.int64)
        self._cached_group: tuple[int, object] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    # -- opening ---------------------------------------------------------------
    def open_file(self, file_index: int):
        """A pyarrow ParquetFile of part ``file_index`` (its schema checked)."""
        return open_part(self.layout, file_index)

    @staticmethod
    def image_sizes_of(table):
        """(rows, 2) int64 width, height from a table read with the size columns, or None
        (packs written before the sizes were recorded lack them)."""
        if WIDTH_COLUMN not in table.column_names or HEIGHT_COLUMN not in table.column_names:
            return None
        columns = [
            table[name].to_numpy(zero_copy_only=False) for name in (WIDTH_COLUMN, HEIGHT_COLUMN)
        ]
        return np.stack(columns, axis=1).astype(np.int64)

    def read_columns(self, names: list[str]):
        """The columns ``names`` of every part, in row order (a pyarrow Table; no image bytes).

        A column the first part lacks is left out of the result (optional columns).
        """
        import pyarrow as pa

        tables = []
        for file_index, group_rows in enumerate(self.layout.group_rows):
            handle = self.open_file(file_index)
            present = [name for name in names if name in handle.schema_arrow.names]
            if tables and present != tables[0].column_names:
                raise DataError(f"{self.location}: {self.layout.files[file_index]} has columns "
                                f"{', '.join(present)}, the first part {', '.join(tables[0].column_names)}")  # fmt: skip
            table = handle.read(columns=present)
            if table.num_rows != sum(group_rows):
                raise DataError(f"{self.location}: {self.layout.files[file_index]} has "
                                f"{table.num_rows} rows, the manifest says {sum(group_rows)}")  # fmt: skip
            tables.append(table)
        if not tables:
            return pa.table({})
        try:
            return pa.concat_tables(tables).combine_chunks()
        except pa.ArrowInvalid as error:  # the parts' column types differ
            raise DataError(
                f"{self.location}: the parts disagree on column types ({error})"
            ) from None

    # -- rows ------------------------------------------------------------------
    def group_of_row(self, row: int) -> tuple[int, int, int]:
        """(file index, group index in file, first row of that group) of a global row."""
        starts = np.concatenate([[0], np.cumsum(self.layout.rows_per_group)])
        group = int(np.searchsorted(starts, row, side="right") - 1)
        file_index, group_in_file = self.layout.groups[group]
        return file_index, group_in_file, int(starts[group])

    def read_group(self, file_index: int, group_in_file: int, handle=None):
        """The content column of one row group (a pyarrow BinaryArray)."""
        return read_contents(handle or self.open_file(file_index), group_in_file)

    def row_bytes(self, row: int) -> bytes:
        file_index, group_in_file, first = self.group_of_row(row)
        key = (file_index, group_in_file)
        if self._cached_group is None or self._cached_group[0] != key:
            self._cached_group = (key, self.read_group(file_index, group_in_file))
        value = self._cached_group[1][row - first].as_py()
        if value is None:
            raise DataError(f"{self.location} row {row}: no image bytes")
        return value

    def load_image(self, index: int) -> np.ndarray:
        """The decoded image (H, W, C) uint8 of dataset item ``index`` (reads its row group)."""
        from convkit.data.decode import read_image

        return read_image(self.row_bytes(int(self.rows[index])), self.channels)

    def describe(self, index: int) -> str:
        return f"{self.location} row {int(self.rows[index])}"

    # -- the decode scan -------------------------------------------------------
    def drop_undecodable(self, strict: bool | None, progress: bool) -> list[tuple[str, str]]:
        """Drop the rows whose bytes do not decode; (name, reason) of each.

        The result of the Spark scan job when one ran (``remember_scan``),
        else this process decodes every row once, a row group at a time.
        """
        known = _KNOWN_SCANS.get(self.location)
        bad_rows = known if known is not None else scan_rows(self, progress=progress)
        bad = [(f"{self.location} row {row}", reason) for row, reason in bad_rows]
        if (self.strict if strict is None else strict) and bad:
            raise DataError(f"{len(bad)} unusable rows with strict data checking: {bad[0][0]}")
        # numpy, not a dict of rows: 10 M rows must not cost a Python object each.
        keep = ~np.isin(self.rows, np.array([row for row, _ in bad_rows], dtype=np.int64))
        self.keep(keep)
        if not len(self.rows):
            raise DataError(f"{self.location}: no usable images in {len(keep)} rows")
        return bad

    def keep(self, mask: np.ndarray) -> None:
        """Keep the items where ``mask`` is true (subclasses filter their per-item arrays too)."""
        self.rows = self.rows[mask]


class PackedImageDataset(PackedDataset, ImageDataset):
    """A classification dataset written by ``convkit dataset pack``; index i -> row ``rows[i]``."""

    kind = "classify"

    def __init__(self, location: str | os.PathLike, channels: int = 3, classes=None):
        super().__init__(location, channels)
        self.classes = list(classes) if classes else list(self.layout.classes)
        self.targets = self._read_targets()

    def _read_targets(self) -> np.ndarray:
        """Class index of every row: the pack's labels file, else the label column of each part."""
        import pyarrow as pa
        import pyarrow.compute as pc

        stored = read_labels(self.layout)
        if stored is not None and list(self.classes) == list(self.layout.classes):
            self.open_file(0)  # the first part's schema, at least, is checked up front
            return stored

        parts = []
        for file_index, group_rows in enumerate(self.layout.group_rows):
            labels = self.open_file(file_index).read(columns=[LABEL_COLUMN])[LABEL_COLUMN]
            if labels.null_count:
                raise DataError(f"{self.location}: {labels.null_count} rows have no label")
            if len(labels) != sum(group_rows):
                raise DataError(f"{self.location}: {self.layout.files[file_index]} has "
                                f"{len(labels)} rows, the manifest says {sum(group_rows)}")  # fmt: skip
            found = pc.index_in(labels, value_set=pa.array(self.classes))
            if found.null_count:
                unknown = pc.unique(pc.filter(labels, pc.is_null(found))).to_pylist()
                raise DataError(f"{self.location}: labels {', '.join(map(str, unknown[:5]))} "
                                "are not among the classes")  # fmt: skip
            parts.append(found.to_numpy(zero_copy_only=False).astype(np.int32))
        return np.concatenate(parts) if parts else np.zeros(0, np.int32)

    def keep(self, mask: np.ndarray) -> None:
        self.rows, self.targets = self.rows[mask], self.targets[mask]

    # -- ImageDataset ----------------------------------------------------------
    def load(self, index: int) -> tuple[np.ndarray, int]:
        return self.load_image(index), int(self.targets[index])

    def scan(self, strict: bool | None = None, progress: bool = True) -> ScanReport:
        bad = self.drop_undecodable(strict, progress)
        return ScanReport(len(self.rows), list(self.classes), self.class_counts(), bad)

    def make_batches(self, indices, preprocessing, augment=None, **options):
        from convkit.data.packed_stream import StreamingBatches

        return StreamingBatches(self, indices, preprocessing, augment, **options)


def open_part(layout, file_index: int):
    """A pyarrow ParquetFile of part ``file_index`` of ``layout``, its schema checked."""
    import pyarrow.parquet as pq

    name = f"{layout.root.rstrip('/')}/{layout.files[file_index]}"
    try:
        handle = pq.ParquetFile(layout.filesystem.open_input_file(layout.file_path(file_index)))
    except (OSError, ValueError) as error:  # a missing part, or not Parquet at all
        raise DataError(f"{name}: cannot read this part of the packed dataset ({error})") from None
    check_schema(handle.schema_arrow, name, layout.kind)
    return handle


def read_contents(handle, group_in_file: int):
    """The content column of one row group of an open part (a pyarrow BinaryArray)."""
    table = handle.read_row_group(group_in_file, columns=[CONTENT_COLUMN])
    return table[CONTENT_COLUMN].combine_chunks()


def decode_problems(contents, channels: int, first_row: int) -> list[tuple[int, str]]:
    """(row, reason) of each value of a content array that does not decode."""
    from convkit.data.decode import read_image

    bad = []
    for offset, value in enumerate(contents):
        data = value.as_py()
        if data is None:
            bad.append((first_row + offset, "no image bytes"))
            continue
        try:
            read_image(data, channels)
        except DataError as error:
            bad.append((first_row + offset, str(error).split(": ", 1)[-1]))
    return bad


def scan_rows(dataset: PackedDataset, progress: bool = True) -> list[tuple[int, str]]:
    """Decode every row once, a row group at a time (memory: one group)."""
    from tqdm import tqdm

    bad, first = [], 0
    groups = dataset.layout.groups
    rows = dataset.layout.rows_per_group
    handles: dict[int, object] = {}
    for (file_index, group_in_file), count in tqdm(
        list(zip(groups, rows, strict=True)), desc="scan", unit="group",
        disable=not progress, leave=False,
    ):  # fmt: skip
        if file_index not in handles:
            handles = {file_index: dataset.open_file(file_index)}  # one open file at a time
        contents = dataset.read_group(file_index, group_in_file, handles[file_index])
        bad.extend(decode_problems(contents, dataset.channels, first))
        first += int(count)
    return bad
