"""Sources: IDX/MNIST, class folders, CSV, scikit-learn digits; scan; split; open_image_dataset."""

from __future__ import annotations

import gzip
import hashlib
import struct

import cv2
import numpy as np
import pytest

from convkit.data import (
    ArrayDataset,
    FileDataset,
    find_mnist,
    open_image_dataset,
    read_idx,
    sklearn_digits,
    stratified_split,
)
from convkit.data import idx as idx_module
from convkit.data.samples import make_photo_folder
from convkit.errors import DataError


def write_idx(path, array: np.ndarray, gz: bool = False) -> None:
    code = {np.dtype(np.uint8): 0x08}[array.dtype]
    raw = (
        bytes([0, 0, code, array.ndim])
        + struct.pack(f">{array.ndim}I", *array.shape)
        + array.tobytes()
    )
    path.write_bytes(gzip.compress(raw) if gz else raw)


def test_mnist_test_split_matches_its_readme(mnist_dir):
    test = open_image_dataset(mnist_dir, split="test")
    assert isinstance(test, ArrayDataset)
    assert test.images.shape == (10000, 28, 28, 1) and test.images.dtype == np.uint8
    assert test.classes == [str(d) for d in range(10)]
    counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # from the README
    assert list(test.class_counts().values()) == counts
    image, target = test.load(0)
    assert image.shape == (28, 28, 1) and target == 7  # the famous first test digit
    assert test.describe(123) == "mnist test #123"
    assert str(test.scan(progress=False)).startswith("Found 10000 images in 10 classes")


def test_raw_idx_files_and_explicit_file_paths(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    labels = np.array([0, 1, 2, 1, 0], dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte", images)  # raw, not gzip
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels, gz=True)
    ds = open_image_dataset(tmp_path)
    assert np.array_equal(ds.images[:, :, :, 0], images) and ds.targets.tolist() == labels.tolist()
    direct = open_image_dataset(tmp_path / "train-images-idx3-ubyte")
    assert np.array_equal(direct.images, ds.images)
    assert np.array_equal(read_idx(tmp_path / "train-labels-idx1-ubyte.gz"), labels)


def test_truncated_and_mismatched_idx_files(tmp_path):
    images = np.zeros((5, 4, 4), dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    data = (tmp_path / "train-images-idx3-ubyte").read_bytes()
    (tmp_path / "train-images-idx3-ubyte").write_bytes(data[:-10])
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5, dtype=np.uint8))
    with pytest.raises(DataError, match="truncated IDX data"):
        open_image_dataset(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, dtype=np.uint8))
    with pytest.raises(DataError, match="holds 5 images but .* holds 4 labels"):
        open_image_dataset(tmp_path)


def test_find_mnist_looks_in_convkit_data(tmp_path, monkeypatch, mnist_dir):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CONVKIT_DATA", raising=False)
    assert find_mnist() is None
    monkeypatch.setenv("CONVKIT_DATA", str(mnist_dir))
    assert find_mnist() == mnist_dir


def test_download_mnist_checks_sha256(tmp_path, monkeypatch):
    payloads = {name: f"payload {name}".encode() for name in idx_module.MNIST_SHA256}
    monkeypatch.setattr(
        idx_module,
        "MNIST_SHA256",
        {name: hashlib.sha256(data).hexdigest() for name, data in payloads.items()},
    )
    requested = []

    class Response:
        def __init__(self, data):
            self.data = data

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return self.data

    def fake_urlopen(url, timeout):
        requested.append(url)
        name = url.rsplit("/", 1)[1]
        if url.startswith(idx_module.MNIST_MIRRORS[0]):
            return Response(b"tampered")  # the first mirror serves a wrong file
        return Response(payloads[name])

    monkeypatch.setattr("urllib.request.urlopen", fake_urlopen)
    folder = idx_module.download_mnist(tmp_path / "cache")
    for name, data in payloads.items():
        assert (folder / name).read_bytes() == data
    assert len(requested) == 8  # each file: the tampered mirror, then the good one
    assert not list(folder.glob("*.part"))


def test_download_mnist_offline_says_so(tmp_path, monkeypatch):
    import urllib.error

    def offline(url, timeout):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(DataError, match="cannot download train-images-idx3-ubyte.gz"):
        idx_module.download_mnist(tmp_path)


