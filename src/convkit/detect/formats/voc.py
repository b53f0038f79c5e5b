"""Pascal VOC: one XML file per image, in whichever of the common layouts it comes:

- ``Annotations/`` + ``JPEGImages/`` (VOC's own; ``ImageSets/Main/*.txt`` split files),
- ``annotations/`` or ``annots/`` (any case) beside ``images/`` (labelImg, many tutorials),
- XML files next to their images, in the root or in ``images/``,
- the images folder itself given as the path, its XML in a sibling folder
  (``data/images`` with ``data/annots``).

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


# Folder names are matched without regard to case: ``annots``, ``Annots``, ``ANNOTATIONS``.
ANNOTATION_FOLDERS = ("annotations", "annots", "annotation", "xml", "xmls")
IMAGE_FOLDERS = ("jpegimages", "images", "imgs", "img")


def _child(root: Path, names: tuple[str, ...]) -> Path | None:
    """The first sub-folder of ``root`` whose lower-cased name is in ``names`` (in that order)."""
    if not root.is_dir():
        return None
    folders = {p.name.lower(): p for p in sorted(root.iterdir()) if p.is_dir()}
    return next((folders[name] for name in names if name in folders), None)


def _has_xml(folder: Path | None) -> bool:
    return folder is not None and any(folder.glob("*.xml"))


def _layout(root: Path) -> tuple[Path, Path] | None:
    """(annotation folder, image folder) of a VOC dataset at ``root``, or None if none is seen."""
    annotations, images = _child(root, ANNOTATION_FOLDERS), _child(root, IMAGE_FOLDERS)
    if annotations is not None:
        return annotations, images or root
    if _has_xml(images):  # XML beside the images, inside images/
        return images, images
    if _has_xml(root):  # XML beside the images, in the folder given
        return root, root
    sibling = _child(root.parent, ANNOTATION_FOLDERS)  # the images folder itself was given
    if sibling is not None and sibling != root and _has_xml(sibling):
        return sibling, root
    return None


def looks_like_voc(root: Path) -> bool:
    return _layout(root) is not None


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
    layout = _layout(root)
    if layout is None:
        raise DataError(
            f"{root}: no VOC XML found; expected Annotations/ + JPEGImages/, annotations/ or "
            "annots/ + images/, or .xml files beside the images"
        )
    xml_dir, image_dir = layout
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
        annotations.append(Annotation(image, boxes, labels, notes=notes, size=size))
    return Parsed("voc", classes, annotations, skipped)
