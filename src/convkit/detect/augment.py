"""Augmentations that move the boxes with the image (OpenCV), and colour jitter.

Each function takes ``image`` (H, W, C) uint8 and ``boxes`` (M, 4) pixels and
returns both transformed. ``mosaic`` joins four training images around a
random point (YOLOv4's mosaic): every batch shows objects cut by image edges,
at new positions, among other images' backgrounds — which a set of a hundred
photos cannot show otherwise. ``hsv_jitter`` scales hue, saturation and value
(YOLOv3/v5's colour augmentation); it leaves the boxes alone. ``DetectAugment`` chains them with a random
generator seeded by ``(seed, epoch, index)``, so an epoch is reproducible and
a resumed run sees the same images.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from convkit.errors import UsageError
from convkit.spec.constraints import Interval, Param, check_value, check_values


def hflip(image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror left-right."""
    width = image.shape[1]
    flipped = boxes.copy()
    flipped[:, 0], flipped[:, 2] = width - boxes[:, 2], width - boxes[:, 0]
    return np.ascontiguousarray(image[:, ::-1]), flipped


def rescale(image: np.ndarray, boxes: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Resize by ``factor`` (both sides)."""
    import cv2

    height, width = image.shape[:2]
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    if resized.ndim == 2:
        resized = resized[:, :, None]
    sx, sy = size[0] / width, size[1] / height
    return resized, boxes * np.array([sx, sy, sx, sy], np.float32)


def crop(
    image: np.ndarray,
    boxes: np.ndarray,
    labels: np.ndarray,
    window: tuple[int, int, int, int],
    min_visible: float = 0.4,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut ``window`` (x, y, w, h). Boxes are clipped to it; a box that keeps less than
    ``min_visible`` of its area is dropped, since what is left may not show the object."""
    x, y, w, h = window
    cut = image[y : y + h, x : x + w]
    shifted = boxes - np.array([x, y, x, y], np.float32)
    clipped = shifted.copy()
    clipped[:, 0::2] = clipped[:, 0::2].clip(0, w)
    clipped[:, 1::2] = clipped[:, 1::2].clip(0, h)
    area = (shifted[:, 2] - shifted[:, 0]) * (shifted[:, 3] - shifted[:, 1])
    kept_area = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    keep = kept_area >= min_visible * np.maximum(area, 1e-9)
    return np.ascontiguousarray(cut), clipped[keep], labels[keep]


def hsv_jitter(image: np.ndarray, gains: tuple[float, float, float], rng) -> np.ndarray:
    """Shift hue and scale saturation and value by random factors in [1 - g, 1 + g].

    One lookup table per channel (cheap: 3 x 256 entries), as YOLOv5 does it.
    A grey image (one channel) has only a value to change.
    """
    import cv2

    factors = rng.uniform(-1, 1, 3) * np.asarray(gains, np.float64) + 1  # (3,)
    levels = np.arange(256, dtype=np.float64)
    if image.shape[2] == 1:
        table = (levels * factors[2]).clip(0, 255).astype(np.uint8)
        return cv2.LUT(image, table).reshape(image.shape)
    hue, saturation, value = cv2.split(cv2.cvtColor(image, cv2.COLOR_RGB2HSV))
    hue = cv2.LUT(hue, ((levels * factors[0]) % 180).astype(np.uint8))  # OpenCV hue is 0..179
    saturation = cv2.LUT(saturation, (levels * factors[1]).clip(0, 255).astype(np.uint8))
    value = cv2.LUT(value, (levels * factors[2]).clip(0, 255).astype(np.uint8))
    return cv2.cvtColor(cv2.merge([hue, saturation, value]), cv2.COLOR_HSV2RGB)


def mosaic(
    tiles: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    width: int,
    height: int,
    rng,
    zoom: tuple[float, float] = (1.0, 1.0),
    fill: int = 114,
    min_visible: float = 0.25,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Four (image, boxes, labels) tiles meeting at a random point, cut to one window.

    Each tile is fitted into ``width`` x ``height`` (aspect kept) and laid on a
    2w x 2h canvas against the meeting point: top-left, top-right, bottom-left,
    bottom-right. A window of the input's shape, ``1 / zoom`` its size and
    holding the meeting point (so all four tiles show), is cut out; the
    letterbox to the input follows in preprocessing, so objects keep about
    their usual size. A box that keeps less than ``min_visible`` of its area is
    dropped.
    """
    import cv2

    channels = tiles[0][0].shape[2]
    canvas = np.full((2 * height, 2 * width, channels), fill, np.uint8)  # (2H, 2W, C)
    centre_x = int(rng.uniform(0.5, 1.5) * width)
    centre_y = int(rng.uniform(0.5, 1.5) * height)
    placed_boxes, placed_labels = [], []
    for corner, (image, boxes, labels) in enumerate(tiles[:4]):
        original_h, original_w = image.shape[:2]
        scale = min(width / original_w, height / original_h)
        w, h = max(1, round(original_w * scale)), max(1, round(original_h * scale))
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, channels)
        left = centre_x - w if corner in (0, 2) else centre_x
        top = centre_y - h if corner in (0, 1) else centre_y
        x1, y1 = max(left, 0), max(top, 0)
        x2, y2 = min(left + w, 2 * width), min(top + h, 2 * height)
        canvas[y1:y2, x1:x2] = image[y1 - top : y2 - top, x1 - left : x2 - left]
        placed_boxes.append(boxes * scale + np.array([left, top, left, top], np.float32))
        placed_labels.append(labels)
    boxes = np.concatenate(placed_boxes).astype(np.float32).reshape(-1, 4)
    labels = np.concatenate(placed_labels).astype(np.int64)
    factor = rng.uniform(*zoom)
    window_w = min(2 * width, max(1, round(width / factor)))
    window_h = min(2 * height, max(1, round(height / factor)))
    x = int(rng.integers(max(0, centre_x - window_w), min(centre_x, 2 * width - window_w) + 1))
    y = int(rng.integers(max(0, centre_y - window_h), min(centre_y, 2 * height - window_h) + 1))
    return crop(canvas, boxes, labels, (x, y, window_w, window_h), min_visible)


@dataclass
class Letterbox:
    """How an image was fitted into the network input: ``input = original * scale + pad``."""

    scale: float
    pad_x: int
    pad_y: int

    def to_original(self, boxes: np.ndarray) -> np.ndarray:
        """Boxes (M, 4) from network-input pixels back to the original image's pixels."""
        pad = np.array([self.pad_x, self.pad_y, self.pad_x, self.pad_y], np.float32)
        return (boxes - pad) / self.scale


def letterbox(
    image: np.ndarray, boxes: np.ndarray, width: int, height: int, fill: int = 114
) -> tuple[np.ndarray, np.ndarray, Letterbox]:
    """Fit into ``width`` x ``height`` keeping the aspect ratio; pad the rest with grey."""
    import cv2

    original_h, original_w = image.shape[:2]
    scale = min(width / original_w, height / original_h)
    new_w, new_h = max(1, round(original_w * scale)), max(1, round(original_h * scale))
    if (new_w, new_h) != (original_w, original_h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        if image.ndim == 2:
            image = image[:, :, None]
    pad_x, pad_y = (width - new_w) // 2, (height - new_h) // 2
    canvas = np.full((height, width, image.shape[2]), fill, np.uint8)  # (H, W, C)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = image
    info = Letterbox(scale, pad_x, pad_y)
    moved = boxes * scale + np.array([pad_x, pad_y, pad_x, pad_y], np.float32)
    return canvas, moved.astype(np.float32), info


_PROBABILITY = Param([Interval(float, 0, 1)], doc="a probability")
_GAIN = Param([Interval(float, 0, 1)])
# What each setting may be, in the order they are checked (scale_max: at least scale_min).
_PARAMS = {
    "flip": _PROBABILITY,
    "crop": _PROBABILITY,
    "mosaic": _PROBABILITY,
    "hsv_h": _GAIN,
    "hsv_s": _GAIN,
    "hsv_v": _GAIN,
    "scale_min": Param([Interval(float, 0, None, closed="neither")]),
    "brightness": Param([Interval(float, 0, 1)]),
    "contrast": Param([Interval(float, 0, 1, closed="left")]),
    "mosaic_epochs": Param([Interval(int, 0, None)]),
    "crop_min": Param([Interval(float, 0, 1, closed="right")], doc="a share of the image side"),
}


@dataclass
class DetectAugment:
    """Random flip, rescale, crop, mosaic and colour; the letterbox follows in preprocessing.

    With probability ``mosaic`` an example is a mosaic of itself and three
    other training images (each mirrored at random, the whole zoomed by the
    scale range); otherwise flip, rescale and crop apply to it alone. Colour
    (``hsv_h/s/v``, brightness, contrast) applies to either.
    """

    flip: float = 0.5  # probability of a left-right mirror
    scale_min: float = 0.75
    scale_max: float = 1.25
    crop: float = 0.5  # probability of cutting a random window
    crop_min: float = 0.6  # smallest window side, as a fraction of the image side
    brightness: float = 0.0  # add uniform in [-brightness, brightness] x 255
    contrast: float = 0.0  # stretch around mid-grey by a factor in [1 - contrast, 1 + contrast]
    mosaic: float = 0.0  # probability that an example is a four-image mosaic
    mosaic_epochs: int = 0  # mosaics only in epochs before this (0: in all); YOLOv8's close_mosaic
    hsv_h: float = 0.0  # hue shifted by a factor in [1 - hsv_h, 1 + hsv_h]
    hsv_s: float = 0.0  # saturation scaled by a factor in [1 - hsv_s, 1 + hsv_s]
    hsv_v: float = 0.0  # value (brightness) scaled by a factor in [1 - hsv_v, 1 + hsv_v]
    seed: int = 0

    def __post_init__(self):
        check_values("detection augmentation", _PARAMS, vars(self), UsageError)
        # The zoom range's top is bounded by its bottom.
        top = Interval(float, self.scale_min, None)
        check_value(
            "scale_max",
            self.scale_max,
            top,
            "detection augmentation",
            UsageError,
            "not below scale_min",
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_generic(cls, augment, seed: int = 0) -> DetectAugment:
        """The box-aware version of ``convkit.data.Augment`` (``convkit train --augment``).

        flip -> mirror half the time; scale s -> zoom in [1 - s, 1 + s];
        crop_padding or translate -> random crops; brightness and contrast as
        given (they leave the boxes alone). Rotation and shear would
        turn boxes into rotated boxes, so a detector refuses them.
        """
        unsupported = [n for n in ("rotation", "shear") if getattr(augment, n, 0)]
        if unsupported:
            raise UsageError(
                f"--augment {', '.join(unsupported)} would rotate the boxes; detection supports "
                "flip, scale, crop_padding/translate (crops)"
            )
        scale = float(getattr(augment, "scale", 0.0))
        cropping = getattr(augment, "crop_padding", 0) or getattr(augment, "translate", 0.0)
        return cls(
            flip=0.5 if getattr(augment, "flip", False) else 0.0,
            scale_min=1.0 - scale,
            scale_max=1.0 + scale,
            crop=0.5 if cropping else 0.0,
            seed=seed,
            brightness=float(getattr(augment, "brightness", 0.0)),
            contrast=float(getattr(augment, "contrast", 0.0)),
        )

    def rng(self, epoch: int, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, epoch, index])

    def mosaic_partners(self, epoch: int, index: int, pool) -> list[int]:
        """The three other images of ``index``'s mosaic this epoch, or [] for no mosaic.

        A stream of its own (``[seed, epoch, index, 1]``), so turning mosaic on
        or off never changes the other draws of an example.
        """
        if not self.mosaic or len(pool) < 2:
            return []
        if self.mosaic_epochs and epoch >= self.mosaic_epochs:  # the last epochs see plain photos
            return []
        rng = np.random.default_rng([self.seed, epoch, index, 1])
        if rng.random() >= self.mosaic:
            return []
        return [int(i) for i in rng.choice(np.asarray(pool), 3)]

    def mosaic_of(
        self,
        tiles: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
        width: int,
        height: int,
        epoch: int,
        index: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A mosaic of ``tiles`` (the example first) for a ``width`` x ``height`` input, then colour."""
        rng = np.random.default_rng([self.seed, epoch, index, 2])
        flipped = []
        for image, boxes, labels in tiles:
            if rng.random() < self.flip:
                image, boxes = hflip(image, boxes)
            flipped.append((image, boxes, labels))
        image, boxes, labels = mosaic(
            flipped, width, height, rng, zoom=(self.scale_min, self.scale_max)
        )
        return self.colour(image, rng), boxes, labels

    def colour(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Photometric changes (HSV, brightness, contrast): the boxes stay where they are."""
        if self.hsv_h or self.hsv_s or self.hsv_v:
            image = hsv_jitter(image, (self.hsv_h, self.hsv_s, self.hsv_v), rng)
        if self.brightness or self.contrast:
            gain = rng.uniform(1 - self.contrast, 1 + self.contrast)
            bias = rng.uniform(-self.brightness, self.brightness) * 255
            image = (
                ((image.astype(np.float32) - 127.5) * gain + 127.5 + bias)
                .clip(0, 255)
                .astype(np.uint8)
            )
        return image

    def __call__(
        self, image: np.ndarray, boxes: np.ndarray, labels: np.ndarray, epoch: int, index: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = self.rng(epoch, index)
        if rng.random() < self.flip:
            image, boxes = hflip(image, boxes)
        factor = rng.uniform(self.scale_min, self.scale_max)
        if abs(factor - 1.0) > 1e-3:
            image, boxes = rescale(image, boxes, factor)
        if rng.random() < self.crop:
            height, width = image.shape[:2]
            w = max(1, int(width * rng.uniform(self.crop_min, 1.0)))
            h = max(1, int(height * rng.uniform(self.crop_min, 1.0)))
            x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            image, boxes, labels = crop(image, boxes, labels, (x, y, w, h))
        return self.colour(image, rng), boxes, labels


# What `convkit train --mosaic P --hsv H,S,V` (options "mosaic", "hsv") turn on; YOLOv5's
# colour gains are the usual `--hsv` values: 0.015,0.7,0.4.
EXTRA_KEYS = ("mosaic", "hsv_h", "hsv_s", "hsv_v")


def train_augment_options(options: dict) -> dict:
    """The detection-only augmentations asked for in ``options``: mosaic and HSV gains."""
    extras = {}
    if options.get("mosaic"):
        extras["mosaic"] = float(options["mosaic"])
    hsv = options.get("hsv")
    if hsv:
        parts = str(hsv).replace(" ", "").split(",")
        try:
            gains = [float(p) for p in parts]
        except ValueError:
            gains = []
        if len(gains) != 3:
            raise UsageError(
                f"--hsv takes three gains H,S,V (e.g. 0.015,0.7,0.4). Received: {hsv!r}"
            )
        extras.update(zip(("hsv_h", "hsv_s", "hsv_v"), gains, strict=True))
    for key in EXTRA_KEYS:
        if key in options and key != "mosaic":  # hsv_h=… as --data-option
            extras[key] = float(options[key])
    if options.get("mosaic_epochs"):  # --data-option mosaic_epochs=N: plain photos after epoch N
        extras["mosaic_epochs"] = int(options["mosaic_epochs"])
    DetectAugment(**extras)  # a bad value fails here, before any training
    return extras


def with_detection_extras(augment: DetectAugment | None, extras: dict, seed: int) -> DetectAugment:
    """``augment`` (or no geometric change at all) with mosaic/HSV from ``extras`` added."""
    base = (
        augment.to_dict()
        if augment is not None
        else {
            "flip": 0.0,
            "scale_min": 1.0,
            "scale_max": 1.0,
            "crop": 0.0,
            "seed": seed,
        }
    )
    return DetectAugment(**{**base, **extras})
