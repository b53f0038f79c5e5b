"""Which text-line images `convkit ocr` reads: files as given, folders walked.

Reading itself goes through the engine (``convkit.inference``; in Python,
``convkit.inference.TextReader``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from convkit.errors import UsageError
from convkit.ocr.labels import IMAGE_SUFFIXES


def image_files(items: Iterable[str]) -> Iterator[str]:
    """Files as given; folders walked recursively (sorted) for image files."""
    for item in items:
        path = Path(item)
        if path.is_dir():
            from convkit.data.listing import list_input_files  # train's rule: no hidden files

            found = list_input_files(path, IMAGE_SUFFIXES, "an image")[0]
            if not found:
                raise UsageError(f"no images (.png, .jpg, …) in folder {item}")
            yield from (str(p) for p in found)
        elif path.is_file():
            yield str(path)
        else:
            raise UsageError(f"image not found: {item}")
