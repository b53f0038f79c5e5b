"""The pixel check behind `convkit duplicates`: copies align, look-alikes do not, groups stay apart."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from convkit.data import read_idx
from convkit.search.duplicates import _average_linkage
from convkit.search.verify import Thumbnail, load_thumbnail, pixel_similarity


@pytest.fixture(scope="module")
def sevens(mnist_dir):
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:400]
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")[:400]
    return images[labels == 7][:12]  # (12, 28, 28): one kind, many hands


def copies_of(image: np.ndarray) -> dict[str, np.ndarray]:
    _, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 70])
    return {
        "jpeg": cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE),
        "smaller": cv2.resize(image, (20, 20), interpolation=cv2.INTER_AREA),
        "larger": cv2.resize(image, (48, 48), interpolation=cv2.INTER_LINEAR),
        "cropped": image[1:28, 0:27],  # one pixel off the top and the right
    }


def test_copies_score_high_and_other_hands_lower(sevens):
    copy_scores, other_scores = [], []
    for number, image in enumerate(sevens):
        original = Thumbnail(image)
        for copy in copies_of(image).values():
            copy_scores.append(pixel_similarity(original, Thumbnail(copy)))
        other_scores.append(pixel_similarity(original, Thumbnail(sevens[(number + 1) % 12])))
    assert min(copy_scores) >= 0.97
    assert np.median(copy_scores) >= 0.99
    assert max(other_scores) < 0.97 and np.median(other_scores) < 0.9


def test_similarity_is_symmetric_enough_and_handles_blank_frames(sevens):
    first, second = Thumbnail(sevens[0]), Thumbnail(copies_of(sevens[0])["cropped"])
    assert abs(pixel_similarity(first, second) - pixel_similarity(second, first)) < 0.02
    black, also_black = (
        Thumbnail(np.zeros((30, 30), np.uint8)),
        Thumbnail(np.zeros((8, 9), np.uint8)),
    )
    white = Thumbnail(np.full((30, 30), 255, np.uint8))
    assert pixel_similarity(black, also_black) == 1.0
    assert pixel_similarity(black, white) == 0.0
    assert pixel_similarity(black, first) == 0.0


def test_thumbnails_shrink_big_photos_and_keep_small_ones(tmp_path):
    big = np.random.default_rng(0).integers(0, 255, (300, 500, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "big.png"), big)
    cv2.imwrite(str(tmp_path / "small.png"), big[:28, :30, 0])
    assert load_thumbnail(tmp_path / "big.png").pixels.shape == (64, 107)
    assert load_thumbnail(tmp_path / "small.png").pixels.shape == (28, 30)


def test_one_look_alike_does_not_fuse_two_groups_of_copies():
    paths = ["a1", "a2", "b1", "b2", "c1", "c2", "c3"]
    scores = {(0, 1): 0.99, (2, 3): 0.99, (1, 2): 0.985}  # a2 and b1 merely look alike
    scores |= {(4, 5): 0.99, (5, 6): 0.99, (4, 6): 0.978}  # a chain of re-encodings
    links = {pair: score for pair, score in scores.items() if score >= 0.98}

    def similarity(first, second):
        return scores.get((min(first, second), max(first, second)), 0.5)

    groups = _average_linkage(paths, links, similarity, merge_floor=0.975)
    assert sorted(group.paths for group in groups) == [
        ["a1", "a2"],
        ["b1", "b2"],
        ["c1", "c2", "c3"],
    ]
    assert {tuple(g.paths): g.min_similarity for g in groups}[("c1", "c2", "c3")] == 0.99


def test_colour_photo_copies_match_and_other_crops_do_not():
    from sklearn.datasets import load_sample_images

    temple = cv2.cvtColor(load_sample_images().images[0], cv2.COLOR_RGB2GRAY)  # (427, 640)
    photo = temple[150:270, 200:320]  # 120x120
    _, jpeg = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 70])
    copies = [
        cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE),
        cv2.resize(photo, (60, 60), interpolation=cv2.INTER_AREA),
        photo[4:117, 0:116],  # 3 % off three sides: the rim the copy lacks is not held against it
    ]
    original = Thumbnail(photo)
    for copy in copies:
        assert pixel_similarity(original, Thumbnail(copy)) >= 0.98
        assert pixel_similarity(Thumbnail(copy), original) >= 0.98
    elsewhere = [temple[150:270, 330:450], temple[20:140, 200:320], np.rot90(photo).copy()]
    for other in elsewhere:
        assert pixel_similarity(original, Thumbnail(other)) < 0.9
