"""Names the API and the CLI both accept: zoo networks as specs, `mnist` and the digits as data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from convkit import api
from convkit.cli import main
from convkit.errors import SpecError
from convkit.names import resolve_data, resolve_spec
from convkit.zoo import get_spec

ROOT = Path(__file__).resolve().parents[1]
LENET = ROOT / "examples" / "lenet.yaml"
TINY = """\
name: tiny
input: 28x28x1
layers:
  - conv2d: {filters: 4, kernel: 5}
  - max_pool: {kernel: 2, stride: 2}
  - dense: {units: 16, activation: relu}
  - output: {classes: 10, activation: softmax}
"""
FAST = ["--epochs", "1", "--batch-size", "32", "--workers", "0", "--threads", "1", "--quiet"]


def _write_idx(folder: Path, stem: str, images: np.ndarray, labels: np.ndarray) -> None:
    count, height, width = images.shape
    header = np.array([2051, count, height, width], dtype=">u4").tobytes()
    (folder / f"{stem}-images-idx3-ubyte").write_bytes(header + images.tobytes())
    labels_header = np.array([2049, count], dtype=">u4").tobytes()
    (folder / f"{stem}-labels-idx1-ubyte").write_bytes(labels_header + labels.tobytes())


@pytest.fixture(scope="module")
def mnist_cache(tmp_path_factory, mnist_dir) -> Path:
    """$CONVKIT_DATA with a small real MNIST under mnist/: 300 training and 100 test digits."""
    from convkit.data.idx import mnist

    root = tmp_path_factory.mktemp("convkit-data")
    folder = root / "mnist"
    folder.mkdir()
    for split, stem, count in (("train", "train", 300), ("test", "t10k", 100)):
        dataset = mnist(mnist_dir, split)
        images = np.ascontiguousarray(dataset.images[:count, :, :, 0], dtype=np.uint8)
        _write_idx(folder, stem, images, np.asarray(dataset.targets[:count], dtype=np.uint8))
    return root


@pytest.fixture
def cached_mnist(mnist_cache, monkeypatch) -> Path:
    """`mnist` resolves to the small copy; a download would fail the test."""
    import convkit.data

    def no_download(*args, **kwargs):
        raise AssertionError("tests never download MNIST")

    monkeypatch.setenv("CONVKIT_DATA", str(mnist_cache))
    monkeypatch.setattr(convkit.data, "download_mnist", no_download)
    return mnist_cache / "mnist"


def _config(run_dir: Path) -> dict:
    return yaml.safe_load((run_dir / "config.yaml").read_text())


# -- specs ---------------------------------------------------------------------------------
def test_a_spec_is_a_netspec_a_dict_a_file_or_a_zoo_name():
    from convkit.spec import NetSpec, load_spec

    from_file = load_spec(LENET)
    assert resolve_spec(from_file) is from_file
    assert resolve_spec(from_file.to_dict()) == from_file
    assert resolve_spec(str(LENET)) == from_file
    assert resolve_spec(LENET) == from_file
    assert resolve_spec("resnet18") == get_spec("resnet18")
    assert isinstance(resolve_spec("lenet"), NetSpec)


def test_a_file_named_like_a_zoo_network_is_the_file(tmp_path, monkeypatch):
    (tmp_path / "lenet").write_text(TINY)
    monkeypatch.chdir(tmp_path)
    assert resolve_spec("lenet").name == "tiny"


def test_a_misspelt_zoo_name_gets_the_closest_one():
    with pytest.raises(
        SpecError, match=r"no zoo network is called that; did you mean `resnet18`\?"
    ):
        resolve_spec("resnet81")


def test_summary_and_train_take_the_same_names(tmp_path, capsys):
    assert main(["summary", "lenet"]) == 0
    assert "431,080" in capsys.readouterr().out
    for verb in (["summary", "lenett"], ["train", "lenett", "--data", "sklearn-digits"]):
        assert main(verb) == 2
        err = capsys.readouterr().err
        assert err.startswith("convkit: error: spec file lenett not found"), err
        assert "did you mean `lenet`?" in err and len(err.strip().splitlines()) == 1
    run = tmp_path / "run"
    argv = ["train", "lenet", "--data", "sklearn-digits", "--run-dir", str(run), *FAST]
    assert main(argv) == 0
    assert _config(run)["spec"]["name"] == "lenet"
    assert (run / "model.convkit").is_file()


def test_a_zoo_network_is_sized_for_the_data_a_written_spec_is_not(tmp_path, mnist_dir):
    from convkit.data.idx import mnist
    from convkit.spec import load_spec
    from convkit.train.transfer import head_for_data

    assert head_for_data(get_spec("resnet18"), "sklearn-digits").layers[-1].params["classes"] == 10
    assert head_for_data(load_spec(LENET), tmp_path / "nowhere") == load_spec(LENET)

    import cv2

    dataset = mnist(mnist_dir, "test")
    for digit in (0, 1, 2):  # three classes, four photos each
        folder = tmp_path / "photos" / str(digit)
        folder.mkdir(parents=True)
        for index in np.flatnonzero(dataset.targets == digit)[:4]:
            cv2.imwrite(str(folder / f"{index}.png"), dataset.images[index][:, :, 0])
    photos = tmp_path / "photos"
    settings = {"epochs": 1, "batch_size": 8, "workers": 0, "threads": 1, "val_fraction": 0.25}
    report = api.fit("lenet", photos, run_dir=tmp_path / "run", progress=False, **settings)
    model = api.load(report.model_path)
    assert model.task.labels == ["0", "1", "2"]
    assert model.spec.layers[-1].params["classes"] == 3
    with pytest.raises(SpecError, match="set `classes: 3`"):  # a written spec says what it means
        api.fit(LENET, photos, run_dir=tmp_path / "run2", progress=False, **settings)


# -- data names ----------------------------------------------------------------------------
def test_data_names_resolve_in_one_place(cached_mnist, tmp_path):
    assert resolve_data("mnist", progress=False) == str(cached_mnist)
    assert resolve_data("MNIST", progress=False) == str(cached_mnist)
    assert resolve_data(None, progress=False) == str(cached_mnist)  # the default: cached MNIST
    assert resolve_data("sklearn-digits") == "sklearn-digits"  # the data sources open it
    assert resolve_data(tmp_path) == tmp_path


def test_api_and_cli_read_mnist_as_the_cached_copy(cached_mnist, tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    report = api.fit(
        spec, "mnist", run_dir=tmp_path / "api", epochs=1, batch_size=32, workers=0, progress=False
    )
    assert _config(tmp_path / "api")["data"] == str(cached_mnist)
    assert report.test is not None and report.test["examples"] == 100  # MNIST's own test split
    assert (
        main(["train", str(spec), "--data", "mnist", "--run-dir", str(tmp_path / "cli"), *FAST])
        == 0
    )
    assert _config(tmp_path / "cli")["data"] == _config(tmp_path / "api")["data"]
    evaluation = api.evaluate(report.model_path, "mnist", progress=False)
    assert evaluation["examples"] == 100
    assert main(["evaluate", str(report.model_path), "--data", "mnist", "--quiet"]) == 0
