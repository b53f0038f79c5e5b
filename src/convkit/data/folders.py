"""File-backed sources: a folder with one subfolder per class, and a CSV of path,label.

Class folder layout (the label is the name of the class folder, as
Deeplearning4j's ParentPathLabelGenerator takes it from the parent path)::

    photos/cat/001.jpg        photos/train/cat/001.jpg
    photos/dog/002.png   or   photos/test/cat/104.jpg   (split picks train/ or test/)

Images may sit in nested folders below their class folder. Hidden files are
ignored; files without an image suffix are reported by the scan.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from convkit.data.dataset import FileDataset, sort_class_names
from convkit.data.decode import IMAGE_SUFFIXES
from convkit.data.listing import is_hidden, list_input_files
from convkit.errors import DataError
from convkit.fileio import MIB, not_regular_reason, read_file_bytes

# A CSV of path,label rows; 64 MiB is millions of rows.
CSV_MAX_BYTES = 64 * MIB

# Split folder names, first match wins; "test" falls back to a val folder and back.
SPLIT_FOLDERS = {
    "train": ("train", "training"),
    "test": ("test", "testing", "val", "valid", "validation"),
    "val": ("val", "valid", "validation", "test"),
}


def split_folders(root: Path) -> dict[str, Path]:
    """The split subfolders present under root, e.g. {"train": root/"train", ...}."""
    children = {child.name.lower(): child for child in root.iterdir() if child.is_dir()}
    found = {}
    for split, names in SPLIT_FOLDERS.items():
        for name in names:
            if name in children:
                found[split] = children[name]
                break
    return found


def class_folder_dataset(
    root: str | os.PathLike,
    split: str = "train",
    channels: int = 3,
    classes: list[str] | None = None,
) -> FileDataset:
    """Images under root/<class>/ (or root/<split>/<class>/ when split folders exist).

    ``classes`` fixes the label order (e.g. a trained model's labels); by
    default it is the natural sort of the class folder names across all splits,
    so train and test agree on the index of each class.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    splits = split_folders(root)
    if splits and "train" in splits:
        if split not in SPLIT_FOLDERS:
            raise DataError(f"split must be 'train', 'val' or 'test'. Received: split={split!r}")
        if split not in splits:
            raise DataError(
                f"{root}: has no {split} folder (found {', '.join(sorted(p.name for p in splits.values()))})"
            )
        folder = splits[split]
        all_class_names = {c.name for s in splits.values() for c in _class_dirs(s)}
    else:
        folder = root
        all_class_names = {c.name for c in _class_dirs(root)}
    if not all_class_names:
        raise DataError(
            f"{root}: expected one subfolder per class (e.g. {root}/cat/*.jpg, {root}/dog/*.jpg)"
            ", found no subfolders"
        )
    if classes is None:
        classes = sort_class_names(all_class_names)
    index_of = {name: k for k, name in enumerate(classes)}

    paths, targets, excluded, unknown = [], [], [], []
    for class_dir in sorted(_class_dirs(folder), key=lambda p: p.name):
        if class_dir.name not in index_of:
            unknown.append(class_dir.name)
            continue
        files, left_out = list_input_files(class_dir, IMAGE_SUFFIXES, kind="an image")
        paths.extend(str(file) for file in files)
        targets.extend([index_of[class_dir.name]] * len(files))
        excluded.extend(left_out)
    if unknown:
        raise DataError(
            f"{folder}: class folders {', '.join(sorted(unknown))} are not among the "
            f"known classes {', '.join(classes)}"
        )
    if not paths:
        raise DataError(
            f"{folder}: no image files (.jpg, .png, .bmp, .webp, .tif) in its class folders"
        )
    return FileDataset(paths, targets, classes, channels=channels, excluded=excluded, root=folder)


def csv_dataset(
    csv_path: str | os.PathLike, channels: int = 3, classes: list[str] | None = None
) -> FileDataset:
    """Images listed in a CSV of ``path,label`` rows; paths relative to the CSV's folder.

    A first row ``path,label`` (any case) is taken as a header.
    """
    csv_path = Path(csv_path)
    try:
        text = read_file_bytes(csv_path, limit=CSV_MAX_BYTES, what="CSV").decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{csv_path}: not UTF-8 text; expected lines of path,label") from None
    rows = [
        row for row in csv.reader(text.splitlines()) if row and any(cell.strip() for cell in row)
    ]
    if rows and [cell.strip().lower() for cell in rows[0][:2]] == ["path", "label"]:
        rows = rows[1:]
    if not rows:
        raise DataError(f"{csv_path}: no rows; expected lines of path,label (e.g. cats/1.jpg,cat)")
    entries = []
    for line_number, row in enumerate(rows, start=1):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise DataError(
                f"{csv_path}: row {line_number} must be path,label. Received: {','.join(row)!r}"
            )
        path = Path(row[0].strip())
        if not path.is_absolute():
            path = csv_path.parent / path
        entries.append((path, row[1].strip()))
    if classes is None:
        classes = sort_class_names(label for _, label in entries)
    index_of = {name: k for k, name in enumerate(classes)}
    unknown = sorted({label for _, label in entries if label not in index_of})
    if unknown:
        raise DataError(
            f"{csv_path}: labels {', '.join(unknown[:10])} are not among the known classes "
            f"{', '.join(classes)}"
        )
    paths, targets, excluded = [], [], []
    for path, label in entries:
        reason = not_regular_reason(path)
        if reason is not None:
            excluded.append((str(path), reason))
            continue
        paths.append(str(path))
        targets.append(index_of[label])
    if not paths:
        raise DataError(f"{csv_path}: none of its {len(entries)} listed files exist")
    return FileDataset(
        paths, targets, classes, channels=channels, excluded=excluded, root=csv_path.parent
    )


def _class_dirs(folder: Path) -> list[Path]:
    return [c for c in folder.iterdir() if c.is_dir() and not is_hidden(c.name)]
