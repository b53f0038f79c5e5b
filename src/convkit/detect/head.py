"""How a ``yolo_output`` tensor is laid out, and how it turns into boxes.

The layer's output is (N, A*(5+K), S_h, S_w): for each of A anchors a block of
``tx, ty, tw, th, objectness`` followed by K class scores, at every cell of an
S_h x S_w grid. As in YOLOv2, a box's centre is ``(sigmoid(tx) + col,
sigmoid(ty) + row)`` cells and its size is ``anchor * exp(tw, th)`` cells.
Anchors are (width, height) in grid cells, like Deeplearning4j's priors.
"""

from __future__ import annotations

import torch

# exp(tw) above this is a box many times the image: clamp so training never overflows
MAX_LOG_SCALE = 4.0


def split_output(output: torch.Tensor, num_anchors: int) -> torch.Tensor:
    """(N, A*(5+K), S_h, S_w) -> (N, A, S_h, S_w, 5+K), one row of numbers per anchor box."""
    n, channels, rows, cols = output.shape
    per_anchor = channels // num_anchors
    return output.reshape(n, num_anchors, per_anchor, rows, cols).permute(0, 1, 3, 4, 2)


def grid_boxes(raw: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Predicted boxes (N, A, S_h, S_w, 4) as x1, y1, x2, y2 in grid cells.

    ``raw`` is split_output's (N, A, S_h, S_w, 5+K); ``anchors`` is (A, 2).
    """
    _, _, rows, cols, _ = raw.shape
    col = torch.arange(cols, device=raw.device, dtype=raw.dtype).view(1, 1, 1, cols)
    row = torch.arange(rows, device=raw.device, dtype=raw.dtype).view(1, 1, rows, 1)
    cx = torch.sigmoid(raw[..., 0]) + col  # (N, A, S_h, S_w)
    cy = torch.sigmoid(raw[..., 1]) + row
    w = anchors[:, 0].view(1, -1, 1, 1) * torch.exp(raw[..., 2].clamp(max=MAX_LOG_SCALE))
    h = anchors[:, 1].view(1, -1, 1, 1) * torch.exp(raw[..., 3].clamp(max=MAX_LOG_SCALE))
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def batched_box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of a (N, P, 4) with b (N, G, 4) per batch item -> (N, P, G)."""
    top_left = torch.maximum(a[:, :, None, :2], b[:, None, :, :2])
    bottom_right = torch.minimum(a[:, :, None, 2:], b[:, None, :, 2:])
    overlap = (bottom_right - top_left).clamp(min=0)
    intersection = overlap[..., 0] * overlap[..., 1]  # (N, P, G)
    area_a = ((a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])).clamp(min=0)
    area_b = ((b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])).clamp(min=0)
    union = area_a[:, :, None] + area_b[:, None, :] - intersection
    return intersection / union.clamp(min=1e-9)


def decode_detections(
    output: torch.Tensor,
    anchors: torch.Tensor,
    stride: tuple[float, float],
    conf_threshold: float = 0.25,
    iou_threshold: float = 0.45,
    max_detections: int = 100,
    image_size: tuple[int, int] | None = None,
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Per image: (boxes (D, 4) in input pixels, scores (D,), labels (D,)), best first.

    A candidate is an (anchor box, class) pair whose confidence
    ``sigmoid(objectness) * softmax(class)`` reaches ``conf_threshold``; per
    class, overlapping candidates are removed by non-maximum suppression.
    """
    from convkit.detect.boxes import batched_nms

    raw = split_output(output.detach().float(), anchors.shape[0])
    boxes = grid_boxes(raw, anchors.to(raw)) * torch.tensor(
        [stride[0], stride[1], stride[0], stride[1]], device=raw.device
    )
    if image_size is not None:  # (width, height) of the network input
        boxes[..., 0::2] = boxes[..., 0::2].clamp(0, image_size[0])
        boxes[..., 1::2] = boxes[..., 1::2].clamp(0, image_size[1])
    confidence = torch.sigmoid(raw[..., 4:5]) * torch.softmax(
        raw[..., 5:], dim=-1
    )  # (N, A, S_h, S_w, K)
    n, num_classes = raw.shape[0], raw.shape[-1] - 5
    boxes = boxes.reshape(n, -1, 4)
    confidence = confidence.reshape(n, -1, num_classes)
    results = []
    for image in range(n):
        box_index, labels = (confidence[image] >= conf_threshold).nonzero(as_tuple=True)
        scores = confidence[image][box_index, labels]
        if scores.numel() > 30 * max_detections:  # bound NMS work on an untrained net
            top = scores.topk(30 * max_detections).indices
            box_index, labels, scores = box_index[top], labels[top], scores[top]
        candidates = boxes[image][box_index]
        keep = batched_nms(candidates, scores, labels, iou_threshold)[:max_detections]
        results.append((candidates[keep], scores[keep], labels[keep]))
    return results
