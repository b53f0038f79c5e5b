"""The file suffixes convkit reads as inputs: one list each for images and recordings.

Every part that picks input files by name uses these (folder listing for
training and prediction, `convkit predict`/`detect`/`ocr`, search indexes,
Spark's file reader, the server page's file picker), so a file one of them
takes is a file all of them take. The lists name what really decodes:

- images: what ``convkit.data.decode.read_image`` decodes, by magic bytes
  (``image_header.ACCEPTED_FORMATS`` is made from this table): JPEG, PNG,
  BMP, WebP, TIFF and the PNM family. GIF is not here: it is refused by name.
- recordings: what ``convkit.audio.decode.read_audio`` reads through
  libsndfile and the server's upload check recognises: WAV, FLAC, Ogg.

Suffixes are lower case with their dot; compare ``path.suffix.lower()``.
Pure Python.
"""

from __future__ import annotations

# suffix -> the format its bytes are (image_header's names), in the order
# files are looked for by stem (detection annotations name images without one).
IMAGE_SUFFIX_FORMATS: dict[str, str] = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".bmp": "bmp",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".webp": "webp",
    ".pgm": "pnm",
    ".ppm": "pnm",
    ".pbm": "pnm",
}
IMAGE_SUFFIXES: tuple[str, ...] = tuple(IMAGE_SUFFIX_FORMATS)

# suffix -> libsndfile's name of the container (soundfile.available_formats()).
AUDIO_SUFFIX_FORMATS: dict[str, str] = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}
AUDIO_SUFFIXES: tuple[str, ...] = tuple(AUDIO_SUFFIX_FORMATS)

#: what `convkit predict` takes from a folder: an image or a recording
INPUT_SUFFIXES: tuple[str, ...] = IMAGE_SUFFIXES + AUDIO_SUFFIXES


def extensions(suffixes: tuple[str, ...]) -> tuple[str, ...]:
    """The suffixes without their dots (``png``), as a path filter such as Spark's wants."""
    return tuple(suffix.lstrip(".") for suffix in suffixes)


def describe(suffixes: tuple[str, ...]) -> str:
    """``.wav/.flac/.ogg``: the list as a message shows it."""
    return "/".join(suffixes)
