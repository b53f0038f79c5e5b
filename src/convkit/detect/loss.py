"""The YOLOv2 loss: each true box is owned by one anchor of one cell.

Assignment: the cell that holds the box's centre, and among that cell's
anchors the one whose shape (width, height) overlaps the box's best. That
anchor learns the box (centre offset, log size), objectness 1 and the class.
Every other anchor learns objectness 0, unless its predicted box already
overlaps a true box by more than ``ignore_iou`` — a good guess that merely
was not chosen is not punished (YOLOv2, section "Training").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from convkit.detect.head import batched_box_iou, grid_boxes, split_output


def shape_iou(sizes: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """IoU of boxes (M, 2) and anchors (A, 2) as if they shared a centre -> (M, A)."""
    inter = torch.minimum(sizes[:, None, 0], anchors[None, :, 0]) * torch.minimum(
        sizes[:, None, 1], anchors[None, :, 1]
    )
    union = (
        sizes[:, None, 0] * sizes[:, None, 1] + anchors[None, :, 0] * anchors[None, :, 1] - inter
    )
    return inter / union.clamp(min=1e-9)


def yolo_loss(
    output: torch.Tensor,
    targets: torch.Tensor,
    anchors: torch.Tensor,
    stride: tuple[float, float],
    coord_weight: float = 5.0,
    noobj_weight: float = 1.0,
    ignore_iou: float = 0.6,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total loss (per image) and its parts.

    ``output``: (N, A*(5+K), S_h, S_w) raw head output. ``targets``: (M, 6)
    rows ``[image index, label, x1, y1, x2, y2]`` in input pixels.
    ``anchors``: (A, 2) in grid cells. ``stride``: input pixels per cell (x, y).
    """
    raw = split_output(output.float(), anchors.shape[0])  # (N, A, S_h, S_w, 5+K)
    n, num_anchors, rows, cols, _ = raw.shape
    anchors = anchors.to(raw)
    # 1. true boxes in grid cells
    image_index = targets[:, 0].long()
    labels = targets[:, 1].long()
    scale = torch.tensor([stride[0], stride[1], stride[0], stride[1]], device=raw.device)
    true_boxes = targets[:, 2:6].float() / scale  # (M, 4) in cells
    centre = (true_boxes[:, :2] + true_boxes[:, 2:]) / 2  # (M, 2)
    size = (true_boxes[:, 2:] - true_boxes[:, :2]).clamp(min=1e-3)  # (M, 2)
    col = centre[:, 0].long().clamp(0, cols - 1)
    row = centre[:, 1].long().clamp(0, rows - 1)
    # 2. the anchor that owns each true box
    anchor = shape_iou(size, anchors).argmax(dim=1)  # (M,)
    owned = torch.zeros(n, num_anchors, rows, cols, dtype=torch.bool, device=raw.device)
    owned[image_index, anchor, row, col] = True
    # 3. anchors whose predicted box already overlaps a true box are not "background"
    predicted = grid_boxes(raw.detach(), anchors).reshape(n, -1, 4)  # (N, A*S_h*S_w, 4)
    ignore = torch.zeros(n, num_anchors * rows * cols, dtype=torch.bool, device=raw.device)
    if targets.shape[0]:
        per_image = torch.bincount(image_index, minlength=n)
        padded = torch.zeros(n, int(per_image.max()), 4, device=raw.device)  # (N, G, 4)
        slot = (
            torch.arange(targets.shape[0], device=raw.device)
            - (torch.cumsum(per_image, 0) - per_image)[image_index]
        )
        padded[image_index, slot] = true_boxes  # padding boxes are empty: IoU 0
        ignore = batched_box_iou(predicted, padded).amax(dim=2) > ignore_iou
    background = ~owned & ~ignore.view(n, num_anchors, rows, cols)
    # 4. the three parts of the loss
    objectness = raw[..., 4]
    loss_noobj = F.binary_cross_entropy_with_logits(
        objectness[background], torch.zeros_like(objectness[background]), reduction="sum"
    )
    chosen = raw[image_index, anchor, row, col]  # (M, 5+K); duplicates: last box wins the cell
    loss_obj = F.binary_cross_entropy_with_logits(
        chosen[:, 4], torch.ones_like(chosen[:, 4]), reduction="sum"
    )
    offset_target = centre - torch.stack([col, row], dim=1).to(centre)  # (M, 2) in [0, 1)
    log_size_target = torch.log(size / anchors[anchor])  # (M, 2)
    # small boxes weigh more: a pixel of error matters more to them (YOLOv2's 2 - w*h)
    box_weight = 2.0 - (size[:, 0] * size[:, 1]) / (rows * cols)
    loss_box = (
        box_weight[:, None]
        * (
            (torch.sigmoid(chosen[:, 0:2]) - offset_target) ** 2
            + (chosen[:, 2:4] - log_size_target) ** 2
        )
    ).sum()
    loss_class = (
        F.cross_entropy(chosen[:, 5:], labels, reduction="sum") if labels.numel() else raw.sum() * 0
    )
    parts = {
        "box": coord_weight * loss_box / n,
        "object": loss_obj / n,
        "background": noobj_weight * loss_noobj / n,
        "class": loss_class / n,
    }
    return sum(parts.values()), parts
