"""Packed Parquet datasets: `convkit dataset pack`, streaming shards, the scan, bad input.

No JVM here except the one local[2] test of the scan job at the end.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from convkit.errors import DataError
from spark_fixtures import write_digit_folder, write_idx_slice

pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def photos(tmp_path_factory, mnist_dir):
    root = tmp_path_factory.mktemp("packed")
    folder = write_digit_folder(mnist_dir, root / "photos", per_class=20)
    (folder / "3" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n but not really")
    (folder / "4" / "notes.png").write_bytes(b"plain text, not an image")
    return folder


@pytest.fixture(scope="module")
def pack(photos, tmp_path_factory):
    from convkit.spark.pack import pack_dataset

    out = tmp_path_factory.mktemp("out") / "photos.pack"
    summary = pack_dataset(photos, str(out), group_mib=0.005, channels=1, progress=False)
    return out, summary


def preprocessing():
    from convkit.data.preprocessing import Preprocessing

    return Preprocessing(height=28, width=28, channels=1)


def test_pack_writes_row_groups_a_manifest_and_leaves_out_non_images(pack):
    import pyarrow.parquet as pq

    out, summary = pack
    assert summary.rows == 201  # 200 digits + broken.png (its header is a PNG's)
    assert [path.rsplit("/", 1)[-1] for path, _ in summary.skipped] == ["notes.png"]
    manifest = json.loads((out / "_convkit_pack.json").read_text())
    assert manifest["kind"] == "classify" and manifest["classes"] == [str(d) for d in range(10)]
    assert sum(sum(rows) for rows in manifest["group_rows"]) == 201
    assert len(manifest["group_rows"][0]) >= 4  # small groups: several per file
    table = pq.read_table(out / manifest["files"][0])
    assert table.column_names == ["path", "content", "label"]
    labels = table["label"].to_pylist()
    assert labels[:20] != sorted(labels[:20])  # rows are shuffled, not in class order


def test_packed_dataset_opens_without_reading_images_and_scans_by_group(pack):
    from convkit.data import open_image_dataset

    out, _ = pack
    dataset = open_image_dataset(out, options={"channels": 1})
    assert len(dataset) == 201 and dataset.classes == [str(d) for d in range(10)]
    report = dataset.scan(progress=False)
    assert report.num_images == 200 and len(report.bad) == 1
    assert report.bad[0][0].startswith(f"{out} row ")
    image, label = dataset.load(0)
    assert image.shape == (28, 28, 1) and 0 <= label < 10


def test_shards_are_disjoint_equal_reshuffled_per_epoch_and_resumable(pack):
    from convkit.data import open_image_dataset

    out, _ = pack
    dataset = open_image_dataset(out, options={"channels": 1})
    dataset.scan(progress=False)
    batches = dataset.make_batches(
        np.arange(len(dataset)), preprocessing(), None, batch_size=8, shuffle=True, seed=3
    )

    def rows_of(source, epoch, start=0):
        seen = []
        for number, window in enumerate(source.plan(epoch)):
            seen.extend(source._window_positions(epoch, number, window))
        return [int(r) for r in source._rows[seen]][start * source.batch_size :]

    shards = [batches.shard(rank, 2) for rank in range(2)]
    epoch0 = [rows_of(shard, 0) for shard in shards]
    assert len(epoch0[0]) == len(epoch0[1]) == 100
    assert not set(epoch0[0]) & set(epoch0[1])
    assert set(epoch0[0]) | set(epoch0[1]) == set(int(r) for r in dataset.rows)
    assert rows_of(shards[0], 1) != epoch0[0]  # a new order every epoch
    assert rows_of(batches.shard(0, 2), 0) == epoch0[0]  # the same for the same seed

    full = [(x.numpy(), y.numpy()) for x, y in shards[1].epoch(2)]
    tail = [(x.numpy(), y.numpy()) for x, y in shards[1].epoch(2, start=5)]
    assert len(full) == len(shards[1]) == 13 and len(tail) == 8
    for (xa, ya), (xb, yb) in zip(full[5:], tail, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_a_rank_reads_only_the_row_groups_of_its_shard(pack, monkeypatch):
    from convkit.data import open_image_dataset, packed

    out, _ = pack
    dataset = open_image_dataset(out, options={"channels": 1})
    dataset.scan(progress=False)
    groups = len(dataset.layout.rows_per_group)
    read = []
    original = packed.read_contents
    monkeypatch.setattr(
        packed, "read_contents", lambda handle, g: read.append(g) or original(handle, g)
    )
    batches = dataset.make_batches(
        np.arange(len(dataset)), preprocessing(), None, batch_size=8, shuffle=True, seed=0
    )
    for _ in batches.shard(0, 4).epoch(0):
        pass
    # A quarter of the groups, plus at most the two it shares with its neighbours.
    assert 0 < len(read) <= groups // 4 + 2 < groups


def test_undecodable_rows_met_while_streaming_are_skipped_and_listed(pack):
    from convkit.data import open_image_dataset
    from convkit.data.packed import forget_scan, remember_scan

    out, _ = pack
    remember_scan(str(out), [])  # as if a scan had found nothing
    try:
        dataset = open_image_dataset(str(out), options={"channels": 1})
        assert dataset.scan(progress=False).num_images == 201  # the known result, no decoding
    finally:
        forget_scan(str(out))
    batches = dataset.make_batches(
        np.arange(len(dataset)), preprocessing(), None, batch_size=16, shuffle=False, seed=0
    )
    total = sum(len(y) for _, y in batches.epoch(0))
    assert total == 200
    assert len(batches.skipped) == 1 and "row" in batches.skipped[0][0]


def test_wrong_schema_and_foreign_manifest_are_data_errors(pack, tmp_path):
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from convkit.data import open_image_dataset

    out, _ = pack
    broken = tmp_path / "wrong.pack"
    shutil.copytree(out, broken)
    manifest = json.loads((broken / "_convkit_pack.json").read_text())
    first = broken / manifest["files"][0]
    pq.write_table(pa.table({"image": [b"x"], "label": ["1"]}), first)
    with pytest.raises(DataError, match="wrong schema.*no 'content' column"):
        open_image_dataset(broken, options={"channels": 1})

    (broken / "_convkit_pack.json").write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(DataError, match="this convkit reads format 1"):
        open_image_dataset(broken, options={"channels": 1})


def test_pack_from_idx_round_trips_pixels_through_an_fsspec_url(tmp_path, mnist_dir):
    pytest.importorskip("fsspec")
    from convkit.data import open_image_dataset
    from convkit.spark.pack import pack_dataset

    images = write_idx_slice(mnist_dir, tmp_path / "idx", count=50)
    url = "memory://convkit-tests/idx.pack"
    summary = pack_dataset(images, url, seed=1, channels=1, progress=False)
    assert summary.rows == 50
    packed = open_image_dataset(url, options={"channels": 1})
    source = open_image_dataset(images)
    assert packed.classes == source.classes
    import pyarrow.parquet as pq

    from convkit.data.packed_layout import open_filesystem

    by_path = {source.describe(i): i for i in range(len(source))}

    filesystem, base = open_filesystem(url)
    table = pq.read_table(f"{base}/part-00000.parquet", filesystem=filesystem)
    first_path = table["path"][0].as_py()
    expected, expected_label = source.load(by_path[first_path])
    image, label = packed.load(0)
    np.testing.assert_array_equal(image, expected)
    assert label == expected_label


def test_train_single_process_on_a_pack(pack, tmp_path):
    import yaml

    from convkit import api
    from convkit.train import TrainConfig
    from spark_fixtures import write_tiny_spec

    out, _ = pack
    spec = write_tiny_spec(tmp_path)
    config = TrainConfig(epochs=1, batch_size=16, workers=0, seed=0, threads=1)
    report = api.fit(
        spec,
        str(out),
        run_dir=tmp_path / "run",
        config=config,
        progress=False,
        evaluate_test=False,
    )
    assert report.model_path.is_file()
    assert report.history[0]["images_per_second"] > 0
    metadata = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert metadata["examples"]["train"] + metadata["examples"]["val"] == 200


def test_cli_pack_reports_one_line(photos, tmp_path, capsys):
    from convkit.cli import main

    assert main(["dataset", "pack", str(photos), str(tmp_path / "p"), "--quiet"]) == 0
    assert "packed 201 images" in capsys.readouterr().out
    assert main(["dataset", "pack", str(tmp_path / "missing"), str(tmp_path / "q")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


@pytest.mark.slow
def test_the_scan_runs_as_one_spark_job_and_refuses_a_wrong_schema(pack, tmp_path):
    pytest.importorskip("pyspark")
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from convkit.spark.packed_scan import scan_packed_dataset
    from convkit.spark.session import get_session, stop_session

    out, _ = pack
    wrong = tmp_path / "wrong.pack"
    shutil.copytree(out, wrong)
    manifest = json.loads((wrong / "_convkit_pack.json").read_text())
    pq.write_table(pa.table({"content": ["text, not bytes"]}), wrong / manifest["files"][0])
    session = get_session("local[2]", app_name="convkit packed scan test")
    try:
        bad = scan_packed_dataset(session, str(out), 1, progress=False)
        with pytest.raises(DataError, match="column 'content' is string"):
            scan_packed_dataset(session, str(wrong), 1, progress=False)
    finally:
        stop_session(session)
    assert len(bad) == 1 and "truncated" in bad[0][1]


VOC_XML = """<annotation><filename>{name}.jpg</filename>
<size><width>64</width><height>48</height><depth>3</depth></size>
<object><name>ball</name><bndbox><xmin>4</xmin><ymin>6</ymin><xmax>30</xmax><ymax>40</ymax>
</bndbox></object></annotation>"""


def test_pack_detection_and_ocr_keep_boxes_and_text(tmp_path):
    import cv2
    import pyarrow.parquet as pq

    from convkit.spark.pack import pack_dataset

    voc = tmp_path / "voc"
    (voc / "Annotations").mkdir(parents=True)
    (voc / "JPEGImages").mkdir()
    for name in ("a", "b"):
        cv2.imwrite(str(voc / "JPEGImages" / f"{name}.jpg"), np.full((48, 64, 3), 90, np.uint8))
        (voc / "Annotations" / f"{name}.xml").write_text(VOC_XML.format(name=name))
    out = tmp_path / "voc.pack"
    assert pack_dataset(voc, str(out), kind="detect", progress=False).rows == 2
    table = pq.read_table(out / "part-00000.parquet")
    assert table["boxes"][0].as_py() == [
        {"label": "ball", "x1": 3.0, "y1": 5.0, "x2": 30.0, "y2": 40.0}  # VOC is 1-based
    ]
    assert sorted(table["path"].to_pylist()) == ["JPEGImages/a.jpg", "JPEGImages/b.jpg"]

    lines = tmp_path / "lines"
    lines.mkdir()
    for text in ("hello", "world"):
        cv2.imwrite(str(lines / f"{text}.png"), np.full((32, 96), 255, np.uint8))
    out = tmp_path / "lines.pack"
    assert pack_dataset(lines, str(out), kind="ocr", progress=False).rows == 2
    table = pq.read_table(out / "part-00000.parquet")
    assert sorted(table["text"].to_pylist()) == ["hello", "world"]
    from convkit.data import open_image_dataset

    with pytest.raises(DataError, match="packed ocr dataset"):
        open_image_dataset(out)


def test_pack_picks_the_split_asked_for(tmp_path):
    import cv2

    from convkit.spark.pack import pack_dataset

    for split, count in (("train", 3), ("test", 2)):
        for label in ("cat", "dog"):
            folder = tmp_path / "pets" / split / label
            folder.mkdir(parents=True)
            for k in range(count):
                cv2.imwrite(str(folder / f"{k}.png"), np.full((8, 8), 40 * k, np.uint8))
    train = pack_dataset(tmp_path / "pets", str(tmp_path / "train.pack"), progress=False)
    test = pack_dataset(
        tmp_path / "pets", str(tmp_path / "test.pack"), split="test", progress=False
    )
    assert (train.rows, test.rows) == (6, 4)
    assert train.classes == test.classes == ["cat", "dog"]
