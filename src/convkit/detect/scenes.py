"""Synthetic scenes: coloured shapes on cluttered backgrounds, with exact boxes.

Each scene has 0..``max_objects`` objects of ``SHAPES`` (circle, square,
triangle, …) in random colours and sizes, some overlapping, drawn over a
gradient with noise, lines and dots. The boxes are computed from the drawn
geometry, so they are exact. Written as VOC XML, YOLO txt or COCO JSON, for
tests, benchmarks and the quickstart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from convkit.errors import UsageError

SHAPES = ("circle", "square", "triangle", "diamond", "cross")
SCENE_FORMATS = ("voc", "yolo", "coco")


def _clutter(rng: np.random.Generator, size: int) -> np.ndarray:
    """A busy background (size, size, 3) uint8: gradient, noise, thin lines, dots."""
    import cv2

    start, end = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    ramp = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    image = (start * (1 - ramp) + end * ramp).repeat(size, axis=1)  # (size, size, 3)
    image = image + rng.normal(0, 12, image.shape)
    image = np.ascontiguousarray(image.clip(0, 255).astype(np.uint8))
    for _ in range(rng.integers(3, 9)):  # thin lines: edges that are not objects
        p1, p2 = rng.integers(0, size, 2), rng.integers(0, size, 2)
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.line(image, tuple(int(v) for v in p1), tuple(int(v) for v in p2), color, 1, cv2.LINE_AA)
    for _ in range(rng.integers(5, 20)):  # dots far smaller than any object
        centre = tuple(int(v) for v in rng.integers(0, size, 2))
        cv2.circle(
            image,
            centre,
            int(rng.integers(1, 3)),
            tuple(int(c) for c in rng.integers(0, 256, 3)),
            -1,
        )
    return image


def _polygon(shape: str, cx: float, cy: float, half: float) -> np.ndarray:
    """Vertices (P, 2) of a polygonal shape centred at (cx, cy) with half-extent ``half``."""
    if shape == "square":
        return np.array(
            [
                [cx - half, cy - half],
                [cx + half, cy - half],
                [cx + half, cy + half],
                [cx - half, cy + half],
            ]
        )
    if shape == "triangle":
        return np.array([[cx, cy - half], [cx + half, cy + half], [cx - half, cy + half]])
    if shape == "diamond":
        return np.array([[cx, cy - half], [cx + half, cy], [cx, cy + half], [cx - half, cy]])
    # cross: a plus sign, its arms a third of the extent thick
    t = half / 3
    return np.array(
        [
            [cx - t, cy - half],
            [cx + t, cy - half],
            [cx + t, cy - t],
            [cx + half, cy - t],
            [cx + half, cy + t],
            [cx + t, cy + t],
            [cx + t, cy + half],
            [cx - t, cy + half],
            [cx - t, cy + t],
            [cx - half, cy + t],
            [cx - half, cy - t],
            [cx - t, cy - t],
        ]
    )


def _draw(image: np.ndarray, shape: str, cx: int, cy: int, half: int, color) -> list[float]:
    """Draw one filled shape; return its exact box [x1, y1, x2, y2] (pixel edges)."""
    import cv2

    if shape == "circle":
        cv2.circle(image, (cx, cy), half, color, -1)
        return [cx - half, cy - half, cx + half + 1, cy + half + 1]
    points = np.round(_polygon(shape, cx, cy, half)).astype(np.int32)
    cv2.fillPoly(image, [points], color)
    (x1, y1), (x2, y2) = points.min(axis=0), points.max(axis=0)
    return [float(x1), float(y1), float(x2 + 1), float(y2 + 1)]


def _iou(box: list[float], others: list[list[float]]) -> float:
    if not others:
        return 0.0
    b, o = np.array(box), np.array(others)
    w = (np.minimum(b[2], o[:, 2]) - np.maximum(b[0], o[:, 0])).clip(0)
    h = (np.minimum(b[3], o[:, 3]) - np.maximum(b[1], o[:, 1])).clip(0)
    inter = w * h
    union = (b[2] - b[0]) * (b[3] - b[1]) + (o[:, 2] - o[:, 0]) * (o[:, 3] - o[:, 1]) - inter
    return float((inter / union).max())


def make_scene(
    rng: np.random.Generator,
    size: int = 128,
    classes: int = 3,
    max_objects: int = 4,
    min_extent: int | None = None,
    max_extent: int | None = None,
    max_overlap: float = 0.3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One scene: (image (size, size, 3) uint8 RGB, boxes (M, 4), labels (M,)).

    Objects are ``min_extent``..``max_extent`` pixels across (by default 11% to
    34% of the scene, 14..44 pixels at 128); no two overlap by more than
    ``max_overlap`` IoU, so each stays recognisable.
    """
    min_extent = min_extent or max(6, round(0.11 * size))
    max_extent = max_extent or max(min_extent, round(0.34 * size))
    image = _clutter(rng, size)
    boxes: list[list[float]] = []
    labels: list[int] = []
    for _ in range(rng.integers(1, max_objects + 1)):
        for _attempt in range(20):  # find a place that overlaps the others only a little
            half = int(rng.integers(min_extent, max_extent + 1)) // 2
            cx, cy = (int(v) for v in rng.integers(half, size - half, 2))
            candidate = [cx - half, cy - half, cx + half + 1, cy + half + 1]
            if _iou(candidate, boxes) <= max_overlap:
                break
        else:
            continue
        label = int(rng.integers(0, classes))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        boxes.append(_draw(image, SHAPES[label], cx, cy, half, color))
        labels.append(label)
    return image, np.array(boxes, np.float32).reshape(-1, 4), np.array(labels, np.int64)


