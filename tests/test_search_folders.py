"""Indexing real image folders, duplicates, clustering and sheets, with a model-free embedder.

The embedder here turns pixels into vectors (a 16x16 grey thumbnail), so
these tests exercise the folder, index, duplicate and cluster machinery on
real files without waiting for a trained network; tests/test_search_cli.py
runs the same verbs through a real model file.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from convkit.data import read_idx
from convkit.errors import ConvkitError, DataError
from convkit.search import (
    ModelMismatchError,
    ModelSource,
    NoImagesError,
    build_index,
    cluster,
    find_duplicates,
    list_images,
    search,
    write_cluster_outputs,
)
from convkit.search.sheets import contact_sheet


class PixelEmbedder:
    """Vectors from pixels: a centred, L2-normalised 16x16 grey thumbnail."""

    layer = "pixels"

    def __init__(self, name: str = "pixels"):
        self.source = ModelSource(name, f"/{name}", self.layer)

    def embed_files(self, paths, batch_size=128, progress=False, strict=False):
        from convkit.data import read_image

        vectors, kept, skipped = [], [], []
        for path in paths:
            try:
                image = read_image(path, channels=1)[:, :, 0]
            except DataError as error:
                if strict:
                    raise
                skipped.append((path, str(error)))
                continue
            small = cv2.resize(image, (16, 16), interpolation=cv2.INTER_AREA).astype(np.float32)
            small = small.ravel() - small.mean()
            vectors.append(small / (np.linalg.norm(small) + 1e-6))
            kept.append(path)
        return np.array(vectors, np.float32).reshape(len(kept), 256), kept, skipped


@pytest.fixture(scope="module")
def digits(mnist_dir):
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")  # (10000, 28, 28) uint8
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    return images, labels


@pytest.fixture()
def photo_folder(tmp_path, digits):
    """Zeros and ones in class folders, plus planted near-copies of three of them."""
    images, labels = digits
    folder = tmp_path / "photos"
    originals = []
    for digit in (0, 1):
        (folder / str(digit)).mkdir(parents=True)
        for number in np.flatnonzero(labels == digit)[:15]:
            path = folder / str(digit) / f"{number}.png"
            cv2.imwrite(str(path), images[number])
            originals.append(path)
    copies = folder / "copies"
    copies.mkdir()
    for source in originals[:3]:
        image = cv2.imread(str(source), cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(copies / f"{source.stem}_q60.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 60])
        bigger = cv2.resize(image, (40, 40), interpolation=cv2.INTER_LINEAR)
        cv2.imwrite(str(copies / f"{source.stem}_40px.png"), bigger)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "notes.txt").write_text("not an image")
    return folder, originals


def test_list_images_finds_images_only(photo_folder, tmp_path):
    folder, _ = photo_folder
    found = list_images(folder)
    assert len(found) == 30 + 6 + 1 and found == sorted(found)
    assert not any(path.endswith(".txt") for path in found)
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoImagesError, match="holds no image files"):
        list_images(tmp_path / "empty")
    with pytest.raises(NoImagesError, match="not found"):
        list_images(tmp_path / "nowhere")


def test_build_search_and_skip_unreadable(photo_folder, tmp_path):
    folder, originals = photo_folder
    index = build_index(PixelEmbedder(), folder, tmp_path / "photos.cindex", progress=False)
    assert len(index) == 36
    assert [path for path, _ in index.skipped] == [str((folder / "broken.png").resolve())]
    results = search(tmp_path / "photos.cindex", [originals[20]], model=PixelEmbedder(), top=5)
    top = results[0].matches
    assert top[0].path == str(originals[20].resolve()) and top[0].similarity > 0.999
    assert all("/1/" in match.path for match in top)  # a one finds ones


def test_bad_queries_and_wrong_model(photo_folder, tmp_path):
    folder, originals = photo_folder
    build_index(PixelEmbedder(), folder, tmp_path / "photos.cindex", progress=False)
    with pytest.raises(DataError, match="broken.png"):
        search(tmp_path / "photos.cindex", [folder / "broken.png"], model=PixelEmbedder())
    with pytest.raises(DataError, match="not found"):
        search(tmp_path / "photos.cindex", [folder / "missing.png"], model=PixelEmbedder())
    with pytest.raises(ModelMismatchError, match="built with /pixels"):
        search(tmp_path / "photos.cindex", [originals[0]], model=PixelEmbedder("other"))
    with pytest.raises(ConvkitError, match="top must be at least 1"):
        search(tmp_path / "photos.cindex", [originals[0]], model=PixelEmbedder(), top=0)


def test_folder_of_only_broken_images_is_an_error(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.jpg").write_bytes(b"")
    with pytest.raises(NoImagesError, match="none of the 1 images"):
        build_index(PixelEmbedder(), tmp_path / "bad", tmp_path / "x.cindex", progress=False)
    assert not (tmp_path / "x.cindex").exists()


def test_planted_duplicates_are_grouped(photo_folder):
    folder, originals = photo_folder
    index = build_index(PixelEmbedder(), folder, progress=False)
    report = find_duplicates(index, threshold=0.97)
    groups = report.groups
    assert report.verified and report.unreadable == [] and report.pairs_checked >= 6
    expected = [
        {
            str(originals[n].resolve()),
            str((folder / "copies" / f"{originals[n].stem}_q60.jpg").resolve()),
            str((folder / "copies" / f"{originals[n].stem}_40px.png").resolve()),
        }
        for n in range(3)
    ]
    assert sorted(map(sorted, (set(g.paths) for g in groups))) == sorted(map(sorted, expected))
    assert all(group.min_similarity >= 0.97 for group in groups)
    with pytest.raises(ConvkitError, match="threshold"):
        find_duplicates(index, threshold=1.5)
    unverified = find_duplicates(index, verify=False)
    assert not unverified.verified and unverified.threshold == 0.98


def test_duplicates_of_photos_that_have_gone(photo_folder):
    """A deleted photo is listed and left out; if none can be read, the error says what to do."""
    folder, originals = photo_folder
    index = build_index(PixelEmbedder(), folder, progress=False)
    originals[0].unlink()
    report = find_duplicates(index, threshold=0.97)
    assert [path for path, _ in report.unreadable] == [str(originals[0].resolve())]
    assert "not found" in report.unreadable[0][1]
    groups = sorted(sorted(group.paths) for group in report.groups)
    assert [str(originals[0].resolve()) not in group for group in groups] == [True] * 3
    assert len(groups) == 3  # the two copies of the deleted photo still match each other
    for path in folder.rglob("*.*"):
        path.unlink()
    with pytest.raises(DataError, match="none of the .* candidate photos can be read.*--no-verify"):
        find_duplicates(index)
    assert len(find_duplicates(index, threshold=0.97, verify=False).groups) == 3


@pytest.mark.slow  # sklearn + matplotlib imports and t-SNE: ~5 s idle, more on a busy CPU
def test_cluster_separates_zeros_from_ones(photo_folder, tmp_path):
    folder, _ = photo_folder
    (folder / "copies").rename(tmp_path / "copies_elsewhere")
    index = build_index(PixelEmbedder(), folder, progress=False)
    result = cluster(index, k_max=4)
    assert result.k == 2 and set(result.silhouettes) == {2, 3, 4}
    by_folder = {}
    for path, label in zip(result.paths, result.labels, strict=True):
        by_folder.setdefault(path.split("/")[-2], set()).add(int(label))
    assert by_folder["0"] != by_folder["1"] and all(len(s) == 1 for s in by_folder.values())
    assert sorted(result.sizes) == [15, 15]

    written = write_cluster_outputs(result, index.vectors, tmp_path / "out", progress=False)
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert names == [
        "cluster_00.png",
        "cluster_01.png",
        "clusters.json",
        "labels.csv",
        "map_clusters.png",
        "map_folders.png",
    ]
    assert len(written["sheets"]) == 2
    assert (tmp_path / "out" / "labels.csv").read_text().count("\n") == 31
    with pytest.raises(ConvkitError, match="k must be between"):
        cluster(index, k=100)


def test_contact_sheet_draws_every_photo(photo_folder, tmp_path):
    _, originals = photo_folder
    out = contact_sheet([str(p) for p in originals[:10]], tmp_path / "sheet.png", columns=5)
    sheet = cv2.imread(str(out))
    assert sheet.shape[1] == 5 * (96 + 4) + 4 and sheet.shape[0] == 2 * (96 + 18 + 4) + 4
