"""/similar: a server started with --index answers with the closest indexed photos."""

from __future__ import annotations

import pytest

from convkit.errors import ConvkitError
from convkit.serve import create_app
from test_viz_support import LENET_YAML, lenet_file, mnist_digits, save_model_file, write_png


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, mnist_dir):
    from convkit import search

    root = tmp_path_factory.mktemp("similar")
    model = lenet_file(root, mnist_dir, steps=0)
    images, labels = mnist_digits(mnist_dir, 12)
    photos = [
        write_png(root / "photos" / f"digit{i:02d}.png", image) for i, image in enumerate(images)
    ]
    index = root / "photos.cindex"
    search.build_index(str(model), root / "photos", index, progress=False)
    return model, index, photos


@pytest.fixture(scope="module")
def client(indexed):
    from fastapi.testclient import TestClient

    model, index, _ = indexed
    return TestClient(create_app(model, index=index))


def test_health_says_similar_photos_are_available(client):
    assert client.get("/health").json()["similar"] is True


def test_an_indexed_photo_finds_itself_first(client, indexed):
    photos = indexed[2]
    data = photos[5].read_bytes()
    body = client.post(
        "/similar", files={"file": ("q.png", data, "image/png")}, data={"k": "4"}
    ).json()
    results = body["results"]
    assert len(results) == 4
    assert results[0]["name"] == "digit05.png"
    assert results[0]["score"] == pytest.approx(1.0, abs=1e-4)
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    image = client.get(results[0]["image_url"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content == data


def test_photos_are_served_by_row_only(client):
    assert client.get("/similar/99/image").status_code == 404
    for attempt in ("/similar/..%2F..%2Fetc%2Fpasswd/image", "/similar/-1/image"):
        response = client.get(attempt)
        assert response.status_code in (404, 422)
        assert b"root:" not in response.content


def test_an_index_made_by_another_model_is_refused(indexed, tmp_path):
    _, index, _ = indexed
    other = save_model_file(
        tmp_path / "other.convkit", LENET_YAML.replace("500", "400"), list("0123456789")
    )
    with pytest.raises(ConvkitError):
        create_app(other, index=index)
    with pytest.raises(ConvkitError, match="index not found"):
        create_app(other, index=tmp_path / "missing.cindex")
