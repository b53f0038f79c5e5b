"""read_image: formats, depths, channel conversion, and every kind of bad file."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from convkit.data import read_image
from convkit.data.image_header import read_header
from convkit.errors import DataError


def gradient_rgb(h=12, w=16) -> np.ndarray:
    """An RGB image whose channels differ, so a BGR/RGB swap is visible."""
    img = np.zeros((h, w, 3), dtype=np.uint8)
    img[:, :, 0] = 200  # red
    img[:, :, 1] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]  # green ramp
    img[:, :, 2] = 30  # blue
    return img


def encode(rgb: np.ndarray, suffix: str) -> bytes:
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 and rgb.shape[2] == 3 else rgb
    ok, data = cv2.imencode(suffix, bgr)
    assert ok
    return data.tobytes()


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".webp", ".jpg"])
def test_every_format_decodes_to_rgb_uint8(tmp_path, suffix):
    rgb = gradient_rgb()
    path = tmp_path / f"img{suffix}"
    if suffix == ".webp":  # lossless, so pixels can be compared exactly
        ok, data = cv2.imencode(
            suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_WEBP_QUALITY, 101]
        )
        path.write_bytes(data.tobytes())
    else:
        path.write_bytes(encode(rgb, suffix))
    image = read_image(path, channels=3)
    assert image.dtype == np.uint8 and image.shape == (12, 16, 3)
    tolerance = 12 if suffix == ".jpg" else 0
    assert np.abs(image.astype(int) - rgb.astype(int)).max() <= tolerance
    header = read_header(path.read_bytes())
    assert (header.width, header.height) == (16, 12)


def test_color_to_grey_and_grey_to_color(tmp_path):
    rgb = gradient_rgb()
    grey = read_image(encode(rgb, ".png"), channels=1)
    assert grey.shape == (12, 16, 1)
    expected = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    assert np.array_equal(grey[:, :, 0], expected)

    plain = np.arange(12 * 16, dtype=np.uint8).reshape(12, 16)
    color = read_image(encode(plain, ".png"), channels=3)
    assert color.shape == (12, 16, 3)
    assert all(np.array_equal(color[:, :, c], plain) for c in range(3))


def test_sixteen_bit_png_is_scaled_to_eight_bits():
    deep = np.array([[0, 257, 65535, 32896]], dtype=np.uint16)
    image = read_image(cv2.imencode(".png", deep)[1].tobytes(), channels=1)
    assert image[0, :, 0].tolist() == [0, 1, 255, 128]


def test_rgba_is_composited_over_white():
    bgra = np.zeros((2, 2, 4), dtype=np.uint8)
    bgra[0, 0] = (0, 0, 255, 255)  # opaque red
    bgra[0, 1] = (0, 0, 255, 0)  # fully transparent -> white
    bgra[1, 0] = (0, 0, 0, 128)  # half-transparent black -> mid grey
    image = read_image(cv2.imencode(".png", bgra)[1].tobytes(), channels=3)
    assert image[0, 0].tolist() == [255, 0, 0]
    assert image[0, 1].tolist() == [255, 255, 255]
    assert abs(int(image[1, 0, 0]) - 127) <= 1


def test_empty_file_names_the_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.jpg: empty file"):
        read_image(path)


def test_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello")
    with pytest.raises(DataError, match=r"notes\.png: not an image"):
        read_image(path)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_file_is_rejected(tmp_path, suffix):
    noisy = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode(noisy, suffix)
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.(jpg|png): .*(truncated|corrupt)"):
        read_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_image(tmp_path / "nope.png")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size in IHDR but holds almost no data: a decompression bomb's head."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = (
        struct.pack(">I", len(ihdr))
        + b"IHDR"
        + ihdr
        + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    )
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(DataError, match=r"too large \(100000x100000"):
        read_image(png_header_only(100_000, 100_000))


def test_pixel_limit_is_configurable(monkeypatch):
    small = encode(gradient_rgb(), ".png")  # 16 x 12 = 192 pixels
    assert read_image(small, max_pixels=192).shape == (12, 16, 3)
    with pytest.raises(DataError, match="limit 191"):
        read_image(small, max_pixels=191)
    monkeypatch.setenv("CONVKIT_MAX_IMAGE_PIXELS", "100")
    with pytest.raises(DataError, match="too large"):
        read_image(small)


def test_channels_must_be_one_or_three():
    with pytest.raises(DataError, match="channels must be 1 or 3"):
        read_image(encode(gradient_rgb(), ".png"), channels=4)


def test_jpeg_header_size_is_read_past_exif_segments():
    data = encode(gradient_rgb(30, 50), ".jpg")
    # insert an APP1 segment before the frame header, as cameras do
    app1 = b"\xff\xe1" + struct.pack(">H", 18) + b"Exif\x00\x00" + b"\x00" * 10
    header = read_header(data[:2] + app1 + data[2:])
    assert (header.format, header.width, header.height) == ("jpeg", 50, 30)


def test_large_jpeg_decodes_at_reduced_scale_but_never_below_what_is_needed():
    yy, xx = np.mgrid[0:900, 0:1200]
    smooth = np.stack([xx * 255 // 1200, yy * 255 // 900, (xx + yy) * 255 // 2100], -1).astype(
        np.uint8
    )
    data = encode(smooth, ".jpg")
    assert read_image(data).shape == (900, 1200, 3)
    assert read_image(data, min_side=224).shape == (225, 300, 3)  # 1/4: 900 // 4 = 225 >= 224
    assert read_image(data, min_side=226).shape == (450, 600, 3)  # 1/4 would be too small
    assert read_image(data, min_side=1000).shape == (900, 1200, 3)

    from convkit.data import Preprocessing

    pre = Preprocessing(224, 224, 3, resize="center_crop")
    fast = pre.load(data)  # reduced decode, then resize
    full = pre.apply(read_image(data))  # full decode, then resize
    assert np.abs(fast - full).mean() < 2 / 255
