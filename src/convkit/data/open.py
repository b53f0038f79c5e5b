"""``open_image_dataset``: one entry point that recognises what a path holds."""

from __future__ import annotations

import os
from pathlib import Path

from convkit.data.dataset import ImageDataset
from convkit.errors import DataError

# Keys open_image_dataset understands in ``options``.
OPTION_KEYS = {
    "channels": "depth files are decoded to (1 or 3; default 3)",
    "classes": "fixed list of class names (e.g. a trained model's labels)",
    "strict": "make unreadable files fatal when scanning",
    "labels": "the labels IDX file, when PATH is an images IDX file",
}

EXPECTED = (
    "expected an MNIST-style IDX folder (train-images-idx3-ubyte.gz, ...), an IDX images file, "
    "a folder with one subfolder per class (cat/*.jpg, dog/*.jpg; optionally under train/ and "
    "test/), a CSV of path,label, or 'sklearn-digits'"
)


def open_image_dataset(
    path: str | os.PathLike, split: str = "train", options: dict | None = None
) -> ImageDataset:
    """Open IDX files, class folders or a CSV of path,label as a dataset.

    ``split`` is "train" or "test" ("val" for folders with a val/ subfolder).
    ``options`` may hold channels, classes, strict and labels (see OPTION_KEYS).
    The path ``sklearn-digits`` opens scikit-learn's bundled 8x8 digits.
    """
    options = dict(options or {})
    unknown = sorted(set(options) - set(OPTION_KEYS))
    if unknown:
        raise DataError(
            f"unknown data options {', '.join(unknown)}; known: {', '.join(OPTION_KEYS)}"
        )
    channels = int(options.get("channels", 3))
    classes = options.get("classes")
    dataset = _open(Path(path), str(path), split, channels, classes, options.get("labels"))
    if classes is not None and list(dataset.classes) != list(classes):
        _reorder_classes(dataset, list(classes))
    dataset.strict = bool(options.get("strict", False))
    return dataset


def _open(path: Path, text: str, split, channels, classes, labels) -> ImageDataset:
    from convkit.data.digits import is_digits_name, sklearn_digits
    from convkit.data.folders import class_folder_dataset, csv_dataset
    from convkit.data.idx import has_idx_files, idx_dataset, mnist

    if is_digits_name(text):
        return _digits_split(sklearn_digits(), split)
    from convkit.data.packed_layout import has_manifest  # `convkit dataset pack` output

    if has_manifest(text):  # local, or any pyarrow/fsspec URL
        from convkit.data.packed import PackedImageDataset

        return PackedImageDataset(text, channels=channels, classes=classes)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder; {EXPECTED}")
    from convkit.data.parquet import ParquetImageDataset, is_parquet  # bytes + labels (Spark)

    if is_parquet(path):
        return ParquetImageDataset(path, channels=channels, classes=classes)
    if path.is_file():
        name = path.name.lower()
        if name.endswith(".csv"):
            return csv_dataset(path, channels=channels, classes=classes)
        if "ubyte" in name or name.endswith((".idx", ".idx.gz")):
            labels_path = Path(labels) if labels else _labels_beside(path)
            return idx_dataset(path, labels_path, name=path.name)
        raise DataError(f"{path}: a file, but not a CSV or IDX file; {EXPECTED}")
    if has_idx_files(path):
        return mnist(path, "train" if split == "train" else "test")
    if not any(True for _ in path.iterdir()):
        raise DataError(f"{path}: empty folder; {EXPECTED}")
    return class_folder_dataset(path, split=split, channels=channels, classes=classes)


def _labels_beside(images_path: Path) -> Path:
    """train-images-idx3-ubyte[.gz] -> train-labels-idx1-ubyte[.gz], next to it."""
    name = images_path.name
    guess = name.replace("images", "labels").replace("idx3", "idx1")
    stem = guess[:-3] if guess.endswith(".gz") else guess
    if guess != name:
        for candidate in (images_path.with_name(stem + ".gz"), images_path.with_name(stem)):
            if candidate.is_file():
                return candidate
    raise DataError(
        f"{images_path}: cannot find its labels file (looked for {stem}[.gz]); "
        "pass it with options={'labels': PATH}"
    )


def _digits_split(dataset, split: str):
    """A fixed 80/20 stratified cut so 'train' and 'test' never overlap."""
    from convkit.data.dataset import ArrayDataset
    from convkit.data.split import stratified_split

    if split not in ("train", "test", "val"):
        raise DataError(f"split must be 'train' or 'test'. Received: split={split!r}")
    train_idx, test_idx = stratified_split(dataset.targets, 0.2, seed=0)
    chosen = train_idx if split == "train" else test_idx
    return ArrayDataset(
        dataset.images[chosen],
        dataset.targets[chosen],
        dataset.classes,
        name=f"sklearn digits {split}",
    )


def _reorder_classes(dataset: ImageDataset, classes: list[str]) -> None:
    """Renumber an IDX/array dataset's labels to a given class list (names must exist)."""
    import numpy as np

    missing = sorted(set(dataset.classes) - set(classes))
    if missing:
        raise DataError(
            f"the data has classes {', '.join(missing)} that are not among {', '.join(classes)}"
        )
    remap = np.array([classes.index(name) for name in dataset.classes], dtype=np.int64)
    dataset.targets = remap[dataset.targets]
    dataset.classes = list(classes)
