"""A packed detection dataset (``convkit dataset pack --kind detect``), streamed like any pack.

Opening reads the manifest and the small columns — every row's boxes and
image size, about 20 bytes a box — into flat numpy arrays; the image bytes
stay in the parts until a rank streams its shard. Rows, the decode scan and
the streaming plan are the classification pack's (``convkit.data.packed``,
``convkit.data.packed_stream``); only what a row becomes differs: boxes
clipped to the decoded image, the detector's augmentation (mosaic partners
come from the same batch: a stream cannot fetch arbitrary rows), the
letterbox, and the ``(M, 6)`` box targets.
"""

from __future__ import annotations

import numpy as np

from convkit.data.packed import PackedDataset
from convkit.data.packed_layout import BOXES_COLUMN, HEIGHT_COLUMN, WIDTH_COLUMN
from convkit.data.packed_stream import StreamingBatches
from convkit.detect.annotation import fit_to_image
from convkit.errors import DataError

COORDINATES = ("x1", "y1", "x2", "y2")


class PackedDetectionDataset(PackedDataset):
    """Images with boxes in a pack; item i is row ``rows[i]``; ``load(i)`` as a folder's."""

    kind = "detect"
    format = "packed"

    def __init__(self, location, channels: int = 3):
        super().__init__(location, channels)
        self.classes = list(self.layout.classes)
        if not self.classes:
            raise DataError(f"{self.location}: the packed detection dataset names no classes")
        self.skipped: list[tuple[str, str]] = []
        self.notes: list[str] = []
        table = self.read_columns([BOXES_COLUMN, WIDTH_COLUMN, HEIGHT_COLUMN])
        # Row r's boxes are coords[offsets[r]:offsets[r + 1]] (pixels), labels alike.
        self.offsets, self.coords, self.labels = flatten_boxes(
            table[BOXES_COLUMN], self.classes, self.location
        )
        self.sizes = self.image_sizes_of(table)  # (rows, 2) width, height, or None
        self._row_targets = main_class(self.offsets, self.labels)

    # -- what a row holds ------------------------------------------------------
    def row_boxes(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(boxes (M, 4) float32 pixels, labels (M,) int64) of a global row, as packed."""
        start, end = int(self.offsets[row]), int(self.offsets[row + 1])
        return self.coords[start:end], self.labels[start:end]

    def image_boxes(self, index: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        """(boxes, labels, image (width, height)) of item ``index``, without decoding it."""
        row = int(self.rows[index])
        boxes, labels = self.row_boxes(row)
        if self.sizes is None:
            raise DataError(
                f"{self.location}: the pack holds no image sizes (packed by an older convkit): "
                "pack the data again, or list anchors in the spec's yolo_output"
            )
        width, height = (int(v) for v in self.sizes[row])
        if not (width and height):  # its header gave no size: the decode scan reports the row
            return boxes[:0], labels[:0], (0, 0)
        return boxes, labels, (width, height)

    @property
    def targets(self) -> np.ndarray:
        """One label per image for stratified splits: its most common class, or -1 (background)."""
        return self._row_targets[self.rows]

    def class_counts(self) -> dict[str, int]:
        in_use = np.zeros(len(self.offsets) - 1, bool)
        in_use[self.rows] = True
        row_of_box = np.repeat(np.arange(len(in_use)), np.diff(self.offsets))  # (M,)
        counts = np.bincount(self.labels[in_use[row_of_box]], minlength=len(self.classes))
        return dict(zip(self.classes, counts.tolist(), strict=True))

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(image (H, W, C) uint8, boxes (M, 4) float32 pixels, labels (M,) int64)."""
        image = self.load_image(index)
        boxes, labels = self.row_boxes(int(self.rows[index]))
        height, width = image.shape[:2]
        return (image, *fit_to_image(boxes, labels, width, height))

    # -- scan and batches ------------------------------------------------------
    def scan(self, strict: bool = False, progress: bool = True):
        """Drop the rows that do not decode (the Spark job's result, when one ran)."""
        from convkit.detect.dataset import DetectScan

        self.skipped = self.drop_undecodable(strict, progress)
        background = int((np.diff(self.offsets)[self.rows] == 0).sum())
        return DetectScan(
            self.format, len(self), background, list(self.classes), self.class_counts(),
            list(self.skipped), list(self.notes),
        )  # fmt: skip

    def make_batches(self, indices, preprocessing, augment=None, **options):
        return PackedDetectBatches(self, indices, preprocessing, augment, **options)


class PackedDetectBatches(StreamingBatches):
    """A rank's stream of a packed detection dataset: ``(x (N, C, H, W), targets (M, 6))``."""

    def __init__(self, dataset, indices, preprocessing, augment=None, **options):
        super().__init__(dataset, indices, preprocessing, None, **options)
        self.augment = augment  # a DetectAugment (boxes move with the image), or None

    def assemble(self, epoch: int, positions: np.ndarray, images: list[np.ndarray]):
        from convkit.detect.batches import collate, make_example, mosaic_partners

        indices = self.indices[positions]  # dataset items of the batch
        loaded = []
        for index, image in zip(indices, images, strict=True):
            boxes, labels = self.dataset.row_boxes(int(self.dataset.rows[index]))
            height, width = image.shape[:2]
            loaded.append((image, *fit_to_image(boxes, labels, width, height)))
        where = {int(index): k for k, index in enumerate(indices)}
        examples = []
        for index, example in zip(indices, loaded, strict=True):
            partners = mosaic_partners(self.augment, epoch, int(index), indices)
            tiles = [loaded[where[int(p)]] for p in partners]
            examples.append(
                make_example(example, tiles, self.augment, self.preprocessing, epoch, int(index))
            )
        return collate(examples)


def flatten_boxes(column, classes: list[str], location: str):
    """A ``list<struct<label, x1, y1, x2, y2>>`` column -> (offsets (R + 1,), coords (M, 4), labels (M,))."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lists = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    if lists.null_count:
        lists = pc.fill_null(lists, pa.scalar([], type=lists.type))
    offsets = lists.offsets.to_numpy().astype(np.int64)
    offsets -= offsets[0]
    values = lists.flatten()
    fields = {values.type.field(k).name: values.type.field(k).type
              for k in range(values.type.num_fields)}  # fmt: skip
    missing = [name for name in ("label", *COORDINATES) if name not in fields]
    if missing:
        raise DataError(
            f"{location}: wrong schema for a packed detect dataset: the boxes have no "
            f"{', '.join(missing)} (fields: {', '.join(sorted(fields))})"
        )
    wrong = [
        f"{name} is {fields[name]}"
        for name in COORDINATES
        if not (pa.types.is_floating(fields[name]) or pa.types.is_integer(fields[name]))
    ]
    if not (pa.types.is_string(fields["label"]) or pa.types.is_large_string(fields["label"])):
        wrong.insert(0, f"label is {fields['label']}")
    if wrong:
        raise DataError(f"{location}: wrong schema for a packed detect dataset: box "
                        f"{', '.join(wrong)}")  # fmt: skip
    names = values.field("label")
    found = pc.index_in(names, value_set=pa.array(classes))
    if found.null_count:
        unknown = pc.unique(pc.filter(names, pc.is_null(found))).to_pylist()
        raise DataError(f"{location}: box labels {', '.join(map(str, unknown[:5]))} "
                        f"are not among the classes ({', '.join(classes)})")  # fmt: skip
    coords = np.stack(
        [values.field(name).to_numpy(zero_copy_only=False) for name in COORDINATES], axis=1
    ).astype(np.float32)  # (M, 4)
    if len(coords) and not np.isfinite(coords).all():
        raise DataError(f"{location}: some boxes have missing or infinite coordinates")
    labels = found.to_numpy(zero_copy_only=False).astype(np.int64)
    return offsets, coords.reshape(-1, 4), labels


def main_class(offsets: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each row's most common box label (ties: the lowest), -1 for a row without boxes."""
    rows = len(offsets) - 1
    result = np.full(rows, -1, np.int64)
    if not len(labels):
        return result
    row_of_box = np.repeat(np.arange(rows), np.diff(offsets))
    pairs, counts = np.unique(np.stack([row_of_box, labels], axis=1), axis=0, return_counts=True)
    order = np.lexsort((pairs[:, 1], -counts, pairs[:, 0]))  # by row, most boxes, lowest label
    pairs = pairs[order]
    first = np.concatenate([[True], pairs[1:, 0] != pairs[:-1, 0]])
    result[pairs[first, 0]] = pairs[first, 1]
    return result
