"""Merge vertices of the graph form: add (residual connections), multiply (squeeze-and-excitation
gates) and concat (inception)."""

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


def _is_gate(shape, target) -> bool:
    """A 1x1xC volume scales each of the C maps of an HxWxC volume (squeeze-and-excitation)."""
    return (
        isinstance(shape, Volume)
        and isinstance(target, Volume)
        and shape.height == shape.width == 1
        and shape.channels == target.channels
    )


def _multiply_shape(inputs, params):
    # The output has the shape of the largest input; the others must equal it or be
    # per-channel gates (1x1xC) that broadcast over its height and width.
    largest = max(inputs, key=lambda shape: shape.numel())
    for shape in inputs:
        if shape != largest and not _is_gate(shape, largest):
            listed = ", ".join(str(s) for s in inputs)
            raise ShapeError(
                f"multiply needs inputs of one shape, or 1x1xC gates for an HxWxC volume, but got "
                f"{listed}; give the gate as many channels as the volume it scales"
            )
    return largest


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
        name="multiply",
        params={},
        accepts=(Volume, Vector, Sequence),
        output_shape=_multiply_shape,
        count_flops=lambda inputs, output, params: (len(inputs) - 1) * output.numel(),
        receptive_field=_merged_field,
        explain=lambda inputs, output, params: (
            " x ".join(str(s) for s in inputs) + f" → multiplied element by element (1x1 gates "
            f"scale whole maps) → {output}"
        ),
        name_prefix="multiply",
        min_inputs=2,
        max_inputs=None,
        doc="Multiply inputs element by element; a 1x1xC input gates each channel (SE blocks).",
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
