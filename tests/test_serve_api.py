"""The JSON API of `convkit serve`, through FastAPI's TestClient."""

from __future__ import annotations

import base64
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

from convkit.errors import ModelFileError
from convkit.serve import UploadLimits, create_app
from test_viz_support import lenet_file, mnist_digits

STATIC = Path(__file__).resolve().parents[1] / "src" / "convkit" / "serve" / "static"


@pytest.fixture(scope="module")
def model_path(tmp_path_factory, mnist_dir):
    return lenet_file(tmp_path_factory.mktemp("serve"), mnist_dir)


@pytest.fixture(scope="module")
def digits(mnist_dir):
    images, labels = mnist_digits(mnist_dir, 8)
    encoded = [cv2.imencode(".png", image)[1].tobytes() for image in images]
    return encoded, labels


@pytest.fixture(scope="module")
def client(model_path):
    from fastapi.testclient import TestClient

    return TestClient(create_app(model_path))


def upload(data: bytes, name: str = "digit.png") -> dict:
    return {"file": (name, data, "application/octet-stream")}


def decode_png(text: str) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(base64.b64decode(text), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height (a decompression bomb's header)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + header
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(header))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + b"\x00" * 64
    )


def test_health_describes_the_model(client):
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["kind"] == "classify"
    assert body["input"] == "28x28x1"
    assert body["labels"] == [str(i) for i in range(10)]
    assert body["map_layers"] == ["conv1", "pool1", "conv2", "pool2"]
    assert body["similar"] is False


def test_predict_returns_top_k_labels_best_first(client, digits):
    encoded, labels = digits
    body = client.post("/predict", files=upload(encoded[0]), data={"k": "5"}).json()
    scores = [entry["probability"] for entry in body["top"]]
    assert len(body["top"]) == 5
    assert scores == sorted(scores, reverse=True)
    assert 0 < sum(scores) <= 1.0 + 1e-6
    assert body["top"][0]["label"] == str(labels[0]) == body["label"]
    three = client.post("/predict", files=upload(encoded[0]), data={"k": "3"}).json()
    assert [entry["label"] for entry in three["top"]] == [e["label"] for e in body["top"][:3]]


def test_predict_refuses_a_k_out_of_range(client, digits):
    response = client.post("/predict", files=upload(digits[0][0]), data={"k": "0"})
    assert response.status_code == 422
    assert "k must be between 1 and 100" in response.json()["detail"]


def test_featuremaps_are_titled_grids_per_layer(client, digits):
    body = client.post("/featuremaps", files=upload(digits[0][0])).json()
    assert [layer["title"] for layer in body["layers"]] == [
        "conv1 24x24x20",
        "pool1 12x12x20",
        "conv2 8x8x50",
        "pool2 4x4x50",
    ]
    conv1 = decode_png(body["layers"][0]["png"])
    # 20 maps in a 5 x 4 grid of 48-pixel tiles with 2-pixel gaps, under a 28-pixel title.
    assert conv1.shape == (28 + 4 * 50 + 2, 5 * 50 + 2, 3)
    assert decode_png(body["input"]).shape[:2] == (112, 112)


def test_featuremaps_of_chosen_layers_and_an_unknown_one(client, digits):
    body = client.post(
        "/featuremaps", files=upload(digits[0][0]), data={"layers": "pool2,conv1"}
    ).json()
    assert [layer["name"] for layer in body["layers"]] == ["pool2", "conv1"]
    response = client.post("/featuremaps", files=upload(digits[0][0]), data={"layers": "conv9"})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "layer 'conv9' is not a layer of this network; choose from: conv1, pool1, conv2, pool2"
    )


def test_gradcam_as_json_and_as_png(client, digits):
    encoded, labels = digits
    body = client.post("/gradcam", files=upload(encoded[0])).json()
    assert body["layer"] == "conv2"
    assert body["label"] == str(labels[0])
    assert decode_png(body["png"]).shape == (224, 224, 3)
    response = client.post(
        "/gradcam", files=upload(encoded[0]), data={"format": "png", "target": "3"}
    )
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    wrong = client.post("/gradcam", files=upload(encoded[0]), data={"target": "eleven"})
    assert wrong.status_code == 422
    assert "class 'eleven' is neither a label nor an index" in wrong.json()["detail"]


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"just some text, not pixels", 415, "not an image this server reads"),
        (b"", 400, "upload is empty"),
        (png_declaring(100_000, 100_000), 413, "10,000,000,000 pixels"),
        (png_declaring(20, 20), 400, ""),  # a plausible header, but no pixel data
    ],
)
def test_bad_uploads_get_a_4xx_with_a_message(client, data, status, message):
    response = client.post("/predict", files=upload(data))
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert response.json()["detail"]


def test_uploads_over_the_size_limit_are_refused(model_path, digits):
    from fastapi.testclient import TestClient

    small = TestClient(create_app(model_path, limits=UploadLimits(max_bytes=100)))
    response = small.post("/predict", files=upload(digits[0][0]))
    assert len(digits[0][0]) > 100
    assert response.status_code == 413
    assert "larger than the server's limit" in response.json()["detail"]
    huge = small.post("/predict", files=upload(b"\x89PNG" + b"\x00" * 200_000))
    assert huge.status_code == 413  # refused from Content-Length, before parsing


def test_concurrent_requests_get_their_own_answers(client, digits):
    encoded, _ = digits
    alone = [client.post("/predict", files=upload(data)).json()["top"] for data in encoded]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(
            pool.map(
                lambda data: client.post("/predict", files=upload(data)).json()["top"], encoded
            )
        )
    for one, other in zip(alone, together, strict=True):
        assert [e["label"] for e in one] == [e["label"] for e in other]
        assert np.allclose(
            [e["probability"] for e in one], [e["probability"] for e in other], atol=1e-5
        )


def test_similar_without_an_index_says_how_to_get_one(client, digits):
    response = client.post("/similar", files=upload(digits[0][0]))
    assert response.status_code == 404
    assert "--index" in response.json()["detail"]


def test_the_page_and_its_assets_need_no_external_site(client):
    page = client.get("/")
    assert page.status_code == 200
    assert 'id="file-input"' in page.text
    for name in ("index.html", "app.js", "style.css"):
        text = (STATIC / name).read_text()
        assert "http://" not in text and "https://" not in text, name
        assert client.get(f"/static/{name}").status_code == 200


def test_openapi_lists_the_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/predict", "/featuremaps", "/gradcam", "/similar"} <= set(paths)


def test_a_file_that_is_not_a_model_is_refused_at_start(tmp_path):
    fake = tmp_path / "fake.convkit"
    fake.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ModelFileError):
        create_app(fake)
    with pytest.raises(ModelFileError, match="not found"):
        create_app(tmp_path / "missing.convkit")


def test_docs_page_is_served_without_a_cdn(client):
    pytest.importorskip("swagger_ui_bundle", reason="the serve extra's swagger-ui-bundle is absent")
    page = client.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in page and "cdn.jsdelivr" not in page
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
