"""The contract every registered task keeps, checked over the registry itself.

A new task (say, segmentation) registers in convkit.tasks.registry and adds
its example spec to EXAMPLE_SPECS below; these tests then say whether it
plugs into training, every front end and export without touching them.
"""

from __future__ import annotations

import json

import pytest

from convkit.cli import main
from convkit.errors import ConvkitError
from convkit.tasks import registered_tasks, task_for_spec, task_from_dict
from inference_fixtures import EXAMPLES, noise, save_untrained, write_png

EXAMPLE_SPECS = {
    "classify": "lenet.yaml",
    "detect": "tinyyolo_scenes.yaml",
    "ocr": "crnn.yaml",
}
INPUT_SHAPES = {"classify": (28, 28), "detect": (60, 90, 3), "ocr": (32, 70)}
VOCABULARY = {"label", "probability", "top", "boxes", "width", "height", "text", "confidence"}
KINDS = [entry.kind for entry in registered_tasks()]


def test_every_registered_task_has_an_example_here():
    assert set(KINDS) == set(EXAMPLE_SPECS)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("contract")
    made = {}
    for kind in KINDS:
        model = save_untrained(EXAMPLES / EXAMPLE_SPECS[kind], root / f"{kind}.convkit")
        made[kind] = (model, write_png(root / f"{kind}.png", noise(INPUT_SHAPES[kind], 7)))
    return made


def example_task(kind: str):
    from convkit.spec import load_spec

    return task_for_spec(load_spec(EXAMPLES / EXAMPLE_SPECS[kind]))


@pytest.mark.parametrize("kind", KINDS)
def test_to_dict_from_dict_round_trips(kind):
    task = example_task(kind)
    again = task_from_dict(json.loads(json.dumps(task.to_dict())))
    assert type(again) is type(task) and again.to_dict() == task.to_dict()
    assert again.kind == kind


@pytest.mark.parametrize("kind", KINDS)
def test_stored_keys_are_what_to_dict_writes(kind):
    task = example_task(kind)
    assert tuple(task.to_dict()) == type(task).stored_keys
    assert set(type(task).required_keys) <= set(type(task).stored_keys)
    with pytest.raises(ConvkitError, match=r"unknown key `kinds` in the .* task; did you mean"):
        task_from_dict({**task.to_dict(), "kinds": kind})


@pytest.mark.parametrize("kind", KINDS)
def test_decode_gives_json_in_the_shared_vocabulary(models, kind):
    from convkit import api

    model, photo = models[kind]
    engine = api.load(model, runtime="torch")
    (prediction,) = engine.predict([str(photo)], top_k=2)
    json.dumps(prediction)  # plain JSON, nothing else
    assert set(prediction) <= VOCABULARY, set(prediction) - VOCABULARY
    assert engine.task.text_lines(str(photo), prediction)
    assert set(engine.task.spark_row(prediction)) == set(engine.task.spark_fields())
    assert engine.task.spark_fields()[-1] == "error"


@pytest.mark.parametrize("kind", KINDS)
def test_metric_directions(kind):
    task = example_task(kind)
    assert task.metric_mode(task.monitor) == task.monitor_mode
    assert task.metric_mode("loss") == task.metric_mode("val_loss") == "min"
    assert task.metric_mode("accuracy") == "max"


def test_ocr_error_rates_are_lower_is_better():
    task = example_task("ocr")
    assert task.metric_mode("cer") == task.metric_mode("wer") == "min"
    assert task.metric_mode("exact_match") == "max"


def test_monitor_wer_keeps_the_lowest_wer(tmp_path, monkeypatch):
    from convkit.nn import build
    from convkit.spec import load_spec
    from convkit.train import Trainer
    from convkit.train.config import TrainConfig

    spec = load_spec(EXAMPLES / "crnn.yaml")
    trainer = Trainer(
        build(spec),
        task_for_spec(spec),
        [],
        None,
        TrainConfig(monitor="wer", epochs=1),
        tmp_path,
        preprocessing={},
    )
    monkeypatch.setattr(trainer, "_save_model", lambda: None)
    trainer.is_main = False  # set up by fit(); nothing is written here
    for epoch, wer in enumerate([0.5, 0.3, 0.4], start=1):
        trainer._keep_best({"epoch": epoch, "val_wer": wer})
    assert trainer.best == {"epoch": 2, "metric": "val_wer", "value": 0.3}


@pytest.mark.parametrize("kind", KINDS)
def test_api_cli_server_and_spark_udf_agree_on_one_input(models, kind, capsys):
    from fastapi.testclient import TestClient

    from convkit import api
    from convkit.serve import create_app
    from convkit.spark.udfs import predict_frame

    model, photo = models[kind]
    (from_api,) = api.load(model).predict([str(photo)], top_k=1)
    assert main(["predict", str(model), str(photo), "--json", "--top", "1"]) == 0
    from_cli = json.loads(capsys.readouterr().out)
    assert from_cli == {"path": str(photo), **from_api}
    client = TestClient(create_app(model))
    body = client.post(
        "/predict", files={"file": ("x.png", photo.read_bytes(), "image/png")}, data={"k": "1"}
    ).json()
    assert body == {"kind": kind, **from_api}
    import pandas as pd

    frame = predict_frame(str(model), pd.Series([photo.read_bytes()]), top_k=1, batch_size=1)
    task = api.load(model).task
    assert {**frame.to_dict("records")[0], "error": None} == task.spark_row(from_api)


REPORTS = {
    "classify": ({"accuracy": 0.99, "examples": 100, "top5": 1.0}, "accuracy 99.00% on 100"),
    "detect": ({"map50": 0.9, "map": 0.5, "images": 6}, "mAP@0.5 0.900"),
    "ocr": ({"cer": 0.01, "wer": 0.05, "exact_match": 0.9, "lines": 7}, "CER 1.00%"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_each_task_sums_up_its_test_report_in_one_line(kind):
    report, start = REPORTS[kind]
    line = example_task(kind).summary_line(report)
    assert line.startswith(start) and "\n" not in line
