"""Random augmentation of uint8 images at the network's input size.

All geometric changes (crop with padding, horizontal flip, rotation, scale,
translation, shear) compose into one 2x3 affine matrix, so an image is
resampled once; brightness and contrast are one linear map of the pixels.

The random draws for an example are a hash of ``(seed, epoch, index)`` — a
function of the example, not of the batch it falls in, the worker that loads
it or where a resumed run started.
Two appliers share those draws: ``apply`` (OpenCV, one uint8 HWC image, used
by file-backed loaders) and ``apply_batch`` (numpy, a whole in-memory batch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from convkit.errors import DataError
from convkit.spec.constraints import Interval, Param, check_keys, check_values

_NUM_DRAWS = 10  # fixed, so enabling one option never shifts another's draws

_AMOUNT = Interval(float, 0, None)
_FACTOR = Interval(float, 0, 1, closed="left")  # a range [1 - x, 1 + x] of factors above 0
# What each setting may be, in the order they are checked (flip is any truth value).
_PARAMS = {
    "crop_padding": Param([Interval(int, 0, None)]),
    "rotation": Param([_AMOUNT]),
    "scale": Param([_FACTOR]),
    "translate": Param([_AMOUNT]),
    "shear": Param([_AMOUNT]),
    "brightness": Param([_AMOUNT]),
    "contrast": Param([_FACTOR]),
}


@dataclass
class AugmentParams:
    inverse: np.ndarray  # (2, 3) maps output pixel (x, y, 1) -> source pixel
    geometric: bool  # False when the matrix is the identity
    gain: float  # pixel * gain + bias
    bias: float


@dataclass
class BatchParams:
    """The transforms of a batch: row k is example k's."""

    inverse: np.ndarray  # (N, 2, 3)
    geometric: np.ndarray  # (N,) bool
    gain: np.ndarray  # (N,)
    bias: np.ndarray  # (N,)

    def __len__(self) -> int:
        return len(self.gain)

    def __getitem__(self, k: int) -> AugmentParams:
        return AugmentParams(
            self.inverse[k], bool(self.geometric[k]), float(self.gain[k]), float(self.bias[k])
        )