def test_class_folder_scan_reports_and_drops_bad_files(tmp_path):
    make_photo_folder(tmp_path, per_class=5, corrupt=4)
    ds = open_image_dataset(tmp_path)
    assert isinstance(ds, FileDataset) and ds.classes == ["china", "flower"]
    report = ds.scan(progress=False)
    assert report.headline == "Found 10 images in 2 classes"
    assert report.class_counts == {"china": 5, "flower": 5}
    reasons = " ".join(reason for _, reason in report.bad)
    assert len(report.bad) == 4
    for word in ("truncated", "empty", "not an image", "not an image file type (.txt)"):
        assert word in reasons
    assert len(ds) == 10 and not any("bad" in p for p in ds.paths)
    image, target = ds.load(0)
    assert image.shape == (96, 96, 3) and target == 0


def test_strict_scan_is_fatal_and_lists_files(tmp_path):
    make_photo_folder(tmp_path, per_class=3, corrupt=2)
    ds = open_image_dataset(tmp_path, options={"strict": True})
    with pytest.raises(DataError, match=r"2 unusable files with strict data checking: .*bad00"):
        ds.scan(progress=False)


def test_split_folders_share_one_class_order(tmp_path):
    make_photo_folder(tmp_path / "train", per_class=2)
    make_photo_folder(tmp_path / "test", per_class=1, classes=["flower"])
    train = open_image_dataset(tmp_path, split="train")
    test = open_image_dataset(tmp_path, split="test")
    assert train.classes == test.classes == ["china", "flower"]
    assert test.targets.tolist() == [1] and len(train) == 4


def test_csv_source_with_relative_paths(tmp_path):
    make_photo_folder(tmp_path / "imgs", per_class=2)
    (tmp_path / "list.csv").write_text(
        "path,label\nimgs/china/0000.jpg,temple\nimgs/flower/0001.jpg,bloom\nimgs/gone.jpg,bloom\n"
    )
    ds = open_image_dataset(tmp_path / "list.csv")
    assert ds.classes == ["bloom", "temple"] and ds.targets.tolist() == [1, 0]
    report = ds.scan(progress=False)
    assert report.bad == [(str(tmp_path / "imgs" / "gone.jpg"), "file not found")]


def test_csv_with_a_bad_row(tmp_path):
    (tmp_path / "list.csv").write_text("a.jpg\n")
    with pytest.raises(DataError, match="row 1 must be path,label"):
        open_image_dataset(tmp_path / "list.csv")


def test_wrong_paths_say_what_was_expected(tmp_path):
    with pytest.raises(DataError, match="no such file or folder; expected an MNIST-style IDX"):
        open_image_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty folder"):
        open_image_dataset(tmp_path / "empty")
    (tmp_path / "flat").mkdir()
    cv2.imwrite(str(tmp_path / "flat" / "a.png"), np.zeros((4, 4), np.uint8))
    with pytest.raises(DataError, match="one subfolder per class"):
        open_image_dataset(tmp_path / "flat")
    with pytest.raises(DataError, match="unknown data options colour"):
        open_image_dataset(tmp_path / "flat", options={"colour": 1})


def test_fixed_class_list_renumbers_and_rejects_strangers(tmp_path):
    make_photo_folder(tmp_path, per_class=1)
    ds = open_image_dataset(tmp_path, options={"classes": ["flower", "china"]})
    assert ds.targets.tolist() == [1, 0]
    with pytest.raises(DataError, match="china are not among the known classes"):
        open_image_dataset(tmp_path, options={"classes": ["flower"]})


def test_sklearn_digits_look_like_mnist():
    digits = sklearn_digits()
    assert digits.images.shape == (1797, 28, 28, 1) and digits.classes == [
        str(d) for d in range(10)
    ]
    assert digits.images[:, :4].max() == 0  # MNIST-like empty border
    assert digits.images.max() > 200  # strokes are bright on black
    train = open_image_dataset("sklearn-digits", "train")
    test = open_image_dataset("sklearn-digits", "test")
    assert len(train) + len(test) == 1797 and abs(len(test) - 360) <= 10


def test_stratified_split_is_deterministic_and_balanced():
    targets = np.repeat(np.arange(3), [50, 30, 2])
    train, val = stratified_split(targets, 0.2, seed=7)
    again_train, again_val = stratified_split(targets, 0.2, seed=7)
    assert np.array_equal(train, again_train) and np.array_equal(val, again_val)
    assert not set(train) & set(val) and len(train) + len(val) == len(targets)
    assert np.bincount(targets[val]).tolist() == [
        10,
        6,
        1,
    ]  # the 2-example class keeps one each side
    other_train, _ = stratified_split(targets, 0.2, seed=8)
    assert not np.array_equal(train, other_train)
    with pytest.raises(DataError, match="val_fraction"):
        stratified_split(targets, 1.0, seed=0)
