"""`convkit weights pull`: resumable, checksum-verified downloads, from local servers only."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from convkit.cli import main
from convkit.weights import catalog
from reference_nets import reference


@pytest.fixture(scope="module")
def published_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("published")
    path = folder / "resnet18-test.pth"
    torch.save(reference("resnet18").state_dict(), path)
    return path


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch, published_file):
    monkeypatch.setenv("CONVKIT_WEIGHTS", str(tmp_path / "cache"))
    digest = hashlib.sha256(published_file.read_bytes()).hexdigest()
    entry = catalog.PublishedWeights("resnet18", published_file.name, digest[:8])
    monkeypatch.setitem(catalog.CATALOG, "resnet18", entry)
    return tmp_path / "cache"


class _RangeServer(BaseHTTPRequestHandler):
    """Serves one file, honouring `Range: bytes=N-`; records what it was asked."""

    body = b""
    ranges: list = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        start = 0
        header = self.headers.get("Range")
        type(self).ranges.append(header)
        if header:
            start = int(header.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header(
                "Content-Range", f"bytes {start}-{len(self.body) - 1}/{len(self.body)}"
            )
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(self.body) - start))
        self.end_headers()
        self.wfile.write(self.body[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server(published_file):
    _RangeServer.body = published_file.read_bytes()
    _RangeServer.ranges = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _RangeServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/{published_file.name}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_pull_from_a_file_url_verifies_and_imports(cache, published_file, capsys):
    assert main(["weights", "pull", "resnet18", "--url", published_file.as_uri()]) == 0
    assert (cache / "resnet18.convkit").is_file()
    assert (cache / published_file.name).read_bytes() == published_file.read_bytes()
    assert not list(cache.glob("*.part"))


def test_a_wrong_checksum_is_refused_and_the_partial_file_deleted(
    cache, published_file, monkeypatch, capsys
):
    entry = catalog.PublishedWeights("resnet18", published_file.name, "00000000")
    monkeypatch.setitem(catalog.CATALOG, "resnet18", entry)
    assert main(["weights", "pull", "resnet18", "--url", published_file.as_uri()]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "checksum mismatch" in err
    assert not list(cache.glob("*.pth*"))
    assert not (cache / "resnet18.convkit").exists()


def test_an_interrupted_download_resumes_with_a_range_request(cache, published_file, server):
    data = published_file.read_bytes()
    cache.mkdir(parents=True)
    (cache / (published_file.name + ".part")).write_bytes(data[:1000])
    assert main(["weights", "pull", "resnet18", "--url", server]) == 0
    assert _RangeServer.ranges == ["bytes=1000-"]
    assert (cache / published_file.name).read_bytes() == data


def test_offline_names_the_file_and_where_to_put_it(cache, published_file, capsys):
    assert main(["weights", "pull", "resnet18", "--url", "http://127.0.0.1:9/nothing.pth"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"put it at {cache / published_file.name}" in err
    assert f"convkit weights import {cache / published_file.name} --arch resnet18" in err


def test_a_zoo_name_without_weights_says_how_to_get_them(cache):
    from convkit.errors import ModelFileError
    from convkit.weights.cache import cached_model

    with pytest.raises(ModelFileError, match="convkit weights pull resnet18"):
        cached_model("resnet18")


def test_the_catalog_names_torchvision_files():
    real = catalog.PublishedWeights("resnet50", "resnet50-0676ba61.pth", "0676ba61")
    assert real.url == "https://download.pytorch.org/models/resnet50-0676ba61.pth"
    assert set(catalog.CATALOG) >= {"resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0"}
    assert len(catalog.imagenet_labels()) == 1000
