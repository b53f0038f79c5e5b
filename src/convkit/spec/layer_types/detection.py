"""The ``yolo_output`` layer type: a YOLOv2-style detection head with anchors.

It is a 1x1 convolution from the last feature volume H x W x C to
H x W x A*(5+K): at every grid cell, for each of the A anchors, the box
offsets ``tx, ty, tw, th``, an objectness score and K class scores. The
output is raw; ``convkit.detect.task`` turns it into loss and boxes.
Anchors are (width, height) in grid cells, as in YOLOv2 and Deeplearning4j.
``anchors: auto`` leaves them to the training data: ``num_anchors`` shapes
found by k-means on IoU over the training boxes when training starts
(``convkit.detect.anchors``); the trained model file stores the ones found.
"""

from __future__ import annotations

from typing import Any

from convkit.errors import SpecError
from convkit.spec.constraints import Constraint, Interval, Options, Param
from convkit.spec.registry import LayerType, register_layer_type
from convkit.spec.shapes import Volume

# TinyYOLO's Pascal VOC anchors (grid cells of a 13x13 grid), the usual start.
TINY_YOLO_VOC_ANCHORS = ((1.08, 1.19), (3.42, 4.41), (6.63, 11.38), (9.42, 5.11), (16.62, 10.52))
AUTO = "auto"
DEFAULT_NUM_ANCHORS = 5  # YOLOv2's choice: k = 5 balances recall and head size (its Figure 2)


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


def anchor_count(params: dict) -> int:
    """How many anchors a yolo_output layer has: its list's length, or ``num_anchors`` if auto."""
    if params["anchors"] == AUTO:
        return int(params["num_anchors"] or DEFAULT_NUM_ANCHORS)
    return len(params["anchors"])


def _finalise(params: dict) -> dict:
    count = params.get("num_anchors")
    if params["anchors"] != AUTO and count is not None and count != len(params["anchors"]):
        raise SpecError(
            f"`num_anchors` is {count} but `anchors` lists {len(params['anchors'])}: "
            "give one of them, or `anchors: auto` with num_anchors"
        )
    return params


def _channels(params: dict) -> int:
    return anchor_count(params) * (5 + params["classes"])


def _explain(inputs, output, params) -> str:
    a, k = anchor_count(params), params["classes"]
    found = " (from the training boxes)" if params["anchors"] == AUTO else ""
    return (
        f"{inputs[0]} → 1x1 conv to {a} anchors{found} x (4 box + 1 objectness + {k} classes) = "
        f"{a * (5 + k)} channels per cell of a {output.height}x{output.width} grid → {output}"
    )


register_layer_type(
    LayerType(
        name="yolo_output",
        params={
            "classes": Param([Interval(int, 1, None)], doc="number of object classes"),
            "anchors": Param(
                [AnchorList(), Options({AUTO})],
                default=TINY_YOLO_VOC_ANCHORS,
                doc="[width, height] of each anchor box in grid cells, or 'auto': k-means on "
                "IoU over the training boxes (YOLOv2)",
            ),
            "num_anchors": Param(
                [Interval(int, 1, None)],
                default=None,
                doc=f"how many anchors `anchors: auto` finds (default {DEFAULT_NUM_ANCHORS})",
            ),
        },
        finalise=_finalise,
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
