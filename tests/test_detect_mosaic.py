"""Mosaic and colour (HSV) augmentation for detection: boxes follow the pixels,
draws are reproducible per (seed, epoch, index), bad settings are refused."""

from __future__ import annotations

import numpy as np
import pytest

from convkit.detect.augment import (
    DetectAugment,
    hsv_jitter,
    mosaic,
    train_augment_options,
    with_detection_extras,
)
from convkit.errors import UsageError


def tile(value, size=(40, 30), box=(10, 5, 30, 25)):
    """A grey photo ``size`` (w, h) with one bright square where its box says."""
    image = np.full((size[1], size[0], 3), 20, np.uint8)
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = value
    return image, np.array([box], np.float32), np.array([0], np.int64)


@pytest.mark.parametrize("seed", range(6))
def test_mosaic_boxes_cover_the_pixels_they_came_with(seed):
    tiles = [tile(v) for v in (100, 150, 200, 250)]
    rng = np.random.default_rng(seed)
    image, boxes, labels = mosaic(tiles, 64, 64, rng, zoom=(0.8, 1.2), min_visible=0.05)
    assert image.dtype == np.uint8 and image.shape[2] == 3
    assert len(boxes) == len(labels) >= 1
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= image.shape[1]).all()
    assert (boxes[:, 1] >= 0).all() and (boxes[:, 3] <= image.shape[0]).all()
    for x1, y1, x2, y2 in boxes:  # inside each box: a bright square, not the grey border
        inner = image[int(np.ceil(y1)) + 1 : int(y2) - 1, int(np.ceil(x1)) + 1 : int(x2) - 1]
        if inner.size:
            assert inner.min() >= 90


def test_mosaic_draws_are_reproducible_and_independent_of_the_batch():
    augment = DetectAugment(flip=0.5, mosaic=1.0, hsv_h=0.015, hsv_s=0.7, hsv_v=0.4, seed=4)
    pool = np.arange(20)
    assert augment.mosaic_partners(3, 7, pool) == augment.mosaic_partners(3, 7, pool)
    assert len(augment.mosaic_partners(3, 7, pool)) == 3
    assert DetectAugment(mosaic=0.0).mosaic_partners(3, 7, pool) == []
    tiles = [tile(v) for v in (100, 150, 200, 250)]
    a = augment.mosaic_of(tiles, 48, 48, epoch=3, index=7)
    b = augment.mosaic_of(tiles, 48, 48, epoch=3, index=7)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_hsv_jitter_changes_colour_not_shape():
    image, _, _ = tile(180)
    image[..., 0] = 50  # a coloured square: hue and saturation have something to change
    rng = np.random.default_rng(0)
    out = hsv_jitter(image, (0.1, 0.7, 0.4), rng)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert not np.array_equal(out, image)
    unchanged = hsv_jitter(image, (0.0, 0.0, 0.0), rng)
    assert np.abs(unchanged.astype(int) - image).max() <= 2  # only HSV round-off
    grey = hsv_jitter(image[..., :1].copy(), (0.1, 0.7, 0.4), rng)
    assert grey.shape == (30, 40, 1)


def test_batches_use_mosaic_for_training_only(tmp_path):
    from convkit.detect.batches import DetectBatchSource
    from convkit.detect.preprocess import DetectPreprocessing

    class Photos:  # the three members DetectBatchSource uses
        annotations = list(range(8))

        def load(self, index):
            return tile(100 + 10 * index)

    augment = DetectAugment(flip=0.0, scale_min=1.0, scale_max=1.0, crop=0.0, mosaic=1.0)
    source = DetectBatchSource(Photos(), range(8), DetectPreprocessing(32, 32), augment, 4)
    x, targets = next(source.epoch(0))
    assert x.shape == (4, 3, 32, 32)
    assert targets.shape[0] > 4  # four mosaics of four one-box photos hold more than 4 boxes
    plain = DetectBatchSource(Photos(), range(8), DetectPreprocessing(32, 32), None, 4)
    assert next(plain.epoch(0))[1].shape[0] == 4


def test_detection_extras_from_options():
    assert train_augment_options({}) == {}
    extras = train_augment_options({"mosaic": 0.5, "hsv": "0.015,0.7,0.4"})
    assert extras == {"mosaic": 0.5, "hsv_h": 0.015, "hsv_s": 0.7, "hsv_v": 0.4}
    combined = with_detection_extras(DetectAugment(flip=0.5), extras, seed=1)
    assert combined.flip == 0.5 and combined.mosaic == 0.5 and combined.hsv_s == 0.7
    alone = with_detection_extras(None, extras, seed=1)
    assert alone.flip == 0.0 and alone.mosaic == 0.5
    with pytest.raises(UsageError, match="three gains"):
        train_augment_options({"hsv": "0.5"})
    with pytest.raises(UsageError, match="mosaic"):
        train_augment_options({"mosaic": 1.5})


def test_mosaic_stops_after_mosaic_epochs():
    augment = DetectAugment(mosaic=1.0, mosaic_epochs=5)
    pool = np.arange(10)
    assert len(augment.mosaic_partners(4, 1, pool)) == 3
    assert augment.mosaic_partners(5, 1, pool) == []  # the last epochs see plain photos
    assert train_augment_options({"mosaic": 1, "mosaic_epochs": 5})["mosaic_epochs"] == 5
    with pytest.raises(UsageError, match="mosaic_epochs"):
        DetectAugment(mosaic_epochs=-1)
