"""The ``yolo_output`` layer type: a YOLOv2-style detection head with anchors.

It is a 1x1 convolution from the last feature volume H x W x C to
H x W x A*(5+K): at every grid cell, for each of the A anchors, the box
offsets ``tx, ty, tw, th``, an objectness score and K class scores. The
output is raw; ``convkit.tasks.detect`` turns it into loss and boxes.
Anchors are (width, height) in grid cells, as in YOLOv2 and Deeplearning4j.
"""

from __future__ import annotations

from typing import Any

from convkit.spec.constraints import Constraint, Interval, Param
from convkit.spec.registry import LayerType, register_layer_type
from convkit.spec.shapes import Volume

# TinyYOLO's Pascal VOC anchors (grid cells of a 13x13 grid), the usual start.
TINY_YOLO_VOC_ANCHORS = ((1.08, 1.19), (3.42, 4.41), (6.63, 11.38), (9.42, 5.11), (16.62, 10.52))


def _is_positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


class AnchorList(Constraint):
    """A non-empty list of [width, height] pairs of positive numbers (grid cells)."""

    def accepts(self, value: Any) -> bool:
        return (
            isinstance(value, list | tuple)
            and len(value) > 0
            and all(
                isinstance(pair, list | tuple)
                and len(pair) == 2
                and all(map(_is_positive_number, pair))
                for pair in value
            )
        )

    def normalise(self, value: Any) -> tuple[tuple[float, float], ...]:
        return tuple((float(w), float(h)) for w, h in value)

    def describe(self) -> str:
        return "a list of [width, height] pairs of positive numbers (in grid cells)"


def _channels(params: dict) -> int:
    return len(params["anchors"]) * (5 + params["classes"])


def _explain(inputs, output, params) -> str:
    a, k = len(params["anchors"]), params["classes"]
    return (
        f"{inputs[0]} → 1x1 conv to {a} anchors x (4 box + 1 objectness + {k} classes) = "
        f"{a * (5 + k)} channels per cell of a {output.height}x{output.width} grid → {output}"
    )


register_layer_type(
    LayerType(
        name="yolo_output",
        params={
            "classes": Param([Interval(int, 1, None)], doc="number of object classes"),
            "anchors": Param(
                [AnchorList()],
                default=TINY_YOLO_VOC_ANCHORS,
                doc="[width, height] of each anchor box in grid cells",
            ),
        },
        accepts=(Volume,),
        output_shape=lambda inputs, p: Volume(inputs[0].height, inputs[0].width, _channels(p)),
        count_params=lambda inputs, output, p: (inputs[0].channels + 1) * _channels(p),
        count_flops=lambda inputs, output, p: 2 * inputs[0].channels * output.numel(),
        receptive_field=lambda field, params: field,  # a 1x1 convolution sees what its input saw
        explain=_explain,
        name_prefix="output",
        single_name=True,
        shorthand="classes",
        doc="YOLOv2 detection head: per grid cell and anchor, box offsets, objectness and class scores.",
    )
)
