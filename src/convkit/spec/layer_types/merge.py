"""Merge vertices of the graph form: add (residual connections) and concat (inception)."""

from __future__ import annotations

from convkit.errors import ShapeError
from convkit.spec.registry import LayerType, register_layer_type
from convkit.spec.shapes import Sequence, Vector, Volume


def _add_shape(inputs, params):
    first = inputs[0]
    for shape in inputs[1:]:
        if shape != first:
            listed = ", ".join(str(s) for s in inputs)
            hint = ""
            if isinstance(first, Volume) and isinstance(shape, Volume):
                if first.channels != shape.channels:
                    hint = (
                        "; the channels differ: give the shortcut a 1x1 conv2d with as many filters"
                    )
                else:
                    hint = (
                        "; the sizes differ: give the shortcut a stride (or pooling) that matches"
                    )
            raise ShapeError(f"add needs inputs of one shape, but got {listed}{hint}")
    return first


def _concat_shape(inputs, params):
    first = inputs[0]
    if all(isinstance(s, Volume) for s in inputs):
        sizes = {(s.height, s.width) for s in inputs}
        if len(sizes) > 1:
            listed = ", ".join(str(s) for s in inputs)
            raise ShapeError(
                f"concat stacks volumes along the channels, so their height x width must match, "
                f"but got {listed}; pad, crop, or change a stride so they agree"
            )
        return Volume(first.height, first.width, sum(s.channels for s in inputs))
    if all(isinstance(s, Vector) for s in inputs):
        return Vector(sum(s.units for s in inputs))
    if all(isinstance(s, Sequence) for s in inputs):
        if len({s.steps for s in inputs}) > 1:
            raise ShapeError("concat needs sequences of one length: " + ", ".join(map(str, inputs)))
        return Sequence(first.steps, sum(s.features for s in inputs))
    kinds = ", ".join(s.describe() for s in inputs)
    raise ShapeError(f"concat needs inputs of one kind, but got {kinds}")


def _merged_field(field, params):
    return field  # the inference takes the largest field of the inputs first


register_layer_type(
    LayerType(
        name="add",
        params={},
        accepts=(Volume, Vector, Sequence),
        output_shape=_add_shape,
        count_flops=lambda inputs, output, params: (len(inputs) - 1) * output.numel(),
        receptive_field=_merged_field,
        explain=lambda inputs, output, params: (
            " + ".join(str(s) for s in inputs) + f" → summed element by element → {output}"
        ),
        name_prefix="add",
        min_inputs=2,
        max_inputs=None,
        doc="Sum inputs of one shape (residual connections).",
    )
)

register_layer_type(
    LayerType(
        name="concat",
        params={},
        accepts=(Volume, Vector, Sequence),
        output_shape=_concat_shape,
        count_flops=lambda inputs, output, params: 0,
        receptive_field=_merged_field,
        explain=lambda inputs, output, params: (
            " | ".join(str(s) for s in inputs) + f" → stacked along the channels → {output}"
        ),
        name_prefix="concat",
        min_inputs=2,
        max_inputs=None,
        doc="Stack inputs along the channels (volumes must share height x width).",
    )
)
