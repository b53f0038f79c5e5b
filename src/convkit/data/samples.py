"""Small datasets of real photos for tests, demos and benchmarks, built offline.

scikit-learn ships two 427x640 photos ("china": a temple, "flower"). Random
crops of them make a real, learnable two-class photo folder in a second,
with no download: ``make_photo_folder("photos", per_class=20)`` writes
``photos/china/0000.jpg ... photos/flower/0019.jpg``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from convkit.errors import DataError

PHOTO_CLASSES = ("china", "flower")

# The kinds of damage written by corrupt=N, in turn: each one a case scan() must catch.
CORRUPTIONS = ("truncated", "empty", "not_an_image", "wrong_suffix")


def sample_photos() -> dict[str, np.ndarray]:
    """scikit-learn's bundled photos, name -> uint8 (H, W, 3) RGB.

    Read straight from the package folder with OpenCV: importing
    ``sklearn.datasets`` (what ``load_sample_images`` needs) takes seconds.
    """
    import importlib.util

    from convkit.data.decode import read_image

    spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise DataError("scikit-learn is not installed; its sample photos are needed here")
    folder = Path(spec.submodule_search_locations[0]) / "datasets" / "images"
    photos = {path.stem: read_image(path, channels=3) for path in sorted(folder.glob("*.jpg"))}
    if not photos:
        raise DataError(f"{folder}: scikit-learn's sample photos are missing")
    return photos


def random_crops(photo: np.ndarray, count: int, size: int, rng: np.random.Generator) -> list:
    """``count`` square crops of 1/4 to 3/4 the photo's short side, resized to size x size."""
    import cv2

    h, w = photo.shape[:2]
    crops = []
    for _ in range(count):
        side = int(rng.integers(min(h, w) // 4, 3 * min(h, w) // 4 + 1))
        top = int(rng.integers(0, h - side + 1))
        left = int(rng.integers(0, w - side + 1))
        crop = photo[top : top + side, left : left + side]
        crops.append(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA))
    return crops


def make_photo_folder(
    out_dir: str | os.PathLike,
    per_class: int = 20,
    classes=PHOTO_CLASSES,
    corrupt: int = 0,
    size: int = 96,
    seed: int = 0,
    suffix: str = ".jpg",
) -> Path:
    """Write a class-folder dataset of real photo crops; returns ``out_dir``.

    ``classes`` names photos from PHOTO_CLASSES. ``corrupt`` extra files are
    spread over the class folders, cycling through CORRUPTIONS: a truncated
    JPEG, an empty .jpg, text saved as .jpg, a stray .txt. ``suffix`` picks the
    format (.jpg, .png, .bmp, .webp, .tif) of the good files.
    """
    import cv2

    photos = sample_photos()
    classes = list(classes)
    unknown = [name for name in classes if name not in photos]
    if unknown or not classes:
        raise DataError(
            f"photo classes must be among {', '.join(PHOTO_CLASSES)}. Received: {classes}"
        )
    if per_class < 1:
        raise DataError(f"`per_class` must be >= 1. Received: per_class={per_class}")
    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    for name in classes:
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        for k, crop in enumerate(random_crops(photos[name], per_class, size, rng)):
            ok, encoded = cv2.imencode(suffix, cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
            if not ok:
                raise DataError(f"OpenCV cannot encode {suffix} images")
            (folder / f"{k:04d}{suffix}").write_bytes(encoded.tobytes())
    for k in range(corrupt):
        folder = out / classes[k % len(classes)]
        kind = CORRUPTIONS[k % len(CORRUPTIONS)]
        _write_corrupt(folder, f"bad{k:03d}", kind, rng)
    return out


def _write_corrupt(folder: Path, stem: str, kind: str, rng: np.random.Generator) -> None:
    import cv2

    if kind == "truncated":
        image = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
        encoded = cv2.imencode(".jpg", image)[1].tobytes()
        (folder / f"{stem}.jpg").write_bytes(encoded[: len(encoded) // 2])
    elif kind == "empty":
        (folder / f"{stem}.jpg").write_bytes(b"")
    elif kind == "not_an_image":
        (folder / f"{stem}.jpg").write_text("this is not a photo\n")
    else:  # a stray non-image file in a class folder
        (folder / f"{stem}.txt").write_text("notes\n")
