"""OCR end to end: train a tiny reader, save it, read with `convkit ocr`, evaluate, refuse bad data."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from convkit import api
from convkit.cli import main
from convkit.ocr.generator import generate_text_lines

# A tiny reader is trained once for the module (~10 s of CPU).
pytestmark = pytest.mark.slow

TINY_READER = {
    "name": "tiny-reader",
    "input": "32x64x1",
    "layers": [
        {"conv2d": {"filters": 8, "kernel": 3, "padding": "same"}},
        {"activation": "relu"},
        {"max_pool": {"kernel": 2}},  # 16 x 32
        {"conv2d": {"filters": 8, "kernel": 3, "padding": "same"}},
        {"activation": "relu"},
        {"max_pool": {"kernel": [4, 2]}},  # 4 x 16: one step per 4 columns
        {"to_sequence": {}},
        {"gru": {"units": 12}},
        {"ctc_output": {"alphabet": "digits"}},
    ],
}


@pytest.fixture(scope="module")
def lines(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits")
    generate_text_lines(out, 40, alphabet="digits", min_length=2, max_length=5, seed=7)
    return out


@pytest.fixture(scope="module")
def reader_file(lines, tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    report = api.fit(
        TINY_READER,
        lines,
        run_dir=run,
        epochs=2,
        batch_size=8,
        threads=1,
        device="cpu",
        val_fraction=0.25,
        progress=False,
    )
    assert [row["epoch"] for row in report.history] == [1, 2]
    assert "val_cer" in report.history[-1] and "val_exact_match" in report.history[-1]
    return report.model_path


def test_model_file_holds_the_alphabet_and_reads_any_width(reader_file, lines):
    model = api.load(reader_file)
    assert model.task.to_dict()["alphabet"] == "0123456789"
    assert model.preprocessing.to_dict()["kind"] == "textline"
    paths = sorted(str(p) for p in lines.glob("*.png"))
    widths = {cv2.imread(p).shape[1] for p in paths[:6]}
    assert len(widths) > 1  # lines of different widths in one batch
    predictions = model.predict(paths[:6])
    assert len(predictions) == 6
    for prediction in predictions:
        assert set(prediction["text"]) <= set("0123456789")
        assert 0.0 <= prediction["confidence"] <= 1.0


def test_ocr_command_prints_json_per_image(reader_file, lines, capsys):
    assert main(["ocr", str(reader_file), str(lines), "--json", "--beam", "4"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 40
    assert {row["path"] for row in rows} == {str(p) for p in lines.glob("*.png")}
    assert all(set(row["text"]) <= set("0123456789") for row in rows)


def test_ocr_command_skips_a_broken_image_with_exit_1(reader_file, tmp_path, capsys):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((32, 80, 3), 255, np.uint8))
    assert main(["ocr", str(reader_file), str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "broken.png" in captured.err
    assert captured.out.startswith(str(tmp_path / "blank.png") + "\t")


def test_evaluate_reports_text_error_rates(reader_file, lines, capsys):
    assert main(["evaluate", str(reader_file), "--data", str(lines), "--json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["lines"] == 40
    assert 0.0 <= report["exact_match"] <= 1.0 and report["cer"] >= 0.0
    wrong = int(round((1 - report["exact_match"]) * 40))
    assert len(report["errors"]) == min(wrong, 50)


def test_strict_training_refuses_unlearnable_lines(lines, tmp_path, capsys):
    spec = tmp_path / "reader.json"
    spec.write_text(json.dumps(TINY_READER))
    data = tmp_path / "data"
    data.mkdir()
    for path in list(lines.glob("*.png"))[:6]:
        (data / path.name).write_bytes(path.read_bytes())
    (data / "12ab.png").write_bytes(next(lines.glob("*.png")).read_bytes())
    code = main(["train", str(spec), "--data", str(data), "--strict-data", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "1 of 7 text lines cannot be learned" in err
    assert "'12ab' has 'ab'" in err and "alphabet: '0123456789ab'" in err
