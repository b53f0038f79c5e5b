"""`convkit export --format onnx` and the ONNX Runtime runtime: same answers as torch, or no file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convkit.cli import main
from inference_fixtures import model_zoo

pytest.importorskip("onnxruntime")

KINDS = ["classify", "graph", "detect", "ocr"]


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    return model_zoo(tmp_path_factory.mktemp("onnx-zoo"))


def same_prediction(a: dict, b: dict) -> None:
    """Equal labels, texts and boxes; numbers equal to float32 round-off."""
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], float):
            assert a[key] == pytest.approx(b[key], abs=1e-4), key
        elif isinstance(a[key], list) and a[key] and isinstance(a[key][0], dict):
            assert len(a[key]) == len(b[key]), key
            for x, y in zip(a[key], b[key], strict=True):
                same_prediction(x, y)
        elif isinstance(a[key], list):
            np.testing.assert_allclose(a[key], b[key], atol=0.05)
        else:
            assert a[key] == b[key], key


def clear_threshold(detector, photo) -> float:
    """A --conf in the widest gap between the best few scores: no near-tie sits at the cut."""
    (found,) = detector.predict([photo], conf_threshold=0.0)
    scores = [box["confidence"] for box in found["boxes"][:8]]
    gaps = [(a - b, (a + b) / 2) for a, b in zip(scores, scores[1:], strict=False)]
    return max(gaps)[1]


@pytest.mark.parametrize("kind", KINDS)
def test_both_runtimes_give_the_same_predictions(zoo, kind):
    from convkit import api

    model, inputs = zoo[kind]
    inputs = [str(p) for p in inputs] * 2  # a batch of several (and of mixed widths for OCR)
    on_torch = api.load(model, runtime="torch")
    on_onnx = api.load(model, runtime="onnx")
    options = {"conf_threshold": clear_threshold(on_torch, inputs[0])} if kind == "detect" else {}
    expected = on_torch.predict(inputs, top_k=3, **options)
    got = on_onnx.predict(inputs, top_k=3, **options)
    assert on_onnx.runtime.name == "onnx" and on_torch.runtime.name == "torch"
    for a, b in zip(expected, got, strict=True):
        same_prediction(a, b)
    one = on_onnx.predict(inputs[:1], top_k=3, **options)  # batch 1 too (LSTM states)
    same_prediction(one[0], expected[0])


def test_embeddings_match_across_runtimes(zoo):
    from convkit import api

    model, inputs = zoo["classify"]
    paths = [str(p) for p in inputs] * 3
    expected = api.load(model, runtime="torch").embed(paths)
    got = api.load(model, runtime="onnx").embed(paths)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    other_layer = api.load(model, runtime="onnx").embed(paths, layer="pool1")  # via torch
    np.testing.assert_allclose(
        other_layer, api.load(model, runtime="torch").embed(paths, layer="pool1"), atol=1e-6
    )


@pytest.mark.parametrize("kind", KINDS)
def test_export_writes_a_checked_graph_that_predicts_alone(zoo, kind, tmp_path, capsys):
    from convkit import api

    model, inputs = zoo[kind]
    out = tmp_path / f"{kind}.onnx"
    assert (
        main(["export", str(model), "--format", "onnx", "--out", str(out), "--dynamic-batch"]) == 0
    )
    assert "max |diff|" in capsys.readouterr().err
    paths = [str(p) for p in inputs]
    assert main(["predict", str(out), *paths, "--json"]) == 0
    from_onnx_file = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = api.load(model, runtime="torch").predict(paths, top_k=1)
    for line, prediction in zip(from_onnx_file, expected, strict=True):
        same_prediction({k: v for k, v in line.items() if k != "path"}, prediction)


def test_a_batch_1_export_still_predicts_many_inputs(zoo, tmp_path, capsys):
    from convkit import api

    model, inputs = zoo["ocr"]
    out = tmp_path / "one.onnx"
    assert main(["export", str(model), "--out", str(out)]) == 0  # no --dynamic-batch
    paths = [str(p) for p in inputs]
    expected = api.load(model, runtime="torch").predict(paths)
    for a, b in zip(api.load(out).predict(paths), expected, strict=True):
        same_prediction(a, b)


def test_the_onnx_metadata_carries_task_labels_and_preprocessing(zoo, tmp_path):
    import onnx

    model, _ = zoo["classify"]
    out = tmp_path / "m.onnx"
    assert main(["export", str(model), "--out", str(out)]) == 0
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    document = json.loads(props["convkit"])
    assert document["kind"] == "classify" and document["labels"] == [str(i) for i in range(10)]
    assert document["preprocessing"]["kind"] == "image" and document["task"]["kind"] == "classify"
    assert len(props["convkit.graph_sha256"]) == 64


def test_a_tampered_onnx_file_is_refused(zoo, tmp_path, capsys):
    model, inputs = zoo["classify"]
    out = tmp_path / "m.onnx"
    assert main(["export", str(model), "--out", str(out)]) == 0
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x55  # one byte inside the weights
    out.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["predict", str(out), str(inputs[0])]) == 2
    assert "convkit: error:" in capsys.readouterr().err


def test_a_tampered_cache_entry_is_rebuilt_not_trusted(zoo):
    from convkit import api
    from convkit.inference.onnx_bundle import read_verified_document
    from convkit.inference.onnx_cache import cached_graph
    from convkit.modelfile import load_model

    model, inputs = zoo["classify"]
    loaded = load_model(model)
    path = cached_graph(loaded)
    good = path.read_bytes()
    data = bytearray(good)
    data[len(data) // 2] ^= 0x55
    path.write_bytes(bytes(data))
    assert cached_graph(loaded) == path
    read_verified_document(path)  # valid again
    expected = api.load(model, runtime="torch").predict([str(inputs[0])])
    same_prediction(api.load(model, runtime="onnx").predict([str(inputs[0])])[0], expected[0])


@pytest.fixture
def unexportable_conv(monkeypatch):
    """Every conv layer also computes an op ONNX lacks (bessel i0), without changing its output."""
    import torch

    from convkit.nn import build
    from convkit.spec import load_spec
    from inference_fixtures import EXAMPLES

    net = build(load_spec(EXAMPLES / "lenet.yaml"))
    conv_class = type(net.layers["conv1"])
    original = conv_class.forward

    def forward(self, x):
        return original(self, x) + 0.0 * torch.special.i0(x.mean())

    monkeypatch.setattr(conv_class, "forward", forward)


def test_an_op_onnx_lacks_names_the_layer_and_exits_2(zoo, tmp_path, capsys, unexportable_conv):
    model, _ = zoo["classify"]
    out = tmp_path / "never.onnx"
    assert main(["export", str(model), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "layer conv1 (conv2d) cannot be exported" in error and "i0" in error
    assert len(error.strip().splitlines()) == 1 and not out.exists()


def test_auto_falls_back_to_torch_with_a_note(
    zoo, tmp_path, capsys, monkeypatch, unexportable_conv
):
    model, inputs = zoo["classify"]
    monkeypatch.setenv("CONVKIT_CACHE_DIR", str(tmp_path / "fresh-cache"))
    assert main(["predict", str(model), str(inputs[0])]) == 0
    err = capsys.readouterr().err
    assert "convkit: note: running on torch: layer conv1" in err
    assert main(["predict", str(model), str(inputs[0]), "--runtime", "onnx"]) == 2


def test_an_export_beyond_tolerance_is_not_written(zoo, tmp_path, capsys, monkeypatch):
    from convkit.inference import onnx_export

    monkeypatch.setattr(onnx_export, "ATOL", -1.0)  # no difference can pass now
    model, _ = zoo["classify"]
    out = tmp_path / "loose.onnx"
    assert main(["export", str(model), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "differs from PyTorch by up to" in error and "not written" in error
    assert not out.exists()