@dataclass
class Augment:
    """Augmentation settings; every default means "off".

    crop_padding: pad by this many pixels, then crop back at a random offset.
    flip: mirror left-right with probability 1/2.
    rotation: degrees, uniform in [-rotation, rotation].
    scale: zoom uniform in [1 - scale, 1 + scale].
    translate: shift uniform in [-translate, translate] x image size.
    shear: degrees, uniform in [-shear, shear].
    brightness: add uniform in [-brightness, brightness] x 255.
    contrast: stretch around mid-grey by a factor in [1 - contrast, 1 + contrast].
    """

    crop_padding: int = 0
    flip: bool = False
    rotation: float = 0.0
    scale: float = 0.0
    translate: float = 0.0
    shear: float = 0.0
    brightness: float = 0.0
    contrast: float = 0.0

    def __post_init__(self):
        if isinstance(self.crop_padding, np.integer):
            self.crop_padding = int(self.crop_padding)
        self.flip = bool(self.flip)
        checked = check_values("augmentation", _PARAMS, vars(self), DataError)
        for name, value in checked.items():
            setattr(self, name, value)  # amounts as floats

    # ----- configuration ---------------------------------------------------

    @property
    def enabled(self) -> bool:
        return self.is_geometric or self.is_photometric

    @property
    def is_geometric(self) -> bool:
        return bool(
            self.crop_padding
            or self.flip
            or self.rotation
            or self.scale
            or self.translate
            or self.shear
        )

    @property
    def is_photometric(self) -> bool:
        return bool(self.brightness or self.contrast)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> Augment:
        if d is None:
            return cls()
        names = [f.name for f in fields(cls)]
        return cls(**check_keys(d, names, "the augmentation settings", error=DataError))

    @classmethod
    def parse(cls, text: str | None) -> Augment:
        """From a command-line string: ``"crop=4,flip,rotation=10,brightness=0.2"``.

        ``none`` or an empty string gives no augmentation.
        """
        if not text or text.strip().lower() == "none":
            return cls()
        types = {f.name: f.type for f in fields(cls)}
        values: dict = {}
        aliases = {"crop": "crop_padding", "rotate": "rotation", "hflip": "flip"}
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            key, _, raw = item.partition("=")
            key = aliases.get(key.strip(), key.strip())
            if key not in types:
                raise DataError(
                    f"unknown augmentation {key!r} in {text!r}; known: {', '.join(sorted(types))}"
                )
            raw = raw.strip()
            try:
                if key == "flip":
                    values[key] = raw.lower() not in ("0", "false", "no", "off")
                elif key == "crop_padding":
                    values[key] = int(raw)
                else:
                    values[key] = float(raw)
            except ValueError as error:
                raise DataError(f"augmentation {key} needs a number. Received: {item!r}") from error
        return cls(**values)

    # ----- random draws ----------------------------------------------------

    @staticmethod
    def draws(seed: int, epoch: int, indices) -> np.ndarray:
        """(N, 10) uniforms in [-1, 1): row k depends only on (seed, epoch, indices[k]).

        A counter-based hash (SplitMix64 finaliser) of (seed, epoch, index, draw)
        rather than one ``np.random.default_rng((seed, epoch, index))`` per example:
        the same independence from batch, worker and resume point, at about
        1/100 of the cost, because a whole batch is hashed in a few numpy ops.
        """
        index = np.asarray(indices, dtype=np.int64).astype(np.uint64)  # (N,)
        key = _mix(_mix(_mix(np.uint64(seed % 2**64) + _GOLDEN) ^ np.uint64(epoch % 2**64)) ^ index)
        counters = np.arange(1, _NUM_DRAWS + 1, dtype=np.uint64) * _GOLDEN  # (10,)
        bits = _mix(key[:, None] + counters[None, :])  # (N, 10) uint64
        return (bits >> np.uint64(11)).astype(np.float64) * (2.0 / 2**53) - 1.0

    def sample_batch(self, seed: int, epoch: int, indices, height: int, width: int) -> BatchParams:
        """Transforms for the examples ``indices`` of an epoch, as arrays."""
        return self.params_from_draws(self.draws(seed, epoch, indices), height, width)

    def params_for(
        self, seed: int, epoch: int, index: int, height: int, width: int
    ) -> AugmentParams:
        """One example's transform (the same numbers sample_batch gives it)."""
        return self.sample_batch(seed, epoch, [index], height, width)[0]

    def params_from_draws(self, u: np.ndarray, height: int, width: int) -> BatchParams:
        """Turn (N, 10) uniforms into affine matrices and pixel gains, vectorised."""
        n = len(u)
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        forward = np.tile(np.eye(3), (n, 1, 1))  # (N, 3, 3) source pixel -> output pixel
        if self.flip:
            flip = np.tile(np.eye(3), (n, 1, 1))
            mirrored = u[:, 0] < 0
            flip[mirrored, 0, 0] = -1.0
            flip[mirrored, 0, 2] = width - 1.0
            forward = flip @ forward
        if self.rotation or self.scale or self.shear or self.translate:
            # about the image centre: centre to origin, shear, rotate, zoom, back + shift
            angle = np.radians(u[:, 1] * self.rotation)
            zoom = 1.0 + u[:, 2] * self.scale
            shear = np.tan(np.radians(u[:, 3] * self.shear))
            cos, sin = np.cos(angle), np.sin(angle)
            linear = np.empty((n, 2, 2))
            linear[:, 0, 0] = cos * zoom
            linear[:, 0, 1] = (cos * shear - sin) * zoom
            linear[:, 1, 0] = sin * zoom
            linear[:, 1, 1] = (sin * shear + cos) * zoom
            shift = np.stack(
                [cx + u[:, 4] * self.translate * width, cy + u[:, 5] * self.translate * height], 1
            )
            warp = np.tile(np.eye(3), (n, 1, 1))
            warp[:, :2, :2] = linear
            warp[:, :2, 2] = shift - linear @ np.array([cx, cy])
            forward = warp @ forward
        if self.crop_padding:
            # pad-and-crop == shift by a whole number of pixels in [-pad, pad], zeros shifted in
            span = 2 * self.crop_padding + 1
            offsets = np.minimum(((u[:, 6:8] + 1.0) / 2.0 * span).astype(np.int64), span - 1)
            crop = np.tile(np.eye(3), (n, 1, 1))
            crop[:, :2, 2] = offsets - self.crop_padding
            forward = crop @ forward
        gain = 1.0 + u[:, 8] * self.contrast
        bias = u[:, 9] * self.brightness * 255.0 + 127.5 * (1.0 - gain)  # contrast about mid-grey
        geometric = ~np.all(np.abs(forward - np.eye(3)) < 1e-9, axis=(1, 2))
        inverse = np.linalg.inv(forward)[:, :2] if n else np.zeros((0, 2, 3))
        return BatchParams(inverse, geometric, gain, bias)

    # ----- appliers --------------------------------------------------------

    def apply(self, image: np.ndarray, params: AugmentParams) -> np.ndarray:
        """OpenCV on one uint8 (H, W, C) image -> uint8 (H, W, C)."""
        import cv2

        out = image
        if params.geometric:
            h, w = image.shape[:2]
            out = cv2.warpAffine(
                image,
                params.inverse,
                (w, h),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0,
            )
            if out.ndim == 2:
                out = out[:, :, None]
        if params.gain != 1.0 or params.bias != 0.0:
            out = np.clip(out.astype(np.float32) * params.gain + params.bias + 0.5, 0, 255).astype(
                np.uint8
            )
        return out

    def apply_batch(self, images: np.ndarray, params: BatchParams) -> np.ndarray:
        """uint8 (N, H, W, C) -> float32 (N, H, W, C) in 0..255, for a whole batch.

        The warp is OpenCV's, image by image, exactly as ``apply`` does it (a
        28x28 warp costs microseconds; a numpy gather version measured 4x more
        CPU); brightness/contrast are one vectorised multiply-add, unrounded.
        """
        warped = images.copy() if params.geometric.any() else images
        for k in np.flatnonzero(params.geometric):
            warped[k] = self.apply(images[k], AugmentParams(params.inverse[k], True, 1.0, 0.0))
        x = warped.astype(np.float32)  # (N, H, W, C), our own buffer
        if self.is_photometric:
            x *= params.gain.astype(np.float32)[:, None, None, None]
            x += params.bias.astype(np.float32)[:, None, None, None]
            np.clip(x, 0.0, 255.0, out=x)
        return x


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(z):
    """SplitMix64's finaliser: a bijective, well-avalanching hash of uint64 values."""
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps on purpose
        z = np.asarray(z, dtype=np.uint64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))
