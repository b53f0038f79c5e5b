"""How a decoded image becomes a network input; travels in the model file.

``Preprocessing`` does two things, in this order:

1. ``fit``: uint8 (h, w, c) -> uint8 (height, width, channels) — depth
   conversion, resize policy (stretch, letterbox, center_crop), channel order.
2. ``normalise``: uint8 -> float32 (C, H, W) as ``(pixel * scale - mean) / std``.

Augmentation (convkit.data.augment) runs between the two, on uint8 at the
network's size. Batches normalise whole tensors at once (``normalise_batch``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from convkit.errors import DataError
from convkit.spec.constraints import (
    Interval,
    Options,
    Param,
    PerItem,
    check_keys,
    check_values,
)

RESIZE_POLICIES = ("stretch", "letterbox", "center_crop")
# What to_dict writes (crop only when not 1) and from_dict reads.
STORED_KEYS = (
    "kind",
    "height",
    "width",
    "channels",
    "resize",
    "scale",
    "mean",
    "std",
    "channel_order",
    "crop",
)
CHANNEL_ORDERS = ("rgb", "bgr")

# Named normalisations a user may write instead of numbers (--mean imagenet).
MEAN_PRESETS = {"imagenet": (0.485, 0.456, 0.406), "mnist": (0.1307,), "none": (0.0,)}
STD_PRESETS = {"imagenet": (0.229, 0.224, 0.225), "mnist": (0.3081,), "none": (1.0,)}

# What each setting may be (checked in this order; mean and std once presets are resolved).
_SHAPE_PARAMS = {
    "height": Param([Interval(int, 1, None)]),
    "width": Param([Interval(int, 1, None)]),
    "channels": Param([Options({1, 3})]),
    "resize": Param([Options(RESIZE_POLICIES)]),
    "channel_order": Param([Options(CHANNEL_ORDERS)]),
}
_VALUE_PARAMS = {
    "std": Param([PerItem(Interval(float, 0, None, closed="neither"), "channel")]),
    "crop": Param([Interval(float, 0, 1, closed="right")]),
    "scale": Param([Interval(float, 0, None, closed="neither")]),
}


@dataclass
class Preprocessing:
    """Decode-to-tensor recipe for images; ``kind`` is "image"."""

    height: int
    width: int
    channels: int = 3
    resize: str = "stretch"
    scale: float = 1.0 / 255.0
    mean: tuple[float, ...] = field(default=(0.0,))
    std: tuple[float, ...] = field(default=(1.0,))
    channel_order: str = "rgb"
    kind: str = "image"
    # center_crop: the share of the shorter side kept (torchvision's 224 of 256 = 0.875)
    crop: float = 1.0

    def __post_init__(self):
        for name in ("height", "width", "channels"):  # numpy integers (from arrays) are sizes too
            if isinstance(getattr(self, name), np.integer):
                setattr(self, name, int(getattr(self, name)))
        check_values("image preprocessing", _SHAPE_PARAMS, vars(self), DataError)
        self.mean = _per_channel("mean", self.mean, self.channels, MEAN_PRESETS)
        self.std = _per_channel("std", self.std, self.channels, STD_PRESETS)
        check_values("image preprocessing", _VALUE_PARAMS, vars(self), DataError)

    # ----- construction ---------------------------------------------------

    @classmethod
    def for_spec(
        cls, spec, resize: str = "stretch", mean=None, std=None, **options
    ) -> Preprocessing:
        """The preprocessing that feeds ``spec.input`` (a Volume: height, width, channels)."""
        volume = spec.input
        return cls(
            height=volume.height,
            width=volume.width,
            channels=volume.channels,
            resize=resize,
            mean=(0.0,) if mean is None else mean,
            std=(1.0,) if std is None else std,
            **options,
        )

    def to_dict(self) -> dict:
        return {
            "kind": "image",
            "height": self.height,
            "width": self.width,
            "channels": self.channels,
            "resize": self.resize,
            "scale": self.scale,
            "mean": list(self.mean),
            "std": list(self.std),
            "channel_order": self.channel_order,
            **({"crop": self.crop} if self.crop != 1.0 else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessing:
        d = check_keys(d, STORED_KEYS, "image preprocessing", DataError, ("height", "width"))
        kind = d.pop("kind", "image")
        if kind != "image":
            raise DataError(f"not an image preprocessing (kind={kind!r})")
        return cls(**d)

    # ----- one image ------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        return self.height, self.width

    def fit(self, image: np.ndarray) -> np.ndarray:
        """uint8 (h, w, c) -> uint8 (height, width, channels) in the model's channel order."""
        image = _to_channels(image, self.channels)
        h, w = image.shape[:2]
        if self.resize == "center_crop" and self.crop < 1:
            image = _center_crop(image, self.height, self.width, self.crop)
        elif (h, w) != (self.height, self.width):
            image = _RESIZERS[self.resize](image, self.height, self.width)
            if image.ndim == 2:  # cv2.resize drops a single channel axis
                image = image[:, :, None]
        if self.channel_order == "bgr" and self.channels == 3:
            image = image[:, :, ::-1]
        return np.ascontiguousarray(image)

    def normalise(self, image: np.ndarray) -> np.ndarray:
        """uint8 (H, W, C) -> float32 (C, H, W)."""
        multiplier, offset = self._affine()
        # Two passes into the (C, H, W) result, no temporaries: called per image.
        out = np.empty((image.shape[2], image.shape[0], image.shape[1]), dtype=np.float32)
        np.multiply(image.transpose(2, 0, 1), multiplier[:, None, None], out=out)
        out += offset[:, None, None]
        return out

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Decoded uint8 (h, w, c) -> network input float32 (C, H, W)."""
        return self.normalise(self.fit(image))

    def load(self, source) -> np.ndarray:
        """A path or encoded bytes -> float32 (C, H, W), ready to stack into a batch."""
        from convkit.data.decode import read_image

        return self.apply(read_image(source, self.channels, min_side=self.decode_min_side))

    @property
    def decode_min_side(self) -> int:
        """Smallest side a decoded image needs: any resize policy then only shrinks."""
        return math.ceil(max(self.height, self.width) / self.crop)

    # ----- whole batches (torch) -------------------------------------------

    def normalise_batch(self, images):
        """uint8 (N, H, W, C) numpy array or tensor -> float32 tensor (N, C, H, W), channels_last.

        Done in numpy on the NHWC array (per-channel constants broadcast along
        the innermost axis; no thread pool to fight the training step). The
        permuted view of the NHWC result *is* a channels_last NCHW tensor.
        """
        images = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
        return self.normalise_batch_(images.astype(np.float32))

    def normalise_batch_(self, x: np.ndarray):
        """Like normalise_batch, on a float32 (N, H, W, C) array in 0..255, changed in place."""
        import torch

        multiplier, offset = self._affine()
        if (multiplier == multiplier[0]).all() and (offset == offset[0]).all():
            x *= multiplier[0]  # scalars: the cheapest loop
            if offset[0]:
                x += offset[0]
        else:
            x *= multiplier  # (C,) broadcasts along the last axis
            x += offset
        return torch.from_numpy(x).permute(0, 3, 1, 2)  # (N, C, H, W), NHWC memory

    def _affine(self) -> tuple[np.ndarray, np.ndarray]:
        # (p * scale - mean) / std == p * (scale / std) + (-mean / std); called per
        # image, so kept until scale, mean or std change.
        key = (self.scale, self.mean, self.std)
        cached = self.__dict__.get("_affine_cache")
        if cached is None or cached[0] != key:
            mean = np.asarray(self.mean, dtype=np.float64)
            std = np.asarray(self.std, dtype=np.float64)
            affine = (self.scale / std).astype(np.float32), (-mean / std).astype(np.float32)
            cached = self.__dict__["_affine_cache"] = (key, affine)
        return cached[1]


# kind (as stored in model files) -> "module:Class" with a ``from_dict``. A new input
# kind registers here (register_preprocessing); nothing else dispatches on kinds.
_PREPROCESSING_KINDS: dict[str, str] = {
    "image": "convkit.data.preprocessing:Preprocessing",
    "audio": "convkit.audio:AudioPreprocessing",
    "textline": "convkit.ocr.preprocess:TextLinePreprocessing",  # height fixed, width kept
    "detect-letterbox": "convkit.detect.preprocess:DetectPreprocessing",  # boxes mapped back
}


def register_preprocessing(kind: str, reference: str) -> None:
    """Make a preprocessing ``kind`` loadable from model files ("module:Class")."""
    _PREPROCESSING_KINDS[kind] = reference


def preprocessing_from_dict(d: dict):
    """Rebuild a model file's preprocessing from its ``kind`` (see _PREPROCESSING_KINDS)."""
    import importlib

    known = ", ".join(repr(kind) for kind in _PREPROCESSING_KINDS)
    if not isinstance(d, dict) or "kind" not in d:
        raise DataError(f"a preprocessing must be a dict with a 'kind' key (one of {known})")
    reference = _PREPROCESSING_KINDS.get(d["kind"])
    if reference is None:
        raise DataError(f"unknown preprocessing kind {d['kind']!r}; expected one of {known}")
    module_name, class_name = reference.split(":")
    return getattr(importlib.import_module(module_name), class_name).from_dict(d)


