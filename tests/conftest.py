"""Fixtures shared by every test file: where the real datasets are."""

from __future__ import annotations

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


def pytest_collection_modifyitems(config, items):
    """Run every Spark test on one xdist worker (``make test`` uses ``--dist loadgroup``).

    Two Spark applications at once on a 2-core machine (a standalone cluster's
    JVMs beside a local[2] session and its ranks) slow each other several-fold;
    one after the other they finish sooner and the other worker runs the rest.
    """
    for item in items:
        if "spark" in item.nodeid:
            item.add_marker(pytest.mark.xdist_group("spark"))
