"""Spark end to end in local[2], bound to loopback: training, errors, DataFrame inference.

One SparkSession serves the whole module (a JVM start costs ~10 s); the
teardown stops it and kills any JVM this test process started and left.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from convkit.errors import DataError, UsageError
from spark_fixtures import train_tiny_model, write_digit_folder, write_idx_slice, write_tiny_spec

pytest.importorskip("pyspark")
pytestmark = pytest.mark.slow


def _child_jvms() -> list[int]:
    """Process ids of java processes whose parent is this test process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if parent == os.getpid() and name == "java":
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def spark():
    from convkit.spark.session import get_session, stop_session

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    session = get_session("local[2]", app_name="convkit tests")
    yield session
    stop_session(session)
    deadline = time.monotonic() + 10
    while _child_jvms() and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in _child_jvms():  # still there: it is ours, end it
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, mnist_dir):
    root = tmp_path_factory.mktemp("spark")
    spec = write_tiny_spec(root)
    train = write_idx_slice(mnist_dir, root / "idx", count=300)
    photos = write_digit_folder(mnist_dir, root / "photos", per_class=3)
    (photos / "3" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n but not really")
    (photos / "README.txt").write_text("not an image: the folder reader skips it")
    model = train_tiny_model(spec, train, root / "single")
    return {"root": root, "spec": spec, "train": train, "photos": photos, "model": model}


def test_session_stays_on_loopback(spark):
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.driver.host") == "127.0.0.1"
    assert conf.get("spark.driver.bindAddress") == "127.0.0.1"
    assert conf.get("spark.ui.enabled") == "false"
    assert os.environ["SPARK_LOCAL_IP"] == "127.0.0.1"


def test_more_workers_than_slots_fails_at_once(spark, workspace):
    from convkit.spark import fit_distributed
    from convkit.train import TrainConfig

    started = time.monotonic()
    with pytest.raises(UsageError, match=r"needs 3 Spark task slots.*local\[2\] has 2"):
        fit_distributed(
            workspace["spec"],
            workspace["train"],
            TrainConfig(epochs=1),
            workspace["root"] / "x",
            workers=3,
            session=spark,
            slot_wait_s=0,
            progress=False,
        )
    assert time.monotonic() - started < 5


def failing_on_rank_one():
    """Runs on each rank; pickled by value (see the test) since tests/ is not installed."""
    import torch
    import torch.distributed as dist

    from convkit.errors import DataError

    total = torch.ones(1)
    dist.all_reduce(total)  # both ranks are really in one process group
    if dist.get_rank() == 1:
        raise DataError(f"shard of rank 1 is empty (world size {int(total.item())})")
    dist.barrier()  # rank 0 waits here; the failure must end it, not hang it
    return "unreachable"


def test_error_on_a_worker_reaches_the_driver_with_its_message(spark):
    from pyspark import cloudpickle  # PySpark pickles tasks with its own copy

    from convkit.spark import run_on_workers

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        with pytest.raises(DataError) as caught:
            run_on_workers(failing_on_rank_one, session=spark, workers=2, threads_per_worker=1)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert str(caught.value) == "worker rank 1: shard of rank 1 is empty (world size 2)"


def test_cli_trains_on_two_ranks_and_the_api_resumes(spark, workspace, capsys):
    import json

    from convkit import api
    from convkit.cli import main
    from convkit.spark import fit_distributed
    from convkit.train import TrainConfig

    run_dir = workspace["root"] / "spark-run"
    code = main(
        [
            "train",
            str(workspace["spec"]),
            "--data",
            str(workspace["train"]),
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--run-dir",
            str(run_dir),
            "--spark",
            "local[2]",
            "--workers",
            "2",
            "--quiet",
            "--json",
        ]
    )
    assert code == 0
    first = json.loads(capsys.readouterr().out)
    assert first["model"] == str(run_dir / "model.convkit")
    assert [row["epoch"] for row in first["history"]] == [1]
    assert first["history"][0]["images_per_second"] > 0
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    model = api.load(first["model"])  # the same format as a single-process run
    assert model.spec.name == "tiny"
    prediction = model.predict(sorted(str(p) for p in workspace["photos"].glob("1/*.png")))[0]
    assert prediction["label"] in [str(d) for d in range(10)]

    resumed = fit_distributed(
        workspace["spec"],
        workspace["train"],
        TrainConfig(epochs=2, batch_size=32, seed=0),
        run_dir,
        workers=2,
        session=spark,
        resume=True,
        progress=False,
        evaluate_test=False,
    )
    assert [row["epoch"] for row in resumed.history] == [1, 2]
    assert resumed.history[0] == first["history"][0]  # epoch 1 came from the checkpoint
    assert resumed.history[1]["train_loss"] < first["history"][0]["train_loss"]
    assert not spark.sparkContext._jsc.sc().isStopped()  # the caller's session is left running


def test_predict_dataframe_writes_parquet_matching_single_process(spark, workspace, tmp_path):
    import numpy as np
    import pandas as pd

    from convkit import api
    from convkit.spark import predict_dataframe

    out = tmp_path / "predictions.parquet"
    summary = predict_dataframe(
        workspace["model"],
        workspace["photos"],
        out_parquet=out,
        embeddings=True,
        top_k=2,
        session=spark,
        progress=False,
    )
    assert summary["rows"] == 31 and summary["errors"] == 1  # 30 digits + broken.png
    table = pd.read_parquet(out).sort_values("path").reset_index(drop=True)
    assert list(table.columns) == ["path", "label", "probability", "top", "embedding", "error"]
    broken = table[table.path.str.endswith("broken.png")].iloc[0]
    assert pd.isna(broken.label) and pd.isna(broken.probability) and broken.embedding is None
    assert "broken.png" not in broken.error and broken.error  # the decoder's reason

    good = table[table.error.isna()]
    paths = [p.removeprefix("file:") for p in good.path]
    model = api.load(workspace["model"])
    expected = model.predict(paths, top_k=2)
    assert list(good.label) == [e["label"] for e in expected]
    np.testing.assert_allclose(good.probability, [e["probability"] for e in expected], atol=1e-6)
    np.testing.assert_allclose(
        np.stack(list(good.embedding)), model.embed(paths), rtol=1e-5, atol=1e-6
    )


def test_udfs_compose_with_dataframe_code(spark, workspace):
    from pyspark.sql import functions as F

    from convkit.spark import predict_udf

    frame = spark.read.format("binaryFile").load(str(workspace["photos"] / "7" / "*.png"))
    frame = frame.withColumn("pred", predict_udf(workspace["model"])("content"))
    rows = frame.select("path", "pred.label", F.col("pred.error")).collect()
    assert len(rows) == 3
    assert all(row.error is None and row.label is not None for row in rows)


def test_predict_dataframe_rejects_missing_input(spark, workspace, tmp_path):
    from convkit.spark import predict_dataframe

    with pytest.raises(DataError, match="no such file or folder"):
        predict_dataframe(workspace["model"], tmp_path / "nowhere", session=spark)
    with pytest.raises(DataError, match="no file matches"):
        predict_dataframe(workspace["model"], str(tmp_path / "*.png"), session=spark)


def test_images_to_parquet_writes_a_trainable_dataset(spark, workspace, tmp_path):
    from convkit.data import open_image_dataset
    from convkit.spark import images_to_parquet

    out = tmp_path / "photos.parquet"
    assert images_to_parquet(workspace["photos"], out, session=spark) == 31  # README.txt left out
    dataset = open_image_dataset(out, options={"channels": 1})
    report = dataset.scan(progress=False)
    assert report.num_images == 30 and report.class_counts == {str(d): 3 for d in range(10)}
    assert len(report.bad) == 1  # broken.png, labelled "3" by its folder


def test_cli_predict_with_spark(spark, workspace, tmp_path, capsys):
    import pandas as pd

    from convkit.cli import main

    out = tmp_path / "cli.parquet"
    code = main(
        [
            "predict",
            str(workspace["model"]),
            str(workspace["photos"]),
            "--spark",
            "local[2]",
            "--out",
            str(out),
            "--top",
            "2",
        ]
    )
    assert code == 1  # one unreadable file, reported in its row
    assert "31 files" in capsys.readouterr().out
    assert list(pd.read_parquet(out).columns) == ["path", "label", "probability", "top", "error"]
    assert not spark.sparkContext._jsc.sc().isStopped()  # the caller's session is left running
    assert main(["predict", str(workspace["model"]), "x.png", "--spark", "local[2]"]) == 2


def test_predict_dataframe_reads_a_packed_dataset(spark, workspace, tmp_path):
    import pandas as pd

    from convkit.spark import predict_dataframe
    from convkit.spark.pack import pack_dataset

    pack = tmp_path / "photos.pack"
    pack_dataset(workspace["photos"], str(pack), channels=1, progress=False)
    out = tmp_path / "packed-predictions.parquet"
    summary = predict_dataframe(
        workspace["model"], pack, out_parquet=out, session=spark, progress=False
    )
    assert summary["rows"] == 31 and summary["errors"] == 1  # broken.png: nulls + error
    table = pd.read_parquet(out)
    broken = table[table.path.str.endswith("broken.png")].iloc[0]
    assert pd.isna(broken.label) and broken.error
    assert table.error.isna().sum() == 30
