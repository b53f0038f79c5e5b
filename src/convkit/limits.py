"""Process-wide limits on what a decoder may allocate, set before OpenCV loads.

Why here: OpenCV reads ``OPENCV_IO_MAX_IMAGE_PIXELS`` once, when its library
loads, and then checks every image against it using the *decoder's own* idea
of the size, after it has parsed the header and before it allocates. That is
the only check a hand-written header parser cannot be fooled around (a junk
byte before a JPEG frame header, a TIFF with two width tags). So
``convkit/__init__.py`` calls ``configure_opencv()`` before any convkit module
imports cv2, and the decoder itself refuses anything over
CONVKIT_MAX_IMAGE_PIXELS. Pure Python: no cv2 import here.
"""

from __future__ import annotations

import functools
import os
import sys

# Default ceiling on pixels (width x height): 100 megapixels is a 10,000 x
# 10,000 photo; beyond that a file is almost surely a decompression bomb.
DEFAULT_MAX_PIXELS = 100_000_000


def positive_int_from_env(name: str, default: int) -> int:
    """A limit a user raises through an environment variable: a positive whole number."""
    value = os.environ.get(name)
    if not value:
        return default
    # Read for every file a decoder opens: parse each distinct value once.
    return _parse_limit(name, value)


@functools.lru_cache(maxsize=64)
def _parse_limit(name: str, value: str) -> int:
    from convkit.errors import DataError

    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit <= 0:
        raise DataError(f"{name} must be a positive whole number. Received: {value[:40]!r}")
    return limit


def max_image_pixels() -> int:
    return positive_int_from_env("CONVKIT_MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS)


def configure_opencv(max_pixels: int | None = None) -> bool:
    """Give OpenCV's decoders convkit's pixel limit and silence their warnings.

    Only takes effect if cv2 is not loaded yet (returns whether it did). A
    smaller limit already in the environment is kept. ``convkit serve`` calls
    it again with the server's own, smaller limit.
    """
    if "cv2" in sys.modules:
        return False
    try:
        limit = max_image_pixels() if max_pixels is None else max_pixels
    except Exception:  # a bad CONVKIT_MAX_IMAGE_PIXELS is reported when an image is read
        limit = DEFAULT_MAX_PIXELS
    current = os.environ.get("OPENCV_IO_MAX_IMAGE_PIXELS", "")
    if not current.isdigit() or int(current) > limit:
        os.environ["OPENCV_IO_MAX_IMAGE_PIXELS"] = str(limit)
    # libtiff/libpng/libwebp warnings ("tags are not sorted", "iCCP: known incorrect
    # sRGB profile") go through OpenCV's logger: a file we refuse or decode anyway
    # should not spray stderr; convkit reports every failure itself.
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
    return True


def physical_memory() -> int | None:
    """Bytes of RAM (CONVKIT_MEMORY_BYTES overrides, e.g. for a container's limit)."""
    override = os.environ.get("CONVKIT_MEMORY_BYTES", "")
    if override.isdigit():
        return int(override)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
