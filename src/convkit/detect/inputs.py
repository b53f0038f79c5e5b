"""Which photos `convkit detect` reads: one image file, or the images of a folder.

Predicting itself goes through the engine (``convkit.inference``; in Python,
``convkit.inference.Detector``).
"""

from __future__ import annotations

from pathlib import Path

from convkit.detect.annotation import IMAGE_SUFFIXES
from convkit.errors import DataError, UsageError


def list_images(target: str | Path) -> list[Path]:
    """One image file, or every image in a folder (recursively), sorted."""
    path = Path(target)
    if path.is_file():
        return [path]
    if path.is_dir():
        from convkit.data.listing import list_input_files  # train's rule: no hidden files

        found = list_input_files(path, IMAGE_SUFFIXES, "an image")[0]
        if not found:
            raise DataError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        return found
    raise UsageError(f"not found: {path} (give an image file or a folder of images)")
