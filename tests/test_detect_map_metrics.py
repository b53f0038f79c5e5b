"""Average precision and mAP on hand-worked examples; PR curves drawn."""

from __future__ import annotations

import numpy as np
import pytest

from convkit.detect.map_metrics import (
    ImageResult,
    average_precision,
    evaluate_detections,
    plot_pr_curves,
    precision_recall,
)

TRUTH = np.array([[0, 0, 10, 10], [20, 20, 40, 40]], np.float32)


def result(boxes, scores, labels, true_boxes=TRUTH, true_labels=(0, 1)):
    return ImageResult(
        np.array(boxes, np.float32).reshape(-1, 4),
        np.array(scores, np.float32),
        np.array(labels, np.int64),
        true_boxes,
        np.array(true_labels, np.int64),
    )


def test_perfect_detections_score_one():
    report = evaluate_detections([result(TRUTH, [0.9, 0.8], [0, 1])], ["a", "b"])
    assert report["map50"] == pytest.approx(1.0)
    assert report["map"] == pytest.approx(1.0)
    assert report["precision"] == 1.0 and report["recall"] == 1.0


def test_hand_worked_average_precision():
    # class 0 has two true boxes in two images; detections by score: hit, miss, hit.
    images = [
        result([[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.8], [0, 0], TRUTH[:1], [0]),
        result([[0, 0, 10, 10]], [0.7], [0], TRUTH[:1], [0]),
    ]
    precision, recall, _, truths = precision_recall(images, 0, 0.5)
    assert truths == 2
    assert precision.tolist() == pytest.approx([1.0, 0.5, 2 / 3])
    assert recall.tolist() == pytest.approx([0.5, 0.5, 1.0])
    # envelope: precision 1 up to recall 0.5, then 2/3 up to recall 1
    assert average_precision(precision, recall) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_duplicate_detection_is_a_false_positive():
    images = [result([[0, 0, 10, 10], [0, 0, 10, 10]], [0.9, 0.8], [0, 0], TRUTH[:1], [0])]
    precision, recall, _, _ = precision_recall(images, 0, 0.5)
    assert precision.tolist() == pytest.approx([1.0, 0.5])


def test_loose_box_counts_at_050_but_not_at_higher_thresholds():
    # IoU of [0,0,10,10] with [0,0,10,16] is 100/160 = 0.625
    report = evaluate_detections([result([[0, 0, 10, 16]], [0.9], [0], TRUTH[:1], [0])], ["a"])
    assert report["map50"] == pytest.approx(1.0)
    # counts at thresholds 0.50, 0.55, 0.60 out of ten
    assert report["map"] == pytest.approx(0.3)


def test_class_without_truth_is_left_out_of_the_mean():
    report = evaluate_detections([result(TRUTH[:1], [0.9], [0], TRUTH[:1], [0])], ["a", "b"])
    assert list(report["per_class"]) == ["a"]
    assert report["map50"] == pytest.approx(1.0)


def test_pr_curves_png(tmp_path):
    path = plot_pr_curves([result(TRUTH, [0.9, 0.8], [0, 1])], ["a", "b"], tmp_path / "pr.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_batch_results_split_truth_rows_by_image():
    import torch

    from convkit.detect.map_metrics import batch_results

    detections = [
        (torch.tensor([[0.0, 0, 10, 10]]), torch.tensor([0.9]), torch.tensor([0])),
        (torch.zeros((0, 4)), torch.zeros(0), torch.zeros(0, dtype=torch.int64)),
    ]
    targets = torch.tensor([[0, 0, 0, 0, 10, 10], [1, 1, 20, 20, 40, 40], [1, 0, 1, 1, 5, 5]])
    first, second = batch_results(detections, targets)
    assert first.true_boxes.tolist() == [[0, 0, 10, 10]] and first.true_labels.tolist() == [0]
    assert second.true_labels.tolist() == [1, 0] and len(second.boxes) == 0
    assert evaluate_detections([first], ["a", "b"])["map50"] == pytest.approx(1.0)
