"""yolo_output in a spec: shape rule, parameter count, build, task mapping, model file."""

from __future__ import annotations

import pytest

from convkit.errors import SpecError
from convkit.spec import NetSpec

TINY = """
name: tiny_detector
input: 32x32x3
layers:
  - conv2d: {filters: 8, kernel: 3, padding: same}
  - max_pool: {kernel: 2}
  - conv2d: {filters: 16, kernel: 3, padding: same}
  - max_pool: {kernel: 2}
  - yolo_output: {classes: 3, anchors: [[1, 1], [2.5, 2]]}
"""


def test_shape_rule_and_parameter_count_match_the_built_module():
    from convkit.nn import build

    spec = NetSpec.from_yaml(TINY)
    info = spec.infer()[-1]
    assert (info.output_shape.height, info.output_shape.width, info.output_shape.channels) == (
        8,
        8,
        2 * (5 + 3),
    )
    assert info.params == (16 + 1) * 16
    net = build(spec)
    assert sum(p.numel() for p in net.layers["output"].parameters()) == info.params
    import torch

    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 16, 8, 8)


def test_spec_round_trips_and_defaults_to_tinyyolo_anchors():
    spec = NetSpec.from_yaml(TINY)
    assert NetSpec.from_yaml(spec.to_yaml()) == spec
    default = NetSpec.from_yaml(TINY.replace(", anchors: [[1, 1], [2.5, 2]]", ""))
    assert len(default.layers[-1].params["anchors"]) == 5


@pytest.mark.parametrize("anchors", ["[[1, 0]]", "[]", "[[1, 2, 3]]", "3"])
def test_bad_anchors_are_refused_with_the_expected_form(anchors):
    with pytest.raises(SpecError, match=r"\[width, height\] pairs of positive numbers"):
        NetSpec.from_yaml(TINY.replace("[[1, 1], [2.5, 2]]", anchors)).infer()


def test_task_for_a_yolo_output_spec_is_detection_and_round_trips():
    from convkit.detect.task import DetectTask
    from convkit.tasks import task_for_spec, task_from_dict

    task = task_for_spec(NetSpec.from_yaml(TINY))
    assert isinstance(task, DetectTask) and task.monitor == "map50"
    assert task.stride == (4.0, 4.0) and task.anchors == [[1.0, 1.0], [2.5, 2.0]]
    task.labels = ["a", "b", "c"]
    again = task_from_dict(task.to_dict())
    assert again.to_dict() == task.to_dict()


def test_yolo_output_needs_a_volume():
    with pytest.raises(SpecError):
        NetSpec.from_yaml(
            TINY.replace("  - yolo_output", "  - dense: {units: 10}\n  - yolo_output")
        ).infer()
