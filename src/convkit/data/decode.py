"""Decode image files with OpenCV into uint8 (H, W, C) arrays in RGB order.

Every image that enters convkit comes through ``read_image``: JPEG, PNG, BMP,
WebP, TIFF and PNM (``ACCEPTED_FORMATS``; GIF is refused by name), in grayscale, RGB, RGBA or
16 bits, converted to the depth the network declares (1 or 3 channels).
Anything that is not a usable image raises ``DataError`` naming the file and
the reason, so a scan can list it and a training run can skip it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

import numpy as np

from convkit.data.image_header import ACCEPTED_FORMATS, looks_truncated, read_header
from convkit.data.suffixes import IMAGE_SUFFIXES  # noqa: F401 (re-exported: the files it reads)
from convkit.errors import DataError
from convkit.fileio import read_file_bytes
from convkit.limits import DEFAULT_MAX_PIXELS, max_image_pixels  # noqa: F401 (re-exported)


def read_bytes(source: str | os.PathLike | bytes) -> tuple[bytes, str]:
    """The encoded bytes and a name to show in messages.

    Paths go through ``convkit.fileio``: regular files only (a FIFO or a link
    to /dev/zero is refused, not read forever), at most CONVKIT_MAX_FILE_BYTES.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), "<bytes>"
    name = os.fspath(source)
    return read_file_bytes(name, error=DataError, what="image"), name


def read_image(
    source: str | os.PathLike | bytes,
    channels: int = 3,
    max_pixels: int | None = None,
    min_side: int | None = None,
) -> np.ndarray:
    """Decode an image file (or its bytes) into uint8 (H, W, channels), RGB order.

    ``channels`` is 1 (grey) or 3 (RGB). Alpha is composited over white, as a
    transparent image shows on a page; 16-bit and float images are scaled to
    0-255. Raises DataError for empty, truncated, non-image or oversized input.

    ``min_side``: the caller will shrink the image to at most this many pixels
    a side, so a large JPEG may be decoded at 1/2, 1/4 or 1/8 scale (libjpeg
    scales in the DCT: several times faster), never below ``min_side``.
    """
    if channels not in (1, 3):
        raise DataError(f"channels must be 1 or 3. Received: channels={channels}")
    data, name = read_bytes(source)
    return decode_image(data, channels, name=name, max_pixels=max_pixels, min_side=min_side)


def image_size(source: str | os.PathLike | bytes) -> tuple[int, int]:
    """(width, height) of an image from its header, or by decoding it when the header
    says nothing; DataError if it is not a readable image. Paths go through fileio."""
    data, name = read_bytes(source)
    header = read_header(data)
    if header is not None and header.width and header.height:
        return int(header.width), int(header.height)
    height, width = decode_image(data, 1, name=name).shape[:2]
    return int(width), int(height)


def decode_image(
    data: bytes,
    channels: int = 3,
    name: str = "<bytes>",
    max_pixels: int | None = None,
    min_side: int | None = None,
) -> np.ndarray:
    import cv2

    if not data:
        raise DataError(f"{name}: empty file (0 bytes)")
    header = read_header(data)
    if header is None:
        raise DataError(
            f"{name}: not an image (unknown format; expected JPEG, PNG, BMP, WebP or TIFF)"
        )
    if header.format not in ACCEPTED_FORMATS:  # one rule with the training scan's suffixes
        raise DataError(
            f"{name}: {header.format.upper()} images are not supported "
            "(JPEG, PNG, BMP, WebP, TIFF, PNM); convert it to PNG"
        )
    limit = max_image_pixels() if max_pixels is None else max_pixels
    # First line of defence, before any decoder runs: the size the header declares.
    # The one that cannot be fooled is OpenCV's own check (convkit.limits), on the
    # size its decoder parsed, before it allocates; the shape check after decoding
    # holds a caller's smaller limit to what was really produced.
    if header.width is not None and header.height is not None:
        if header.width * header.height > limit:
            raise DataError(_too_large(name, header.width, header.height, limit))
        if header.width == 0 or header.height == 0:
            raise DataError(f"{name}: image has zero size ({header.width}x{header.height})")
    if looks_truncated(data, header.format):
        raise DataError(f"{name}: truncated {header.format.upper()} file (no end marker)")

    buffer = np.frombuffer(data, dtype=np.uint8)
    if header.format == "jpeg":
        # JPEG has no alpha and is 8-bit; IMREAD_COLOR/GRAYSCALE also applies
        # the EXIF orientation so phone photos come out upright.
        flag = _jpeg_flag(channels, _reduction(header, min_side))
    else:
        flag = cv2.IMREAD_UNCHANGED  # keep alpha and 16 bits, converted below
    try:
        if header.format == "jpeg":  # only libjpeg writes to fd 2 itself
            with _quiet_native_stderr(True):
                image = cv2.imdecode(buffer, flag)
        else:
            image = cv2.imdecode(buffer, flag)
    except cv2.error as error:
        if "CV_IO_MAX_IMAGE" in str(error):  # the decoder's own size check refused it
            raise DataError(
                f"{name}: image too large (its {header.format.upper()} decoder reads more than "
                f"{min(limit, _decoder_limit()):,} pixels; raise CONVKIT_MAX_IMAGE_PIXELS "
                "if the file is trusted)"
            ) from None
        raise DataError(
            f"{name}: cannot decode {header.format.upper()} ({_first_line(error)})"
        ) from None
    if image is None or image.size == 0:
        raise DataError(f"{name}: corrupt or unsupported {header.format.upper()} data")
    scale = _reduction(header, min_side) if header.format == "jpeg" else 1
    height, width = image.shape[0] * scale, image.shape[1] * scale
    if width * height > limit:
        raise DataError(_too_large(name, width, height, limit))
    return to_depth(image, channels)


