"""/predict dispatches on the model's task: boxes for a detector, text for a reader."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from convkit.serve import create_app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def save_untrained(spec_file: Path, path: Path) -> Path:
    """The example spec, built with its task and default preprocessing, saved untrained."""
    import torch

    from convkit.modelfile import save_model
    from convkit.nn import build
    from convkit.spec import load_spec
    from convkit.tasks import task_for_spec

    torch.manual_seed(0)
    spec = load_spec(spec_file)
    task = task_for_spec(spec)
    preprocessing = task.default_preprocessing(spec, None, {})
    net = build(spec).eval()
    save_model(path, net, task=task, preprocessing=preprocessing.to_dict(), metadata={})
    return path


def png(image: np.ndarray) -> dict:
    return {"file": ("upload.png", cv2.imencode(".png", image)[1].tobytes(), "image/png")}


@pytest.fixture(scope="module")
def detector_client(tmp_path_factory):
    from fastapi.testclient import TestClient

    model = save_untrained(
        EXAMPLES / "tinyyolo_scenes.yaml", tmp_path_factory.mktemp("d") / "d.convkit"
    )
    return TestClient(create_app(model))


@pytest.fixture(scope="module")
def reader_client(tmp_path_factory):
    from fastapi.testclient import TestClient

    model = save_untrained(EXAMPLES / "crnn.yaml", tmp_path_factory.mktemp("o") / "o.convkit")
    return TestClient(create_app(model))


def test_a_detector_answers_with_boxes_in_the_photos_pixels(detector_client):
    photo = np.random.default_rng(0).integers(0, 256, (80, 120, 3), dtype=np.uint8)
    body = detector_client.post("/predict", files=png(photo)).json()
    assert body["kind"] == "detect"
    assert (body["width"], body["height"]) == (120, 80)
    assert isinstance(body["boxes"], list)
    for found in body["boxes"]:
        x1, y1, x2, y2 = found["box"]
        assert 0 <= x1 <= x2 <= 120 and 0 <= y1 <= y2 <= 80
        assert {"label", "confidence"} <= set(found)
    assert detector_client.get("/health").json()["kind"] == "detect"


def test_a_detector_has_feature_maps_but_no_grad_cam(detector_client):
    photo = np.full((96, 96, 3), 128, np.uint8)
    response = detector_client.post("/gradcam", files=png(photo))
    assert response.status_code == 422
    assert "Grad-CAM explains class scores" in response.json()["detail"]
    maps = detector_client.post("/featuremaps", files=png(photo)).json()
    first = detector_client.get("/health").json()["layers"][0]  # the example's first conv
    assert maps["layers"][0]["title"] == f"{first['name']} {first['shape']}"
    assert first["type"] == "conv2d"


def test_a_reader_answers_with_text(reader_client):
    line = np.full((32, 100), 255, np.uint8)
    cv2.putText(line, "ab12", (4, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    body = reader_client.post("/predict", files=png(line)).json()
    assert body["kind"] == "ocr"
    assert isinstance(body["text"], str)
    assert 0.0 <= body["confidence"] <= 1.0
