"""Random augmentation of uint8 images at the network's input size.

All geometric changes (crop with padding, horizontal flip, rotation, scale,
translation, shear) compose into one 2x3 affine matrix, so an image is
resampled once; brightness and contrast are one linear map of the pixels.

The random draws for an example come from
``np.random.default_rng((seed, epoch, index))`` — a function of the example,
not of the worker that happens to load it or of where a resumed run started.
Two appliers share those draws: ``apply`` (OpenCV, one uint8 HWC image, used
by file-backed loaders) and ``apply_batch`` (torch, a whole in-memory batch).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from convkit.errors import DataError

_NUM_DRAWS = 10  # fixed, so enabling one option never shifts another's draws


@dataclass
class AugmentParams:
    inverse: np.ndarray  # (2, 3) maps output pixel (x, y, 1) -> source pixel
    geometric: bool  # False when the matrix is the identity
    gain: float  # pixel * gain + bias
    bias: float


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
        if not isinstance(self.crop_padding, int | np.integer) or self.crop_padding < 0:
            raise DataError(
                f"`crop_padding` must be a whole number >= 0. Received: crop_padding={self.crop_padding!r}"
            )
        self.flip = bool(self.flip)
        for name in ("rotation", "scale", "translate", "shear", "brightness", "contrast"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise DataError(f"`{name}` must be a number >= 0. Received: {name}={value!r}")
            setattr(self, name, float(value))
        if self.scale >= 1:
            raise DataError(
                f"`scale` must be below 1 (a zoom factor range). Received: scale={self.scale}"
            )
        if self.contrast >= 1:
            raise DataError(f"`contrast` must be below 1. Received: contrast={self.contrast}")

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
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise DataError(
                f"unknown augmentation {', '.join(unknown)}; known: {', '.join(sorted(names))}"
            )
        return cls(**d)

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

    def sample(self, rng: np.random.Generator, height: int, width: int) -> AugmentParams:
        """Draw one example's transform; the same draws in every applier."""
        u = rng.random(_NUM_DRAWS) * 2.0 - 1.0  # uniform in [-1, 1)
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        forward = np.eye(3)
        if self.flip and u[0] < 0:
            forward = _matrix(-1, 0, width - 1, 0, 1, 0) @ forward
        if self.rotation or self.scale or self.shear or self.translate:
            angle = math.radians(u[1] * self.rotation)
            zoom = 1.0 + u[2] * self.scale
            shear = math.radians(u[3] * self.shear)
            tx, ty = u[4] * self.translate * width, u[5] * self.translate * height
            # about the image centre: move centre to origin, zoom, shear, rotate, move back + shift
            cos, sin = math.cos(angle), math.sin(angle)
            linear = np.array([[cos, -sin], [sin, cos]]) @ np.array(
                [[1.0, math.tan(shear)], [0.0, 1.0]]
            )
            linear = linear * zoom
            offset = np.array([cx + tx, cy + ty]) - linear @ np.array([cx, cy])
            forward = _matrix(*linear[0], offset[0], *linear[1], offset[1]) @ forward
        if self.crop_padding:
            span = 2 * self.crop_padding + 1
            dx = min(int((u[6] + 1) / 2 * span), span - 1) - self.crop_padding
            dy = min(int((u[7] + 1) / 2 * span), span - 1) - self.crop_padding
            forward = _matrix(1, 0, dx, 0, 1, dy) @ forward
        gain = 1.0 + u[8] * self.contrast
        bias = u[9] * self.brightness * 255.0 + 127.5 * (1.0 - gain)  # contrast about mid-grey
        geometric = not np.allclose(forward, np.eye(3))
        inverse = np.linalg.inv(forward)[:2]
        return AugmentParams(inverse, geometric, float(gain), float(bias))

    def params_for(
        self, seed: int, epoch: int, index: int, height: int, width: int
    ) -> AugmentParams:
        return self.sample(np.random.default_rng((seed, epoch, index)), height, width)

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

    def apply_batch(self, images, params: list[AugmentParams]):
        """torch uint8 (N, H, W, C) -> float32 (N, C, H, W) in 0..255, all at once.

        Same draws as ``apply``; bilinear resampling through ``grid_sample``
        instead of OpenCV, so pixels may differ by rounding, not by geometry.
        """
        import torch
        import torch.nn.functional as F

        n, h, w, _ = images.shape
        x = images.permute(0, 3, 1, 2).to(torch.float32)  # (N, C, H, W)
        if any(p.geometric for p in params):
            theta = torch.from_numpy(_normalised_thetas(params, h, w))  # (N, 2, 3)
            grid = F.affine_grid(theta, [n, x.shape[1], h, w], align_corners=False)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        if self.is_photometric:
            gain = torch.tensor([p.gain for p in params], dtype=torch.float32).view(n, 1, 1, 1)
            bias = torch.tensor([p.bias for p in params], dtype=torch.float32).view(n, 1, 1, 1)
            x = torch.addcmul(bias, x, gain).clamp_(0.0, 255.0)
        return x


def _matrix(a, b, c, d, e, f) -> np.ndarray:
    return np.array([[a, b, c], [d, e, f], [0.0, 0.0, 1.0]])


def _normalised_thetas(params: list[AugmentParams], height: int, width: int) -> np.ndarray:
    """Pixel-space inverse maps -> affine_grid's normalised coordinates (align_corners=False).

    A pixel centre x sits at normalised (2x + 1) / W - 1, so pixel = P @ normalised
    with P = [[W/2, 0, (W-1)/2], [0, H/2, (H-1)/2]]; theta = P^-1 @ A @ P.
    """
    to_pixels = _matrix(width / 2.0, 0, (width - 1) / 2.0, 0, height / 2.0, (height - 1) / 2.0)
    to_normalised = np.linalg.inv(to_pixels)
    thetas = np.empty((len(params), 2, 3), dtype=np.float32)
    for k, p in enumerate(params):
        inverse = np.vstack([p.inverse, [0.0, 0.0, 1.0]])
        thetas[k] = (to_normalised @ inverse @ to_pixels)[:2]
    return thetas