def _voc_xml(filename: str, size: int, boxes: np.ndarray, labels: np.ndarray, names) -> str:
    objects = "".join(
        f"  <object><name>{names[label]}</name><difficult>0</difficult><bndbox>"
        f"<xmin>{int(b[0]) + 1}</xmin><ymin>{int(b[1]) + 1}</ymin>"  # VOC corners are 1-based
        f"<xmax>{int(b[2])}</xmax><ymax>{int(b[3])}</ymax></bndbox></object>\n"
        for b, label in zip(boxes, labels, strict=True)
    )
    return (
        f"<annotation>\n  <filename>{filename}</filename>\n"
        f"  <size><width>{size}</width><height>{size}</height><depth>3</depth></size>\n"
        f"{objects}</annotation>\n"
    )


def generate_scenes(
    out: str | Path,
    count: int,
    format: str = "voc",
    size: int = 128,
    classes: int = 3,
    max_objects: int = 4,
    seed: int = 0,
    progress: bool = False,
    min_extent: int | None = None,
    max_extent: int | None = None,
) -> Path:
    """Write ``count`` scenes to ``out`` in ``format``; returns ``out``."""
    import cv2
    from tqdm import tqdm

    if format not in SCENE_FORMATS:
        raise UsageError(
            f"--format must be one of {', '.join(SCENE_FORMATS)}. Received: {format!r}"
        )
    if not 1 <= classes <= len(SHAPES):
        raise UsageError(f"--classes must be between 1 and {len(SHAPES)}. Received: {classes}")
    if max_objects < 1:
        raise UsageError(f"--max-objects must be >= 1. Received: {max_objects}")
    if count < 1 or size < 32:
        raise UsageError(
            f"--count must be >= 1 and --size >= 32. Received: count={count}, size={size}"
        )
    low = min_extent or max(6, round(0.11 * size))
    high = max_extent or max(low, round(0.34 * size))
    if not 4 <= low <= high <= size // 2:
        raise UsageError(
            f"object extents must satisfy 4 <= --min-extent <= --max-extent <= size/2 ({size // 2}). "
            f"Received: min_extent={low}, max_extent={high}"
        )
    out = Path(out)
    names = list(SHAPES[:classes])
    image_dir = out / ("JPEGImages" if format == "voc" else "images")
    image_dir.mkdir(parents=True, exist_ok=True)
    (out / "classes.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    coco = {
        "images": [],
        "annotations": [],
        "categories": [{"id": i + 1, "name": n} for i, n in enumerate(names)],
    }
    rng = np.random.default_rng(seed)
    for index in tqdm(range(count), desc="scenes", disable=not progress, file=sys.stderr):
        image, boxes, labels = make_scene(rng, size, classes, max_objects, min_extent, max_extent)
        stem = f"scene_{index:05d}"
        cv2.imwrite(str(image_dir / f"{stem}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if format == "voc":
            (out / "Annotations").mkdir(exist_ok=True)
            xml = _voc_xml(f"{stem}.png", size, boxes, labels, names)
            (out / "Annotations" / f"{stem}.xml").write_text(xml, encoding="utf-8")
        elif format == "yolo":
            (out / "labels").mkdir(exist_ok=True)
            lines = [
                f"{label} {(b[0] + b[2]) / 2 / size:.6f} {(b[1] + b[3]) / 2 / size:.6f} "
                f"{(b[2] - b[0]) / size:.6f} {(b[3] - b[1]) / size:.6f}"
                for b, label in zip(boxes, labels, strict=True)
            ]
            (out / "labels" / f"{stem}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        else:
            coco["images"].append(
                {"id": index, "file_name": f"{stem}.png", "width": size, "height": size}
            )
            for b, label in zip(boxes, labels, strict=True):
                coco["annotations"].append(
                    {
                        "id": len(coco["annotations"]) + 1,
                        "image_id": index,
                        "category_id": int(label) + 1,
                        "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                        "iscrowd": 0,
                    }
                )
    if format == "yolo":
        data = {"path": ".", "train": "images", "val": "images", "names": names}
        import yaml

        (out / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    if format == "coco":
        (out / "annotations.json").write_text(json.dumps(coco), encoding="utf-8")
    return out
