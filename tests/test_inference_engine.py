"""One engine under every front end: the divergences it replaced stay gone.

Each test here pins one of the disagreements the five old loaders had:
boxes in network pixels from `convkit predict`, OCR reading padding, the
Spark UDF reading ``label`` from every task, two JSON formats and two exit
rules, and `--device auto` reaching torch as a device name.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from convkit.cli import main
from inference_fixtures import model_zoo, write_png


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    return model_zoo(tmp_path_factory.mktemp("zoo"))


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.strip().splitlines()]


# -- detection: boxes in the photo's own pixels, whoever asks ------------------------------
def test_predict_and_detect_give_boxes_in_the_photos_pixels(zoo, capsys):
    from convkit import api

    model, (photo,) = zoo["detect"]
    flags = ["--conf", "0.0", "--json", "--runtime", "torch"]
    assert main(["detect", str(model), str(photo), *flags]) == 0
    (from_detect,) = json_lines(capsys.readouterr().out)
    loaded = api.load(model, runtime="torch")
    loaded.task.conf_threshold = 0.0  # what --conf 0.0 does for `convkit predict`'s decode
    (from_api,) = loaded.predict([str(photo)])
    assert (
        (from_detect["width"], from_detect["height"])
        == (200, 80)
        == (
            from_api["width"],
            from_api["height"],
        )
    )
    assert from_detect["boxes"] and from_detect["boxes"] == from_api["boxes"]
    # network input is 64x64: boxes beyond it prove the letterbox was undone
    assert max(box["box"][2] for box in from_api["boxes"]) > 64
    for box in from_api["boxes"]:
        x1, y1, x2, y2 = box["box"]
        assert 0 <= x1 <= x2 <= 200 and 0 <= y1 <= y2 <= 80


def test_detector_boxes_are_the_input_pixel_boxes_mapped_through_the_letterbox(zoo):
    from convkit.inference import open_model

    model, (photo,) = zoo["detect"]
    engine = open_model(model, runtime="torch")
    array, info = engine.prepare_with_info(str(photo))
    output = engine.forward([array])
    (mapped,) = engine.decode(output, [info], conf_threshold=0.0)
    (raw,) = engine.decode(output, None, conf_threshold=0.0)  # network-input pixels
    expected = info["letterbox"].to_original(np.array([b["box"] for b in raw["boxes"]]))
    expected[:, 0::2] = expected[:, 0::2].clip(0, 200)
    expected[:, 1::2] = expected[:, 1::2].clip(0, 80)
    got = np.array([b["box"] for b in mapped["boxes"]])
    np.testing.assert_allclose(got, expected, atol=0.02)


# -- OCR: each line read over its own width, in a batch or alone ---------------------------
class _ScriptedRuntime:
    """Logits reading "a" at step 0 and "z" at step 20: past a 40-pixel line's own steps."""

    name = "scripted"

    def __init__(self, task):
        self.task = task

    def run(self, batch):
        import torch

        steps = int(batch.shape[3] // self.task.pixels_per_step)
        logits = torch.full((batch.shape[0], steps, len(self.task.alphabet.symbols) + 1), -10.0)
        logits[:, :, 0] = 10.0  # blank everywhere but:
        for step, symbol in ((0, "a"), (20, "z")):
            if step < steps:
                index = self.task.alphabet.encode(symbol)[0]
                logits[:, step, 0], logits[:, step, index] = -10.0, 10.0
        return logits


def test_a_short_line_reads_the_same_alone_and_next_to_a_long_one(zoo):
    from convkit import api

    model, (short, long) = zoo["ocr"]
    reader = api.load(model, runtime="torch")
    reader._runtime = _ScriptedRuntime(reader.task)
    alone = reader.predict([str(short)])
    together = reader.predict([str(short), str(long)])
    assert alone[0]["text"] == "a"  # 40 pixels: 10 steps, step 20 does not exist
    assert together[0]["text"] == "a"  # padded to 300 pixels, still read over its 10 steps
    assert together[1]["text"] == "az"  # the long line has step 20


def test_ocr_cli_predict_cli_and_api_read_each_line_identically(zoo, capsys):
    from convkit import api

    model, lines = zoo["ocr"]
    inputs = [str(p) for p in lines]
    assert main(["ocr", str(model), *inputs, "--json", "--runtime", "torch"]) == 0
    from_ocr = json_lines(capsys.readouterr().out)
    assert main(["predict", str(model), *inputs, "--json", "--runtime", "torch"]) == 0
    from_predict = json_lines(capsys.readouterr().out)
    from_api = api.load(model, runtime="torch").predict(inputs)
    assert from_ocr == from_predict
    assert [{k: v for k, v in r.items() if k != "path"} for r in from_ocr] == from_api
    alone = [api.load(model, runtime="torch").predict([p])[0] for p in inputs]
    assert alone == from_api


def test_ocr_decode_trims_each_line_to_its_own_steps():
    import torch

    from convkit.ocr.task import OcrTask

    task = OcrTask("az", height=32, pixels_per_step=4.0)
    logits = torch.full((1, 10, 3), -10.0)
    logits[0, :, 0] = 10.0
    logits[0, 0, 0], logits[0, 0, 1] = -10.0, 10.0  # "a" at step 0
    logits[0, 8, 0], logits[0, 8, 2] = -10.0, 10.0  # "z" at step 8: padding for a 16-px line
    assert task.decode(logits, infos=[{"width": 16}])[0]["text"] == "a"
    assert task.decode(logits, infos=[{"width": 40}])[0]["text"] == "az"


# -- Spark UDF rows for every task ----------------------------------------------------------
@pytest.mark.parametrize("kind", ["classify", "detect", "ocr"])
def test_spark_rows_carry_each_tasks_own_fields(zoo, kind):
    from convkit import api
    from convkit.spark.udfs import predict_frame

    model, inputs = zoo[kind]
    contents = pd.Series([p.read_bytes() for p in inputs] + [b"not an image"])
    frame = predict_frame(str(model), contents, top_k=1, batch_size=4, runtime="torch")
    task = api.load(model, runtime="torch").task
    assert list(frame.columns) == task.spark_fields()
    expected = api.load(model, runtime="torch").predict([str(p) for p in inputs], top_k=1)
    for row, prediction in zip(frame.to_dict("records"), expected, strict=False):
        assert {**row, "error": None} == task.spark_row(prediction)  # pandas: None -> nan
    assert frame.error.iloc[-1] and all(pd.isna(frame.error.iloc[:-1]))


# -- one output format and one exit rule ----------------------------------------------------
@pytest.mark.parametrize(
    "verb,kind", [("predict", "classify"), ("detect", "detect"), ("ocr", "ocr")]
)
def test_every_verb_prints_json_lines_keyed_path_and_exits_1_on_a_skip(
    zoo, tmp_path, capsys, verb, kind
):
    model, inputs = zoo[kind]
    folder = tmp_path / "in"
    folder.mkdir()
    write_png(folder / "a.png", np.zeros((28, 28), np.uint8) + 90)
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    assert main([verb, str(model), str(folder), "--json", "--runtime", "torch"]) == 1
    records = json_lines(capsys.readouterr().out)
    assert [r["path"].split("/")[-1] for r in records] == ["a.png", "broken.png"]
    assert "error" in records[1] and "error" not in records[0]
    assert main([verb, str(model), str(folder / "a.png"), "--runtime", "torch"]) == 0


def test_server_answers_with_the_same_fields_as_the_cli(zoo, capsys):
    from fastapi.testclient import TestClient

    from convkit.serve import create_app

    model, (digit,) = zoo["classify"]
    client = TestClient(create_app(model, runtime="torch"))
    files = {"file": ("d.png", digit.read_bytes(), "image/png")}
    body = client.post("/predict", files=files, data={"k": "3"}).json()
    assert (
        main(["predict", str(model), str(digit), "--json", "--top", "3", "--runtime", "torch"]) == 0
    )
    (line,) = json_lines(capsys.readouterr().out)
    assert body == {"kind": "classify", **{k: v for k, v in line.items() if k != "path"}}


# -- devices and runtimes -------------------------------------------------------------------
def test_ocr_device_auto_resolves_to_a_real_device(zoo, capsys):
    model, (short, _) = zoo["ocr"]
    assert main(["ocr", str(model), str(short), "--device", "auto", "--runtime", "torch"]) == 0
    assert str(short) in capsys.readouterr().out


def test_an_unknown_runtime_or_the_wrong_model_kind_is_one_line_exit_2(zoo, capsys):
    model, (digit,) = zoo["classify"]
    assert main(["detect", str(model), str(digit)]) == 2
    assert "needs a detect model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["predict", str(model), str(digit), "--runtime", "tensorrt"])


def test_concurrent_server_requests_share_forward_passes(zoo):
    import threading

    from convkit.inference import open_model
    from convkit.inference.batcher import MicroBatcher

    model, (digit,) = zoo["classify"]
    engine = open_model(model, runtime="torch")
    expected = engine.predict([str(digit)], top_k=3)[0]
    calls = []
    run = engine.runtime.run

    def counting_run(batch):
        calls.append(len(batch))
        threading.Event().wait(0.01)  # a slow forward pass lets requests queue up
        return run(batch)

    engine.runtime.run = counting_run
    batcher = MicroBatcher(engine, max_batch=8)
    results = [None] * 16

    def client(i):
        results[i] = batcher.predict(digit.read_bytes(), top_k=3)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batcher.close()
    assert all(result == expected for result in results)
    assert sum(calls) == 16 and len(calls) < 16 and max(calls) <= 8


def test_the_engine_imports_nothing_above_it():
    """inference sits below api, train, search, viz and the front ends (docs/ARCHITECTURE.md)."""
    import ast
    from pathlib import Path

    import convkit.inference

    above = {"api", "cli", "serve", "spark", "train", "search", "viz"}
    for source in Path(convkit.inference.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("convkit."):
                assert node.module.split(".")[1] not in above, f"{source.name}: {node.module}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    assert parts[0] != "convkit" or parts[1] not in above, source.name
