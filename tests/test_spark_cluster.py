"""convkit against a real Spark standalone cluster: a master and two one-core workers.

The cluster (separate JVMs started with pyspark's spark-class, on 127.0.0.1
and ports picked at run time) is started once for this module; every command
runs as a real ``convkit`` process with ``--spark spark://127.0.0.1:PORT``, so
exit codes, the error line and leftover processes are what a user would see.
Teardown ends every process the cluster and the commands started, by PID,
even when a test failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spark_fixtures import write_digit_folder, write_tiny_spec

pytest.importorskip("pyspark")
pytestmark = pytest.mark.slow

SRC = Path(__file__).resolve().parents[1] / "src"
COMMAND_TIMEOUT_S = 300  # a hang fails the test instead of the CI job


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from convkit.spark.local_cluster import LocalCluster

    # Executors inherit the workers' environment: they import this checkout's convkit.
    env = {"PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    cluster = LocalCluster(
        tmp_path_factory.mktemp("cluster"), workers=2, cores=1, memory="1g", env=env
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        assert cluster.leftover_processes() == []


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, mnist_dir):
    from convkit.spark.pack import pack_dataset

    root = tmp_path_factory.mktemp("cluster-data")
    photos = write_digit_folder(mnist_dir, root / "photos", per_class=2)
    (photos / "5" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    # Training data: a packed dataset with one row that does not decode, so
    # the runs below go through the Spark scan job and the streaming shards.
    digits = write_digit_folder(mnist_dir, root / "digits", per_class=200)
    (digits / "7" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    pack = root / "digits.pack"
    pack_dataset(digits, str(pack), channels=1, group_mib=0.05, progress=False)
    return {"root": root, "spec": write_tiny_spec(root), "train": pack, "photos": photos}


def convkit(cluster, *args: str, wait: bool = True):
    """Run ``python -m convkit ARGS`` as the user would, in the cluster's environment."""
    env = cluster.client_env()
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "convkit", *args]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if not wait:
        return process
    try:
        out, err = process.communicate(timeout=COMMAND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"convkit {' '.join(args)} hung:\n{err[-3000:]}")
    return process.returncode, out, err


def train_args(cluster, workspace, run_dir: Path, *extra: str) -> list[str]:
    """The one training command of these tests (the fault test runs it again)."""
    return [
        "train",
        str(workspace["spec"]),
        "--data",
        str(workspace["train"]),
        "--epochs",
        "3",
        "--batch-size",
        "16",
        "--seed",
        "0",
        "--threads",
        "1",
        "--checkpoint-every",
        "10",
        "--run-dir",
        str(run_dir),
        "--quiet",
        "--spark",
        cluster.master_url,
        "--workers",
        "2",
        *extra,
    ]


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, "nothing on stderr"
    # Ranks' own tracebacks reach the driver's log prefixed with [rankN]; the
    # driver itself must not print one.
    assert not any(line.startswith("Traceback") for line in lines), err[-3000:]
    return lines[-1]


def no_leftovers(cluster, timeout_s: float = 30.0) -> list[int]:
    """Wait for the executors of a finished application to go; return what is left."""
    deadline = time.monotonic() + timeout_s
    while cluster.leftover_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    return cluster.leftover_processes()


def weights(model_path: Path) -> str:
    from convkit.modelfile import load_model

    return load_model(model_path).weights_sha256


@pytest.fixture(scope="module")
def reference_run(cluster, workspace):
    """An uninterrupted 3-epoch run on the cluster: the model and its weights."""
    run_dir = workspace["root"] / "reference"
    code, out, err = convkit(cluster, *train_args(cluster, workspace, run_dir))
    assert code == 0, err[-3000:]
    return run_dir


def test_train_on_the_standalone_cluster(cluster, workspace, reference_run):
    assert (reference_run / "model.convkit").is_file()
    assert (reference_run / "checkpoints" / "last.ckpt").is_file()
    metrics = (reference_run / "metrics.csv").read_text().splitlines()
    assert len(metrics) == 1 + 3  # header + one row per epoch
    # The Spark scan found the corrupt row once; rank 0 listed it.
    skipped = (reference_run / "skipped.txt").read_text().splitlines()
    assert len(skipped) == 1 and "digits.pack row " in skipped[0]
    assert no_leftovers(cluster) == []


