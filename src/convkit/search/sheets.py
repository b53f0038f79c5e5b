"""Contact sheets: photos tiled on one PNG, with a caption under each.

Used for search results (the query first, framed, then its matches with
their similarity) and for clusters (a sample of each cluster's members).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

THUMB = 96  # thumbnail side in pixels
CAPTION = 18  # caption strip height
GAP = 4
BACKGROUND = 255
QUERY_FRAME = (220, 40, 40)  # RGB


def thumbnail(path: str, size: int = THUMB) -> np.ndarray:
    """(size, size, 3) uint8 RGB, the photo fitted inside and centred; grey if unreadable."""
    import cv2

    from convkit.data import read_image
    from convkit.errors import ConvkitError

    tile = np.full((size, size, 3), 200, np.uint8)
    try:
        image = read_image(path, channels=3)  # (H, W, 3) uint8
    except ConvkitError:
        cv2.line(tile, (0, 0), (size - 1, size - 1), (120, 120, 120), 2)
        return tile
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST  # keep tiny digits crisp
    resized = cv2.resize(image, new_size, interpolation=interpolation)
    top, left = (size - new_size[1]) // 2, (size - new_size[0]) // 2
    tile[top : top + new_size[1], left : left + new_size[0]] = resized
    return tile


def _caption(tile: np.ndarray, text: str) -> np.ndarray:
    import cv2

    strip = np.full((CAPTION, tile.shape[1], 3), BACKGROUND, np.uint8)
    text = text if len(text) <= 16 else text[:7] + ".." + text[-7:]  # Hershey fonts are ASCII
    cv2.putText(strip, text, (2, CAPTION - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1)
    return np.concatenate([tile, strip])  # (THUMB + CAPTION, THUMB, 3)


def _grid(tiles: list[np.ndarray], columns: int, title: str | None) -> np.ndarray:
    import cv2

    rows = max(1, -(-len(tiles) // columns))
    tile_h, tile_w = tiles[0].shape[:2]
    top = 24 if title else 0
    sheet = np.full(
        (top + rows * (tile_h + GAP) + GAP, columns * (tile_w + GAP) + GAP, 3), BACKGROUND, np.uint8
    )
    if title:
        cv2.putText(sheet, title, (GAP, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    for number, tile in enumerate(tiles):
        row, column = divmod(number, columns)
        y, x = top + GAP + row * (tile_h + GAP), GAP + column * (tile_w + GAP)
        sheet[y : y + tile_h, x : x + tile_w] = tile
    return sheet


def write_png(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write an RGB image as PNG (folders created)."""
    import cv2

    from convkit.errors import UsageError

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise UsageError(f"cannot write {path}: use a .png name in a writable folder")
    return path


def contact_sheet(
    paths: list[str],
    out: str | os.PathLike,
    captions: list[str] | None = None,
    title: str | None = None,
    columns: int = 8,
) -> Path:
    """Tile ``paths`` (captioned with file names unless given) into one PNG."""
    captions = captions or [Path(path).name for path in paths]
    tiles = [_caption(thumbnail(path), text) for path, text in zip(paths, captions, strict=True)]
    if not tiles:
        tiles = [_caption(np.full((THUMB, THUMB, 3), BACKGROUND, np.uint8), "(empty)")]
    return write_png(out, _grid(tiles, min(columns, max(len(tiles), 1)), title))


def results_sheet(results, out: str | os.PathLike) -> Path:
    """One row per query: the query (red frame), then its matches with similarities."""
    import cv2

    rows = []
    for result in results:
        query = thumbnail(result.query).copy()
        cv2.rectangle(query, (0, 0), (THUMB - 1, THUMB - 1), QUERY_FRAME, 3)
        tiles = [_caption(query, "query")]
        tiles += [
            _caption(thumbnail(match.path), f"{match.similarity:.3f}") for match in result.matches
        ]
        rows.append(tiles)
    columns = max(len(tiles) for tiles in rows)
    blank = _caption(np.full((THUMB, THUMB, 3), BACKGROUND, np.uint8), "")
    flat = [tile for tiles in rows for tile in tiles + [blank] * (columns - len(tiles))]
    return write_png(out, _grid(flat, columns, "query, then the most similar photos"))
