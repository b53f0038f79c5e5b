"""Training detection and OCR from packed datasets, through the classification pack's streaming.

A slice of the real kangaroo photos (VOC boxes) and a few generated text lines
are packed in small row groups, each with one row whose bytes do not decode.
No JVM here except the one local[2] run at the end (marked slow).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from convkit.errors import DataError
from test_ocr_train import TINY_READER  # the same small reader as the folder tests

pytest.importorskip("pyarrow")

KANGAROOS = 24
LINES = 40

TINY_DETECTOR = """
name: tiny_kangaroo
input: 64x64x3
layers:
  - conv2d: {filters: 8, kernel: 3, padding: same}
  - max_pool: {kernel: 2}
  - conv2d: {filters: 16, kernel: 3, padding: same}
  - max_pool: {kernel: 2}
  - max_pool: {kernel: 2}
  - yolo_output: {classes: 1, anchors: auto, num_anchors: 2}
"""


def small_groups_pack(source, out, kind):
    """Pack ``source`` in row groups of 4 rows (the writer's floor is 64), so there are several."""
    from convkit.spark import pack

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pack, "MIN_GROUP_ROWS", 4)
        return pack.pack_dataset(source, str(out), kind=kind, group_mib=1e-6, progress=False)


@pytest.fixture(scope="module")
def kangaroos(shared_data, tmp_path_factory):
    """The first 24 kangaroo photos in the author's layout, plus one truncated JPEG."""
    root = tmp_path_factory.mktemp("kangaroo")
    source = shared_data / "kangaroo"
    (root / "images").mkdir()
    (root / "annots").mkdir()
    for photo in sorted((source / "images").glob("*.jpg"))[:KANGAROOS]:
        shutil.copy(photo, root / "images" / photo.name)
        shutil.copy(source / "annots" / f"{photo.stem}.xml", root / "annots" / f"{photo.stem}.xml")
    first = sorted((root / "images").glob("*.jpg"))[0]
    (root / "images" / "99999.jpg").write_bytes(first.read_bytes()[:3000])  # header, no end
    xml = (root / "annots" / f"{first.stem}.xml").read_text()
    (root / "annots" / "99999.xml").write_text(xml.replace(first.name, "99999.jpg"))
    return root


@pytest.fixture(scope="module")
def detect_pack(kangaroos, tmp_path_factory):
    out = tmp_path_factory.mktemp("packs") / "kangaroo.pack"
    summary = small_groups_pack(kangaroos, out, "detect")
    assert summary.rows == KANGAROOS + 1 and summary.row_groups == 7
    return out


@pytest.fixture(scope="module")
def lines(tmp_path_factory):
    from convkit.ocr.generator import generate_text_lines

    root = tmp_path_factory.mktemp("lines")
    generate_text_lines(root, LINES, alphabet="digits", min_length=2, max_length=5, seed=7)
    first = sorted(root.glob("*.png"))[0]
    (root / "4242_9.png").write_bytes(first.read_bytes()[:60])  # a PNG header, no pixels
    return root


@pytest.fixture(scope="module")
def ocr_pack(lines, tmp_path_factory):
    out = tmp_path_factory.mktemp("packs") / "lines.pack"
    assert small_groups_pack(lines, out, "ocr").rows == LINES + 1
    return out


def detector():
    from convkit.spec import NetSpec
    from convkit.tasks import task_for_spec

    spec = NetSpec.from_yaml(TINY_DETECTOR)
    return spec, task_for_spec(spec, {})


def reader():
    from convkit.spec import NetSpec
    from convkit.tasks import task_for_spec

    spec = NetSpec.from_dict(TINY_READER)
    return spec, task_for_spec(spec, {})


def opened(kind, location):
    """(task, dataset, preprocessing) of a pack or folder, scanned, as api.fit opens them."""
    spec, task = detector() if kind == "detect" else reader()
    dataset = task.open_data(str(location), "train", {})
    dataset.scan(progress=False)
    return task, dataset, task.default_preprocessing(spec, dataset, {})