_STDERR_LOCK = threading.Lock()
_quiet = {"depth": 0, "saved": -1}  # decodes in flight with fd 2 muted; the real fd 2


@contextlib.contextmanager
def _quiet_native_stderr(active: bool):
    """Send file descriptor 2 to /dev/null while native decoders run.

    libjpeg prints its warnings ("Corrupt JPEG data: 1 extraneous bytes
    before marker") straight to stderr, past OpenCV's logger, so they can
    only be silenced at the descriptor. fd 2 is shared by the threads of a
    process, so the redirect is counted: the first decode in flight mutes it,
    the last one restores it, and decodes in several threads still run side
    by side (a lock around the decode itself would serialise every JPEG).
    CONVKIT_DECODER_WARNINGS=1 keeps the warnings.
    """
    if not active or os.environ.get("CONVKIT_DECODER_WARNINGS") == "1":
        yield
        return
    with _STDERR_LOCK:
        if _quiet["depth"] == 0:
            sys.stderr.flush()
            _quiet["saved"] = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        _quiet["depth"] += 1
    try:
        yield
    finally:
        with _STDERR_LOCK:
            _quiet["depth"] -= 1
            if _quiet["depth"] == 0:
                os.dup2(_quiet["saved"], 2)
                os.close(_quiet["saved"])


def _too_large(name: str, width: int, height: int, limit: int) -> str:
    return (
        f"{name}: image too large ({width}x{height} = {width * height:,} pixels, "
        f"limit {limit:,}; raise CONVKIT_MAX_IMAGE_PIXELS if the file is trusted)"
    )


def _decoder_limit() -> int:
    value = os.environ.get("OPENCV_IO_MAX_IMAGE_PIXELS", "")
    return int(value) if value.isdigit() else 1 << 30


def _reduction(header, min_side: int | None) -> int:
    """The largest JPEG scale-down (1, 2, 4, 8) that keeps both sides >= min_side.

    Both sides, whatever the EXIF orientation turns out to be: so any resize
    policy afterwards still shrinks, never enlarges.
    """
    if not min_side or header.width is None or header.height is None:
        return 1
    short = min(header.width, header.height)
    for factor in (8, 4, 2):
        if short // factor >= min_side:
            return factor
    return 1


def _jpeg_flag(channels: int, factor: int) -> int:
    import cv2

    if channels == 1:
        return {
            1: cv2.IMREAD_GRAYSCALE,
            2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
            4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
            8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
        }[factor]
    return {
        1: cv2.IMREAD_COLOR,
        2: cv2.IMREAD_REDUCED_COLOR_2,
        4: cv2.IMREAD_REDUCED_COLOR_4,
        8: cv2.IMREAD_REDUCED_COLOR_8,
    }[factor]


def to_depth(image: np.ndarray, channels: int) -> np.ndarray:
    """Turn an OpenCV image (BGR/BGRA/grey, any depth) into uint8 (H, W, channels) RGB."""
    import cv2

    image = _to_uint8(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] == 4:  # composite over white, in float to keep the blend exact
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        color = image[:, :, :3].astype(np.float32)
        image = np.clip(color * alpha + 255.0 * (1.0 - alpha) + 0.5, 0, 255).astype(np.uint8)
    if image.shape[2] == 1:
        if channels == 1:
            return np.ascontiguousarray(image)
        return np.ascontiguousarray(np.repeat(image, 3, axis=2))
    if image.shape[2] == 2:  # grey + alpha, rare in the wild (16-bit PNG "LA")
        image = image[:, :, :1]
        return image if channels == 1 else np.repeat(image, 3, axis=2)
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[:, :, None]
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        # 65535 -> 255 with rounding: (v + 128) / 257
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if image.dtype in (np.float32, np.float64):
        return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if image.dtype == np.int8:
        return (image.astype(np.int16) + 128).astype(np.uint8)
    if image.dtype == np.int16:
        return ((image.astype(np.int32) + 32768 + 128) // 257).astype(np.uint8)
    raise DataError(f"unsupported pixel type {image.dtype}")


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[-1].strip() if text else type(error).__name__
