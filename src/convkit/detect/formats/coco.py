"""COCO JSON: one file lists ``images``, ``annotations`` (``bbox`` = x, y, w, h in
pixels) and ``categories``. Crowd regions (``iscrowd: 1``) are not objects to
find one by one, so they are left out, as COCO's own evaluation does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from convkit.detect.annotation import Annotation, clean_boxes
from convkit.detect.formats import Parsed
from convkit.errors import DataError
from convkit.fileio import read_file_text


def find_coco_json(root: Path) -> Path | None:
    """The COCO annotation file of a folder (``annotations.json`` or the only ``*.json``)."""
    for candidate in (root / "annotations.json", root / "annotations" / "instances.json"):
        if candidate.is_file():
            return candidate
    found = sorted(root.glob("*.json"))
    return found[0] if len(found) == 1 else None


def _load_json(path: Path) -> dict:
    try:
        document = json.loads(read_file_text(path, what="COCO annotation file"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: malformed JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("images"), list):
        raise DataError(f"{path}: not COCO JSON: it needs 'images', 'annotations' and 'categories'")
    return document


def _image_path(json_path: Path, file_name: str) -> Path:
    bases = (json_path.parent / "images", json_path.parent, json_path.parent.parent / "images")
    for base in bases:
        if (base / file_name).is_file():
            return base / file_name
    return json_path.parent / "images" / file_name


def read_coco(path: Path) -> Parsed:
    """Parse a COCO JSON file (or a folder holding one)."""
    json_path = path if path.is_file() else find_coco_json(path)
    if json_path is None:
        raise DataError(f"{path}: no COCO annotations.json found")
    document = _load_json(json_path)
    categories = sorted(document.get("categories") or [], key=lambda c: c.get("id", 0))
    if not categories:
        raise DataError(f"{json_path}: COCO JSON has no 'categories'")
    classes = [str(c.get("name", c.get("id"))) for c in categories]
    label_of = {c.get("id"): i for i, c in enumerate(categories)}
    skipped: list[tuple[str, str]] = []
    boxes_of: dict[int, list[list[float]]] = {}
    labels_of: dict[int, list[int]] = {}
    for number, entry in enumerate(document.get("annotations") or []):
        try:
            if entry.get("iscrowd", 0):
                continue
            x, y, w, h = (float(v) for v in entry["bbox"])
            label = label_of[entry["category_id"]]
            image_id = entry["image_id"]
        except (KeyError, TypeError, ValueError, AttributeError):
            skipped.append(
                (
                    f"{json_path}#annotations[{number}]",
                    "malformed annotation (needs bbox, category_id, image_id)",
                )
            )
            continue
        boxes_of.setdefault(image_id, []).append([x, y, x + w, y + h])
        labels_of.setdefault(image_id, []).append(label)
    annotations = []
    for number, image in enumerate(document["images"]):
        try:
            image_id, file_name = image["id"], str(image["file_name"])
            width, height = int(image.get("width", 0)), int(image.get("height", 0))
        except (KeyError, TypeError, ValueError):
            skipped.append(
                (f"{json_path}#images[{number}]", "malformed image entry (needs id, file_name)")
            )
            continue
        image_path = _image_path(json_path, file_name)
        if not image_path.is_file():
            skipped.append((str(image_path), "image listed in the COCO JSON does not exist"))
            continue
        boxes = np.array(boxes_of.get(image_id, []), np.float32).reshape(-1, 4)
        labels = np.array(labels_of.get(image_id, []), np.int64)
        notes: list[str] = []
        if width > 0 and height > 0:
            boxes, labels, notes = clean_boxes(boxes, labels, width, height, str(image_path))
        annotations.append(Annotation(image_path, boxes, labels, notes=notes))
    return Parsed("coco", classes, annotations, skipped)
