"""Anchors from the training boxes: k-means with 1 - IoU as the distance (YOLOv2, §2).

Euclidean k-means on (width, height) lets big boxes dominate the error; YOLOv2
clusters with ``d(box, centre) = 1 - IoU(box, centre)``, both boxes sharing a
centre, so a cluster is a *shape* and small and large boxes count alike.

The boxes are measured as the network sees them: each image letterboxed into
the input (one scale per image, aspect kept), then divided by the stride, so
the anchors come out in grid cells like the ``anchors`` of a yolo_output layer.
"""

from __future__ import annotations

import numpy as np

from convkit.errors import DataError


def shape_iou(sizes: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """IoU of boxes (M, 2) and cluster shapes (K, 2), as if they shared a centre -> (M, K)."""
    inter = np.minimum(sizes[:, None, 0], centres[None, :, 0]) * np.minimum(
        sizes[:, None, 1], centres[None, :, 1]
    )
    union = sizes[:, None].prod(-1) + centres[None, :].prod(-1) - inter
    return inter / np.maximum(union, 1e-12)


def kmeans_anchors(
    sizes: np.ndarray, k: int, seed: int = 0, iterations: int = 300
) -> tuple[np.ndarray, float]:
    """Cluster box shapes ``sizes`` (M, 2) into ``k`` anchors (k, 2), smallest area first.

    Returns the anchors and the mean IoU of each box with its best anchor (the
    measure YOLOv2 reports). Deterministic for a given ``seed``: the centres
    start k-means++ style (each next one far, in 1 - IoU, from those chosen),
    and each is the median of its cluster (robust to a few odd boxes).
    """
    sizes = np.asarray(sizes, np.float64).reshape(-1, 2)
    sizes = sizes[(sizes > 0).all(axis=1)]
    if len(sizes) == 0:
        raise DataError("no boxes to compute anchors from: annotate some objects first")
    if k < 1:
        raise DataError(f"the number of anchors must be at least 1. Received: {k}")
    rng = np.random.default_rng(seed)
    distinct = np.unique(sizes, axis=0)
    if len(distinct) <= k:  # fewer shapes than anchors: each shape is an anchor, repeat the last
        centres = distinct[np.argsort(distinct.prod(1))]
        centres = np.concatenate([centres, np.repeat(centres[-1:], k - len(centres), 0)])
        return centres.astype(np.float32), float(shape_iou(sizes, centres).max(1).mean())
    centres = [sizes[rng.integers(len(sizes))]]
    for _ in range(1, k):
        distance = 1.0 - shape_iou(sizes, np.array(centres)).max(axis=1)
        weights = distance**2
        total = weights.sum()
        chosen = (
            rng.choice(len(sizes), p=weights / total) if total > 0 else rng.integers(len(sizes))
        )
        centres.append(sizes[chosen])
    centres = np.array(centres)
    assignment = None
    for _ in range(iterations):
        new_assignment = shape_iou(sizes, centres).argmax(axis=1)
        if assignment is not None and np.array_equal(new_assignment, assignment):
            break
        assignment = new_assignment
        for cluster in range(k):
            members = sizes[assignment == cluster]
            if len(members):  # an empty cluster keeps its centre
                centres[cluster] = np.median(members, axis=0)
    centres = centres[np.argsort(centres.prod(axis=1))]
    return centres.astype(np.float32), float(shape_iou(sizes, centres).max(axis=1).mean())


def dataset_box_sizes(
    dataset, indices, input_size: tuple[int, int], stride: tuple[float, float]
) -> np.ndarray:
    """Box (width, height) (M, 2) in grid cells, after letterboxing into ``input_size`` (w, h)."""
    rows = []
    for index in indices:
        boxes, labels, (width, height) = dataset.image_boxes(int(index))
        if labels.size == 0:
            continue
        scale = min(input_size[0] / width, input_size[1] / height)
        rows.append(
            np.stack(
                [
                    (boxes[:, 2] - boxes[:, 0]) * scale / stride[0],
                    (boxes[:, 3] - boxes[:, 1]) * scale / stride[1],
                ],
                axis=1,
            )
        )
    return np.concatenate(rows) if rows else np.zeros((0, 2), np.float32)


def anchors_for_dataset(
    dataset,
    k: int,
    input_size: tuple[int, int],
    stride: tuple[float, float],
    seed: int = 0,
    indices=None,
) -> tuple[list[list[float]], float]:
    """``k`` anchors [[w, h], ...] in grid cells (rounded to 0.01) and their mean best IoU."""
    indices = range(len(dataset)) if indices is None else indices
    sizes = dataset_box_sizes(dataset, indices, input_size, stride)
    anchors, mean_iou = kmeans_anchors(sizes, k, seed)
    return [
        [max(0.01, round(float(w), 2)), max(0.01, round(float(h), 2))] for w, h in anchors
    ], mean_iou


ANCHOR_CHOICES = ("auto", "spec")


def anchors_wanted(spec, options: dict) -> int:
    """How many anchors to find from the data (0: use the spec's).

    ``anchors: auto`` in the spec's yolo_output layer, or ``--anchors auto``
    (``options["anchors"]``) with a spec that lists anchors — then as many as
    it lists, so the head keeps its shape. ``--anchors spec`` keeps the list.
    """
    from convkit.errors import UsageError
    from convkit.spec.layer_types.detection import AUTO, anchor_count

    choice = options.get("anchors")
    if choice is not None and choice not in ANCHOR_CHOICES:
        raise UsageError(f"--anchors must be auto or spec. Received: {choice!r}")
    params = spec.layers[-1].params
    if params["anchors"] == AUTO:
        if choice == "spec":
            raise UsageError(
                "--anchors spec, but the spec's yolo_output says `anchors: auto`: list "
                "[width, height] pairs there, or drop --anchors"
            )
        return anchor_count(params)
    return anchor_count(params) if choice == "auto" else 0


def find_anchors(task, dataset) -> None:
    """Set ``task.anchors`` by k-means on ``dataset``'s boxes at the task's input size, once."""
    import sys

    anchors, mean_iou = anchors_for_dataset(
        dataset, task.anchors_to_find, task.input_size, task.stride
    )
    task.anchors, task._anchor_tensor, task.anchors_to_find = anchors, None, 0
    shown = ", ".join(f"[{w:g}, {h:g}]" for w, h in anchors)
    print(
        f"anchors (k-means on IoU over the boxes of {len(dataset)} training images, mean best IoU "
        f"{mean_iou:.2f}): {shown} grid cells",
        file=sys.stderr,
        flush=True,
    )
