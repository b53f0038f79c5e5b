"""Is photo B a copy of photo A? Align B onto A pixel by pixel, then compare.

Embeddings find *candidates* for near-duplicates well (a copy is almost always
among a photo's 16 nearest neighbours), but they are trained to make every
photo of a kind alike, so they cannot tell a copy from a look-alike. This
module is the second stage of classic near-duplicate detection: geometric
verification. Both photos are reduced to small greyscale thumbnails; B is
aligned onto A with an affine warp found by OpenCV's ECC (enhanced correlation
coefficient) maximisation, which undoes a slight crop and a resize; then the
two are compared by normalised cross-correlation (1.0 = the same pixels up to
brightness and contrast).

Details that each bought measured precision or recall on planted MNIST copies
(benchmarks/search_quality.py, docs/search.md):

- The warp may scale and shift but barely rotate or shear (``MAX_SHEAR``):
  a crop or resize never shears, while a free affine warp bends one
  handwritten digit onto another.
- Photos of different sizes are compared at the smaller size (area
  averaging) *and* at the larger one (the smaller upscaled by nearest and by
  linear interpolation), keeping the best: whichever way a copy was resized,
  one of these reproduces its resampling closely.
- Resampling blurs; the sharper image is blurred by a few candidate amounts
  before comparing (``BLUR_STEPS``, relative to the image, and
  ``FINE_BLUR_STEPS``, sub-pixel), so a blurrier copy is not penalised.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

THUMBNAIL_SIDE = 64  # shorter side of the greyscale thumbnail every comparison starts from
DECODE_AT_LEAST = 4  # JPEGs are decoded at no less than this many thumbnails a side
MAX_SHEAR = 0.05  # off-diagonal warp terms allowed; a crop or resize has none
MAX_SCALE_CHANGE = 0.15  # a "slight crop" changes scale by a few percent
BLUR_STEPS = (0.4, 0.7, 1.0, 1.4)  # Gaussian sigmas, in pixels of a 28-pixel-wide image
FINE_BLUR_STEPS = (0.5, 0.8)  # and in pixels of the comparison, for resampling on larger ones
ALIGN_BLUR = 0.6  # smoothing for ECC's estimate, same unit: strokes must overlap to be aligned
REFERENCE_SIDE = 28  # the unit above: sigmas scale with the comparison size
RECHECK_FROM, RECHECK_BELOW = 0.85, 0.995  # pairs in this band are also aligned the other way
MIN_OVERLAP = 0.7  # share of the first photo the aligned second must cover to compare
FLAT = 1.0  # grey-level standard deviation below which a photo is a blank frame


@dataclass(frozen=True)
class Thumbnail:
    """A photo as the verifier sees it: greyscale uint8, shorter side <= THUMBNAIL_SIDE."""

    pixels: np.ndarray

    @property
    def side(self) -> int:
        return int(min(self.pixels.shape))


def load_thumbnail(path: str | os.PathLike) -> Thumbnail:
    """Decode ``path`` (raises DataError for unreadable files) into a Thumbnail."""
    import cv2

    from convkit.data.decode import read_image

    # A large JPEG may be decoded at 1/2..1/8 scale (libjpeg's DCT scaling), but only down to
    # 4x the thumbnail: the area averaging after it then hides the two filters' difference
    # (decoding a 146-px JPEG at half scale cost its copies 0.02 of similarity).
    image = read_image(path, channels=1, min_side=DECODE_AT_LEAST * THUMBNAIL_SIDE)[..., 0]
    height, width = image.shape
    shorter = min(height, width)
    if shorter > THUMBNAIL_SIDE:
        scale = THUMBNAIL_SIDE / shorter
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return Thumbnail(np.ascontiguousarray(image))


def pixel_similarity(first: Thumbnail, second: Thumbnail) -> float:
    """How well ``second`` aligns onto ``first``: correlation in [-1, 1] after the best warp."""
    first_flat, second_flat = (float(t.pixels.std()) < FLAT for t in (first, second))
    if first_flat or second_flat:  # blank frames: correlation is undefined, compare brightness
        same = first_flat and second_flat
        return (
            1.0
            if same and abs(float(first.pixels.mean()) - float(second.pixels.mean())) < 8
            else 0.0
        )
    score = _one_way(first, second)
    if RECHECK_FROM <= score < RECHECK_BELOW:
        # ECC sometimes misses aligning the fuller photo onto a crop of it, but not the
        # crop onto the photo: a promising pair gets the other direction too.
        score = max(score, _one_way(second, first))
    return score


def _one_way(first: Thumbnail, second: Thumbnail) -> float:
    return max(
        _aligned_correlation(first_pixels, second_pixels)
        for first_pixels, second_pixels in _renderings(first, second)
    )


def _renderings(first: Thumbnail, second: Thumbnail):
    """Both photos as float32 squares of one size, resampled in each plausible way."""
    import cv2

    def square(thumbnail: Thumbnail, side: int, interpolation: int) -> np.ndarray:
        resized = cv2.resize(thumbnail.pixels, (side, side), interpolation=interpolation)
        return resized.astype(np.float32)

    smaller, larger = sorted((first.side, second.side))
    yield square(first, smaller, cv2.INTER_AREA), square(second, smaller, cv2.INTER_AREA)
    if larger > smaller:
        for upscale in (cv2.INTER_LINEAR, cv2.INTER_NEAREST):
            yield tuple(
                square(t, larger, upscale if t.side < larger else cv2.INTER_AREA)
                for t in (first, second)
            )


def _aligned_correlation(first: np.ndarray, second: np.ndarray) -> float:
    import cv2

    side = first.shape[0]
    unit = side / REFERENCE_SIDE
    warp = _estimate_warp(
        cv2.GaussianBlur(first, (0, 0), ALIGN_BLUR * unit),
        cv2.GaussianBlur(second, (0, 0), ALIGN_BLUR * unit),
    )
    aligned = cv2.warpAffine(
        second,
        warp,
        (side, side),
        flags=cv2.INTER_LINEAR + cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    # Only where the second photo has pixels: a crop lacks the rim the original shows,
    # and counting that rim cost a 3 % crop of a 120-pixel photo 0.09 of similarity.
    covered = cv2.warpAffine(
        np.ones_like(second, dtype=np.uint8),
        warp,
        (side, side),
        flags=cv2.INTER_NEAREST + cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    covered = cv2.erode(covered, np.ones((3, 3), np.uint8)) > 0  # not the interpolated edge
    if covered.mean() < MIN_OVERLAP:
        return 0.0
    best = _correlation(first[covered], aligned[covered])
    sigmas = {sigma * unit for sigma in BLUR_STEPS} | set(FINE_BLUR_STEPS)
    for sigma in sorted(sigmas):
        blurred_first = cv2.GaussianBlur(first, (0, 0), sigma)[covered]
        blurred_aligned = cv2.GaussianBlur(aligned, (0, 0), sigma)[covered]
        best = max(
            best,
            _correlation(blurred_first, aligned[covered]),
            _correlation(first[covered], blurred_aligned),
        )
    return best


def _estimate_warp(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """ECC affine warp mapping ``first``'s pixels into ``second``; identity if implausible."""
    import cv2

    identity = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-5)
    try:
        _, warp = cv2.findTransformECC(
            first, second, identity.copy(), cv2.MOTION_AFFINE, criteria, None, 1
        )
    except cv2.error:  # flat images, or no convergence: nothing to align
        return identity
    shear = max(abs(warp[0, 1]), abs(warp[1, 0]))
    scale_change = max(abs(warp[0, 0] - 1), abs(warp[1, 1] - 1))
    if shear > MAX_SHEAR or scale_change > MAX_SCALE_CHANGE:
        return identity
    return warp


def _correlation(first: np.ndarray, second: np.ndarray) -> float:
    first = first - first.mean()
    second = second - second.mean()
    norms = float(np.linalg.norm(first) * np.linalg.norm(second))
    if norms < 1e-6:  # blurred flat: pixel_similarity handles blank photos before this
        return 0.0
    return float((first * second).sum() / norms)
