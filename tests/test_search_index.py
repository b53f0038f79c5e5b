"""The search index on synthetic vectors: engines, add/remove, the file on disk, bad files."""

from __future__ import annotations

import numpy as np
import pytest

from convkit.errors import ConvkitError
from convkit.search import (
    IndexFileError,
    ModelMismatchError,
    ModelSource,
    SearchIndex,
    search_vectors,
)
from convkit.search.engine import EngineSettings, exact_top_k, resolve_kind

SOURCE = ModelSource("f" * 64, "/models/a.convkit", "dense1")


def clustered_vectors(count: int, dim: int = 32, centres: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    middle = rng.standard_normal((centres, dim)).astype(np.float32)
    vectors = middle[rng.integers(0, centres, count)] + 0.4 * rng.standard_normal((count, dim))
    vectors = vectors.astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def paths_for(count: int, start: int = 0) -> list[str]:
    return [f"/photos/{number:05d}.png" for number in range(start, start + count)]


@pytest.fixture(params=["exact", "ivf", "hnsw"])
def index(request) -> SearchIndex:
    vectors = clustered_vectors(600)
    return SearchIndex.create(vectors, paths_for(600), SOURCE, engine=request.param)


def test_auto_engine_switches_at_the_threshold():
    assert resolve_kind("auto", 100, approximate_above=100) == "exact"
    assert resolve_kind("auto", 101, approximate_above=100) == "ivf"
    with pytest.raises(
        ConvkitError,
        match="`engine` must be one of 'auto', 'exact', 'hnsw', 'ivf'. Received: engine='lsh'",
    ):
        resolve_kind("lsh", 10)
    small = SearchIndex.create(clustered_vectors(50), paths_for(50), SOURCE, approximate_above=40)
    assert small.engine.settings.kind == "ivf"
    assert small.engine.settings.recall_at_10 is not None


def test_search_matches_numpy_brute_force(index):
    queries = clustered_vectors(20, seed=1)
    results = search_vectors(index, queries, [f"q{n}" for n in range(20)], top=10)
    _, rows = exact_top_k(queries, index.vectors, 10)
    agreement = np.mean(
        [
            len({m.path for m in result.matches} & {index.paths[r] for r in truth}) / 10
            for result, truth in zip(results, rows, strict=True)
        ]
    )
    assert agreement >= 0.95
    first = results[0].matches
    assert [m.similarity for m in first] == sorted((m.similarity for m in first), reverse=True)
    assert first[0].similarity == pytest.approx(
        float(queries[0] @ index.vectors[rows[0][0]]), abs=1e-5
    )


@pytest.mark.parametrize("engine", ["ivf", "hnsw"])
def test_approximate_recall_is_measured_and_high(engine):
    index = SearchIndex.create(clustered_vectors(2000), paths_for(2000), SOURCE, engine=engine)
    assert index.engine.settings.recall_queries == 1000
    assert 0.95 <= index.engine.settings.recall_at_10 <= 1.0
    if engine == "ivf":
        assert index.engine.settings.nlist == 45  # round(sqrt(2000))


def test_remove_and_add_without_rebuilding(index):
    vectors = index.vectors.copy()
    graph_before = index.engine.graph_size
    missing = index.remove(["/photos/00000.png", "/photos/00003.png", "/photos/nope.png"])
    assert missing == ["/photos/nope.png"]
    assert len(index) == 598
    results = search_vectors(index, vectors[:1], ["q"], top=5)
    assert "/photos/00000.png" not in {m.path for m in results[0].matches}
    if index.engine.settings.kind == "hnsw":  # tombstoned in the same graph, not rebuilt
        assert index.engine.graph_size == graph_before
        assert set(index.engine.removed.tolist()) == {0, 3}

    index.add(vectors[:1], ["/photos/copy.png"])
    results = search_vectors(index, vectors[:1], ["q"], top=1)
    assert results[0].matches[0].path == "/photos/copy.png"
    assert results[0].matches[0].similarity == pytest.approx(1.0, abs=1e-5)

    # Adding a path that is already indexed replaces its vector.
    index.add(vectors[5:6], ["/photos/copy.png"])
    assert index.paths.count("/photos/copy.png") == 1
    assert search_vectors(index, vectors[5:6], ["q"], top=1)[0].matches[0].path in {
        "/photos/copy.png",
        "/photos/00005.png",
    }


def test_many_removals_rebuild_the_graph():
    hnsw = SearchIndex.create(clustered_vectors(400), paths_for(400), SOURCE, engine="hnsw")
    hnsw.remove(paths_for(150))
    assert len(hnsw.engine.removed) == 0 and hnsw.engine.graph_size == 250
    assert hnsw.engine.settings.kind == "exact"  # 250 is below the approximate threshold


def test_growing_past_the_threshold_switches_to_approximate():
    grown = SearchIndex.create(
        clustered_vectors(100), paths_for(100), SOURCE, approximate_above=120
    )
    assert grown.engine.settings.kind == "exact"
    grown.add(clustered_vectors(40, seed=3), paths_for(40, start=1000))
    assert grown.engine.settings.kind == "ivf" and len(grown) == 140
    assert grown.engine.settings.recall_at_10 is not None


def test_save_and_load_round_trip(index, tmp_path):
    index.remove(["/photos/00001.png"])
    path = index.save(tmp_path / "photos.cindex")
    loaded = SearchIndex.load(path)
    assert loaded.paths == index.paths
    assert np.array_equal(loaded.vectors, index.vectors)
    assert loaded.source == SOURCE
    assert loaded.engine.settings == index.engine.settings
    queries = clustered_vectors(5, seed=7)
    expected = search_vectors(index, queries, list("abcde"), top=5)
    assert search_vectors(loaded, queries, list("abcde"), top=5) == expected
    assert not list(tmp_path.glob(".photos.cindex.*"))  # no temporary left behind


def test_corrupt_truncated_and_foreign_files_are_refused(index, tmp_path):
    path = index.save(tmp_path / "photos.cindex")
    data = bytearray(path.read_bytes())
    flipped = tmp_path / "flipped.cindex"
    data[-10] ^= 0xFF
    flipped.write_bytes(bytes(data))
    with pytest.raises(IndexFileError, match="checksum"):
        SearchIndex.load(flipped)
    truncated = tmp_path / "truncated.cindex"
    truncated.write_bytes(path.read_bytes()[:500])
    with pytest.raises(IndexFileError, match="truncated or corrupt"):
        SearchIndex.load(truncated)
    text = tmp_path / "notes.cindex"
    text.write_text("hello")
    with pytest.raises(IndexFileError):
        SearchIndex.load(text)
    with pytest.raises(IndexFileError, match="not found"):
        SearchIndex.load(tmp_path / "missing.cindex")


def test_failed_save_keeps_the_old_file(index, tmp_path, monkeypatch):
    path = index.save(tmp_path / "photos.cindex")
    before = path.read_bytes()

    def broken_fsync(_):
        raise OSError("disk full")

    monkeypatch.setattr("os.fsync", broken_fsync)
    index.remove(["/photos/00002.png"])
    with pytest.raises(OSError):
        index.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["photos.cindex"]


def test_another_model_is_refused(index):
    index.check_source(ModelSource(SOURCE.fingerprint, "/moved/a.convkit", "dense1"))
    other = ModelSource("0" * 64, "/models/b.convkit", "dense1")
    with pytest.raises(ModelMismatchError, match="built with /models/a.convkit"):
        index.check_source(other)
    with pytest.raises(ModelMismatchError, match="dimensions"):
        index.add(np.ones((1, 5), np.float32), ["/x.png"])


def test_engine_settings_round_trip():
    settings = EngineSettings("hnsw", m=16, ef_search=64, recall_at_10=0.97, recall_queries=10)
    assert EngineSettings.from_dict(settings.to_dict()) == settings