def _per_channel(name: str, value, channels: int, presets: dict) -> tuple[float, ...]:
    if isinstance(value, str):
        if value.lower() not in presets:
            raise DataError(
                f"`{name}` preset must be one of {', '.join(presets)}. Received: {name}={value!r}"
            )
        value = presets[value.lower()]
    values = (float(value),) if isinstance(value, int | float) else tuple(float(v) for v in value)
    if len(values) == channels:
        return values
    if len(values) == 1:
        return values * channels
    if channels == 1 and len(values) == 3:  # an RGB preset on a grey network: use the average
        return (sum(values) / 3.0,)
    raise DataError(
        f"`{name}` needs 1 or {channels} values (one per channel). Received: {name}={list(values)}"
    )


def _to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    import cv2

    if image.ndim == 2:
        image = image[:, :, None]
    have = image.shape[2]
    if have == channels:
        return image
    if have == 1 and channels == 3:
        return np.repeat(image, 3, axis=2)
    if have == 3 and channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[:, :, None]
    raise DataError(f"cannot turn a {have}-channel image into {channels} channels")


def _interpolation(src_h: int, src_w: int, dst_h: int, dst_w: int) -> int:
    import cv2

    # INTER_AREA averages whole source pixels: no aliasing when shrinking by 2x or
    # more. Below 2x bilinear barely aliases and costs 4-20x less (INTER_AREA at a
    # fractional ratio such as 256 -> 224 is OpenCV's slow path).
    if src_h >= 2 * dst_h and src_w >= 2 * dst_w:
        return cv2.INTER_AREA
    return cv2.INTER_LINEAR


