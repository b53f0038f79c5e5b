"""``pack_dataset``: any dataset convkit opens -> a packed Parquet image dataset.

The bytes are the files' own (a JPEG stays that JPEG; images held as arrays,
such as MNIST's IDX files, are encoded as PNG). Rows are written in a seeded
random order, so that any run of consecutive rows — a row group, a shuffle
window of a few row groups — is a fair sample of the classes: the streaming
reader shuffles within windows, not across the whole dataset.

Row groups are sized for streaming: about ``group_mib`` of encoded bytes (at
least 64, at most 4,096 rows), so one rank holds a few of them at a time
whatever the dataset's size. Writing streams too: one row group in memory.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np

from convkit.data.packed_layout import (
    BOXES_COLUMN,
    CONTENT_COLUMN,
    HEIGHT_COLUMN,
    KINDS,
    LABEL_COLUMN,
    PATH_COLUMN,
    TEXT_COLUMN,
    WIDTH_COLUMN,
    PackedLayout,
    open_filesystem,
    write_labels,
    write_manifest,
)
from convkit.errors import DataError, UsageError

MIN_GROUP_ROWS, MAX_GROUP_ROWS = 64, 4096
GROUPS_PER_FILE = 64


@dataclass
class PackSummary:
    out: str
    kind: str
    rows: int
    files: int
    row_groups: int
    bytes: int
    classes: list[str]
    skipped: list[tuple[str, str]]

    def __str__(self) -> str:
        line = (
            f"packed {self.rows} images ({self.kind}, {len(self.classes)} classes, "
            f"{self.bytes / 2**20:.1f} MiB) into {self.files} files, {self.row_groups} row groups "
            f"-> {self.out}"
        )
        if self.skipped:
            line += f"; {len(self.skipped)} unreadable files left out, e.g. {self.skipped[0][0]}"
        return line


def pack_dataset(
    source: str | os.PathLike,
    out: str,
    kind: str = "classify",
    *,
    seed: int = 0,
    group_mib: float = 16.0,
    channels: int = 3,
    split: str = "train",
    progress: bool = True,
) -> PackSummary:
    """Write ``source`` (a class folder, CSV, IDX, VOC/YOLO/COCO, or text lines) to ``out``.

    ``split`` picks the part of a source that has several (MNIST's t10k files,
    a test/ folder, VOC's test.txt): pack each split to its own ``out``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if kind not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)}. Received: {kind!r}")
    if group_mib <= 0:
        raise UsageError(f"--group-mib must be positive. Received: {group_mib}")
    rows, classes, skipped = _source_rows(str(source), kind, channels, split)
    if not len(rows):
        raise DataError(f"{source}: nothing to pack")
    order = np.random.default_rng(seed).permutation(len(rows))
    schema = _schema(kind)

    filesystem, base = open_filesystem(out)
    filesystem.create_dir(base, recursive=True)
    layout = PackedLayout(
        root=str(out), kind=kind, classes=classes, files=[], group_rows=[], group_bytes=[],
        extra={"source": str(source), "seed": seed}, filesystem=filesystem, base=base,
    )  # fmt: skip
    writer, group, group_bytes, target_bytes = None, [], 0, group_mib * 2**20
    total_bytes, done = 0, 0
    class_index = {name: k for k, name in enumerate(classes)}
    label_indices = []  # every row's class, in row order: the labels file (classify)

    def flush():
        nonlocal writer, group, group_bytes
        if not group:
            return
        if writer is None or len(layout.group_rows[-1]) >= GROUPS_PER_FILE:
            if writer is not None:
                writer.close()
            name = f"part-{len(layout.files):05d}.parquet"
            layout.files.append(name)
            layout.group_rows.append([])
            layout.group_bytes.append([])
            sink = filesystem.open_output_stream(f"{base.rstrip('/')}/{name}")
            writer = pq.ParquetWriter(sink, schema, compression="none")
        columns = {name: [row[name] for row in group] for name in schema.names}
        table = pa.table(columns, schema=schema)
        writer.write_table(table, row_group_size=len(group))
        layout.group_rows[-1].append(len(group))
        layout.group_bytes[-1].append(int(group_bytes))
        group, group_bytes = [], 0

    try:
        for position in order:
            row = rows[position]()
            if row is None:
                continue
            group.append(row)
            if kind == "classify":
                label_indices.append(class_index[row[LABEL_COLUMN]])
            group_bytes += len(row[CONTENT_COLUMN])
            total_bytes += len(row[CONTENT_COLUMN])
            full = group_bytes >= target_bytes and len(group) >= MIN_GROUP_ROWS
            if full or len(group) >= MAX_GROUP_ROWS:
                flush()
            done += 1
            if progress and done % 5000 == 0:
                print(f"packed {done}/{len(rows)}", file=sys.stderr, flush=True)
        flush()
    finally:
        if writer is not None:
            writer.close()
    skipped.extend(getattr(rows, "skipped", []))
    layout.extra["rows"] = layout.num_rows
    if kind == "classify":
        # One small file, so that a rank learns every row's label with one read
        # instead of opening every part (980 opens at 10 M images on S3).
        write_labels(layout, np.asarray(label_indices, dtype=np.int32))
    write_manifest(layout)  # last: a pack without its manifest is not a dataset
    return PackSummary(
        str(out), kind, layout.num_rows, len(layout.files), len(layout.rows_per_group),
        total_bytes, classes, skipped,
    )  # fmt: skip


def _schema(kind: str):
    import pyarrow as pa

    fields = [
        pa.field(PATH_COLUMN, pa.string()),
        pa.field(CONTENT_COLUMN, pa.binary()),
        pa.field(LABEL_COLUMN, pa.string()),
    ]
    if kind == "detect":
        box = pa.struct(
            [("label", pa.string())] + [(name, pa.float32()) for name in ("x1", "y1", "x2", "y2")]
        )
        fields.append(pa.field(BOXES_COLUMN, pa.list_(box)))
    if kind == "ocr":
        fields.append(pa.field(TEXT_COLUMN, pa.string()))
    if kind in ("detect", "ocr"):
        fields += [pa.field(WIDTH_COLUMN, pa.int32()), pa.field(HEIGHT_COLUMN, pa.int32())]
    return pa.schema(fields)


class _RowMakers(list):
    """Callables that each produce one row dict (or None for an unreadable file)."""

    skipped: list[tuple[str, str]]


def _source_rows(source: str, kind: str, channels: int, split: str):
    """(row makers, class names, files the source reader already left out)."""
    from pathlib import Path

    makers = _RowMakers()
    makers.skipped = []
    if kind == "classify":
        from convkit.data import open_image_dataset

        dataset = open_image_dataset(source, split=split, options={"channels": channels})
        classes = list(dataset.classes)
        paths = getattr(dataset, "paths", None)
        for index in range(len(dataset)):
            label = classes[int(dataset.targets[index])]
            if paths is not None:
                makers.append(_file_row(paths[index], label, makers.skipped, root=source))
            else:
                makers.append(_array_row(dataset, index, label))
        return makers, classes, list(getattr(dataset, "excluded", []) or [])
    if kind == "detect":
        from convkit.detect.dataset import open_detection_dataset

        dataset = open_detection_dataset(source, split=split, channels=channels)
        classes = list(dataset.classes)
        for annotation in dataset.annotations:
            makers.append(_detect_row(annotation, classes, makers.skipped, Path(source)))
        return makers, classes, list(dataset.skipped)
    from convkit.ocr.dataset import TextLineDataset

    if (Path(source) / split).is_dir():  # lines/train, lines/test, as the OCR task reads them
        source = str(Path(source) / split)
    dataset = TextLineDataset.open(source, channels=1)
    for path, text in zip(dataset.paths, dataset.texts, strict=True):
        makers.append(_file_row(str(path), None, makers.skipped, root=source, text=text))
    return makers, [], []


def _read_bytes(path: str, skipped: list) -> bytes | None:
    """The file's bytes, or None (and a line in ``skipped``) when it is no image at all.

    Only the header is checked (fast: packing 10 M files must not decode them
    all on one machine); rows that do not decode are found by the scan, which
    runs once per training run, as a Spark job on a cluster.
    """
    from convkit.data.image_header import read_header

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        skipped.append((path, error.strerror or str(error)))
        return None
    if read_header(data) is None:
        skipped.append((path, "not an image file (unknown format)"))
        return None
    return data


def _image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the header (or a decode); (0, 0) marks "unknown": the scan reports it."""
    from convkit.data.decode import image_size

    try:
        return image_size(data)
    except DataError:
        return 0, 0


def _relative(path: str, root: str) -> str:
    try:
        return os.path.relpath(path, root) if os.path.isdir(root) else path
    except ValueError:
        return path


def _file_row(path: str, label, skipped, root: str, text: str | None = None):
    def make():
        data = _read_bytes(path, skipped)
        if data is None:
            return None
        row = {PATH_COLUMN: _relative(path, root), CONTENT_COLUMN: data, LABEL_COLUMN: label}
        if text is not None:
            row[TEXT_COLUMN] = text
            row[WIDTH_COLUMN], row[HEIGHT_COLUMN] = _image_size(data)
        return row

    return make


def _array_row(dataset, index: int, label: str):
    def make():
        import cv2

        image, _ = dataset.load(index)  # (H, W, C) uint8
        if image.shape[2] == 3:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)  # imencode expects BGR
        ok, encoded = cv2.imencode(".png", image)
        if not ok:
            raise DataError(f"{dataset.describe(index)}: cannot encode as PNG")
        return {
            PATH_COLUMN: dataset.describe(index),
            CONTENT_COLUMN: encoded.tobytes(),
            LABEL_COLUMN: label,
        }

    return make


def _detect_row(annotation, classes: list[str], skipped, root):
    def make():
        data = _read_bytes(str(annotation.image), skipped)
        if data is None:
            return None
        width, height = _image_size(data)
        boxes = annotation.in_pixels(width, height)
        return {
            PATH_COLUMN: _relative(str(annotation.image), str(root)),
            CONTENT_COLUMN: data,
            LABEL_COLUMN: None,
            BOXES_COLUMN: [
                {
                    "label": classes[int(label)],
                    "x1": float(b[0]),
                    "y1": float(b[1]),
                    "x2": float(b[2]),
                    "y2": float(b[3]),
                }
                for b, label in zip(boxes, annotation.labels, strict=True)
            ],  # fmt: skip
            WIDTH_COLUMN: int(width),
            HEIGHT_COLUMN: int(height),
        }

    return make
