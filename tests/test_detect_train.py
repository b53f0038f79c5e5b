"""End to end: a hand-made VOC folder trains a detector with the ordinary trainer;
`convkit detect` and `convkit scenes` work on it; transfer learning copies and freezes."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from convkit.cli import main

TINY_DETECTOR = """
name: tiny_detector
input: 32x32x3
layers:
  - conv2d: {filters: 8, kernel: 3, padding: same}
  - max_pool: {kernel: 2}
  - conv2d: {filters: 16, kernel: 3, padding: same}
  - max_pool: {kernel: 2}
  - yolo_output: {classes: 2, anchors: [[2, 2], [4, 4]]}
"""

TINY_CLASSIFIER = TINY_DETECTOR.replace("tiny_detector", "tiny_classifier").replace(
    "  - yolo_output: {classes: 2, anchors: [[2, 2], [4, 4]]}", "  - output: {classes: 2}"
)


@pytest.fixture(scope="module")
def voc_folder(tmp_path_factory):
    """A small Pascal VOC folder written by hand: JPEGs of balls and boxes, one of each kind of trouble."""
    root = tmp_path_factory.mktemp("voc")
    (root / "Annotations").mkdir()
    (root / "JPEGImages").mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):
        image = np.full((48, 64, 3), 40, np.uint8)  # not square: the letterbox has work to do
        objects = []
        for _ in range(1 + i % 2):
            x, y, s = int(rng.integers(2, 40)), int(rng.integers(2, 26)), int(rng.integers(10, 20))
            name = "ball" if rng.random() < 0.5 else "box"
            if name == "ball":
                cv2.circle(image, (x + s // 2, y + s // 2), s // 2, (250, 200, 0), -1)
            else:
                cv2.rectangle(image, (x, y), (x + s - 1, y + s - 1), (0, 120, 250), -1)
            objects.append(
                f"<object><name>{name}</name><bndbox><xmin>{x + 1}</xmin><ymin>{y + 1}</ymin>"
                f"<xmax>{x + s}</xmax><ymax>{y + s}</ymax></bndbox></object>"
            )
        cv2.imwrite(str(root / "JPEGImages" / f"img{i:02d}.jpg"), image)
        xml = f"<annotation><size><width>64</width><height>48</height></size>{''.join(objects)}</annotation>"
        (root / "Annotations" / f"img{i:02d}.xml").write_text(xml)
    cv2.imwrite(str(root / "JPEGImages" / "empty_room.jpg"), np.full((48, 64, 3), 40, np.uint8))
    (root / "Annotations" / "img00.xml").write_text("<annotation><object><name>ball")  # malformed
    return root


@pytest.fixture(scope="module")
def trained(voc_folder, tmp_path_factory):
    from convkit import api

    run = tmp_path_factory.mktemp("run")
    spec = run / "tiny.yaml"
    spec.write_text(TINY_DETECTOR)
    report = api.fit(
        str(spec),
        voc_folder,
        run_dir=run / "out",
        epochs=2,
        batch_size=8,
        lr=3e-3,
        val_fraction=0.2,
        augment={"flip": True, "scale": 0.1},
        threads=1,
        progress=False,
    )
    return report


def test_voc_folder_trains_with_the_ordinary_trainer(trained):
    assert trained.model_path.is_file()
    last = trained.history[-1]
    assert {"train_loss", "val_loss", "val_map50", "val_map"} <= set(last)
    assert trained.history[-1]["train_loss"] < trained.history[0]["train_loss"] * 1.5
    assert any("img00.xml" in path for path, _ in trained.skipped)


def test_model_file_remembers_classes_and_anchors(trained):
    from convkit.modelfile import load_model

    model = load_model(trained.model_path)
    assert model.task.kind == "detect" and model.task.labels == ["ball", "box"]
    assert model.task.anchors == [[2.0, 2.0], [4.0, 4.0]]
    assert model.preprocessing["kind"] == "detect-letterbox"


def test_detect_cli_json_and_annotated_copies(trained, voc_folder, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("img03.jpg", "img04.jpg"):
        (photos / name).write_bytes((voc_folder / "JPEGImages" / name).read_bytes())
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    code = main(
        [
            "detect",
            str(trained.model_path),
            str(photos),
            "--json",
            "--conf",
            "0.0",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 1  # one photo was skipped: the same rule as predict and ocr
    lines = capsys.readouterr().out.strip().splitlines()
    results = {r["path"].split("/")[-1]: r for r in map(json.loads, lines)}
    assert "error" in results["broken.jpg"]
    found = results["img03.jpg"]
    assert (found["width"], found["height"]) == (64, 48)
    assert found["boxes"], "with --conf 0 something is always found"
    for detection in found["boxes"]:
        x1, y1, x2, y2 = detection["box"]
        assert 0 <= x1 <= x2 <= 64 and 0 <= y1 <= y2 <= 48  # in the photo's own pixels
        assert detection["label"] in ("ball", "box") and 0 <= detection["confidence"] <= 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["img03.png", "img04.png"]


def test_detect_cli_refuses_bad_thresholds_and_classifiers(trained, tmp_path, capsys):
    assert main(["detect", str(trained.model_path), str(tmp_path), "--conf", "2"]) == 2
    assert "`--conf` must be a number in [0, 1]. Received: --conf=2.0" in capsys.readouterr().err


def test_evaluate_reports_map_and_draws_pr_curves(trained, voc_folder, tmp_path, capsys):
    assert (
        main(
            [
                "evaluate",
                str(trained.model_path),
                "--data",
                str(voc_folder),
                "--out",
                str(tmp_path),
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert 0 <= report["map50"] <= 1 and set(report["per_class_ap"]) <= {"ball", "box"}
    assert (tmp_path / "pr_curves.png").read_bytes()[:4] == b"\x89PNG"


def test_scenes_cli_writes_each_format(tmp_path, capsys):
    from convkit.detect.dataset import open_detection_dataset

    for fmt in ("voc", "yolo", "coco"):
        assert (
            main(
                [
                    "scenes",
                    str(tmp_path / fmt),
                    "--count",
                    "3",
                    "--format",
                    fmt,
                    "--size",
                    "48",
                    "--quiet",
                ]
            )
            == 0
        )
        assert len(open_detection_dataset(tmp_path / fmt)) == 3
    assert main(["scenes", str(tmp_path / "bad"), "--count", "2", "--classes", "9"]) == 2
    assert "--classes must be between 1 and 5" in capsys.readouterr().err


def test_transfer_copies_matching_backbone_and_freezes_it(tmp_path):
    import torch

    from convkit.classify.task import ClassifyTask
    from convkit.errors import ModelFileError
    from convkit.modelfile import save_model
    from convkit.nn import build
    from convkit.spec import NetSpec
    from convkit.train.transfer import FreezeCallback, layer_of, load_matching_weights

    classifier = build(NetSpec.from_yaml(TINY_CLASSIFIER))
    path = save_model(
        tmp_path / "cls.convkit", classifier, task=ClassifyTask(2), preprocessing={"kind": "image"}
    )
    detector = build(NetSpec.from_yaml(TINY_DETECTOR))
    copied = load_matching_weights(detector, path)
    assert len(copied) == 4 and {layer_of(name) for name in copied} == {"conv1", "conv2"}
    assert all(torch.equal(detector.state_dict()[n], classifier.state_dict()[n]) for n in copied)

    freeze = FreezeCallback(["conv1", "conv2"], unfreeze_epoch=2)
    trainer = type("FakeTrainer", (), {"net": detector})()
    freeze.on_epoch_start(trainer, 0)
    frozen = {n for n, p in detector.named_parameters() if not p.requires_grad}
    assert frozen == set(copied)
    freeze.on_epoch_start(trainer, 2)
    assert all(p.requires_grad for p in detector.parameters())

    other = NetSpec.from_yaml(
        TINY_DETECTOR.replace("filters: 8", "filters: 4").replace("filters: 16", "filters: 6")
    )
    with pytest.raises(ModelFileError, match="no layer matches"):
        load_matching_weights(build(other), path)


def test_predict_verb_shows_the_most_confident_objects(trained, voc_folder, capsys):
    image = str(voc_folder / "JPEGImages" / "img03.jpg")
    assert main(["predict", str(trained.model_path), image, "--json", "--top", "2"]) == 0
    prediction = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(prediction["top"]) <= 2 and isinstance(prediction["boxes"], list)
    if prediction["boxes"]:
        assert prediction["label"] == prediction["boxes"][0]["label"]


def test_train_init_from_a_classifier_keeps_frozen_layers_fixed(voc_folder, tmp_path):
    import torch

    from convkit import api
    from convkit.classify.task import ClassifyTask
    from convkit.modelfile import load_model, save_model
    from convkit.nn import build
    from convkit.spec import NetSpec

    classifier = build(NetSpec.from_yaml(TINY_CLASSIFIER))
    source = save_model(
        tmp_path / "cls.convkit", classifier, task=ClassifyTask(2), preprocessing={"kind": "image"}
    )
    (tmp_path / "det.yaml").write_text(TINY_DETECTOR)
    report = api.fit(
        str(tmp_path / "det.yaml"),
        voc_folder,
        run_dir=tmp_path / "run",
        epochs=1,
        batch_size=8,
        init_from=source,
        freeze_epochs=1,
        threads=1,
        progress=False,
    )
    trained = load_model(report.model_path).net.state_dict()
    frozen = classifier.state_dict()
    assert torch.equal(trained["layers.conv1.conv.weight"], frozen["layers.conv1.conv.weight"])
    # without freezing, the same copied layer does move: the check above can fail
    unfrozen = api.fit(
        str(tmp_path / "det.yaml"),
        voc_folder,
        run_dir=tmp_path / "run2",
        epochs=1,
        batch_size=8,
        init_from=source,
        freeze_epochs=0,
        threads=1,
        progress=False,
    )
    moved = load_model(unfrozen.model_path).net.state_dict()["layers.conv1.conv.weight"]
    assert not torch.equal(moved, frozen["layers.conv1.conv.weight"])


def test_voc_test_list_is_evaluated_after_training(voc_folder, tmp_path):
    """ImageSets/Main/{train,test}.txt: fit trains on one list and reports mAP on the other."""
    import shutil

    from convkit import api

    root = tmp_path / "voc"
    shutil.copytree(voc_folder, root)
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "test.txt").write_text(
        "".join(f"img{i:02d}\n" for i in range(18, 24))
    )
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_DETECTOR)
    fit = dict(epochs=1, batch_size=8, val_fraction=0.2, threads=1, progress=False)
    alone = api.fit(str(spec), root, run_dir=tmp_path / "no_train_list", **fit)
    assert alone.test is None  # test.txt without a training list: training saw those images

    (root / "ImageSets" / "Main" / "train.txt").write_text(
        "".join(f"img{i:02d}\n" for i in range(1, 18))
    )
    report = api.fit(str(spec), root, run_dir=tmp_path / "run", **fit)
    assert report.test is not None and 0 <= report.test["map50"] <= 1
    assert report.test["images"] == 6


def test_train_cli_reports_detection_test_split_in_its_terms(voc_folder, tmp_path, capsys):
    import shutil

    root = tmp_path / "voc"
    shutil.copytree(voc_folder, root)
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "trainval.txt").write_text(
        "".join(f"img{i:02d}\n" for i in range(1, 18))
    )
    (root / "ImageSets" / "Main" / "test.txt").write_text(
        "".join(f"img{i:02d}\n" for i in range(18, 24))
    )
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_DETECTOR)
    argv = ["train", str(spec), "--data", str(root), "--epochs", "1", "--batch-size", "8"]
    argv += ["--threads", "1", "--quiet", "--run-dir", str(tmp_path / "run")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "test:    mAP@0.5 " in out and "on 6 images" in out
