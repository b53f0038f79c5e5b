"""Spark plumbing that needs no JVM: lazy imports, slot arithmetic, worker errors, UDF bodies."""

from __future__ import annotations

import subprocess
import sys
import time

import pandas as pd
import pytest

from convkit.errors import ConvkitError, DataError, UsageError
from convkit.spark import launch, session
from convkit.spark.udfs import embed_frame, predict_frame
from spark_fixtures import train_tiny_model, write_digit_folder, write_idx_slice, write_tiny_spec


def test_importing_convkit_spark_does_not_import_pyspark_or_torch():
    code = (
        "import sys, convkit.spark, convkit.spark.session, convkit.spark.launch; "
        "print('pyspark' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("master", "slots"),
    [
        ("local", 1),
        ("local[2]", 2),
        ("local[ 8 ]", None),
        ("local[3, 2]", 3),
        ("spark://host:7077", None),
        ("yarn", None),
        ("k8s://https://api:6443", None),
    ],
)
def test_local_slots(master, slots):
    assert session.local_slots(master) == slots


class FakeContext:
    def __init__(self, master, task_cpus="1"):
        self.master = master
        self._conf = {"spark.task.cpus": task_cpus}

    def getConf(self):  # noqa: N802 - PySpark's name
        return self._conf


class FakeSession:
    def __init__(self, master, task_cpus="1"):
        self.sparkContext = FakeContext(master, task_cpus)


def test_check_slots_fails_fast_with_advice():
    started = time.monotonic()
    with pytest.raises(UsageError) as caught:
        session.check_slots(FakeSession("local[2]"), 3, wait_s=30)  # no wait: local slots are fixed
    assert time.monotonic() - started < 1
    message = str(caught.value)
    assert "needs 3 Spark task slots" in message
    assert "use --workers 2" in message and "local[3]" in message
    assert session.check_slots(FakeSession("local[4]"), 4) == 4
    # Two cores per task halve the slots of local[4].
    with pytest.raises(UsageError, match="has 2"):
        session.check_slots(FakeSession("local[4]", task_cpus="2"), 3)
    with pytest.raises(UsageError, match="at least 1"):
        session.check_slots(FakeSession("local[4]"), 0)


def test_worker_error_lines_are_found_and_rebuilt(capsys):
    launch.report_error(1, DataError("image 7 is unreadable\nsecond line"))
    launch.report_error(0, RuntimeError("[../gloo] Connection closed by peer"))
    printed = capsys.readouterr().out
    log = "[rank1]: noise\n" + "\n".join(f"[rank0]: {line}" for line in printed.splitlines())
    records = launch.parse_error_lines(log)
    assert [r["rank"] for r in records] == [1, 0]
    cause = launch.pick_root_cause(records)
    error = launch._rebuild(cause)
    assert isinstance(error, DataError)
    assert str(error) == "worker rank 1: image 7 is unreadable"
    # A bug keeps its kind in the message but is not reported as a user mistake.
    bug = launch._rebuild(launch.pick_root_cause(launch.parse_error_lines(printed)[1:]))
    assert isinstance(bug, launch.WorkerError) and "RuntimeError" in str(bug)


def test_last_exception_line_skips_wrappers():
    log = (
        "Traceback...\nKeyError: 'conv9'\n"
        "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: \n"
        "RuntimeError: TorchDistributor failed during training.View stdout logs\n"
    )
    assert launch.last_exception_line(log) == "KeyError: 'conv9'"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, mnist_dir):
    root = tmp_path_factory.mktemp("spark-units")
    data = write_digit_folder(mnist_dir, root / "digits", per_class=3)
    train = write_idx_slice(mnist_dir, root / "idx", count=300)
    return train_tiny_model(write_tiny_spec(root), train, root / "run"), data


def test_predict_frame_matches_api_and_reports_bad_rows(tiny_model):
    from convkit import api

    model_path, data = tiny_model
    paths = sorted(data.glob("*/*.png"))[:5]
    contents = pd.Series([p.read_bytes() for p in paths] + [b"not an image", None])
    frame = predict_frame(str(model_path), contents, top_k=3, batch_size=2)
    assert list(frame.columns) == ["label", "probability", "top", "error"]
    expected = api.load(model_path).predict([str(p) for p in paths], top_k=3)
    assert list(frame.label[:5]) == [e["label"] for e in expected]
    assert list(frame.probability[:5]) == pytest.approx([e["probability"] for e in expected])
    assert [t["label"] for t in frame.top[0]] == [t["label"] for t in expected[0]["top"]]
    assert frame.error[:5].isna().all()
    assert pd.isna(frame.label[5]) and pd.isna(frame.probability[5]) and frame.top[5] is None
    assert "not an image" in frame.error[5] or "unreadable" in frame.error[5]
    assert frame.error[6] == "no image bytes (null content)"


def test_embed_frame_matches_api(tiny_model):
    import numpy as np

    from convkit import api

    model_path, data = tiny_model
    paths = sorted(data.glob("*/*.png"))[:4]
    contents = pd.Series([b"\x89PNG broken"] + [p.read_bytes() for p in paths])
    frame = embed_frame(str(model_path), contents, None, 3, True)
    assert frame.embedding[0] is None and "not an image" in frame.error[0]
    expected = api.load(model_path).embed([str(p) for p in paths])  # (4, D)
    got = np.array(list(frame.embedding[1:]), dtype=np.float32)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_missing_model_file_names_the_fix(tmp_path):
    from convkit.errors import ModelFileError

    with pytest.raises(ModelFileError, match="addFile"):
        predict_frame(str(tmp_path / "nope.convkit"), pd.Series([b""]), 1, 8)


