"""Pascal VOC: one XML file per image (``Annotations/`` beside ``JPEGImages/``,
or XML files next to their images in one folder).

VOC corners are 1-based and inclusive; convkit's are 0-based pixel edges, so
``x1 = xmin - 1`` and ``x2 = xmax``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

from convkit.detect.annotation import Annotation, clean_boxes, find_image, list_images
from convkit.detect.formats import Parsed, read_class_file
from convkit.errors import DataError
from convkit.fileio import MIB, read_file_bytes


def _number(element: ElementTree.Element, tag: str, path: Path) -> float:
    child = element.find(tag)
    if child is None or child.text is None:
        raise DataError(f"{path}: malformed VOC XML: an object's <bndbox> lacks <{tag}>")
    try:
        return float(child.text)
    except ValueError:
        raise DataError(
            f"{path}: malformed VOC XML: <{tag}> is {child.text!r}, not a number"
        ) from None


def parse_voc_xml(path: Path) -> tuple[list[str], np.ndarray, tuple[int, int] | None]:
    """Names, boxes (M, 4) and (width, height) from one VOC XML; DataError if malformed.

    An empty (or whitespace-only) file means an image without objects.
    """
    text = read_file_bytes(path, limit=64 * MIB, what="VOC annotation file")
    if not text.strip():
        return [], np.zeros((0, 4), np.float32), None
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise DataError(f"{path}: malformed XML ({error})") from None
    size = None
    size_element = root.find("size")
    if size_element is not None:
        try:
            width = int(float(size_element.findtext("width", "0")))
            height = int(float(size_element.findtext("height", "0")))
        except ValueError:
            raise DataError(f"{path}: malformed VOC XML: <size> is not numeric") from None
        size = (width, height) if width > 0 and height > 0 else None
    names, boxes = [], []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        box = obj.find("bndbox")
        if not name or box is None:
            raise DataError(f"{path}: malformed VOC XML: an <object> lacks <name> or <bndbox>")
        xmin, ymin, xmax, ymax = (
            _number(box, tag, path) for tag in ("xmin", "ymin", "xmax", "ymax")
        )
        names.append(name)
        boxes.append([xmin - 1, ymin - 1, xmax, ymax])
    return names, np.array(boxes, np.float32).reshape(-1, 4), size


def _layout(root: Path) -> tuple[Path, Path]:
    """(annotation folder, image folder) of a VOC dataset rooted at ``root``."""
    if (root / "Annotations").is_dir():
        images = root / "JPEGImages" if (root / "JPEGImages").is_dir() else root / "images"
        return root / "Annotations", images
    return root, root


def looks_like_voc(root: Path) -> bool:
    return (root / "Annotations").is_dir() or any(root.glob("*.xml"))


def split_ids(root: Path, split: str) -> set[str] | None:
    """Image ids listed in ``ImageSets/Main/<split>.txt`` (VOC's split files), if there are any.

    ``train`` falls back to ``trainval.txt``; without split files the whole folder is one split.
    """
    folder = root / "ImageSets" / "Main"
    candidates = [split] + (["trainval"] if split == "train" else [])
    for name in candidates:
        path = folder / f"{name}.txt"
        if path.is_file():
            return {
                line.split()[0]
                for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()
            }
    return None


def read_voc(root: Path, split: str = "train") -> Parsed:
    """Parse a VOC folder. Images without an XML file are background images."""
    xml_dir, image_dir = _layout(root)
    if not image_dir.is_dir():
        raise DataError(f"{root}: VOC dataset has {xml_dir.name}/ but no JPEGImages/ folder")
    wanted = split_ids(root, split)
    skipped: list[tuple[str, str]] = []
    parsed: dict[Path, tuple[list[str], np.ndarray, tuple[int, int] | None]] = {}
    for xml_path in sorted(xml_dir.glob("*.xml")):
        if wanted is not None and xml_path.stem not in wanted:
            continue
        image = find_image(image_dir, xml_path.stem)
        if image is None:
            skipped.append((str(xml_path), f"no image named {xml_path.stem}.* in {image_dir}"))
            continue
        try:
            parsed[image] = parse_voc_xml(xml_path)
        except DataError as error:
            skipped.append((str(xml_path), str(error)))
    broken = {Path(p).stem for p, _ in skipped}
    classes = read_class_file(root) or sorted({n for names, _, _ in parsed.values() for n in names})
    index = {name: i for i, name in enumerate(classes)}
    annotations = []
    for image in list_images(image_dir):
        if wanted is not None and image.stem not in wanted:
            continue
        if image not in parsed:
            if image.stem not in broken:  # a malformed XML does not make a background image
                annotations.append(Annotation.background(image))
            continue
        names, boxes, size = parsed[image]
        unknown = sorted({n for n in names if n not in index})
        if unknown:
            skipped.append((str(image), f"classes {unknown} are not in classes.txt"))
            continue
        labels = np.array([index[n] for n in names], np.int64)
        notes: list[str] = []
        if size is not None:
            boxes, labels, notes = clean_boxes(boxes, labels, size[0], size[1], str(image))
        annotations.append(Annotation(image, boxes, labels, notes=notes))
    return Parsed("voc", classes, annotations, skipped)
