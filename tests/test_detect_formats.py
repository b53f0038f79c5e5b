"""Annotation formats: VOC, YOLO and COCO parse to the same boxes; bad files are
reported and skipped; empty files and unannotated images are background."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from convkit.detect.dataset import open_detection_dataset
from convkit.detect.scenes import generate_scenes
from convkit.errors import DataError


@pytest.fixture(scope="module")
def scene_sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenes")
    return {f: generate_scenes(root / f, 6, f, size=64, seed=7) for f in ("voc", "yolo", "coco")}


def test_three_formats_give_the_same_boxes(scene_sets):
    loaded = {f: open_detection_dataset(path) for f, path in scene_sets.items()}
    assert {f: ds.format for f, ds in loaded.items()} == {
        "voc": "voc",
        "yolo": "yolo",
        "coco": "coco",
    }
    for ds in loaded.values():
        assert ds.classes == ["circle", "square", "triangle"]
        assert len(ds) == 6
    for i in range(6):
        image, voc_boxes, voc_labels = loaded["voc"].load(i)
        assert image.shape == (64, 64, 3)
        for other in ("yolo", "coco"):
            _, boxes, labels = loaded[other].load(i)
            np.testing.assert_allclose(boxes, voc_boxes, atol=1e-3)
            np.testing.assert_array_equal(labels, voc_labels)


@pytest.mark.parametrize("seed", range(12))
def test_scene_boxes_are_exact(monkeypatch, seed):
    # On an empty background, a one-object scene's box is the extent of its drawn pixels.
    from convkit.detect import scenes

    monkeypatch.setattr(scenes, "_clutter", lambda rng, size: np.zeros((size, size, 3), np.uint8))
    image, boxes, labels = scenes.make_scene(
        np.random.default_rng(seed), 64, classes=5, max_objects=1
    )
    rows, cols = np.nonzero(image.any(axis=2))
    assert boxes.tolist() == [[cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]]


def write_voc(folder, stem, objects, size=(40, 30), text=None):
    (folder / "Annotations").mkdir(parents=True, exist_ok=True)
    (folder / "JPEGImages").mkdir(exist_ok=True)
    cv2.imwrite(
        str(folder / "JPEGImages" / f"{stem}.jpg"), np.full((size[1], size[0], 3), 90, np.uint8)
    )
    if text is None:
        body = "".join(
            f"<object><name>{n}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
            f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
            for n, b in objects
        )
        text = f"<annotation><size><width>{size[0]}</width><height>{size[1]}</height></size>{body}</annotation>"
    (folder / "Annotations" / f"{stem}.xml").write_text(text)


def test_voc_bad_input_is_reported_not_fatal(tmp_path):
    write_voc(tmp_path, "good", [("cat", (1, 1, 10, 10))])
    write_voc(tmp_path, "outside", [("dog", (-5, 5, 60, 20)), ("cat", (50, 50, 70, 70))])
    write_voc(tmp_path, "broken", [], text="<annotation><object>")
    write_voc(tmp_path, "empty", [], text="")
    cv2.imwrite(str(tmp_path / "JPEGImages" / "unannotated.jpg"), np.zeros((30, 40, 3), np.uint8))
    ds = open_detection_dataset(tmp_path)
    stems = [a.image.stem for a in ds.annotations]
    assert stems == ["empty", "good", "outside", "unannotated"]  # broken.xml skipped
    assert len(ds.skipped) == 1 and "broken.xml" in ds.skipped[0][0]
    assert "malformed XML" in ds.skipped[0][1]
    assert ds.classes == ["cat", "dog"]
    _, boxes, labels = ds.load(stems.index("good"))
    assert boxes.tolist() == [[0.0, 0.0, 10.0, 10.0]]  # VOC corners are 1-based
    _, boxes, labels = ds.load(stems.index("outside"))
    assert boxes.tolist() == [[0.0, 4.0, 40.0, 20.0]] and labels.tolist() == [
        1
    ]  # clipped; outside dropped
    assert any("clipped" in n for n in ds.notes) and any("degenerate" in n for n in ds.notes)
    for background in ("empty", "unannotated"):
        assert ds.load(stems.index(background))[1].shape == (0, 4)
    report = ds.scan(progress=False)
    assert report.background_images == 2 and report.class_counts == {"cat": 1, "dog": 1}
    assert "broken.xml" in str(report)


def test_voc_unreadable_image_dropped_by_scan(tmp_path):
    write_voc(tmp_path, "good", [("cat", (1, 1, 10, 10))])
    write_voc(tmp_path, "corrupt", [("cat", (1, 1, 10, 10))])
    (tmp_path / "JPEGImages" / "corrupt.jpg").write_bytes(b"not a jpeg")
    ds = open_detection_dataset(tmp_path)
    report = ds.scan(progress=False)
    assert report.num_images == 1 and "corrupt.jpg" in report.bad[0][0]
    with pytest.raises(DataError, match="strict"):
        open_detection_dataset(tmp_path).scan(strict=True, progress=False)


def test_yolo_malformed_lines_and_class_ids_are_skipped(scene_sets, tmp_path):
    root = tmp_path / "yolo"
    shutil.copytree(scene_sets["yolo"], root)
    (root / "labels" / "scene_00000.txt").write_text("0 0.5 0.5\n")
    (root / "labels" / "scene_00001.txt").write_text("7 0.5 0.5 0.1 0.1\n")
    (root / "labels" / "scene_00002.txt").write_text("")  # empty: background
    (root / "labels" / "scene_00003.txt").unlink()  # missing: background
    ds = open_detection_dataset(root)
    reasons = dict(ds.skipped)
    assert len(ds) == 4
    assert "expected 'class cx cy w h'" in reasons[str(root / "labels" / "scene_00000.txt")]
    assert "class 7 is not in 0..2" in reasons[str(root / "labels" / "scene_00001.txt")]
    assert ds.scan(progress=False).background_images == 2


def test_yolo_dataset_yaml_with_name_mapping(tmp_path, scene_sets):
    root = tmp_path / "y"
    shutil.copytree(scene_sets["yolo"], root)
    (root / "data.yaml").write_text(
        "path: .\ntrain: images\nnames: {0: circle, 1: square, 2: triangle}\n"
    )
    ds = open_detection_dataset(root / "data.yaml")
    assert ds.classes == ["circle", "square", "triangle"] and len(ds) == 6
    with pytest.raises(DataError, match="no 'val' entry"):
        open_detection_dataset(root / "data.yaml", split="val")


def test_coco_malformed_json_names_the_file(tmp_path):
    (tmp_path / "annotations.json").write_text("{not json")
    with pytest.raises(DataError, match=r"annotations\.json: malformed JSON"):
        open_detection_dataset(tmp_path)


def test_coco_bad_entries_skipped_and_unannotated_images_are_background(scene_sets, tmp_path):
    root = tmp_path / "c"
    shutil.copytree(scene_sets["coco"], root)
    document = json.loads((root / "annotations.json").read_text())
    document["annotations"].append({"image_id": 0, "category_id": 1})  # no bbox
    document["annotations"] = [
        a for a in document["annotations"] if a.get("image_id") != 1 or "bbox" not in a
    ]
    document["images"].append({"id": 99, "file_name": "missing.png"})
    (root / "annotations.json").write_text(json.dumps(document))
    ds = open_detection_dataset(root)
    assert len(ds) == 6
    assert any("malformed annotation" in reason for _, reason in ds.skipped)
    assert any("missing.png" in path for path, _ in ds.skipped)
    assert ds.load(1)[1].shape == (0, 4)


def test_folder_without_annotations_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no annotations found"):
        open_detection_dataset(tmp_path)


def test_voc_split_files_choose_the_images(tmp_path):
    for stem in ("a", "b", "c"):
        write_voc(tmp_path, stem, [("cat", (1, 1, 10, 10))])
    (tmp_path / "ImageSets" / "Main").mkdir(parents=True)
    (tmp_path / "ImageSets" / "Main" / "trainval.txt").write_text("a\nb\n")
    (tmp_path / "ImageSets" / "Main" / "test.txt").write_text("c\n")
    assert [a.image.stem for a in open_detection_dataset(tmp_path).annotations] == ["a", "b"]
    assert [a.image.stem for a in open_detection_dataset(tmp_path, split="test").annotations] == [
        "c"
    ]


def test_yolo_yaml_says_whether_it_has_a_test_split(tmp_path):
    from convkit.detect.formats.yolo import has_split

    (tmp_path / "data.yaml").write_text("names: [ball]\ntrain: images/train\ntest: images/test\n")
    assert has_split(tmp_path, "test") and has_split(tmp_path / "data.yaml", "train")
    (tmp_path / "data.yaml").write_text("names: [ball]\ntrain: images/train\n")
    assert not has_split(tmp_path, "test")
    (tmp_path / "data.yaml").write_text("names: [ball\n")  # malformed: training will say so
    assert not has_split(tmp_path, "test")
    assert not has_split(tmp_path / "elsewhere", "test")
