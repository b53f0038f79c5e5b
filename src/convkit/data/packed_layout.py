"""Where a packed Parquet image dataset lives and how its rows are grouped.

``convkit dataset pack`` writes a folder (local, or any URL pyarrow or fsspec
opens: ``s3://``, ``gs://``, ``hdfs://``, ``abfs://``, ``memory://``…):

    OUT/_convkit_pack.json     the manifest: kind, classes, files and the rows
                               of each row group (so nobody lists or opens
                               every file's footer to plan an epoch)
    OUT/part-00000.parquet     path | content (encoded bytes) | label
    OUT/part-00001.parquet       [| boxes (detection) | text (OCR) | width | height]

Row groups are the unit of streaming: a training rank reads only the row
groups of its shard, a window of them at a time (see ``packed_stream``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from convkit.errors import DataError

MANIFEST_NAME = "_convkit_pack.json"
LABELS_NAME = "_convkit_labels.npy"  # int32 class index of every row, in row order
FORMAT_VERSION = 1
PATH_COLUMN, CONTENT_COLUMN, LABEL_COLUMN = "path", "content", "label"
BOXES_COLUMN, TEXT_COLUMN = "boxes", "text"
# The image's size in pixels (detection and OCR packs): the anchors' k-means and
# the OCR line-width check need it before any image is decoded.
WIDTH_COLUMN, HEIGHT_COLUMN = "width", "height"
KINDS = ("classify", "detect", "ocr")


def is_url(text: str) -> bool:
    return "://" in text and not text.startswith("file://")


def open_filesystem(location: str):
    """(pyarrow FileSystem, path inside it) for a local path or a URL.

    pyarrow's own file systems come first (local, S3, GCS, HDFS); any other
    scheme fsspec knows (abfs, memory, http…) goes through fsspec.
    """
    import pyarrow.fs as pafs

    text = str(location)
    if text.startswith("file://"):
        text = text[len("file://") :]
    if not is_url(text):
        import os

        return pafs.LocalFileSystem(), os.path.abspath(text)
    try:
        return pafs.FileSystem.from_uri(text)
    except ValueError as error:  # pyarrow's ArrowInvalid: a scheme it has no file system for
        if "Unrecognized filesystem type" not in str(error):
            raise DataError(f"{location}: cannot open ({error})") from None
    except OSError as error:
        raise DataError(f"{location}: cannot open ({error})") from None
    try:
        import fsspec
    except ImportError:
        raise DataError(
            f"{location}: pyarrow cannot open this URL and fsspec is not installed"
        ) from None
    try:
        filesystem, path = fsspec.core.url_to_fs(text)
    except (ImportError, ValueError) as error:
        raise DataError(f"{location}: cannot open this URL ({error})") from None
    return pafs.PyFileSystem(pafs.FSSpecHandler(filesystem)), path


@dataclass
class PackedLayout:
    """The manifest of a packed dataset, plus the file system it lives on."""

    root: str  # the location as the user gave it
    kind: str
    classes: list[str]
    files: list[str]  # names relative to the root
    group_rows: list[list[int]]  # rows of each row group, per file
    group_bytes: list[list[int]]  # uncompressed bytes of each row group, per file
    extra: dict = field(default_factory=dict)
    filesystem: object = None
    base: str = ""  # the root's path inside the file system

    # one entry per row group, in file order: (file index, group index in file)
    @property
    def groups(self) -> list[tuple[int, int]]:
        return [(f, g) for f, rows in enumerate(self.group_rows) for g in range(len(rows))]

    @property
    def rows_per_group(self) -> np.ndarray:
        return np.array([n for rows in self.group_rows for n in rows], dtype=np.int64)

    @property
    def bytes_per_group(self) -> np.ndarray:
        return np.array([n for sizes in self.group_bytes for n in sizes], dtype=np.int64)

    @property
    def num_rows(self) -> int:
        return int(self.rows_per_group.sum())

    def file_path(self, file_index: int) -> str:
        return f"{self.base.rstrip('/')}/{self.files[file_index]}"

    def to_dict(self) -> dict:
        return {
            "format": FORMAT_VERSION,
            "kind": self.kind,
            "classes": self.classes,
            "files": self.files,
            "group_rows": self.group_rows,
            "group_bytes": self.group_bytes,
            **self.extra,
        }


def has_manifest(location: str) -> bool:
    """Whether ``location`` is a packed dataset (a folder with the manifest)."""
    try:
        filesystem, base = open_filesystem(location)
        import pyarrow.fs as pafs

        info = filesystem.get_file_info(f"{base.rstrip('/')}/{MANIFEST_NAME}")
        return info.type == pafs.FileType.File
    except Exception:  # an unreachable URL is reported by the reader, with its reason
        return False


def read_layout(location: str) -> PackedLayout:
    """Read the manifest at ``location``; a missing or foreign one is a DataError."""
    filesystem, base = open_filesystem(location)
    manifest = f"{base.rstrip('/')}/{MANIFEST_NAME}"
    try:
        with filesystem.open_input_stream(manifest) as stream:
            document = json.loads(stream.read())
    except FileNotFoundError:
        raise DataError(
            f"{location}: not a packed dataset (no {MANIFEST_NAME}); "
            "make one with `convkit dataset pack FOLDER OUT`"
        ) from None
    except (OSError, ValueError) as error:
        raise DataError(f"{location}: cannot read {MANIFEST_NAME} ({error})") from None
    if document.get("format") != FORMAT_VERSION or document.get("kind") not in KINDS:
        raise DataError(
            f"{location}: {MANIFEST_NAME} is format {document.get('format')!r}, kind "
            f"{document.get('kind')!r}; this convkit reads format {FORMAT_VERSION}"
        )
    known = {"format", "kind", "classes", "files", "group_rows", "group_bytes"}
    return PackedLayout(
        root=str(location),
        kind=document["kind"],
        classes=list(document["classes"]),
        files=list(document["files"]),
        group_rows=[list(map(int, rows)) for rows in document["group_rows"]],
        group_bytes=[list(map(int, sizes)) for sizes in document["group_bytes"]],
        extra={k: v for k, v in document.items() if k not in known},
        filesystem=filesystem,
        base=base,
    )


def write_manifest(layout: PackedLayout) -> None:
    path = f"{layout.base.rstrip('/')}/{MANIFEST_NAME}"
    with layout.filesystem.open_output_stream(path) as stream:
        stream.write(json.dumps(layout.to_dict(), indent=1).encode())


def write_labels(layout: PackedLayout, labels: np.ndarray) -> None:
    import io

    buffer = io.BytesIO()
    np.save(buffer, labels.astype(np.int32), allow_pickle=False)
    with layout.filesystem.open_output_stream(f"{layout.base.rstrip('/')}/{LABELS_NAME}") as out:
        out.write(buffer.getvalue())
    layout.extra["labels_file"] = LABELS_NAME


def read_labels(layout: PackedLayout) -> np.ndarray | None:
    """The labels file's class indices, or None when the pack has none (read the column)."""
    import io

    name = layout.extra.get("labels_file")
    if not name:
        return None
    try:
        with layout.filesystem.open_input_stream(f"{layout.base.rstrip('/')}/{name}") as stream:
            labels = np.load(io.BytesIO(stream.read()), allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataError(f"{layout.root}: cannot read {name} ({error})") from None
    if labels.ndim != 1 or len(labels) != layout.num_rows:
        raise DataError(
            f"{layout.root}: {name} has {labels.size} labels, the manifest {layout.num_rows} rows"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= len(layout.classes)):
        raise DataError(f"{layout.root}: {name} holds class numbers outside the classes")
    return labels.astype(np.int32, copy=False)


def check_schema(schema, location: str, kind: str) -> None:
    """A part file must have the columns its kind needs, with the right types."""
    import pyarrow as pa

    needed = {CONTENT_COLUMN: (pa.types.is_binary, pa.types.is_large_binary)}
    if kind == "classify":
        needed[LABEL_COLUMN] = (pa.types.is_string, pa.types.is_large_string)
    if kind == "ocr":
        needed[TEXT_COLUMN] = (pa.types.is_string, pa.types.is_large_string)
    if kind == "detect":
        needed[BOXES_COLUMN] = (pa.types.is_list, pa.types.is_large_list)
    optional = {}  # checked when present: packs written before they existed lack them
    if kind in ("detect", "ocr"):
        optional = {name: (pa.types.is_integer,) for name in (WIDTH_COLUMN, HEIGHT_COLUMN)}
    for name, checks in {**needed, **optional}.items():
        index = schema.get_field_index(name)
        if index < 0 and name in optional:
            continue
        if index < 0:
            raise DataError(
                f"{location}: wrong schema for a packed {kind} dataset: no {name!r} column "
                f"(columns: {', '.join(schema.names)})"
            )
        if not any(check(schema.field(index).type) for check in checks):
            raise DataError(
                f"{location}: wrong schema for a packed {kind} dataset: column {name!r} is "
                f"{schema.field(index).type}"
            )
