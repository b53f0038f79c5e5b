"""Arrays -> pictures: tiles of activation maps or filters in one titled PNG.

Drawn with numpy and OpenCV rather than one matplotlib axis per map: a
conv layer with 50 maps would need 50 axes (seconds); tiling the arrays
into one image is instant and pixel-exact (no smoothing of 4x4 maps).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

# Smallest side, in pixels, a tile is enlarged to so a 4x4 map stays visible.
MIN_TILE = 48
GAP = 2
TITLE_HEIGHT = 28
BACKGROUND = 255  # white between tiles


def normalise(array: Any) -> Any:
    """Scale to 0..255 uint8 using the array's own range (a flat array becomes black)."""
    import numpy as np

    array = np.asarray(array, dtype=np.float32)
    low, high = float(array.min()), float(array.max())
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        return np.zeros(array.shape, dtype=np.uint8)
    return ((array - low) / (high - low) * 255).round().astype(np.uint8)


def colorize(gray: Any) -> Any:
    """(H, W) uint8 -> (H, W, 3) RGB with the viridis colour map."""
    import cv2

    bgr = cv2.applyColorMap(gray, cv2.COLORMAP_VIRIDIS)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def enlarge(tile: Any, min_side: int = MIN_TILE) -> Any:
    """Nearest-neighbour upscale by a whole factor so each cell stays a crisp square."""
    import numpy as np

    factor = max(1, math.ceil(min_side / max(1, min(tile.shape[:2]))))
    return np.repeat(np.repeat(tile, factor, axis=0), factor, axis=1)


def tile_grid(tiles: list[Any], columns: int | None = None) -> Any:
    """Lay equally sized (h, w, 3) uint8 tiles out row by row: (H, W, 3) uint8."""
    import numpy as np

    if not tiles:
        raise ValueError("tile_grid needs at least one tile")
    columns = columns or math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    height, width = tiles[0].shape[:2]
    canvas = np.full(
        (rows * (height + GAP) + GAP, columns * (width + GAP) + GAP, 3), BACKGROUND, np.uint8
    )
    for i, tile in enumerate(tiles):
        top = GAP + (i // columns) * (height + GAP)
        left = GAP + (i % columns) * (width + GAP)
        canvas[top : top + height, left : left + width] = tile
    return canvas


def add_title(image: Any, title: str) -> Any:
    """Put a white band with black text above an (H, W, 3) image."""
    import cv2
    import numpy as np

    font, scale, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.55, 1
    (text_width, _), _ = cv2.getTextSize(title, font, scale, thickness)
    width = max(image.shape[1], text_width + 16)
    canvas = np.full((image.shape[0] + TITLE_HEIGHT, width, 3), BACKGROUND, np.uint8)
    canvas[TITLE_HEIGHT:, : image.shape[1]] = image
    cv2.putText(canvas, title, (8, 19), font, scale, (0, 0, 0), thickness, cv2.LINE_AA)
    return canvas


def map_grid(maps: Any, title: str) -> Any:
    """Activation maps (C, H, W) -> one titled grid image, each map scaled on its own."""
    import numpy as np

    maps = np.asarray(maps, dtype=np.float32)  # (C, H, W)
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    span[~np.isfinite(span) | (span <= 0)] = np.inf  # a flat map becomes black
    gray = ((maps - low) / span * 255).round().astype(np.uint8)  # (C, H, W)
    return add_title(colour_grid(gray), title)


def colour_grid(gray: Any, columns: int | None = None, min_side: int = MIN_TILE) -> Any:
    """Grey tiles (N, h, w) uint8 -> one viridis grid (H, W, 3) uint8 with white gaps.

    Vectorised: tiles are enlarged by OpenCV, laid out in grey and coloured
    with one colour-map call, so 1,000 small tiles cost about as much as one.
    """
    import cv2
    import numpy as np

    count, height, width = gray.shape
    factor = max(1, math.ceil(min_side / max(1, min(height, width))))
    tile_h, tile_w = height * factor, width * factor
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    canvas = np.zeros((rows * (tile_h + GAP) + GAP, columns * (tile_w + GAP) + GAP), np.uint8)
    used = np.zeros(canvas.shape, bool)
    for i in range(count):
        top = GAP + (i // columns) * (tile_h + GAP)
        left = GAP + (i % columns) * (tile_w + GAP)
        canvas[top : top + tile_h, left : left + tile_w] = cv2.resize(
            gray[i], (tile_w, tile_h), interpolation=cv2.INTER_NEAREST
        )
        used[top : top + tile_h, left : left + tile_w] = True
    image = colorize(canvas)  # (H, W, 3)
    image[~used] = BACKGROUND
    return image


def save_png(image: Any, path: str | Path) -> Path:
    """Write an (H, W, 3) RGB uint8 image as PNG, creating the folder."""
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
    return path


def png_bytes(image: Any) -> bytes:
    """Encode an (H, W, 3) RGB uint8 image as PNG bytes (for HTML and the server)."""
    import cv2

    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("PNG encoding failed")
    return encoded.tobytes()