def test_throttled_lines_turn_bar_redraws_into_sparse_lines():
    import io

    from convkit.spark.progress_lines import ThrottledLines

    now = [0.0]
    out = io.StringIO()
    stream = ThrottledLines(out, interval=10, clock=lambda: now[0])
    for step in range(1, 31):  # one redraw a second for 30 s
        now[0] = float(step)
        stream.write(f"\repoch 1: {step}/30")
    stream.write("\r" + " " * 20 + "\r")  # tqdm clearing a bar (leave=False)
    stream.write("epoch 1/1 loss 0.5\n")
    lines = out.getvalue().splitlines()
    assert lines == ["epoch 1: 1/30", "epoch 1: 11/30", "epoch 1: 21/30", "epoch 1/1 loss 0.5"]


def test_parquet_image_dataset_opens_scans_and_trains(tmp_path, mnist_dir):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from convkit import api
    from convkit.data import open_image_dataset
    from convkit.train import TrainConfig

    photos = write_digit_folder(mnist_dir, tmp_path / "photos", per_class=4)
    files = sorted(photos.glob("*/*.png"))
    contents = [p.read_bytes() for p in files] + [b"garbage"]
    labels = [p.parent.name for p in files] + ["3"]
    folder = tmp_path / "digits.parquet"  # a folder of part files, as Spark writes it
    folder.mkdir()
    half = len(contents) // 2
    for part, rows in enumerate((slice(0, half), slice(half, None))):
        table = pa.table({"content": contents[rows], "label": labels[rows]})
        pq.write_table(table, folder / f"part-{part:05d}.parquet")

    dataset = open_image_dataset(folder, options={"channels": 1})
    assert len(dataset) == 41 and dataset.classes == [str(d) for d in range(10)]
    report = dataset.scan(progress=False)
    assert report.num_images == 40 and len(report.bad) == 1 and "row 40" in report.bad[0][0]
    image, target = dataset.load(0)
    assert image.shape == (28, 28, 1) and dataset.classes[target] == labels[0]

    spec = write_tiny_spec(tmp_path)
    config = TrainConfig(epochs=1, batch_size=16, workers=0)
    fitted = api.fit(spec, folder, run_dir=tmp_path / "run", config=config, progress=False)
    assert fitted.model_path.is_file() and fitted.skipped  # the garbage row is listed


def test_parquet_without_label_column_says_what_is_needed(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from convkit.data.parquet import ParquetImageDataset

    pq.write_table(pa.table({"content": [b"x"]}), tmp_path / "x.parquet")
    with pytest.raises(DataError, match="needs the columns 'content'.*'label'"):
        ParquetImageDataset(tmp_path / "x.parquet")


def test_standalone_master_urls_are_parsed_and_a_dead_one_refused_at_once():
    from convkit.spark.local_cluster import free_port

    assert session.standalone_addresses("spark://a:7077,b:7078") == [("a", 7077), ("b", 7078)]
    assert session.standalone_addresses("yarn") == []
    assert session.is_loopback_standalone("spark://127.0.0.1:7077")
    assert not session.is_loopback_standalone("spark://10.0.0.5:7077")
    with pytest.raises(UsageError, match="spark://HOST:PORT"):
        session.standalone_addresses("spark://nohost")
    port = free_port()  # nothing listens there
    started = time.monotonic()
    with pytest.raises(UsageError, match=f"cannot reach the Spark master spark://127.0.0.1:{port}"):
        session.check_master_reachable(f"spark://127.0.0.1:{port}")
    assert time.monotonic() - started < 5
    session.check_master_reachable("yarn")  # left to Spark


def test_slot_wait_on_a_cluster_stops_once_executors_stop_coming(monkeypatch):
    calls = []

    def slots(_session):
        calls.append(time.monotonic())
        return 1 if len(calls) < 3 else 2  # a second executor registers, then no more

    monkeypatch.setattr(session, "task_slots", slots)
    monkeypatch.setattr(session, "SLOTS_SETTLE_S", 1.0)
    started = time.monotonic()
    with pytest.raises(UsageError, match="needs 3 Spark task slots.*has 2"):
        session.check_slots(FakeSession("spark://127.0.0.1:7077"), 3, wait_s=60)
    assert time.monotonic() - started < 10  # settled, not the full 60 s


def test_a_lost_peer_becomes_one_line_with_the_rank():
    record = {
        "rank": 0,
        "kind": "RuntimeError",
        "user_error": False,
        "message": "[/x/gloo/pair.cc:537] Read error [127.0.0.1]:4242: Connection reset by peer. "
        "This is typically caused by a remote worker hanging",
    }
    assert launch.is_peer_failure(record)
    assert launch.peer_failure_summary(record["message"]) == (
        "Connection reset by peer at 127.0.0.1:4242"
    )
    assert issubclass(launch.WorkerLostError, ConvkitError)


def test_local_cluster_finds_processes_by_marker_and_ends_them(tmp_path):
    import os

    from convkit.spark import local_cluster

    marker = "test-" + os.urandom(4).hex()
    env = {**os.environ, local_cluster.CLUSTER_ID_VARIABLE: marker}
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env)
    try:
        deadline = time.monotonic() + 10
        while child.pid not in local_cluster.processes_with_marker(
            local_cluster.CLUSTER_ID_VARIABLE, marker
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        local_cluster.end_processes([child.pid], grace_s=5)
        assert child.wait(timeout=5) is not None
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
