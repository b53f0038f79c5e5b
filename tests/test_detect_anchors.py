"""Anchors from the training boxes: k-means on IoU (YOLOv2), `anchors: auto` in the
spec or `--anchors auto`, stored in the model file so prediction uses the same ones."""

from __future__ import annotations

import numpy as np
import pytest

from convkit.detect.anchors import kmeans_anchors, shape_iou
from convkit.errors import DataError, SpecError, UsageError
from convkit.spec import NetSpec

AUTO_SPEC = """
name: auto_detector
input: 32x32x3
layers:
  - conv2d: {filters: 8, kernel: 3, padding: same}
  - max_pool: {kernel: 2}
  - conv2d: {filters: 8, kernel: 3, padding: same}
  - max_pool: {kernel: 2}
  - yolo_output: {classes: 2, anchors: auto, num_anchors: 2}
"""


def test_kmeans_finds_the_shapes_of_two_clusters():
    rng = np.random.default_rng(0)
    thin = np.stack([rng.normal(1.0, 0.05, 40), rng.normal(4.0, 0.1, 40)], 1)  # tall boxes
    wide = np.stack([rng.normal(6.0, 0.1, 60), rng.normal(2.0, 0.05, 60)], 1)  # wide boxes
    anchors, mean_iou = kmeans_anchors(np.concatenate([thin, wide]), 2, seed=3)
    np.testing.assert_allclose(anchors, [[1.0, 4.0], [6.0, 2.0]], atol=0.1)  # smallest first
    assert mean_iou > 0.9
    # the IoU distance treats scale fairly: the same shape at another size is far away
    assert shape_iou(np.array([[1.0, 1.0]]), np.array([[2.0, 2.0]]))[0, 0] == pytest.approx(0.25)


def test_kmeans_is_deterministic_and_handles_few_shapes():
    sizes = np.random.default_rng(1).uniform(0.5, 5, (200, 2))
    a, _ = kmeans_anchors(sizes, 5, seed=0)
    b, _ = kmeans_anchors(sizes, 5, seed=0)
    np.testing.assert_array_equal(a, b)
    few, iou = kmeans_anchors(np.array([[2.0, 3.0], [2.0, 3.0]]), 3)
    assert few.shape == (3, 2) and iou == pytest.approx(1.0)
    with pytest.raises(DataError, match="no boxes"):
        kmeans_anchors(np.zeros((0, 2)), 3)


def test_auto_anchors_in_the_spec():
    spec = NetSpec.from_yaml(AUTO_SPEC)
    info = spec.infer()[-1]
    assert info.output_shape.channels == 2 * (5 + 2)
    assert NetSpec.from_dict(spec.to_dict()) == spec  # `auto` round-trips
    default = NetSpec.from_yaml(AUTO_SPEC.replace(", num_anchors: 2", ""))
    assert default.infer()[-1].output_shape.channels == 5 * (5 + 2)
    with pytest.raises(SpecError, match="num_anchors"):
        NetSpec.from_yaml(AUTO_SPEC.replace("anchors: auto", "anchors: [[1, 1]]"))
    with pytest.raises(SpecError, match="auto"):
        NetSpec.from_yaml(AUTO_SPEC.replace("anchors: auto", "anchors: often"))


def _voc(root, count=12):
    import cv2

    (root / "images").mkdir(parents=True)
    (root / "annots").mkdir()
    for i in range(count):
        image = np.full((32, 64, 3), 30, np.uint8)  # 64x32: letterboxed by 1/2 into 32x32
        w, h = (40, 8) if i % 2 else (8, 24)
        cv2.rectangle(image, (4, 4), (4 + w - 1, 4 + h - 1), (200, 200, 0), -1)
        cv2.imwrite(str(root / "images" / f"{i:02d}.png"), image)
        name = "bar" if i % 2 else "post"
        (root / "annots" / f"{i:02d}.xml").write_text(
            f"<annotation><object><name>{name}</name><bndbox><xmin>5</xmin><ymin>5</ymin>"
            f"<xmax>{4 + w}</xmax><ymax>{4 + h}</ymax></bndbox></object></annotation>"
        )
    return root


def test_anchors_found_at_training_time_travel_in_the_model_file(tmp_path):
    from convkit import api
    from convkit.tasks import task_for_spec

    data = _voc(tmp_path / "data")
    spec = NetSpec.from_yaml(AUTO_SPEC)
    task = task_for_spec(spec, {})
    assert task.anchors is None and task.anchors_to_find == 2
    task.open_data(str(data))
    # boxes 40x8 and 8x24 pixels of a 64-wide photo -> 20x4 and 4x12 input pixels -> /4 (stride 4) cells
    np.testing.assert_allclose(sorted(map(tuple, task.anchors)), [(1.0, 3.0), (5.0, 1.0)])
    report = api.fit(
        spec,
        data,
        run_dir=tmp_path / "run",
        epochs=1,
        batch_size=6,
        val_fraction=0.2,
        threads=1,
        progress=False,
        options={"mosaic": 0.5, "hsv": "0.015,0.7,0.4"},
    )
    model = api.load(report.model_path)
    np.testing.assert_allclose(sorted(map(tuple, model.task.anchors)), [(1.0, 3.0), (5.0, 1.0)])
    assert model.spec.layers[-1].params["anchors"] == "auto"
    assert len(api.predict(report.model_path, [str(data / "images" / "00.png")])) == 1


def test_anchors_option_overrides_a_listed_spec_and_refuses_nonsense():
    from convkit.tasks import task_for_spec

    listed = NetSpec.from_yaml(
        AUTO_SPEC.replace("anchors: auto, num_anchors: 2", "anchors: [[1, 1]]")
    )
    assert task_for_spec(listed, {}).anchors_to_find == 0
    assert task_for_spec(listed, {"anchors": "auto"}).anchors_to_find == 1
    with pytest.raises(UsageError, match="auto or spec"):
        task_for_spec(listed, {"anchors": "kmeans"})
    with pytest.raises(UsageError, match="anchors: auto"):
        task_for_spec(NetSpec.from_yaml(AUTO_SPEC), {"anchors": "spec"})


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--hsv", "0.5"], "three gains"),
        (["--mosaic", "2"], "mosaic"),
        (["--anchors", "spec"], "anchors: auto"),
    ],
)
def test_train_cli_detection_flags_refuse_bad_values_in_one_line(tmp_path, capsys, flags, message):
    from convkit.cli import main

    data = _voc(tmp_path / "data", count=2)
    spec = tmp_path / "auto.yaml"
    spec.write_text(AUTO_SPEC)
    code = main(
        [
            "train",
            str(spec),
            "--data",
            str(data),
            "--run-dir",
            str(tmp_path / "run"),
            "--quiet",
            *flags,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("convkit: error:") and message in err
    assert len(err.strip().splitlines()) == 1
