"""Checks on what a client uploads, before any decoder sees it.

The server accepts bytes from anyone who can reach it, so three cheap checks
come first: the byte count (a 2 GB upload is refused before it is read), the
format named by the magic bytes (a text file is not an image), and the pixel
count declared in the image header (a 200-byte PNG may declare 100,000 x
100,000 pixels — a decompression bomb). Uploads stay in memory; nothing is
ever written to a path the client can choose.
"""

from __future__ import annotations

from dataclasses import dataclass

from convkit.errors import DataError

MIB = 1024 * 1024


@dataclass(frozen=True)
class UploadLimits:
    """What one upload may be. The defaults fit phone photos and short clips."""

    max_bytes: int = 10 * MIB
    max_pixels: int = 40_000_000  # 40 megapixels, e.g. 8000 x 5000
    # The decoded array (width x height x channels x bytes a sample): 160 MiB takes a
    # 40-megapixel 8-bit RGBA image, not a 6300 x 6300 16-bit RGBA one (318 MB).
    max_decoded_bytes: int = 160 * MIB
    # Decoded memory all requests in flight may hold together, in per-request budgets:
    # 2 x 160 MiB. Small images share it (each is charged at least 1 MiB).
    max_inflight: int = 2
    max_requests: int = 64  # heavy requests being read or answered at once; then 503
    queue_seconds: float = 2.0  # how long a request waits for a slot before its 503


class UploadError(DataError):
    """An upload the server refuses; ``status`` is the HTTP code to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def read_limited(stream, limits: UploadLimits) -> bytes:
    """Read at most max_bytes from a file-like upload; more is a 413."""
    data = stream.read(limits.max_bytes + 1)
    check_read(data, limits)
    return data


def check_read(data: bytes, limits: UploadLimits) -> None:
    """What ``read_limited`` refuses, for bytes read some other way (413 or 400)."""
    if len(data) > limits.max_bytes:
        raise UploadError(
            f"upload is larger than the server's limit of {limits.max_bytes // MIB} MiB",
            status=413,
        )
    if not data:
        raise UploadError("upload is empty (0 bytes): choose an image file", status=400)


def check_image_bytes(data: bytes, limits: UploadLimits) -> int:
    """Refuse non-images (415) and images declaring too many pixels (413); return the decoded bytes."""
    from convkit.data.image_header import ACCEPTED_FORMATS, read_header

    header = read_header(data)
    if header is None or header.format not in ACCEPTED_FORMATS:  # the training scan's rule
        raise UploadError(
            "upload is not an image this server reads (expected JPEG, PNG, BMP, WebP, TIFF, PNM)",
            status=415,
        )
    if header.width is not None and header.height is not None:
        pixels = header.width * header.height
        if pixels > limits.max_pixels:
            raise UploadError(
                f"image declares {header.width}x{header.height} = {pixels:,} pixels, over the "
                f"server's limit of {limits.max_pixels:,}; send a smaller image",
                status=413,
            )
    cost = header.decoded_bytes()
    if cost is not None and cost > limits.max_decoded_bytes:
        raise UploadError(
            f"image decodes to {cost / MIB:,.0f} MiB ({header.width}x{header.height}, "
            f"{header.channels or 4} channels, {8 * (header.sample_bytes or 2)} bits), over the "
            f"server's budget of {limits.max_decoded_bytes / MIB:,.0f} MiB per request; "
            "send a smaller or 8-bit image",
            status=413,
        )
    return cost if cost is not None else limits.max_decoded_bytes


def check_audio_bytes(data: bytes) -> None:
    """Refuse uploads that are not a recording the audio front end reads (415)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return
    if data[:4] in (b"fLaC", b"OggS"):
        return
    raise UploadError(
        "upload is not a recording this server reads (expected WAV, FLAC or OGG)", 415
    )


def check_upload(data: bytes, input_kind: str, limits: UploadLimits) -> int:
    """The checks that fit the model's input; returns what decoding will cost, in bytes.

    A recording decodes to float samples: charged at 8 bytes per byte uploaded
    (16-bit PCM to float32, plus the resampled copy), within the per-request budget.
    """
    if input_kind == "audio":
        check_audio_bytes(data)
        return min(8 * len(data), limits.max_decoded_bytes)
    return check_image_bytes(data, limits)
