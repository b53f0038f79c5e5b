"""Box-aware augmentation: boxes follow the object; same (seed, epoch, index), same result."""

from __future__ import annotations

import numpy as np
import pytest

from convkit.detect.augment import DetectAugment, crop, hflip, letterbox, rescale
from convkit.errors import UsageError


def white_square_scene(x1=10, y1=20, x2=30, y2=32, width=64, height=48):
    image = np.zeros((height, width, 3), np.uint8)
    image[y1:y2, x1:x2] = 255
    return image, np.array([[x1, y1, x2, y2]], np.float32), np.array([2])


def extent(image) -> list[float]:
    """Box [x1, y1, x2, y2] around the bright pixels."""
    rows, cols = np.nonzero(image[:, :, 0] > 127)
    return [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]


def test_hflip_moves_the_box_with_the_object():
    image, boxes, _ = white_square_scene()
    flipped, moved = hflip(image, boxes)
    assert moved.tolist() == [extent(flipped)] == [[34, 20, 54, 32]]


def test_rescale_scales_the_box():
    image, boxes, _ = white_square_scene()
    scaled, moved = rescale(image, boxes, 0.5)
    assert scaled.shape[:2] == (24, 32)
    np.testing.assert_allclose(moved, [[5, 10, 15, 16]])
    np.testing.assert_allclose(moved[0], extent(scaled), atol=1)


def test_crop_clips_and_drops_boxes_that_mostly_leave():
    image, _, _ = white_square_scene()
    boxes = np.array([[10, 20, 30, 32], [0, 0, 8, 8]], np.float32)
    cut, kept, labels = crop(image, boxes, np.array([0, 1]), (6, 4, 40, 40))
    assert cut.shape[:2] == (40, 40)
    # first box fully inside after the shift; second keeps 2x4 of 8x8 = 12.5% -> dropped
    assert kept.tolist() == [[4, 16, 24, 28]] and labels.tolist() == [0]


def test_letterbox_and_back_is_the_identity():
    image, boxes, _ = white_square_scene(width=80, height=40)
    fitted, moved, info = letterbox(image, boxes, 64, 64)
    assert fitted.shape == (64, 64, 3) and info.pad_y == 16 and info.pad_x == 0
    np.testing.assert_allclose(moved[0], extent(fitted), atol=1)
    np.testing.assert_allclose(info.to_original(moved), boxes, atol=1e-4)


@pytest.mark.parametrize("index", range(8))
def test_augment_keeps_boxes_on_the_object(index):
    augment = DetectAugment(flip=0.5, scale_min=0.6, scale_max=1.4, crop=1.0, crop_min=0.8, seed=3)
    image, boxes, labels = white_square_scene()
    out, moved, kept = augment(image, boxes, labels, epoch=1, index=index)
    if len(moved):  # the crop may cut the square away; then its box must be gone too
        np.testing.assert_allclose(moved[0], extent(out), atol=1.5)
        assert kept.tolist() == [2]
    else:
        assert (out[:, :, 0] > 127).sum() < 0.4 * 20 * 12 + 40


def test_photometric_changes_leave_boxes_alone():
    augment = DetectAugment(
        flip=0, scale_min=1, scale_max=1, crop=0, brightness=0.3, contrast=0.5, seed=2
    )
    image, boxes, labels = white_square_scene()
    out, moved, _ = augment(image.copy() // 2 + 60, boxes, labels, 0, 0)
    assert np.array_equal(moved, boxes) and not np.array_equal(out, image // 2 + 60)


def test_augment_is_deterministic_per_seed_epoch_index():
    augment = DetectAugment(seed=5)
    image, boxes, labels = white_square_scene()
    first = augment(image, boxes, labels, 2, 9)
    again = augment(image, boxes, labels, 2, 9)
    other = [augment(image, boxes, labels, 3, 9), augment(image, boxes, labels, 2, 10)]
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert any(o[0].shape != first[0].shape or not np.array_equal(o[0], first[0]) for o in other)


def test_bad_settings_are_one_line_errors():
    with pytest.raises(UsageError) as caught:
        DetectAugment(flip=2)
    assert str(caught.value) == (
        "detection augmentation: `flip` must be a number in [0, 1] (a probability). "
        "Received: flip=2"
    )
    with pytest.raises(UsageError) as caught:
        DetectAugment(scale_min=1.5, scale_max=1.0)
    assert str(caught.value) == (
        "detection augmentation: `scale_max` must be a number >= 1.5 (not below scale_min). "
        "Received: scale_max=1.0"
    )
    with pytest.raises(UsageError, match=r"`contrast` must be a number in \[0, 1\)"):
        DetectAugment(contrast=1.0)
    with pytest.raises(UsageError, match="`mosaic_epochs` must be a non-negative integer"):
        DetectAugment(mosaic_epochs=-1)


def test_generic_augment_flags_translate_to_box_augmentations():
    from convkit.data import Augment

    converted = DetectAugment.from_generic(Augment(flip=True, scale=0.2, crop_padding=4), seed=1)
    assert (converted.flip, converted.scale_min, converted.scale_max, converted.crop) == (
        0.5,
        0.8,
        1.2,
        0.5,
    )
    with pytest.raises(UsageError, match="rotation"):
        DetectAugment.from_generic(Augment(rotation=10))
