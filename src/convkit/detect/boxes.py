"""Box arithmetic on torch tensors: IoU and non-maximum suppression.

Boxes are ``(x1, y1, x2, y2)`` in pixels, one row per box.
"""

from __future__ import annotations

import numpy as np
import torch


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Areas of ``boxes`` (M, 4); degenerate boxes have area 0."""
    widths = (boxes[:, 2] - boxes[:, 0]).clamp(min=0)
    heights = (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
    return widths * heights  # (M,)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise intersection-over-union of ``a`` (M, 4) and ``b`` (P, 4) -> (M, P)."""
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])  # (M, P, 2)
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])  # (M, P, 2)
    overlap = (bottom_right - top_left).clamp(min=0)
    intersection = overlap[..., 0] * overlap[..., 1]  # (M, P)
    union = box_area(a)[:, None] + box_area(b)[None, :] - intersection
    return intersection / union.clamp(min=1e-9)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices of the boxes kept by greedy non-maximum suppression, best first.

    Vectorised: all pairwise IoUs in one tensor operation; the greedy pass then
    visits only the boxes that survive, each removing every later box it
    overlaps in one row operation (numpy, since per-element torch indexing
    costs microseconds per call). A box is dropped when a better-scored box
    that was itself kept overlaps it by more than ``iou_threshold``.
    """
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    order = scores.argsort(descending=True)
    ordered = boxes[order]
    # (M, M) bool, rows/cols in score order; only better boxes (earlier rows) suppress.
    overlaps = (box_iou(ordered, ordered) > iou_threshold).triu(diagonal=1).cpu().numpy()
    alive = np.ones(len(overlaps), dtype=bool)
    index = 0
    while index < len(alive):
        alive[index + 1 :] &= ~overlaps[index, index + 1 :]
        survivors = np.flatnonzero(alive[index + 1 :])
        if survivors.size == 0:
            break
        index += 1 + int(survivors[0])  # jump straight to the next box still alive
    return order[torch.from_numpy(np.flatnonzero(alive)).to(boxes.device)]


def batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """NMS done separately per label, in one call.

    Boxes of different labels are shifted apart by more than the image extent
    so that they can never overlap; one NMS then handles every class at once.
    """
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    offset = boxes.max() + 1
    shifted = boxes + (labels.to(boxes.dtype) * offset)[:, None]
    return nms(shifted, scores, iou_threshold)


def clip_boxes(boxes: torch.Tensor, width: float, height: float) -> torch.Tensor:
    """Boxes (M, 4) clipped to the image ``[0, width] x [0, height]``."""
    clipped = boxes.clone()
    clipped[:, 0::2] = clipped[:, 0::2].clamp(0, width)
    clipped[:, 1::2] = clipped[:, 1::2].clamp(0, height)
    return clipped
