"""Draw boxes, labels and confidences onto an image (OpenCV)."""

from __future__ import annotations

import numpy as np

# Distinct colours (RGB) for the first classes; later ones cycle.
PALETTE = (
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 190),
    (0, 128, 128),
)


def draw_detections(image: np.ndarray, detections: list[dict]) -> np.ndarray:
    """A copy of ``image`` (H, W, 3) uint8 RGB with each detection's box and caption.

    ``detections``: dicts with ``box`` [x1, y1, x2, y2], ``label``, ``index`` and
    optionally ``confidence`` (left out for ground truth).
    """
    import cv2

    canvas = np.ascontiguousarray(
        image.copy() if image.shape[2] == 3 else np.repeat(image, 3, axis=2)
    )
    thickness = max(1, round(min(canvas.shape[:2]) / 250))
    scale = max(0.35, min(canvas.shape[:2]) / 700)
    for detection in detections:
        x1, y1, x2, y2 = (int(round(v)) for v in detection["box"])
        color = PALETTE[int(detection.get("index", 0)) % len(PALETTE)]
        cv2.rectangle(canvas, (x1, y1), (x2 - 1, y2 - 1), color, thickness)
        caption = detection["label"]
        if "confidence" in detection:
            caption += f" {detection['confidence']:.2f}"
        (width, height), baseline = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        top = y1 - height - baseline if y1 - height - baseline >= 0 else y1
        cv2.rectangle(canvas, (x1, top), (x1 + width, top + height + baseline), color, -1)
        cv2.putText(
            canvas,
            caption,
            (x1, top + height),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    return canvas
