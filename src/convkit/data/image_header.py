"""Read an image's format and size from its first bytes, without decoding it.

Why: a 200-byte PNG can declare 100,000 x 100,000 pixels and make a decoder
allocate 30 GB (a "decompression bomb"). We read the declared size from the
header and refuse it before OpenCV ever sees the file. Only the container
headers are parsed here; anything we cannot parse is left to the decoder.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from convkit.data.suffixes import IMAGE_SUFFIX_FORMATS


@dataclass(frozen=True)
class ImageHeader:
    format: str  # "jpeg", "png", "bmp", "webp", "tiff", "gif", "pnm"
    width: int | None = None
    height: int | None = None
    # What the decoder will hand back per pixel, when the header says (None: unknown).
    channels: int | None = None
    sample_bytes: int | None = None

    def decoded_bytes(self) -> int | None:
        """Bytes of the array the decoder produces (unknown depth: the worst case, 4 x 16 bits)."""
        if self.width is None or self.height is None:
            return None
        return self.width * self.height * (self.channels or 4) * (self.sample_bytes or 2)


# The formats convkit reads, everywhere (train, predict, the server): the ones
# IMAGE_SUFFIXES name (convkit.data.suffixes). GIF and others are recognised
# only to be refused by name.
ACCEPTED_FORMATS = tuple(dict.fromkeys(IMAGE_SUFFIX_FORMATS.values()))  # jpeg, png, bmp, …


def sniff_format(data: bytes) -> str | None:
    """The image format named by the file's magic bytes, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:2] == b"BM":
        return "bmp"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:1] == b"P" and data[1:2] in (b"1", b"2", b"3", b"4", b"5", b"6"):
        return "pnm"
    return None


def read_header(data: bytes) -> ImageHeader | None:
    """Format and declared size of an encoded image (size None if unknown)."""
    fmt = sniff_format(data)
    if fmt is None:
        return None
    reader = _SIZE_READERS.get(fmt)
    size = None
    if reader is not None:
        try:
            size = reader(data)
        except (struct.error, IndexError, ValueError):
            size = None  # a damaged header: the decoder will say so
    if size is None:
        return ImageHeader(fmt)
    channels, sample_bytes = (size[2], size[3]) if len(size) == 4 else (None, None)
    if channels is None and fmt in _EIGHT_BIT_FORMATS:
        channels, sample_bytes = 4, 1  # at most RGBA, 8 bits a sample
    return ImageHeader(fmt, size[0], size[1], channels, sample_bytes)


# Formats whose decoders only ever produce 8-bit samples.
_EIGHT_BIT_FORMATS = ("bmp", "webp", "gif")


def _png_size(data: bytes) -> tuple[int, int] | None:
    # IHDR is always the first chunk: length(4) "IHDR"(4) width(4) height(4)
    if data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    depth, color = data[24], data[25]
    # grey, -, RGB, palette (decoded to RGB, RGBA with tRNS: count 4), grey+alpha, -, RGBA
    channels = {0: 1, 2: 3, 3: 4, 4: 2, 6: 4}.get(color, 4)
    return width, height, channels, 2 if depth == 16 else 1


# JPEG start-of-frame markers that carry the frame size (not DHT 0xC4, JPG 0xC8, DAC 0xCC)
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    # Walk the markers as libjpeg does: bytes that are not a marker are skipped
    # ("extraneous bytes before marker" is only a warning to libjpeg), so a junk
    # byte in front of the frame header must not hide its size from us.
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            pos += 1
            continue
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF_MARKERS:
            precision = data[pos + 4]
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            components = data[pos + 9]
            return width, height, max(components, 3), 2 if precision > 8 else 1
        pos += 2 + length
    return None


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    (header_size,) = struct.unpack("<I", data[14:18])
    if header_size == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack("<HH", data[18:22])
    else:
        width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)  # negative height means top-down rows


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    endian = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack(endian + "I", data[4:8])
    (count,) = struct.unpack(endian + "H", data[ifd : ifd + 2])
    width = height = bits = samples = None
    for k in range(count):
        entry = data[ifd + 2 + 12 * k : ifd + 14 + 12 * k]
        tag, kind = struct.unpack(endian + "HH", entry[:4])
        if kind == 3:  # SHORT
            (value,) = struct.unpack(endian + "H", entry[8:10])
        else:  # LONG
            (value,) = struct.unpack(endian + "I", entry[8:12])
        # libtiff keeps the first of duplicated tags (and warns): so do we, or a
        # file could be measured by one tag and decoded by the other.
        if tag == 256 and width is None:
            width = value
        elif tag == 257 and height is None:
            height = value
        elif tag == 258 and bits is None:  # BitsPerSample: one per channel
            (count_of_values,) = struct.unpack(endian + "I", entry[4:8])
            if kind == 3 and count_of_values > 2:  # stored at an offset: read the first
                (bits,) = struct.unpack(endian + "H", data[value : value + 2])
            else:
                bits = value
        elif tag == 277 and samples is None:  # SamplesPerPixel
            samples = value
    if width is None or height is None:
        return None
    # libtiff-based decoders may expand to RGBA; never count fewer than 4 channels
    sample_bytes = 2 if bits is None else max(1, -(-min(bits, 64) // 8))
    return width, height, max(4, samples or 4), sample_bytes


def _gif_size(data: bytes) -> tuple[int, int] | None:
    width, height = struct.unpack("<HH", data[6:10])
    return width, height


def _pnm_size(data: bytes) -> tuple[int, int] | None:
    fields: list[int] = []
    for line in data[2:512].split(b"\n"):
        line = line.split(b"#", 1)[0]
        fields.extend(int(token) for token in line.split())
        if len(fields) >= 2:
            return fields[0], fields[1]
    return None


_SIZE_READERS = {
    "png": _png_size,
    "jpeg": _jpeg_size,
    "bmp": _bmp_size,
    "webp": _webp_size,
    "tiff": _tiff_size,
    "gif": _gif_size,
    "pnm": _pnm_size,
}


def looks_truncated(data: bytes, fmt: str) -> bool:
    """True when a JPEG or PNG stream lacks its end marker.

    OpenCV decodes a cut-off JPEG into an image whose bottom is grey, with a
    warning only, so the truncation has to be detected on the bytes.
    """
    if fmt == "jpeg":
        # EOI marker; some cameras append padding or metadata after it
        return b"\xff\xd9" not in data[-4096:]
    if fmt == "png":
        return b"IEND" not in data[-64:]
    return False
