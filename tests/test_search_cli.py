"""`convkit index / search / cluster / duplicates` end to end, through a real model file."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from convkit.cli import main
from convkit.data import read_idx
from convkit.search import SearchIndex


def save_lenet(path, seed: int):
    import torch

    from convkit.data import Preprocessing
    from convkit.modelfile import save_model
    from convkit.nn import build
    from convkit.spec import load_spec
    from convkit.tasks import task_for_spec

    spec = load_spec("examples/lenet.yaml")
    torch.manual_seed(seed)
    net = build(spec)
    pre = Preprocessing.for_spec(spec)
    return save_model(path, net, task=task_for_spec(spec), preprocessing=pre.to_dict())


@pytest.fixture(scope="module")
def setup(tmp_path_factory, mnist_dir, request):
    root = tmp_path_factory.mktemp("search_cli")
    monkey = pytest.MonkeyPatch()
    monkey.chdir(request.config.rootpath)
    model = save_lenet(root / "lenet.convkit", seed=0)
    other = save_lenet(root / "other.convkit", seed=1)
    monkey.undo()
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:40]  # (40, 28, 28)
    photos = root / "photos"
    for number, image in enumerate(images[:24]):
        (photos / f"d{number % 3}").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(photos / f"d{number % 3}" / f"{number:02d}.png"), image)
    shutil.copy(photos / "d0" / "00.png", photos / "d0" / "00_copy.png")
    more = root / "more"
    more.mkdir()
    for number, image in enumerate(images[24:30]):
        cv2.imwrite(str(more / f"m{number}.png"), image)
    return {"root": root, "model": model, "other": other, "photos": photos, "more": more}


def run(capsys, *argv):
    code = main([str(item) for item in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_index_search_add_remove(setup, capsys, tmp_path):
    index = tmp_path / "photos.cindex"
    code, out, _ = run(capsys, "index", setup["model"], setup["photos"], "--out", index)
    assert code == 0, out
    assert "indexed" in out and "25 photos, 500-d vectors from layer dense1, exact search" in out

    query = setup["photos"] / "d1" / "01.png"
    sheet = tmp_path / "sheet.png"
    code, out, _ = run(capsys, "search", index, query, "--top", "3", "--json", "--sheet", sheet)
    assert code == 0
    answer = json.loads(out.splitlines()[0])
    assert answer["matches"][0]["path"] == str(query.resolve())
    assert answer["matches"][0]["similarity"] == pytest.approx(1.0, abs=1e-4)
    assert len(answer["matches"]) == 3
    assert cv2.imread(str(sheet)).shape[1] == 4 * (96 + 4) + 4  # query + 3 matches

    code, out, _ = run(capsys, "index", setup["model"], setup["more"], "--out", index, "--add")
    assert code == 0 and "added 6 new photo(s)" in out and "31 photos" in out
    code, out, _ = run(capsys, "index", setup["model"], setup["more"], "--out", index, "--add")
    assert "added 0 new photo(s)" in out

    code, out, err = run(
        capsys, "index", setup["model"], "--out", index, "--remove", setup["more"], "/nowhere.png"
    )
    assert code == 1 and "removed 6 photo(s)" in out and "not in the index: /nowhere.png" in err
    assert len(SearchIndex.load(index)) == 25


def test_layer_choice_pools_feature_maps(setup, capsys, tmp_path):
    index = tmp_path / "conv.cindex"
    code, out, _ = run(
        capsys, "index", setup["model"], setup["photos"], "--out", index, "--layer", "conv2"
    )
    assert code == 0 and "50-d vectors from layer conv2" in out
    flat = tmp_path / "flat.cindex"
    code, out, _ = run(
        capsys,
        "index",
        setup["model"],
        setup["photos"],
        "--out",
        flat,
        "--layer",
        "pool2",
        "--pooling",
        "flatten",
    )
    assert code == 0 and "800-d vectors from layer pool2, flattened" in out  # 4x4x50
    code, out, _ = run(capsys, "search", flat, setup["photos"] / "d2" / "02.png", "--top", "1")
    assert code == 0 and "02.png" in out.splitlines()[1]
    code, _, err = run(
        capsys, "index", setup["model"], setup["photos"], "--out", index, "--layer", "conv9"
    )
    assert code == 2 and "no layer named 'conv9'" in err


def test_bad_input_is_one_line_and_non_zero(setup, capsys, tmp_path):
    index = tmp_path / "photos.cindex"
    run(capsys, "index", setup["model"], setup["photos"], "--out", index)
    before = index.read_bytes()

    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "index", setup["model"], tmp_path / "empty", "--out", index)
    assert code == 2 and "holds no image files" in err and err.count("\n") == 1
    assert index.read_bytes() == before  # the old index is untouched

    code, _, err = run(
        capsys, "search", index, setup["photos"] / "d0" / "00.png", "--model", setup["other"]
    )
    assert code == 2 and "built with" in err and "rebuild the index" in err
    code, _, err = run(capsys, "index", setup["other"], setup["more"], "--out", index, "--add")
    assert code == 2 and "built with" in err

    moved = tmp_path / "moved.cindex"
    shutil.copy(index, moved)
    shutil.copy(setup["model"], tmp_path / "lenet_copy.convkit")
    saved = SearchIndex.load(moved)
    saved.source.model_path = str(tmp_path / "gone.convkit")
    saved.save(moved)
    code, _, err = run(capsys, "search", moved, setup["photos"] / "d0" / "00.png")
    assert code == 2 and "not there any more" in err and "--model" in err
    code, out, _ = run(
        capsys,
        "search",
        moved,
        setup["photos"] / "d0" / "00.png",
        "--model",
        tmp_path / "lenet_copy.convkit",
    )
    assert code == 0 and "00.png" in out

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnope")
    code, _, err = run(capsys, "search", index, broken)
    assert code == 2 and "broken.png" in err and err.count("\n") == 1

    corrupt = tmp_path / "corrupt.cindex"
    corrupt.write_bytes(before[: len(before) // 2])
    code, _, err = run(capsys, "search", corrupt, setup["photos"] / "d0" / "00.png")
    assert code == 2 and "truncated or corrupt" in err and err.count("\n") == 1
    code, _, err = run(capsys, "duplicates", tmp_path / "missing.cindex")
    assert code == 2 and "not found" in err


def test_unreadable_photos_are_skipped_with_exit_1(setup, capsys, tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(setup["more"], folder)
    (folder / "zero.jpg").write_bytes(b"")
    code, out, err = run(capsys, "index", setup["model"], folder, "--out", tmp_path / "m.cindex")
    assert code == 1 and "6 photos" in out and "zero.jpg" in err


def test_duplicates_finds_the_planted_copy(setup, capsys, tmp_path):
    index = tmp_path / "photos.cindex"
    run(capsys, "index", setup["model"], setup["photos"], "--out", index)
    code, out, _ = run(capsys, "duplicates", index, "--threshold", "0.9999", "--json")
    assert code == 0
    groups = [json.loads(line) for line in out.splitlines()]
    assert [sorted(p.rsplit("/", 1)[1] for p in g["paths"]) for g in groups] == [
        ["00.png", "00_copy.png"]
    ]
    # default threshold: digits that an untrained net embeds alike are told apart by pixels
    code, out, _ = run(capsys, "duplicates", index)
    assert code == 0 and "1 group(s) of near-duplicates, 2 photos" in out and "pixel-checked" in out
    code, out, _ = run(capsys, "duplicates", index, "--no-verify", "--threshold", "0.9999")
    assert code == 0 and "by embeddings alone" in out


@pytest.mark.slow  # k-means, silhouettes and t-SNE: a few seconds, more on a busy CPU
def test_cluster_writes_labels_sheets_and_maps(setup, capsys, tmp_path):
    index = tmp_path / "photos.cindex"
    run(capsys, "index", setup["model"], setup["photos"], "--out", index)
    code, out, _ = run(capsys, "cluster", index, "--k-max", "3", "--out", tmp_path / "c")
    assert code == 0 and "chose K=" in out
    summary = json.loads((tmp_path / "c" / "clusters.json").read_text())
    assert sum(summary["sizes"]) == 25 and summary["k"] in (2, 3)
    assert (tmp_path / "c" / "map_folders.png").is_file()
    assert len(list((tmp_path / "c").glob("cluster_*.png"))) == summary["k"]
    code, _, err = run(capsys, "cluster", index, "--k", "0")
    assert code == 2 and "k must be between" in err


def test_search_and_api_embeddings_agree(setup):
    from convkit.api import load
    from convkit.search import ModelEmbedder

    paths = sorted(str(p) for p in setup["more"].iterdir())
    ours, kept, skipped = ModelEmbedder(setup["model"]).embed_files(paths, progress=False)
    assert kept == paths and not skipped
    assert np.allclose(ours, load(setup["model"]).embed(paths), atol=1e-6)


def test_pooling_is_part_of_the_fingerprint(setup):
    from convkit.errors import UsageError
    from convkit.search import ModelEmbedder

    averaged = ModelEmbedder(setup["model"], "pool2").source
    flattened = ModelEmbedder(setup["model"], "pool2", pooling="flatten").source
    assert averaged.fingerprint != flattened.fingerprint
    assert ModelEmbedder(setup["model"]).source.fingerprint != averaged.fingerprint
    with pytest.raises(UsageError, match="pooling must be avg or flatten"):
        ModelEmbedder(setup["model"], "pool2", pooling="max")
