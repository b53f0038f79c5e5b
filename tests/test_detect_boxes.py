"""Box arithmetic: IoU, NMS (checked against a plain greedy reference), clipping."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from convkit.detect.boxes import batched_nms, box_iou, clip_boxes, nms


def reference_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Textbook greedy NMS, one pair at a time."""
    order = list(np.argsort(-scores, kind="stable"))
    keep = []
    while order:
        best = order.pop(0)
        keep.append(best)
        remaining = []
        for other in order:
            a, b = boxes[best], boxes[other]
            w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
            inter = w * h
            union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
            if inter / union <= threshold:
                remaining.append(other)
        order = remaining
    return keep


def test_iou_of_known_boxes():
    a = torch.tensor([[0.0, 0, 10, 10]])
    b = torch.tensor([[0.0, 0, 10, 10], [5.0, 0, 15, 10], [20.0, 20, 30, 30]])
    assert box_iou(a, b)[0].tolist() == pytest.approx([1.0, 50 / 150, 0.0])


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_nms_matches_greedy_reference(seed, threshold):
    rng = np.random.default_rng(seed)
    corners = rng.uniform(0, 80, (60, 2))
    sizes = rng.uniform(5, 30, (60, 2))
    boxes = np.concatenate([corners, corners + sizes], axis=1).astype(np.float32)
    scores = rng.permutation(60).astype(np.float32) / 60  # distinct scores: a unique order
    kept = nms(torch.from_numpy(boxes), torch.from_numpy(scores), threshold).tolist()
    assert kept == reference_nms(boxes, scores, threshold)


def test_nms_of_nothing_is_empty():
    assert nms(torch.zeros(0, 4), torch.zeros(0), 0.5).numel() == 0


def test_batched_nms_never_suppresses_across_labels():
    boxes = torch.tensor([[0.0, 0, 10, 10], [0.0, 0, 10, 10], [1.0, 1, 10, 10]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    labels = torch.tensor([0, 1, 0])
    assert sorted(batched_nms(boxes, scores, labels, 0.5).tolist()) == [0, 1]


def test_clip_boxes_to_image():
    clipped = clip_boxes(torch.tensor([[-5.0, -5, 50, 20]]), width=40, height=30)
    assert clipped.tolist() == [[0.0, 0.0, 40.0, 20.0]]
