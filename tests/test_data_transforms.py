"""Preprocessing (resize policies, normalisation, model-file dict) and Augment."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from convkit.data import Augment, Preprocessing, preprocessing_from_dict
from convkit.errors import DataError


def wide_image() -> np.ndarray:
    """40 x 80 RGB: left half red, right half blue."""
    img = np.zeros((40, 80, 3), dtype=np.uint8)
    img[:, :40, 0] = 255
    img[:, 40:, 2] = 255
    return img


def test_stretch_letterbox_and_center_crop():
    img = wide_image()
    stretch = Preprocessing(20, 20, 3, resize="stretch").fit(img)
    assert stretch.shape == (20, 20, 3)
    assert stretch[:, 0, 0].min() == 255 and stretch[:, -1, 2].min() == 255  # both halves kept

    box = Preprocessing(20, 20, 3, resize="letterbox").fit(img)
    assert box.shape == (20, 20, 3)
    assert box[:5].max() == 0 and box[-5:].max() == 0  # black bars above and below
    assert box[10, 0, 0] == 255 and box[10, -1, 2] == 255

    crop = Preprocessing(20, 20, 3, resize="center_crop").fit(img)
    assert crop.shape == (20, 20, 3)
    assert crop[10, 0, 0] == 255 and crop[10, -1, 2] == 255  # the centre: half red, half blue
    assert crop[:, :8, 0].min() == 255 and crop[:, -8:, 2].min() == 255


def test_normalise_values_and_layout():
    pre = Preprocessing(2, 2, 3, mean=(0.5, 0.25, 0.0), std=(0.5, 0.25, 1.0))
    img = np.full((2, 2, 3), 255, dtype=np.uint8)
    out = pre.apply(img)
    assert out.shape == (3, 2, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0, 0], [1.0, 3.0, 1.0], rtol=1e-6)


def test_grey_network_on_colour_photo_and_bgr_order():
    img = wide_image()
    grey = Preprocessing(10, 10, 1).fit(img)
    assert grey.shape == (10, 10, 1)
    bgr = Preprocessing(40, 80, 3, channel_order="bgr").fit(img)
    assert bgr[0, 0].tolist() == [0, 0, 255]


def test_batch_normalisation_equals_per_image_and_is_channels_last():
    pre = Preprocessing(6, 5, 3, mean="imagenet", std="imagenet")
    images = np.random.default_rng(0).integers(0, 256, (4, 6, 5, 3), dtype=np.uint8)
    batch = pre.normalise_batch(images)
    assert torch.equal(batch, pre.normalise_batch(torch.from_numpy(images)))
    assert batch.shape == (4, 3, 6, 5) and batch.is_contiguous(memory_format=torch.channels_last)
    expected = np.stack([pre.normalise(img) for img in images])
    np.testing.assert_allclose(batch.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_dict_round_trip_and_dispatch(tmp_path):
    pre = Preprocessing(
        32, 24, 3, resize="letterbox", mean="imagenet", std=(0.2,), channel_order="bgr"
    )
    d = pre.to_dict()
    assert d["kind"] == "image" and d["std"] == [0.2, 0.2, 0.2]
    again = preprocessing_from_dict(d)
    assert again == pre and again.to_dict() == d
    with pytest.raises(DataError, match="unknown preprocessing kind 'video'"):
        preprocessing_from_dict({"kind": "video"})
    with pytest.raises(DataError, match="unknown key `colour` in image preprocessing"):
        preprocessing_from_dict({**d, "colour": 1})


def test_load_reads_a_file(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.full((8, 8), 255, np.uint8))
    out = Preprocessing(4, 4, 1).load(tmp_path / "a.png")
    assert out.shape == (1, 4, 4) and np.allclose(out, 1.0)


def test_for_spec_reads_the_input_volume():
    class Volume:
        height, width, channels = 28, 28, 1

    class Spec:
        input = Volume()

    pre = Preprocessing.for_spec(Spec(), resize="center_crop", mean="mnist", std="mnist")
    assert (pre.height, pre.width, pre.channels, pre.resize) == (28, 28, 1, "center_crop")
    assert pre.mean == (0.1307,)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"resize": "squash"},
            "`resize` must be one of 'center_crop', 'letterbox', 'stretch'. "
            "Received: resize='squash'",
        ),
        ({"channels": 2}, "`channels` must be one of 1, 3. Received: channels=2"),
        (
            {"std": (0.0,)},
            "`std` must be a positive number for each channel. Received: std=[0.0, 0.0, 0.0]",
        ),
        ({"crop": 0}, "`crop` must be a number in (0, 1]. Received: crop=0"),
        ({"scale": float("inf")}, "`scale` must be a positive number. Received: scale=inf"),
        ({"height": 0}, "`height` must be a positive integer. Received: height=0"),
        ({"mean": (0.1, 0.2)}, "`mean` needs 1 or 3 values"),
        ({"mean": "cifar"}, "`mean` preset must be one of"),
    ],
)
def test_preprocessing_errors_are_one_clear_line(kwargs, message):
    with pytest.raises(DataError, match=re.escape(message)):
        Preprocessing(**{"height": 8, "width": 8, "channels": 3, **kwargs})


# ----- augmentation --------------------------------------------------------


def test_same_example_same_draws_whatever_the_batch():
    aug = Augment(rotation=15, scale=0.1, brightness=0.2, flip=True)
    batch = aug.sample_batch(3, 2, [10, 11, 12], 20, 20)
    alone = aug.params_for(3, 2, 11, 20, 20)
    np.testing.assert_array_equal(batch[1].inverse, alone.inverse)
    assert batch[1].bias == alone.bias
    next_epoch = aug.params_for(3, 3, 11, 20, 20)
    assert not np.allclose(next_epoch.inverse, alone.inverse)


def test_flip_mirrors_exactly():
    aug = Augment(flip=True)
    img = np.arange(5 * 6, dtype=np.uint8).reshape(5, 6, 1)
    flips = [aug.params_for(0, 0, i, 5, 6) for i in range(40)]
    flipped = [p for p in flips if p.geometric]
    assert 8 < len(flipped) < 32  # about half
    out = aug.apply(img, flipped[0])
    assert np.array_equal(out, img[:, ::-1])


def test_crop_padding_is_a_whole_pixel_shift_with_zeros():
    aug = Augment(crop_padding=2)
    img = np.full((8, 8, 1), 100, dtype=np.uint8)
    shifts = set()
    for i in range(60):
        params = aug.params_for(1, 0, i, 8, 8)
        dx, dy = -params.inverse[0, 2], -params.inverse[1, 2]
        shifts.add((round(dx), round(dy)))
        out = aug.apply(img, params)
        assert set(np.unique(out)) <= {0, 100}  # no blending: whole pixels moved
        assert (out == 0).sum() == 8 * 8 - (8 - abs(round(dx))) * (8 - abs(round(dy)))
    assert {s for pair in shifts for s in pair} == {-2, -1, 0, 1, 2}


def test_brightness_and_contrast():
    aug = Augment(brightness=0.5)
    img = np.full((4, 4, 3), 100, dtype=np.uint8)
    values = {int(aug.apply(img, aug.params_for(0, 0, i, 4, 4))[0, 0, 0]) for i in range(20)}
    assert len(values) > 10 and min(values) < 100 < max(values)
    grey = np.full((4, 4, 1), 128, dtype=np.uint8)
    contrast = Augment(contrast=0.5)  # mid-grey is its fixed point
    assert all(
        abs(int(contrast.apply(grey, contrast.params_for(0, 0, i, 4, 4))[0, 0, 0]) - 128) <= 1
        for i in range(10)
    )


def test_opencv_and_batched_torch_appliers_agree():
    aug = Augment(
        crop_padding=3,
        flip=True,
        rotation=20,
        scale=0.15,
        translate=0.1,
        shear=10,
        brightness=0.1,
        contrast=0.2,
    )
    rng = np.random.default_rng(0)
    # a smooth image, so bilinear rounding differences stay small
    yy, xx = np.mgrid[0:24, 0:20]
    images = np.stack([((xx * 9 + yy * 5 + 20 * k) % 256).astype(np.uint8) for k in range(6)])[
        ..., None
    ]
    images = np.clip(images.astype(int) + rng.integers(0, 3, images.shape), 0, 255).astype(np.uint8)
    params = aug.sample_batch(5, 1, range(6), 24, 20)
    batch = aug.apply_batch(images, params)  # (N, H, W, 1) float
    assert batch.shape == images.shape and batch.dtype == np.float32
    for k in range(6):
        single = aug.apply(images[k], params[k]).astype(float)
        difference = np.abs(batch[k] - single)
        assert difference.max() <= 0.5, k  # same OpenCV warp; only the final rounding differs


def test_augment_config_round_trip_and_parse():
    aug = Augment.parse("crop=4, flip, rotate=10, brightness=0.2")
    assert aug == Augment(crop_padding=4, flip=True, rotation=10.0, brightness=0.2)
    assert Augment.from_dict(aug.to_dict()) == aug
    assert not Augment.parse("none").enabled and Augment.from_dict(None) == Augment()
    with pytest.raises(DataError, match="unknown augmentation 'blur'"):
        Augment.parse("blur=3")
    with pytest.raises(
        DataError, match="`rotation` must be a non-negative number. Received: rotation=-5"
    ):
        Augment(rotation=-5)
    with pytest.raises(DataError, match=re.escape("`scale` must be a number in [0, 1)")):
        Augment(scale=1.0)
    with pytest.raises(DataError, match="`shear` must be a non-negative number"):
        Augment(shear=float("nan"))
    with pytest.raises(DataError, match="`crop_padding` must be a non-negative integer"):
        Augment(crop_padding=1.5)
    with pytest.raises(DataError, match="augmentation rotation needs a number"):
        Augment.parse("rotation=lots")


def test_rotation_keeps_the_centre_pixel():
    aug = Augment(rotation=90)
    img = np.zeros((9, 9, 1), dtype=np.uint8)
    img[4, 4] = 255
    for i in range(5):
        assert aug.apply(img, aug.params_for(0, 0, i, 9, 9))[4, 4, 0] > 200
