"""Annotation formats, each parsed into ``convkit.detect.annotation.Annotation``.

Every reader returns a ``Parsed``: the class names, one annotation per usable
image, and ``skipped`` — ``(path, reason)`` for each file that could not be
used (malformed XML/JSON, a label file without its image…). A bad file is
reported and left out; it never stops the others from loading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from convkit.detect.annotation import Annotation


@dataclass
class Parsed:
    format: str  # "voc", "yolo" or "coco"
    classes: list[str]
    annotations: list[Annotation]
    skipped: list[tuple[str, str]] = field(default_factory=list)


def read_class_file(folder: Path) -> list[str] | None:
    """Class names from ``classes.txt`` / ``labels.txt`` (one per line), if present."""
    for name in ("classes.txt", "labels.txt", "classes.names"):
        path = folder / name
        if path.is_file():
            names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            return [n for n in names if n]
    return None