def _stretch(image: np.ndarray, height: int, width: int) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    return cv2.resize(image, (width, height), interpolation=_interpolation(h, w, height, width))


def _letterbox(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Fit the whole image inside, keep its aspect ratio, pad the rest with black."""
    import cv2

    h, w = image.shape[:2]
    ratio = min(height / h, width / w)
    new_h, new_w = max(1, round(h * ratio)), max(1, round(w * ratio))
    resized = cv2.resize(image, (new_w, new_h), interpolation=_interpolation(h, w, new_h, new_w))
    if resized.ndim == 2:
        resized = resized[:, :, None]
    out = np.zeros((height, width, image.shape[2]), dtype=np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    out[top : top + new_h, left : left + new_w] = resized
    return out


def _center_crop(image: np.ndarray, height: int, width: int, crop: float = 1.0) -> np.ndarray:
    """Scale so the image covers the target / ``crop``, keep its aspect ratio, cut the centre."""
    import cv2

    h, w = image.shape[:2]
    ratio = max(height / crop / h, width / crop / w)
    new_h, new_w = max(height, round(h * ratio)), max(width, round(w * ratio))
    resized = cv2.resize(image, (new_w, new_h), interpolation=_interpolation(h, w, new_h, new_w))
    top, left = (new_h - height) // 2, (new_w - width) // 2
    return resized[top : top + height, left : left + width]


_RESIZERS = {"stretch": _stretch, "letterbox": _letterbox, "center_crop": _center_crop}
