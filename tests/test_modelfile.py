"""The one-file model bundle: round trip, and refusal of truncated, edited or foreign files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from convkit.classify.task import ClassifyTask
from convkit.data import Preprocessing
from convkit.errors import ModelFileError
from convkit.modelfile import load_model, save_model
from convkit.nn import build
from convkit.spec import load_spec

LENET = Path(__file__).resolve().parents[1] / "examples" / "lenet.yaml"


@pytest.fixture
def model_file(tmp_path) -> Path:
    spec = load_spec(LENET)
    torch.manual_seed(0)
    net = build(spec)
    task = ClassifyTask(10, labels=[f"digit {i}" for i in range(10)], input_channels=1)
    pre = Preprocessing.for_spec(spec)
    return save_model(
        tmp_path / "lenet.convkit",
        net,
        task=task,
        preprocessing=pre.to_dict(),
        metadata={"note": "test"},
    )


def test_round_trip_keeps_weights_labels_and_preprocessing(model_file):
    loaded = load_model(model_file)
    torch.manual_seed(0)
    original = build(load_spec(LENET)).eval()
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(loaded.net(x), original(x))
    assert loaded.labels == [f"digit {i}" for i in range(10)]
    assert loaded.preprocessing["height"] == 28 and loaded.preprocessing["channels"] == 1
    assert loaded.metadata == {"note": "test"}
    assert loaded.spec == load_spec(LENET)
    assert not loaded.net.training


def test_truncated_file_is_refused(model_file):
    data = model_file.read_bytes()
    model_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        load_model(model_file)


def test_edited_weights_are_refused(model_file):
    data = bytearray(model_file.read_bytes())
    data[-100] ^= 0xFF  # flip one byte inside the last tensor
    model_file.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="modified"):
        load_model(model_file)


def test_files_that_are_not_models_are_refused(tmp_path):
    from safetensors.torch import save_file

    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, plain)
    with pytest.raises(ModelFileError, match="not a convkit model file"):
        load_model(plain)
    picture = tmp_path / "picture.convkit"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(ModelFileError):
        load_model(picture)
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "missing.convkit")


def test_cli_reports_a_bad_model_file_in_one_line(model_file, tmp_path):
    model_file.write_bytes(model_file.read_bytes()[:200])
    image = tmp_path / "x.png"
    image.write_bytes(b"not really")
    result = subprocess.run(
        [sys.executable, "-m", "convkit", "predict", str(model_file), str(image)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("convkit: error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_saving_is_atomic_when_interrupted(model_file, monkeypatch):
    """A failure while writing leaves the previous file intact and no temp file behind."""
    before = model_file.read_bytes()
    loaded = load_model(model_file)

    def broken_fsync(_fd):
        raise OSError("disk full")

    monkeypatch.setattr("os.fsync", broken_fsync)
    with pytest.raises(OSError):
        save_model(model_file, loaded.net, task=loaded.task, preprocessing=loaded.preprocessing)
    assert model_file.read_bytes() == before
    assert [p.name for p in model_file.parent.iterdir()] == [model_file.name]


def _as_format_1(path: Path) -> None:
    """Re-write a model file the way convkit wrote format 1: no header checksum."""
    import json

    from safetensors.torch import load, save

    from convkit.modelfile import METADATA_KEY, read_document

    document, _ = read_document(path)
    tensors = load(path.read_bytes())
    document = {key: value for key, value in document.items() if key != "document_sha256"}
    document["format_version"] = 1
    path.write_bytes(save(tensors, metadata={METADATA_KEY: json.dumps(document)}))


def test_a_format_1_file_is_refused_with_advice_and_upgrade_signs_it(model_file, tmp_path):
    before = load_model(model_file)
    _as_format_1(model_file)
    with pytest.raises(ModelFileError, match="convkit upgrade"):
        load_model(model_file)
    out = tmp_path / "signed.convkit"
    done = subprocess.run(
        [sys.executable, "-m", "convkit", "upgrade", str(model_file), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    after = load_model(out)
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(after.net(x), before.net(x))
    assert after.labels == before.labels and after.metadata == before.metadata


def test_upgrade_still_refuses_edited_format_1_weights(model_file):
    _as_format_1(model_file)
    data = bytearray(model_file.read_bytes())
    data[-5] ^= 0xFF
    model_file.write_bytes(bytes(data))
    done = subprocess.run(
        [sys.executable, "-m", "convkit", "upgrade", str(model_file)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "modified" in done.stderr
