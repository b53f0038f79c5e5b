"""Detector and TextReader: task-shaped views that agree with the engine under them."""

from __future__ import annotations

import pytest

from convkit.errors import UsageError
from convkit.inference import Detector, TextReader, open_model
from inference_fixtures import model_zoo


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    return model_zoo(tmp_path_factory.mktemp("views"))


def test_detector_boxes_are_the_engines(zoo):
    model_path, [photo] = zoo["detect"]
    detector = Detector(model_path, conf=0.2)
    [(path, boxes, error)] = list(detector.detect_files([photo]))
    engine = open_model(model_path, runtime="torch")
    [expected] = engine.predict([photo], conf_threshold=0.2, iou_threshold=detector.iou)
    assert (path, error) == (photo, None)
    assert boxes == expected["boxes"]
    assert detector.labels == engine.task.labels


def test_text_reader_reads_as_the_engine_does(zoo):
    model_path, lines = zoo["ocr"]
    reader = TextReader(model_path)
    read = [prediction for _, prediction, _ in reader.read([str(p) for p in lines])]
    assert read == open_model(model_path, runtime="torch").predict([str(p) for p in lines])


def test_each_view_refuses_another_kind(zoo):
    classifier, _ = zoo["classify"]
    with pytest.raises(UsageError, match=r"is a classify model; `convkit detect` needs a detector"):
        Detector(classifier)
    with pytest.raises(UsageError, match=r"is a classify model, not a text reader"):
        TextReader(classifier)
