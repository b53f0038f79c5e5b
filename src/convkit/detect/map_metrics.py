"""Detection quality: average precision per class, mAP@0.5 and COCO mAP@[0.5:0.95].

A detection is a true positive when it overlaps a not-yet-matched true box of
its class by at least the IoU threshold (best-scored detections match first);
AP is the area under the precision-recall curve with precision made
monotone (all-point interpolation, as in Pascal VOC 2010+ and COCO).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COCO_THRESHOLDS = tuple(np.round(np.arange(0.5, 0.96, 0.05), 2).tolist())

# Detections below this confidence are too weak to matter for mAP but would
# slow the evaluation down; the usual mAP protocol keeps nearly everything.
EVAL_CONF_THRESHOLD = 0.01


@dataclass
class ImageResult:
    """One image's detections and truth, as numpy arrays in the same pixel frame."""

    boxes: np.ndarray  # (D, 4) detections
    scores: np.ndarray  # (D,)
    labels: np.ndarray  # (D,)
    true_boxes: np.ndarray  # (G, 4)
    true_labels: np.ndarray  # (G,)


def batch_results(detections, targets) -> list[ImageResult]:
    """One ImageResult per image of a batch.

    ``detections`` is the task's ``(boxes, scores, labels)`` per image (tensors);
    ``targets`` the batch's truth rows ``(image, label, x1, y1, x2, y2)``.
    """
    truth_rows = targets.detach().cpu().numpy()
    results = []
    for image, (boxes, scores, labels) in enumerate(detections):
        truth = truth_rows[truth_rows[:, 0] == image]
        results.append(
            ImageResult(
                boxes.cpu().numpy(),
                scores.cpu().numpy(),
                labels.cpu().numpy(),
                truth[:, 2:6],
                truth[:, 1].astype("int64"),
            )
        )
    return results


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(D, 4) x (G, 4) -> (D, G)."""
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    overlap = (bottom_right - top_left).clip(min=0)
    inter = overlap[..., 0] * overlap[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def _match(iou: np.ndarray, threshold: float) -> np.ndarray:
    """True-positive flags for detections (rows of ``iou``, best-scored first)."""
    hits = np.zeros(iou.shape[0], bool)
    taken = np.zeros(iou.shape[1], bool)
    for d in range(iou.shape[0]):
        candidates = np.where(taken, -1.0, iou[d])
        if candidates.size and candidates.max() >= threshold:
            g = int(candidates.argmax())
            taken[g] = True
            hits[d] = True
    return hits


def precision_recall(
    results: list[ImageResult], label: int, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(precision, recall, scores) along detections of ``label`` by falling score, and #truths."""
    scores, hits, truths = [], [], 0
    for r in results:
        mine = r.labels == label
        truth = r.true_boxes[r.true_labels == label]
        truths += len(truth)
        order = np.argsort(-r.scores[mine], kind="stable")
        boxes, image_scores = r.boxes[mine][order], r.scores[mine][order]
        scores.append(image_scores)
        if len(truth) == 0:
            hits.append(np.zeros(len(boxes), bool))
        else:
            hits.append(_match(_iou(boxes, truth), threshold))
    scores_all = np.concatenate(scores) if scores else np.zeros(0)
    hits_all = np.concatenate(hits) if hits else np.zeros(0, bool)
    order = np.argsort(-scores_all, kind="stable")
    true_positives = np.cumsum(hits_all[order])
    false_positives = np.cumsum(~hits_all[order])
    precision = true_positives / np.maximum(true_positives + false_positives, 1)
    recall = true_positives / max(truths, 1)
    return precision, recall, scores_all[order], truths


def average_precision(precision: np.ndarray, recall: np.ndarray) -> float:
    """Area under the monotone (non-increasing) precision envelope."""
    if precision.size == 0:
        return 0.0
    p = np.concatenate([[0.0], precision, [0.0]])
    r = np.concatenate([[0.0], recall, [recall[-1]]])
    p = np.maximum.accumulate(p[::-1])[::-1]  # precision never rises with recall
    steps = np.where(r[1:] != r[:-1])[0]
    return float(np.sum((r[steps + 1] - r[steps]) * p[steps + 1]))


def evaluate_detections(
    results: list[ImageResult], classes: list[str], conf_threshold: float = 0.25
) -> dict:
    """mAP@0.5, mAP@[0.5:0.95], per-class AP, and precision/recall at ``conf_threshold``.

    Classes without any true box in ``results`` are left out of the means
    (their AP is undefined), as in COCO.
    """
    per_class: dict[str, dict[str, float]] = {}
    ap50, ap_coco = [], []
    tp_at_conf = fp_at_conf = truths_all = 0
    for label, name in enumerate(classes):
        aps = []
        for threshold in COCO_THRESHOLDS:
            precision, recall, scores, truths = precision_recall(results, label, threshold)
            aps.append(average_precision(precision, recall))
            if threshold == 0.5:
                confident = scores >= conf_threshold
                found = int(round(recall[confident][-1] * truths)) if confident.any() else 0
                tp_at_conf += found
                fp_at_conf += int(confident.sum()) - found
                truths_all += truths
        if truths == 0:
            continue
        per_class[name] = {"ap50": aps[0], "ap": float(np.mean(aps)), "boxes": truths}
        ap50.append(aps[0])
        ap_coco.append(float(np.mean(aps)))
    return {
        "map50": float(np.mean(ap50)) if ap50 else 0.0,
        "map": float(np.mean(ap_coco)) if ap_coco else 0.0,
        "precision": tp_at_conf / max(tp_at_conf + fp_at_conf, 1),
        "recall": tp_at_conf / max(truths_all, 1),
        "per_class": per_class,
    }


def plot_pr_curves(results: list[ImageResult], classes: list[str], path, threshold: float = 0.5):
    """Draw each class's precision-recall curve at IoU ``threshold`` into a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 5), dpi=100)
    for label, name in enumerate(classes):
        precision, recall, _, truths = precision_recall(results, label, threshold)
        if truths == 0:
            continue
        ap = average_precision(precision, recall)
        axes.plot(
            np.concatenate([[0], recall]),
            np.concatenate([[1], precision]),
            label=f"{name} AP={ap:.3f}",
        )
    axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    axes.set_title(f"precision-recall at IoU {threshold}")
    axes.legend(loc="lower left")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
