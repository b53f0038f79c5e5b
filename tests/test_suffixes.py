"""One list of image suffixes and one of audio suffixes, and every part takes the same files.

``convkit.data.suffixes`` is the only place the lists are written. These
tests hold every user to it (training's folder listing, `convkit predict`,
`detect`, `ocr`, search, Spark, the server's upload check and its page's
file picker) and check that a file with each suffix really decodes.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest

from convkit.data.suffixes import (
    AUDIO_SUFFIX_FORMATS,
    AUDIO_SUFFIXES,
    IMAGE_SUFFIX_FORMATS,
    IMAGE_SUFFIXES,
    INPUT_SUFFIXES,
    extensions,
)

STATIC = Path(__file__).resolve().parents[1] / "src" / "convkit" / "serve" / "static"


def encoded_image(suffix: str) -> bytes:
    import cv2

    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    if suffix in (".pgm", ".pbm"):  # grey and bilevel formats take one channel
        image = image[:, :, 0]
    ok, data = cv2.imencode(suffix, image)
    assert ok, suffix
    return data.tobytes()


def encoded_recording(suffix: str) -> bytes:
    import soundfile

    seconds = np.arange(4000, dtype=np.float32) / 8000
    tone = (0.5 * np.sin(2 * np.pi * 440 * seconds)).astype(np.float32)
    buffer = io.BytesIO()
    soundfile.write(buffer, tone, 8000, format=AUDIO_SUFFIX_FORMATS[suffix])
    return buffer.getvalue()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, list[Path], list[Path]]:
    """A folder with one image per image suffix (one upper case), one recording per
    audio suffix, and files no part should take (GIF, text)."""
    root = tmp_path_factory.mktemp("suffixes")
    images, recordings = [], []
    for number, suffix in enumerate(IMAGE_SUFFIXES):
        name = f"image{number:02d}{suffix.upper() if number == 0 else suffix}"
        (root / name).write_bytes(encoded_image(suffix))
        images.append(root / name)
    for number, suffix in enumerate(AUDIO_SUFFIXES):
        (root / f"sound{number}{suffix}").write_bytes(encoded_recording(suffix))
        recordings.append(root / f"sound{number}{suffix}")
    (root / "animation.gif").write_bytes(b"GIF89a" + bytes(20))
    (root / "notes.txt").write_text("not an input")
    return root, sorted(images), sorted(recordings)


def test_the_lists_are_lower_case_suffixes_without_repeats():
    for suffixes in (IMAGE_SUFFIXES, AUDIO_SUFFIXES):
        assert all(re.fullmatch(r"\.[a-z0-9]+", s) for s in suffixes)
        assert len(set(suffixes)) == len(suffixes)
    assert not set(IMAGE_SUFFIXES) & set(AUDIO_SUFFIXES)
    assert INPUT_SUFFIXES == IMAGE_SUFFIXES + AUDIO_SUFFIXES
    assert ".gif" not in IMAGE_SUFFIXES  # refused by name by every decoder


def test_every_module_uses_the_one_list():
    from convkit.audio.decode import AUDIO_EXTENSIONS
    from convkit.classify import task as classify_task
    from convkit.data import IMAGE_SUFFIXES as data_suffixes
    from convkit.data.image_header import ACCEPTED_FORMATS
    from convkit.detect.annotation import IMAGE_SUFFIXES as detect_suffixes
    from convkit.ocr.labels import IMAGE_SUFFIXES as ocr_suffixes
    from convkit.search.embed import image_suffixes
    from convkit.spark.dataframe import AUDIO_EXTENSIONS as spark_audio
    from convkit.spark.dataframe import IMAGE_EXTENSIONS as spark_images

    for suffixes in (data_suffixes, detect_suffixes, ocr_suffixes, image_suffixes()):
        assert suffixes is IMAGE_SUFFIXES
    for suffixes in (AUDIO_EXTENSIONS, classify_task.AUDIO_SUFFIXES):
        assert suffixes is AUDIO_SUFFIXES
    assert spark_images == extensions(IMAGE_SUFFIXES) == tuple(s[1:] for s in IMAGE_SUFFIXES)
    assert spark_audio == extensions(AUDIO_SUFFIXES)
    # The formats the decoder and the server accept are the ones the suffixes name.
    assert set(ACCEPTED_FORMATS) == set(IMAGE_SUFFIX_FORMATS.values())


def test_the_server_page_offers_the_same_files():
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    accept = re.search(r'id="file-input"[^>]*accept="([^"]*)"', page).group(1)
    assert accept.split(",") == list(INPUT_SUFFIXES)


@pytest.mark.parametrize("suffix", IMAGE_SUFFIXES)
def test_an_image_with_each_suffix_decodes_and_the_server_takes_it(suffix):
    from convkit.data import read_image
    from convkit.data.image_header import read_header
    from convkit.serve.uploads import UploadLimits, check_upload

    data = encoded_image(suffix)
    assert read_header(data).format == IMAGE_SUFFIX_FORMATS[suffix]
    assert read_image(data, channels=3).shape == (12, 16, 3)
    assert check_upload(data, "image", UploadLimits()) > 0


@pytest.mark.parametrize("suffix", AUDIO_SUFFIXES)
def test_a_recording_with_each_suffix_decodes_and_the_server_takes_it(suffix):
    import soundfile

    from convkit.audio import read_audio
    from convkit.serve.uploads import UploadLimits, check_upload

    assert AUDIO_SUFFIX_FORMATS[suffix] in soundfile.available_formats()
    data = encoded_recording(suffix)
    samples, rate = read_audio(data)
    assert rate == 8000 and abs(samples.shape[0] - 4000) <= 1 and np.abs(samples).max() > 0.1
    check_upload(data, "audio", UploadLimits())  # no UploadError


def test_every_lister_takes_the_same_images(inputs):
    from convkit.data.listing import list_input_files
    from convkit.detect.inputs import list_images as detect_images
    from convkit.ocr.inputs import image_files
    from convkit.search.embed import list_images as search_images

    root, images, _ = inputs
    assert sorted(list_input_files(root, IMAGE_SUFFIXES)[0]) == images  # training's listing
    assert detect_images(root) == images
    assert sorted(Path(p) for p in image_files([str(root)])) == images
    assert [Path(p) for p in search_images(root)] == [p.resolve() for p in images]


def test_predict_takes_every_image_and_recording_and_nothing_else(inputs):
    from convkit.cli.predict import expand_inputs

    root, images, recordings = inputs
    assert sorted(Path(p) for p in expand_inputs([str(root)])) == sorted(images + recordings)


def test_training_finds_recordings_by_the_same_suffixes(inputs):
    from convkit.audio.folders import _list_recordings as list_recordings
    from convkit.classify.task import is_audio_folder

    root, _, recordings = inputs
    assert sorted(list_recordings(root)) == recordings
    assert all(is_audio_folder(str(path)) for path in recordings)
