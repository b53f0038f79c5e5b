"""Fixtures shared by every test file: where the real datasets are."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"test data not found at {SHARED_DATA}: clone with ../shared beside the repo")
    return SHARED_DATA


@pytest.fixture(scope="session")
def mnist_dir(shared_data: Path) -> Path:
    return shared_data / "mnist"


@pytest.fixture(scope="session")
def fsdd_dir(shared_data: Path) -> Path:
    return shared_data / "fsdd" / "recordings"


@pytest.fixture(scope="session", autouse=True)
def onnx_cache_in_tmp(tmp_path_factory):
    """Exported graphs (the ONNX runtime's cache) go to a temp folder, not ~/.cache."""
    import os

    os.environ["CONVKIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("convkit-cache"))
    yield


@pytest.fixture(scope="module", autouse=True)
def one_spark_module_at_a_time(request, tmp_path_factory):
    """The Spark test modules run one at a time, whichever xdist worker has them.

    Two Spark applications at once on a 2-core machine (a standalone cluster's
    JVMs and ranks beside a local[2] session and its ranks) slow each other
    several-fold: a 46 s local[2] training test took 323 s in CI beside the
    cluster tests. A file lock shared by the workers serialises them; it is
    module-scoped and autouse, so it is taken before the module's own
    fixtures start a cluster or a session. (xdist's ``--dist loadgroup``
    would do this, but its group suffix is lost with pytest 9.2's node ids.)
    """
    if not _is_spark_module(request.module):
        yield
        return
    with _spark_lock(tmp_path_factory):
        yield


@pytest.fixture(autouse=True)
def one_spark_test_at_a_time(request, tmp_path_factory):
    """The same lock for a test marked ``spark_session`` in a module not about Spark."""
    if _is_spark_module(request.module) or not request.node.get_closest_marker("spark_session"):
        yield
        return
    with _spark_lock(tmp_path_factory):
        yield


def _is_spark_module(module) -> bool:
    return "spark" in module.__name__.rsplit(".", 1)[-1]


@contextlib.contextmanager
def _spark_lock(tmp_path_factory):
    import fcntl

    # The workers' base temp folders share a parent (pytest-of-USER/pytest-N).
    root = tmp_path_factory.getbasetemp()
    lock_path = (root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / "spark.lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