def test_predict_on_the_standalone_cluster(cluster, workspace, reference_run, tmp_path):
    import pandas as pd

    from convkit import api

    out = tmp_path / "predictions.parquet"
    model = reference_run / "model.convkit"
    code, stdout, err = convkit(
        cluster,
        "predict",
        str(model),
        str(workspace["photos"]),
        "--spark",
        cluster.master_url,
        "--out",
        str(out),
        "--top",
        "2",
    )
    assert code == 1, err[-3000:]  # one unreadable file, reported in its row
    assert "21 files" in stdout
    table = pd.read_parquet(out).sort_values("path").reset_index(drop=True)
    broken = table[table.path.str.endswith("broken.png")]
    assert len(broken) == 1 and broken.error.iloc[0] and pd.isna(broken.label.iloc[0])
    good = table[table.error.isna()]
    expected = api.load(model).predict([p.removeprefix("file:") for p in good.path])
    assert list(good.label) == [e["label"] for e in expected]
    assert no_leftovers(cluster) == []


def test_a_killed_worker_fails_the_run_and_resume_gives_identical_weights(
    cluster, workspace, reference_run
):
    from convkit.spark.local_cluster import is_alive

    run_dir = workspace["root"] / "killed"
    process = convkit(cluster, *train_args(cluster, workspace, run_dir), wait=False)
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    try:
        deadline = time.monotonic() + COMMAND_TIMEOUT_S
        while not checkpoint.exists() and process.poll() is None:
            assert time.monotonic() < deadline, "no checkpoint was ever written"
            time.sleep(0.02)
        assert process.poll() is None, "the run ended before the worker could be killed"
        killed = cluster.kill_worker(1)  # the worker JVM, its executor and its rank
        _, err = process.communicate(timeout=COMMAND_TIMEOUT_S)
        assert process.returncode == 2, err[-3000:]
        line = error_line(err)
        assert line.startswith("convkit: error: worker rank ")
        assert "lost contact with the other ranks" in line and "--resume" in line
        # Orphans of the killed JVM are reaped by whatever init the machine
        # has (a container's may never reap them): a zombie counts as ended.
        assert not any(is_alive(pid) for pid in killed)
        assert no_leftovers(cluster) == []  # the surviving rank and executor are gone too
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if 1 not in cluster.started_workers():
            cluster.start_worker(1)  # the machine comes back, for the tests after this one
    code, _, err = convkit(cluster, *train_args(cluster, workspace, run_dir, "--resume"))
    assert code == 0, err[-3000:]
    assert weights(run_dir / "model.convkit") == weights(reference_run / "model.convkit")
    assert no_leftovers(cluster) == []


def test_unreachable_master_and_too_few_slots_are_one_line(cluster, workspace, tmp_path):
    from convkit.spark.local_cluster import free_port

    dead = f"spark://127.0.0.1:{free_port()}"
    started = time.monotonic()
    code, _, err = convkit(
        cluster,
        "train",
        str(workspace["spec"]),
        "--data",
        str(workspace["train"]),
        "--spark",
        dead,
        "--run-dir",
        str(tmp_path / "dead"),
    )
    assert code == 2
    assert error_line(err).startswith(f"convkit: error: cannot reach the Spark master {dead}")
    assert time.monotonic() - started < 60

    code, _, err = convkit(
        cluster,
        "train",
        str(workspace["spec"]),
        "--data",
        str(workspace["train"]),
        "--spark",
        cluster.master_url,
        "--workers",
        "3",
        "--run-dir",
        str(tmp_path / "big"),
    )
    assert code == 2
    line = error_line(err)
    assert "--workers 3 needs 3 Spark task slots at once" in line and "has 2" in line
    assert no_leftovers(cluster) == []
