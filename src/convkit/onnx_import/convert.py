"""Walk an ONNX graph's nodes (stored in topological order) and write convkit layers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from convkit.errors import ModelFileError
from convkit.onnx_import.ops import OPS
from convkit.onnx_import.reading import OnnxGraph, read_onnx

RESERVED = {"input", "output"}


class Builder:
    """The spec being written: layers in graph form, their tensors, and ONNX name -> layer."""

    def __init__(self, onnx_graph: OnnxGraph):
        self.g = onnx_graph
        self.constants = onnx_graph.constants
        self.sources = {onnx_graph.input_name: "input"}  # ONNX tensor -> convkit layer
        self.layers: list[dict] = []
        self.by_name: dict[str, dict] = {}
        self.tensors: dict[str, np.ndarray] = {}  # state-dict key -> array
        self.outputs = {value.name for value in onnx_graph.graph.output}

    # -- used by the converters ------------------------------------------------------
    def refuse(self, node, why: str):
        where = node.name or f"#{list(self.g.graph.node).index(node)}"
        raise ModelFileError(f"{self.g.path}: node {where} ({node.op_type}): cannot import {why}")

    def is_constant(self, name: str) -> bool:
        return name in self.constants

    def constant(self, node, name: str, what: str) -> np.ndarray:
        if name not in self.constants:
            self.refuse(node, f"{what} computed while the graph runs (convkit needs them stored)")
        return np.asarray(self.constants[name])

    def shape(self, name: str) -> tuple:
        """Static (N, C, H, W) or (N, F) of a tensor: ONNX's inference, else convkit's own."""
        dims = self.g.shapes.get(name, ())
        if dims and all(dims[1:]):
            return dims
        if name not in self.sources:
            return ()
        from convkit.spec import NetSpec
        from convkit.spec.shapes import Volume

        channels, height, width = self.g.input_shape
        if self.sources[name] == "input":
            return (1, channels, height, width)
        spec = NetSpec.from_dict({"input": f"{height}x{width}x{channels}", "layers": self.layers})
        info = spec.infer()[spec.layer_names().index(self.sources[name])]
        volume = info.output_shape
        if isinstance(volume, Volume):
            return (1, volume.channels, volume.height, volume.width)
        return (1, volume.numel())

    def is_last(self, node) -> bool:
        return node.output[0] in self.outputs

    def alias(self, output: str, source: str) -> None:
        self.sources[output] = self._source(source)

    def layer(self, node, type_name: str, inputs, tensors: dict, **params) -> None:
        name = self._name(node)
        entry = {"type": type_name, "name": name, "inputs": [self._source(i, node) for i in inputs]}
        entry.update(params)
        self.layers.append(entry)
        self.by_name[name] = entry
        for key, value in tensors.items():
            self.tensors[f"layers.{name}.{key}"] = np.asarray(value)
        self.sources[node.output[0]] = name

    def fold_bias(self, node, source: str, bias: np.ndarray) -> bool:
        entry = self.by_name.get(self.sources.get(source, ""))
        if entry is None or entry["type"] != "dense" or entry["bias"]:
            return False
        units = entry["units"]
        if bias.size not in (1, units):
            return False
        entry["bias"] = True
        self.tensors[f"layers.{entry['name']}.linear.bias"] = np.broadcast_to(
            bias.reshape(-1), (units,)
        ).copy()
        self.sources[node.output[0]] = entry["name"]
        return True

    def mark_softmax(self, node) -> bool:
        entry = self.by_name.get(self.sources.get(node.input[0], ""))
        if entry is None or entry["type"] != "dense":
            return False
        self.sources[node.output[0]] = entry["name"]  # the output layer's softmax, at prediction
        return True

    # -- internals -------------------------------------------------------------------
    def _source(self, name: str, node=None) -> str:
        if name not in self.sources:
            if node is not None and name in self.constants:
                self.refuse(node, f"constant input {name!r} where convkit expects a volume")
            raise ModelFileError(f"{self.g.path}: tensor {name!r} is used before it is made")
        return self.sources[name]

    def _name(self, node) -> str:
        # torch names nodes by module path: "/layer1/layer1.0/conv1/Conv" -> layer1_0_conv1
        parts = [part for part in (node.name or "").split("/") if part]
        if parts and parts[-1].split("_")[0] == node.op_type:
            parts = parts[:-1]
        path = ""
        for part in parts:
            path = part if not path or part.startswith(path + ".") else f"{path}.{part}"
        base = re.sub(r"[^0-9A-Za-z_]", "_", path) if path else node.op_type.lower()
        base = base.strip("_") or node.op_type.lower()
        if base[0].isdigit() or base in RESERVED:
            base = f"{node.op_type.lower()}_{base}"
        name, count = base, 1
        while name in self.by_name:
            count += 1
            name = f"{base}_{count}"
        return name

    def finish(self):
        from convkit.spec import NetSpec

        if len(self.outputs) != 1:
            raise ModelFileError(f"{self.g.path}: convkit imports graphs with one output")
        (output,) = self.outputs
        last = self.by_name.get(self.sources.get(output, ""))
        if last is None or last["type"] != "dense" or self.layers[-1] is not last:
            kind = last["type"] if last else "its input"
            raise ModelFileError(
                f"{self.g.path}: the graph ends in {kind}; convkit imports classifiers that end "
                f"in Gemm or MatMul (optionally followed by Softmax)"
            )
        old = last["name"]
        last.update(type="output", name="output", classes=last.pop("units"))
        last.pop("activation")
        for key in [k for k in self.tensors if k.startswith(f"layers.{old}.")]:
            self.tensors["layers.output." + key[len(f"layers.{old}.") :]] = self.tensors.pop(key)
        channels, height, width = self.g.input_shape
        name = re.sub(r"[^0-9A-Za-z_]", "_", self.g.path.stem)
        return NetSpec.from_dict(
            {"name": name, "input": f"{height}x{width}x{channels}", "layers": self.layers}
        )


def fold_constant(node, constants: dict) -> bool:
    """Evaluate ``node`` now when all its inputs are stored constants (ONNX's reference ops)."""
    inputs = [name for name in node.input if name]
    if not inputs or not all(name in constants for name in inputs):
        return False
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    values = [helper.make_tensor_value_info(name, 0, None) for name in inputs]
    results = [helper.make_tensor_value_info(name, 0, None) for name in node.output]
    graph = helper.make_graph([node], "fold", values, results)
    try:
        outputs = ReferenceEvaluator(helper.make_model(graph)).run(
            None, {name: constants[name] for name in inputs}
        )
    except Exception:  # noqa: BLE001 - not foldable: the op table then refuses it by name
        return False
    constants.update(zip(node.output, (np.asarray(v) for v in outputs), strict=True))
    return True


def import_onnx(path: str | Path):
    """(NetSpec, state dict of torch tensors) for the ONNX classifier at ``path``."""
    import torch

    graph = read_onnx(path)
    builder = Builder(graph)
    for node in graph.graph.node:
        if node.op_type == "Constant":
            continue  # read_onnx holds its value
        if fold_constant(node, graph.constants):
            continue  # e.g. the shape arithmetic exporters write for a Pad
        converter = OPS.get(node.op_type)
        if converter is None:
            builder.refuse(node, f"op {node.op_type}; convkit maps {', '.join(sorted(OPS))}")
        converter(builder, node)
    spec = builder.finish()
    state = {key: torch.from_numpy(np.array(value)) for key, value in builder.tensors.items()}
    return spec, state


def build_imported(path: str | Path):
    """The ConvNet of the ONNX file at ``path`` with its weights, in eval mode."""
    from convkit.nn import build

    spec, state = import_onnx(path)
    net = build(spec)
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    if missing:  # only batch-norm counters may be absent; anything else is a converter bug
        raise RuntimeError(f"converted graph lacks tensors {missing[:5]}")
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise ModelFileError(
                f"{path}: tensor {key} is {tuple(tensor.shape)}, the layer needs "
                f"{tuple(expected[key].shape)}"
            )
    net.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)
    return net.eval()


def write_model(
    path: str | Path, out: str | Path | None = None, labels=None, imagenet=False
) -> Path:
    """Import ``path`` and write a model file (default: beside it, ``.convkit``)."""
    from convkit.classify.task import ClassifyTask
    from convkit.data import Preprocessing
    from convkit.modelfile import save_model

    path = Path(path)
    net = build_imported(path)
    spec = net.spec
    classes = spec.layers[-1].params["classes"]
    if labels is not None and len(labels) != classes:
        raise ModelFileError(f"{len(labels)} labels given, but the graph has {classes} outputs")
    if spec.input.channels not in (1, 3):
        raise ModelFileError(
            f"{path}: the input has {spec.input.channels} channels; convkit reads 1 or 3"
        )
    if imagenet:
        from convkit.weights.importer import imagenet_preprocessing

        preprocessing = imagenet_preprocessing(spec)
    else:
        preprocessing = Preprocessing.for_spec(spec).to_dict()
    out = Path(out) if out else path.with_suffix(".convkit")
    task = ClassifyTask(num_classes=classes, labels=labels, input_channels=spec.input.channels)
    save_model(
        out, net, task=task, preprocessing=preprocessing, metadata={"imported_from": path.name}
    )
    return out
