"""The YOLOv2 head: anchor assignment, loss, decoding, and the yolo_output layer in a spec."""

from __future__ import annotations

import math

import pytest
import torch

from convkit.detect.head import decode_detections, split_output
from convkit.detect.loss import shape_iou, yolo_loss

ANCHORS = torch.tensor([[1.0, 1.0], [3.0, 2.0]])  # grid cells
STRIDE = (8.0, 8.0)
K = 3


def encode(box, label, anchor, rows=4, cols=4, confident=8.0):
    """A raw head output (1, A*(5+K), rows, cols) that says exactly ``box`` (input pixels)."""
    raw = torch.zeros(1, len(ANCHORS), rows, cols, 5 + K)
    raw[..., 4] = -confident
    cx, cy = (box[0] + box[2]) / 2 / STRIDE[0], (box[1] + box[3]) / 2 / STRIDE[1]
    w, h = (box[2] - box[0]) / STRIDE[0], (box[3] - box[1]) / STRIDE[1]
    col, row = int(cx), int(cy)
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    raw[0, anchor, row, col, :5] = torch.tensor(
        [
            logit(cx - col),
            logit(cy - row),
            math.log(w / ANCHORS[anchor, 0]),
            math.log(h / ANCHORS[anchor, 1]),
            confident,
        ]
    )
    raw[0, anchor, row, col, 5 + label] = confident
    return raw.permute(0, 1, 4, 2, 3).reshape(1, -1, rows, cols)


def test_split_output_layout_round_trips():
    output = encode([4, 4, 14, 20], 1, 0)
    raw = split_output(output, 2)
    assert raw.shape == (1, 2, 4, 4, 5 + K)
    assert raw[0, 0, 1, 1, 5 + 1] == 8.0


def test_anchor_with_the_closest_shape_is_chosen():
    ious = shape_iou(torch.tensor([[1.1, 0.9], [2.8, 2.2]]), ANCHORS)
    assert ious.argmax(dim=1).tolist() == [0, 1]


def test_decoding_an_encoded_box_gives_it_back():
    box = [9.0, 5.0, 31.0, 19.0]
    ((boxes, scores, labels),) = decode_detections(
        encode(box, 2, 1), ANCHORS, STRIDE, 0.5, 0.45, image_size=(32, 32)
    )
    assert labels.tolist() == [2]
    assert boxes[0].tolist() == pytest.approx(box, abs=1e-3)
    assert scores.item() > 0.99


def test_conf_threshold_filters_and_nms_merges_duplicates():
    output = encode([4, 4, 14, 20], 0, 0)  # confidence sigmoid(8)^2 * softmax ~ 0.999
    ((boxes, _, _),) = decode_detections(output, ANCHORS, STRIDE, conf_threshold=0.9999)
    assert len(boxes) == 0
    # both anchors of the cell say the same box: anchor 0's block from one encoding, 1's from the other
    doubled = encode([4, 4, 14, 20], 0, 0).view(1, 2, 5 + K, 4, 4).clone()
    doubled[:, 1] = encode([4, 4, 14, 20], 0, 1).view(1, 2, 5 + K, 4, 4)[:, 1]
    doubled = doubled.view(1, -1, 4, 4)
    ((boxes, _, _),) = decode_detections(doubled, ANCHORS, STRIDE, 0.5, iou_threshold=0.45)
    assert len(boxes) == 1
    ((boxes, _, _),) = decode_detections(doubled, ANCHORS, STRIDE, 0.5, iou_threshold=1.0)
    assert len(boxes) == 2


def test_loss_is_small_for_the_right_answer_and_large_for_a_wrong_class():
    targets = torch.tensor([[0, 2, 9.0, 5.0, 31.0, 19.0]])
    right, parts = yolo_loss(encode([9, 5, 31, 19], 2, 1), targets, ANCHORS, STRIDE)
    wrong, wrong_parts = yolo_loss(encode([9, 5, 31, 19], 0, 1), targets, ANCHORS, STRIDE)
    assert right.item() < 0.05 and parts["box"].item() < 1e-6
    assert wrong_parts["class"].item() > 7  # cross-entropy of a logit 8 below the winner


def test_loss_on_images_without_objects_only_teaches_background():
    output = torch.zeros(2, len(ANCHORS) * (5 + K), 4, 4, requires_grad=True)
    loss, parts = yolo_loss(output, torch.zeros(0, 6), ANCHORS, STRIDE)
    loss.backward()
    assert parts["background"].item() == pytest.approx(2 * len(ANCHORS) * 16 * math.log(2) / 2)
    assert parts["class"].item() == 0 and torch.isfinite(output.grad).all()


@pytest.fixture
def one_thread():
    # Hundreds of tiny ops: a second thread only adds synchronisation (badly so on a busy CPU).
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_training_the_raw_output_recovers_the_boxes(one_thread):
    torch.manual_seed(0)
    output = torch.zeros(2, len(ANCHORS) * (5 + K), 4, 4, requires_grad=True)
    targets = torch.tensor(
        [[0, 1, 2.0, 2.0, 12.0, 12.0], [1, 2, 0.0, 0.0, 20.0, 14.0], [1, 0, 16.0, 16.0, 32.0, 32.0]]
    )
    optimizer = torch.optim.Adam([output], lr=0.2)
    for _ in range(60):
        optimizer.zero_grad()
        yolo_loss(output, targets, ANCHORS, STRIDE)[0].backward()
        optimizer.step()
    first, second = decode_detections(
        output.detach(), ANCHORS, STRIDE, 0.5, 0.45, image_size=(32, 32)
    )
    assert first[2].tolist() == [1] and first[0][0].tolist() == pytest.approx(
        [2, 2, 12, 12], abs=0.3
    )
    assert sorted(second[2].tolist()) == [0, 2]
