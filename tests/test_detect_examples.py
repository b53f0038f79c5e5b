"""The shipped detector specs: yolo_kangaroo (from scratch) and yolo_mobilenet (a
MobileNetV2 backbone named as the zoo names it, so --init-from can fill it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from convkit.spec import load_spec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize(
    "name, grid, params",
    [("yolo_kangaroo.yaml", 8, 1_578_402), ("yolo_mobilenet.yaml", 8, 5_181_214)],
)
def test_detector_examples_build_and_leave_anchors_to_the_data(name, grid, params):
    import torch

    from convkit.nn import build
    from convkit.tasks import task_for_spec

    spec = load_spec(EXAMPLES / name)
    infos = spec.infer()
    assert infos[-1].output_shape.height == infos[-1].output_shape.width == grid
    assert sum(info.params for info in infos) == params
    assert spec.layers[-1].params["anchors"] == "auto"
    assert task_for_spec(spec, {}).anchors_to_find == spec.layers[-1].params["num_anchors"]
    net = build(spec).eval()
    assert sum(p.numel() for p in net.parameters()) == params
    with torch.no_grad():
        out = net(torch.zeros(1, 3, spec.input.height, spec.input.width))
    assert tuple(out.shape) == (1, infos[-1].output_shape.channels, grid, grid)


def test_mobilenet_backbone_follows_the_zoo_layout():
    """17 inverted residual blocks between stem and head, the names the zoo gives them."""
    spec = load_spec(EXAMPLES / "yolo_mobilenet.yaml")
    names = {layer.name for layer in spec.layers}
    assert {"stem_conv", "stem_bn", "head_conv", "head_bn", "block1_dw_conv"} <= names
    assert "block1_expand_conv" not in names  # expansion 1: no widening convolution
    assert {f"block{i}_project_conv" for i in range(1, 18)} <= names
    assert "block18_project_conv" not in names
    depthwise = [layer for layer in spec.layers if layer.name.endswith("_dw_conv")]
    assert all(layer.params["groups"] == layer.params["filters"] for layer in depthwise)
    adds = [layer.name for layer in spec.layers if layer.type == "add"]
    assert len(adds) == 10  # MobileNetV2's residual connections (stride 1, same width)


def test_pretrained_recipe_statistics_from_the_command_line():
    """`--data-option mean=imagenet,std=imagenet` (or 0.5/0.5/0.5) reaches the preprocessing."""
    from convkit.detect.preprocess import IMAGENET_STATS, DetectPreprocessing
    from convkit.errors import DataError

    pre = DetectPreprocessing(8, 8, 3, mean="imagenet", std="imagenet")
    assert pre.mean == IMAGENET_STATS["mean"] and pre.std == IMAGENET_STATS["std"]
    assert DetectPreprocessing(8, 8, 3, mean="0.5/0.4/0.3").mean == [0.5, 0.4, 0.3]
    assert DetectPreprocessing.from_dict(pre.to_dict()).std == pre.std
    with pytest.raises(DataError, match="one per channel"):
        DetectPreprocessing(8, 8, 1, mean="imagenet")
    with pytest.raises(DataError, match="imagenet"):
        DetectPreprocessing(8, 8, 3, std="wide")
