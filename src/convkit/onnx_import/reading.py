"""Load an ONNX file and describe it: static shapes, constants, the one image input."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convkit.errors import ModelFileError


@dataclass
class OnnxGraph:
    path: Path
    graph: object  # onnx GraphProto, with inferred shapes
    input_name: str
    input_shape: tuple[int, int, int]  # channels, height, width
    constants: dict[str, np.ndarray] = field(default_factory=dict)  # initializers, Constant nodes
    shapes: dict[str, tuple] = field(default_factory=dict)  # tensor -> static dims (None unknown)


def _dims(value_info) -> tuple:
    tensor = value_info.type.tensor_type
    if not tensor.HasField("shape"):
        return ()
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)


def read_onnx(path: str | Path) -> OnnxGraph:
    import onnx
    from onnx import numpy_helper

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"ONNX file not found: {path}")
    try:
        model = onnx.load(str(path))
    except Exception as error:  # protobuf raises its own DecodeError kinds
        raise ModelFileError(f"{path}: not a readable ONNX file ({str(error)[:160]})") from None
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: S110 - shapes are a help, the converters check what they need
        pass
    graph = model.graph
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for attribute in node.attribute:
                if attribute.name == "value":
                    constants[node.output[0]] = numpy_helper.to_array(attribute.t)
    inputs = [value for value in graph.input if value.name not in constants]
    if len(inputs) != 1:
        names = ", ".join(value.name for value in inputs)
        raise ModelFileError(f"{path}: convkit imports graphs with one image input, not {names}")
    dims = _dims(inputs[0])
    if len(dims) != 4:
        raise ModelFileError(
            f"{path}: input {inputs[0].name!r} has shape {list(dims)}; convkit needs (N, C, H, W)"
        )
    channels, height, width = dims[1:]
    if not height or not width or not channels:
        raise ModelFileError(
            f"{path}: input {inputs[0].name!r} has dynamic spatial shapes "
            f"(N, {channels or 'C'}, {height or 'H'}, {width or 'W'}); re-export it with a fixed "
            f"height and width (e.g. torch.onnx.export without dynamic_axes on H and W)"
        )
    shapes = {}
    for value in list(graph.value_info) + list(graph.output) + list(graph.input):
        shapes[value.name] = _dims(value)
    return OnnxGraph(path, graph, inputs[0].name, (channels, height, width), constants, shapes)
