"""YOLO txt: one ``.txt`` per image, one line ``class cx cy w h`` per box, all
relative to the image size; class names in a dataset YAML (``names:``) or in
``classes.txt``.

Layouts understood: a dataset YAML (``path``, ``train``/``val``, ``names``),
``images/`` beside ``labels/``, or label files next to their images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convkit.detect.annotation import Annotation, clean_boxes, list_images
from convkit.detect.formats import Parsed, read_class_file
from convkit.errors import DataError
from convkit.fileio import MIB, read_file_text

YAML_NAMES = ("data.yaml", "dataset.yaml", "data.yml", "dataset.yml")


def parse_yolo_txt(path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised corner boxes (M, 4) and labels (M,) of one label file; DataError if malformed."""
    boxes, labels = [], []
    text = read_file_text(path, limit=64 * MIB, what="YOLO label file")
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 5:
            raise DataError(f"{path}:{number}: expected 'class cx cy w h', got {line.strip()!r}")
        try:
            label = int(fields[0])
            cx, cy, w, h = (float(v) for v in fields[1:])
        except ValueError:
            raise DataError(f"{path}:{number}: not numbers: {line.strip()!r}") from None
        if not 0 <= label < num_classes:
            raise DataError(f"{path}:{number}: class {label} is not in 0..{num_classes - 1}")
        boxes.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        labels.append(label)
    return np.array(boxes, np.float32).reshape(-1, 4), np.array(labels, np.int64)


def _label_path(image: Path) -> Path:
    """Where the label file of ``image`` lives: ``…/images/x.png`` -> ``…/labels/x.txt``."""
    parts = list(image.parts)
    if "images" in parts:
        at = len(parts) - 1 - parts[::-1].index("images")
        parts[at] = "labels"
        return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


def _names_from_yaml(value, path: Path) -> list[str]:
    if isinstance(value, dict):  # {0: person, 1: car}
        return [str(value[k]) for k in sorted(value, key=int)]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise DataError(f"{path}: 'names' must be a list or a mapping of class ids to names")


def _images_of(entry, base: Path, path: Path) -> list[Path]:
    """Images named by a YAML ``train``/``val`` entry: folders, list files or lists of them."""
    entries = entry if isinstance(entry, list) else [entry]
    images: list[Path] = []
    for item in entries:
        target = (base / str(item)).resolve()
        if target.is_dir():
            images.extend(list_images(target))
        elif target.is_file() and target.suffix == ".txt":
            lines = target.read_text(encoding="utf-8").splitlines()
            images.extend(
                (target.parent / line.strip()).resolve() for line in lines if line.strip()
            )
        else:
            raise DataError(f"{path}: split entry {item!r} is neither a folder nor a list file")
    return images


def read_yolo_yaml(path: Path, split: str = "train") -> tuple[list[str], list[Path]]:
    """(class names, image paths of ``split``) from a YOLO dataset YAML."""
    import yaml

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise DataError(f"{path}: malformed YAML ({error})") from None
    if not isinstance(config, dict) or "names" not in config:
        raise DataError(f"{path}: a YOLO dataset YAML needs 'names' (the class names)")
    base = path.parent / str(config.get("path", "."))
    if split not in config:
        raise DataError(
            f"{path}: no '{split}' entry; it has {sorted(k for k in config if k != 'names')}"
        )
    return _names_from_yaml(config["names"], path), _images_of(config[split], base, path)


def looks_like_yolo(root: Path) -> bool:
    return any((root / n).is_file() for n in YAML_NAMES) or (root / "labels").is_dir()


def _dataset_yaml(root: Path) -> Path | None:
    """The dataset YAML: ``root`` itself if it is a file, else the first of YAML_NAMES in it."""
    if root.is_file():
        return root
    return next((root / name for name in YAML_NAMES if (root / name).is_file()), None)


def has_split(root: Path, split: str) -> bool:
    """Whether the dataset YAML at or in ``root`` names ``split`` (e.g. a ``test:`` entry)."""
    import yaml

    yaml_path = _dataset_yaml(root)
    if yaml_path is None:
        return False
    try:
        config = yaml.safe_load(yaml_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return False  # reading the training split reports the malformed file
    return isinstance(config, dict) and bool(config.get(split))


def read_yolo(root: Path, split: str = "train") -> Parsed:
    """Parse a YOLO dataset (a YAML file, or a folder). Missing or empty label files = background."""
    yaml_path = _dataset_yaml(root)
    if yaml_path is not None:
        classes, images = read_yolo_yaml(yaml_path, split)
    else:
        image_dir = root / "images" if (root / "images").is_dir() else root
        images = list_images(image_dir)
        classes = read_class_file(root) or read_class_file(image_dir)
        if classes is None:
            raise DataError(f"{root}: YOLO labels need class names: add classes.txt or a data.yaml")
    annotations, skipped = [], []
    for image in images:
        if not image.is_file():
            skipped.append((str(image), "image listed in the dataset YAML does not exist"))
            continue
        label_path = _label_path(image)
        if not label_path.is_file():
            annotations.append(Annotation.background(image))
            continue
        try:
            boxes, labels = parse_yolo_txt(label_path, len(classes))
        except DataError as error:
            skipped.append((str(label_path), str(error)))
            continue
        boxes, labels, notes = clean_boxes(boxes, labels, 1.0, 1.0, str(label_path))
        annotations.append(Annotation(image, boxes, labels, normalized=True, notes=notes))
    return Parsed("yolo", classes, annotations, skipped)