# -- training from a pack, one process -----------------------------------------------
def test_detector_trains_from_a_pack_with_the_cli(detect_pack, kangaroos, tmp_path, capsys):
    import yaml

    from convkit import api
    from convkit.cli import main

    spec = tmp_path / "detector.yaml"
    spec.write_text(TINY_DETECTOR)
    run = tmp_path / "run"
    argv = ["train", str(spec), "--data", str(detect_pack), "--epochs", "1", "--batch-size", "4",
            "--threads", "1", "--workers", "0", "--run-dir", str(run), "--augment", "flip",
            "--mosaic", "0.5"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "anchors (k-means" in err and "Found 24 images (packed" in err
    history = json.loads((run / "metrics.json").read_text())
    examples = yaml.safe_load((run / "config.yaml").read_text())["examples"]
    assert examples["train"] + examples["val"] == KANGAROOS  # the folder's scan keeps 24 too
    assert np.isfinite(history[-1]["train_loss"]) and np.isfinite(history[-1]["val_loss"])
    skipped = [json.loads(line) for line in (run / "skipped.txt").read_text().splitlines()]
    assert [row["path"] for row in skipped] == [f"{detect_pack} row {bad_row(detect_pack)}"]
    model = api.load(run / "model.convkit")
    [prediction] = model.predict([str(sorted((kangaroos / "images").glob("*.jpg"))[0])])
    assert {"boxes", "width", "height"} <= set(prediction) and prediction["width"] == 450
    capsys.readouterr()
    assert (
        main(["evaluate", str(run / "model.convkit"), "--data", str(detect_pack), "--quiet"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["images"] == KANGAROOS


def test_reader_trains_from_a_pack_with_the_api(ocr_pack, lines, tmp_path):
    from convkit import api

    report = api.fit(
        TINY_READER, str(ocr_pack), run_dir=tmp_path / "run", epochs=1, batch_size=8,
        threads=1, workers=0, val_fraction=0.25, progress=False,
    )  # fmt: skip
    assert report.model_path.is_file()
    assert np.isfinite(report.history[-1]["train_loss"]) and "val_cer" in report.history[-1]
    assert report.scan["num_lines"] == LINES and len(report.scan["bad"]) == 1
    model = api.load(report.model_path)
    readings = model.predict([str(p) for p in sorted(lines.glob("*.png"))[1:4]])
    assert all(set(r["text"]) <= set("0123456789") for r in readings)
    evaluation = api.evaluate(model, str(ocr_pack), progress=False)
    assert evaluation["lines"] == LINES and len(evaluation["skipped"]) == 1


def bad_row(location) -> int:
    """The row number of the truncated file in a pack."""
    import pyarrow.parquet as pq

    from convkit.data.packed_layout import read_layout

    layout = read_layout(str(location))
    first = 0
    for name in layout.files:
        paths = pq.read_table(location / name, columns=["path"])["path"].to_pylist()
        for offset, path in enumerate(paths):
            if path.rsplit("/", 1)[-1].startswith(("99999", "4242_9")):
                return first + offset
        first += len(paths)
    raise AssertionError("no bad row")


# -- same examples as the folder -------------------------------------------------------
def test_a_packed_detection_dataset_holds_the_folders_examples(detect_pack, kangaroos):
    import pyarrow.parquet as pq

    _, folder, _ = opened("detect", kangaroos)
    _, packed, _ = opened("detect", detect_pack)
    assert len(packed) == len(folder) == KANGAROOS
    assert packed.class_counts() == folder.class_counts()
    assert sorted(packed.targets.tolist()) == sorted(folder.targets.tolist())

    paths = pq.read_table(detect_pack / "part-00000.parquet", columns=["path"])["path"]
    by_name = {a.image.name: i for i, a in enumerate(folder.annotations)}
    item = 2  # the third row of the pack, in its shuffled order
    name = paths[int(packed.rows[item])].as_py().rsplit("/", 1)[-1]
    image, boxes, labels = packed.load(item)
    expected_image, expected_boxes, expected_labels = folder.load(by_name[name])
    np.testing.assert_array_equal(image, expected_image)
    np.testing.assert_allclose(boxes, expected_boxes)
    np.testing.assert_array_equal(labels, expected_labels)
    assert packed.image_boxes(item)[2] == (image.shape[1], image.shape[0])


# -- rank shards --------------------------------------------------------------------------
def streamed_rows(source, epoch):
    """The global rows a (sharded) stream trains on in an epoch, in order."""
    seen = []
    for number, window in enumerate(source.plan(epoch)):
        seen.extend(source._window_positions(epoch, number, window))
    return [int(row) for row in source._rows[seen]]


@pytest.mark.parametrize("kind", ["detect", "ocr"])
def test_two_ranks_read_every_row_once_each_only_its_own_row_groups(
    kind, detect_pack, ocr_pack, monkeypatch
):
    from convkit.data import packed

    location = detect_pack if kind == "detect" else ocr_pack
    task, dataset, pre = opened(kind, location)
    batches = task.make_batches(dataset, np.arange(len(dataset)), pre, None, batch_size=4,
                                shuffle=True, seed=5)  # fmt: skip
    assert type(batches).__name__ in ("PackedDetectBatches", "PackedLineBatches")
    shards = [batches.shard(rank, 2) for rank in range(2)]
    epoch0 = [streamed_rows(shard, 0) for shard in shards]
    assert len(epoch0[0]) == len(epoch0[1]) == len(dataset) // 2
    assert not set(epoch0[0]) & set(epoch0[1])
    assert set(epoch0[0]) | set(epoch0[1]) == {int(r) for r in dataset.rows}
    assert streamed_rows(shards[0], 1) != epoch0[0]  # reshuffled every epoch
    assert streamed_rows(batches.shard(0, 2), 0) == epoch0[0]  # the same for the same seed

    groups = len(dataset.layout.rows_per_group)
    starts = np.concatenate([[0], np.cumsum(dataset.layout.rows_per_group)])
    original = packed.read_contents
    for rank, shard in enumerate(shards):
        read = []
        monkeypatch.setattr(
            packed,
            "read_contents",
            lambda handle, g, read=read: read.append(g) or original(handle, g),
        )
        examples = sum(len(x) for x, _ in shard.epoch(0))
        own = {int(np.searchsorted(starts, row, side="right") - 1) for row in epoch0[rank]}
        assert sorted(read) == sorted(own)  # each group it needs, once; none other
        assert len(read) <= groups // 2 + 2 < groups + 1
        assert examples == len(epoch0[rank])
    monkeypatch.undo()

    full = list(shards[1].epoch(2))
    tail = list(shards[1].epoch(2, start=2))  # resuming at batch 2 sees the same batches
    assert len(tail) == len(full) - 2
    for (xa, ya), (xb, yb) in zip(full[2:], tail, strict=True):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        if kind == "detect":
            np.testing.assert_array_equal(ya.numpy(), yb.numpy())  # (M, 6) boxes
        else:
            assert ya.texts == yb.texts


# -- bad rows and bad packs -------------------------------------------------------------
@pytest.mark.parametrize("kind", ["detect", "ocr"])
def test_a_corrupt_row_is_skipped_with_a_report(kind, detect_pack, ocr_pack):
    from convkit.data.packed import forget_scan, remember_scan

    location = detect_pack if kind == "detect" else ocr_pack
    row = bad_row(location)
    spec, task = detector() if kind == "detect" else reader()
    dataset = task.open_data(str(location), "train", {})
    report = dataset.scan(progress=False)  # no Spark job ran: this process scans itself
    pre = task.default_preprocessing(spec, dataset, {})
    assert len(dataset) == (KANGAROOS if kind == "detect" else LINES)
    assert [name for name, _ in report.bad] == [f"{location} row {row}"]
    assert row not in set(dataset.rows.tolist())
    assert "Skipped 1" in str(report) if kind == "detect" else "undecodable" in str(report)

    remember_scan(str(location), [])  # as if the Spark scan had found nothing
    try:
        unscanned = task.open_data(str(location), "train", {})
        unscanned.scan(progress=False)
    finally:
        forget_scan(str(location))
    assert len(unscanned) == len(dataset) + 1
    batches = task.make_batches(unscanned, np.arange(len(unscanned)), pre, None, batch_size=8,
                                shuffle=False, seed=0)  # fmt: skip
    assert sum(len(x) for x, _ in batches.epoch(0)) == len(dataset)
    assert [name for name, _ in batches.skipped] == [f"{location} row {row}"]


def test_a_packed_reader_checks_its_lines_against_the_alphabet_without_decoding(ocr_pack):
    from convkit.data.packed import forget_scan, remember_scan
    from convkit.spec import NetSpec
    from convkit.tasks import task_for_spec

    layers = [*TINY_READER["layers"][:-1], {"ctc_output": {"alphabet": "01234"}}]
    spec = NetSpec.from_dict({**TINY_READER, "layers": layers})
    task = task_for_spec(spec, {})
    remember_scan(str(ocr_pack), [(bad_row(ocr_pack), "truncated PNG")])
    try:
        dataset = task.open_data(str(ocr_pack), "train", {})
        report = dataset.scan(progress=False)
    finally:
        forget_scan(str(ocr_pack))
    outside = [i for i, text in enumerate(dataset.texts) if set(text) - set("01234")]
    assert outside and report.bad_indices == outside
    assert "characters outside the alphabet" in report.message
    assert report.message.startswith("1 undecodable rows left out")


def rewrite_first_part(pack, tmp_path, change):
    import pyarrow.parquet as pq

    broken = tmp_path / "broken.pack"
    shutil.copytree(pack, broken)
    first = broken / "part-00000.parquet"
    pq.write_table(change(pq.read_table(first)), first)
    return broken


@pytest.mark.parametrize(
    "kind, change, message",
    [
        ("detect", lambda t: t.drop_columns(["boxes"]),
         "wrong schema for a packed detect dataset: no 'boxes' column (columns: path, content, "
         "label, width, height)"),
        ("ocr", lambda t: t.set_column(t.schema.get_field_index("text"), "text",
                                       __import__("pyarrow").array(range(t.num_rows))),
         "wrong schema for a packed ocr dataset: column 'text' is int64"),
    ],
)  # fmt: skip
def test_a_wrong_schema_is_one_line_and_exit_2(
    kind, change, message, detect_pack, ocr_pack, tmp_path, capsys
):
    from convkit.cli import main

    broken = rewrite_first_part(detect_pack if kind == "detect" else ocr_pack, tmp_path, change)
    spec = tmp_path / "spec.yaml"
    if kind == "detect":
        spec.write_text(TINY_DETECTOR)
    else:
        spec.write_text(json.dumps(TINY_READER))
    argv = ["train", str(spec), "--data", str(broken), "--epochs", "1", "--run-dir",
            str(tmp_path / "run")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err == f"convkit: error: {broken}/part-00000.parquet: {message}"


def test_a_pack_of_another_kind_or_box_labels_outside_the_classes_are_refused(
    detect_pack, ocr_pack, tmp_path
):
    import pyarrow as pa

    _, task = detector()
    with pytest.raises(DataError, match=r"a packed ocr dataset, but this network is for detect: "
                                        r"pack the data with `--kind detect`"):  # fmt: skip
        task.open_data(str(ocr_pack), "train", {})

    def relabel(table):
        boxes = table["boxes"].to_pylist()
        boxes[0] = [{**box, "label": "wallaby"} for box in boxes[0]]
        return table.set_column(
            table.schema.get_field_index("boxes"), "boxes",
            pa.array(boxes, type=table.schema.field("boxes").type),
        )  # fmt: skip

    broken = rewrite_first_part(detect_pack, tmp_path, relabel)
    with pytest.raises(DataError, match="box labels wallaby are not among the classes"):
        task.open_data(str(broken), "train", {})

    def text_corners(table):
        kind = pa.list_(pa.struct([("label", pa.string()), ("x1", pa.string()),
                                   ("y1", pa.float32()), ("x2", pa.float32()),
                                   ("y2", pa.float32())]))  # fmt: skip
        boxes = [[{**b, "x1": str(b["x1"])} for b in row] for row in table["boxes"].to_pylist()]
        index = table.schema.get_field_index("boxes")
        return table.set_column(index, "boxes", pa.array(boxes, type=kind))

    shutil.rmtree(broken)
    broken = rewrite_first_part(detect_pack, tmp_path, text_corners)
    with pytest.raises(
        DataError, match="wrong schema for a packed detect dataset: box x1 is string"
    ):
        task.open_data(str(broken), "train", {})


def test_data_never_imports_detect_or_ocr():
    """data/ sits below detect/ and ocr/ (docs/ARCHITECTURE.md): they plug packs in from above."""
    import ast
    from pathlib import Path

    import convkit.data

    for source in Path(convkit.data.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("convkit.detect", "convkit.ocr")), (source, name)


# -- Spark -------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.spark_session
def test_a_packed_detection_run_on_two_spark_processes(detect_pack, tmp_path, capfd):
    pytest.importorskip("pyspark")
    from convkit.spark import fit_distributed
    from convkit.train import TrainConfig

    spec = tmp_path / "detector.yaml"
    spec.write_text(TINY_DETECTOR)
    report = fit_distributed(
        str(spec), str(detect_pack), TrainConfig(epochs=1, batch_size=4, seed=0, val_fraction=0.25),
        tmp_path / "run", master="local[2]", workers=2, progress=True,
    )  # fmt: skip
    # The scan ran once, as a Spark job on the driver; the ranks used its result.
    assert f"scanned {KANGAROOS + 1} rows of {detect_pack} in 7 row groups on Spark" in (
        capfd.readouterr().err
    )
    assert report.model_path.is_file()
    assert np.isfinite(report.history[-1]["train_loss"])
    assert [path for path, _ in report.skipped] == [f"{detect_pack} row {bad_row(detect_pack)}"]
