"""Shape inference: from the input volume, every layer's shapes, costs and receptive field."""

from __future__ import annotations

from dataclasses import dataclass

from convkit.errors import ShapeError, SpecError
from convkit.spec.registry import Field, LayerType, get_layer_type
from convkit.spec.shapes import Shape, Volume

START_FIELD: Field = (1, 1, 1, 1)  # one input pixel, neighbours one pixel apart


@dataclass(frozen=True)
class LayerInfo:
    """What shape inference knows about one layer (``index`` is its position in ``spec.layers``)."""

    index: int
    name: str
    type: str
    inputs: tuple[str, ...]
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    params: int  # trainable parameters
    flops: int  # forward FLOPs per image (a multiply-add counts 2)
    receptive_field: tuple[int, int] | None  # (height, width) in input pixels; None: all of it
    explanation: str = ""  # the arithmetic in words, for `convkit summary --explain`


def _where(index: int, spec_layer, input_shapes) -> str:
    listed = " + ".join(str(shape) for shape in input_shapes)
    word = "input" if len(input_shapes) == 1 else "inputs"
    return f"layer {index + 1} '{spec_layer.name}' ({spec_layer.type}, {word} {listed})"


def _check_kinds(layer_type: LayerType, spec_layer, input_shapes, where: str) -> None:
    for source, shape in zip(spec_layer.inputs, input_shapes, strict=True):
        if not isinstance(shape, layer_type.accepts):
            kinds = " or ".join(kind.kind for kind in layer_type.accepts)
            hint = ""
            if (
                isinstance(shape, Shape)
                and not isinstance(shape, Volume)
                and Volume in layer_type.accepts
            ):
                hint = "; spatial layers (convolution, pooling) must come before flattening ones"
            raise ShapeError(
                f"{where}: {layer_type.name} needs a {kinds}, but `{source}` gives "
                f"{shape.describe()}{hint}"
            )


def _merge_fields(fields: list[Field]) -> Field:
    if any(f is None for f in fields):
        return None
    return tuple(max(values) for values in zip(*fields, strict=True))


def _run_layer(index, spec_layer, shapes, fields) -> LayerInfo:
    layer_type = get_layer_type(spec_layer.type)
    input_shapes = tuple(shapes[source] for source in spec_layer.inputs)
    where = _where(index, spec_layer, input_shapes)
    _check_kinds(layer_type, spec_layer, input_shapes, where)
    params = spec_layer.params
    try:
        output = layer_type.output_shape(input_shapes, params)
    except ShapeError as error:
        raise ShapeError(f"{where}: {error}") from None
    if any(size < 1 for size in output.tensor_shape()):
        raise ShapeError(f"{where}: the output would be {output}; every size must be positive")
    field = layer_type.receptive_field(
        _merge_fields([fields[source] for source in spec_layer.inputs]), params
    )
    shapes[spec_layer.name] = output
    fields[spec_layer.name] = field
    explanation = layer_type.explain(input_shapes, output, params) if layer_type.explain else ""
    return LayerInfo(
        index=index,
        name=spec_layer.name,
        type=spec_layer.type,
        inputs=spec_layer.inputs,
        input_shapes=input_shapes,
        output_shape=output,
        params=int(layer_type.count_params(input_shapes, output, params)),
        flops=int(layer_type.count_flops(input_shapes, output, params)),
        receptive_field=None if field is None else (round(field[0]), round(field[1])),
        explanation=explanation or f"{' + '.join(map(str, input_shapes))} → {output}",
    )


def infer(spec) -> list[LayerInfo]:
    """LayerInfo for every layer of ``spec``, in the order of ``spec.layers``."""
    shapes: dict[str, Shape] = {"input": spec.input}
    fields: dict[str, Field] = {"input": START_FIELD}
    infos: list[LayerInfo | None] = [None] * len(spec.layers)
    for index in spec.order:
        infos[index] = _run_layer(index, spec.layers[index], shapes, fields)
    return infos


def shapes_so_far(volume: Volume, layers) -> dict[str, Shape]:
    """Best-effort shapes of already validated layers (for error messages only)."""
    shapes: dict[str, Shape] = {"input": volume}
    fields: dict[str, Field] = {"input": START_FIELD}
    for index, spec_layer in enumerate(layers):
        if not all(source in shapes for source in spec_layer.inputs):
            continue
        try:
            _run_layer(index, spec_layer, shapes, fields)
        except SpecError:
            break
    return shapes
