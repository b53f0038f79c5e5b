"""Export a loaded model to ONNX, check it against PyTorch, and carry what serving needs.

The graph has one input ``input`` (N, C, H, W) and two outputs: ``output``
(the last layer's raw scores, as ``ConvNet.forward``) and ``embedding`` (the
layer before it, the default embedding), so the exported file alone can
predict and build search indexes. The model's spec, task, preprocessing and
labels travel in the ONNX metadata under ``convkit``, with a SHA-256 of the
graph (``convkit.graph_sha256``) that every reader checks: an edited file is
refused, never trusted.

Before anything is written the graph runs in ONNX Runtime on sample inputs;
a file whose outputs differ from PyTorch by more than ``atol + rtol * max|y|``
is not written (the largest difference is reported either way).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

from convkit.errors import ConvkitError

DEFAULT_OPSET = 17
ATOL = 1e-4
RTOL = 1e-3
#: bumped when the exported graph's layout changes, so old cache entries are not reused
EXPORT_FORMAT = 1
METADATA_KEY = "convkit"
DIGEST_KEY = "convkit.graph_sha256"


class ExportError(ConvkitError):
    """The model cannot be exported, or its export does not match PyTorch."""


@dataclass
class ExportReport:
    path: Path
    max_diff: float
    tolerance: float
    opset: int
    checked_shapes: list


def graph_digest(model) -> str:
    """SHA-256 of the graph (nodes and weights), excluding the metadata that holds it."""
    return hashlib.sha256(model.graph.SerializeToString(deterministic=True)).hexdigest()


class _Exported:
    """Builds the torch module that ONNX traces: input -> (output, embedding)."""

    @staticmethod
    def module(net, embedding_layer: str):
        from torch import nn

        last = net.spec.layers[-1].name

        class WithEmbedding(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = net

            def forward(self, x):  # (N, C, H, W)
                found = self.net.forward_layers(x, [embedding_layer, last])
                return found[last], found[embedding_layer]

        return WithEmbedding().eval()


def sample_inputs(spec, task, batch: int) -> list:
    """Deterministic (batch, C, H, W) float32 inputs at each size the task must accept."""
    import torch

    generator = torch.Generator().manual_seed(0)
    channels = spec.input.channels
    return [
        torch.randn(batch, channels, height, width, generator=generator)
        for height, width in task.export_input_sizes(spec)
    ]


def export_bytes(
    net, task, embedding_layer: str, opset: int = DEFAULT_OPSET, dynamic_batch: bool = True
) -> bytes:
    """The ONNX bytes of ``net`` (raises ExportError naming the layer that cannot export)."""
    import torch

    module = _Exported.module(net, embedding_layer)
    example = sample_inputs(net.spec, task, 2 if dynamic_batch else 1)[0]
    axes = dict(task.dynamic_input_axes())
    if dynamic_batch:
        axes[0] = "batch"
    dynamic = {"input": axes}
    if dynamic_batch:
        dynamic.update({"output": {0: "batch"}, "embedding": {0: "batch"}})
    buffer = io.BytesIO()
    try:
        # The exporter warns about things that do not apply here (e.g. the LSTM's
        # batch-size note: its states start at zero, so any batch size runs; the
        # self-check runs batch 2 and the runtime tests other sizes).
        with _quiet_exporter(), torch.no_grad():
            torch.onnx.export(
                module,
                (example,),
                buffer,
                dynamo=False,
                opset_version=opset,
                input_names=["input"],
                output_names=["output", "embedding"],
                dynamic_axes=dynamic or None,
                do_constant_folding=True,
            )
    except Exception as error:  # torch raises many kinds; the layer probe names the culprit
        raise ExportError(_explain_failure(net, example, opset, error)) from None
    return buffer.getvalue()


@contextlib.contextmanager
def _quiet_exporter():
    """Silence the exporter's own prints and warnings; failures are reported as one line."""
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        yield


def _explain_failure(net, example, opset: int, error: Exception) -> str:
    """Which layer cannot be exported, found by exporting each layer on its own input."""
    import torch

    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    inputs: dict[str, tuple] = {}

    def keeper(name):
        def keep(module, args, output) -> None:  # None: the hook must not replace the output
            inputs.setdefault(name, args)

        return keep

    hooks = [net.layers[name].register_forward_hook(keeper(name)) for name in net.layers]
    try:
        with torch.no_grad():
            net(example)
    finally:
        for hook in hooks:
            hook.remove()
    for info in net.infos:
        args = inputs.get(info.name)
        if args is None:
            continue
        try:
            with _quiet_exporter(), torch.no_grad():
                torch.onnx.export(
                    net.layers[info.name], args, io.BytesIO(), dynamo=False, opset_version=opset
                )
        except Exception as layer_error:
            why = str(layer_error).strip().splitlines()[0] or type(layer_error).__name__
            return (
                f"layer {info.name} ({info.type}) cannot be exported to ONNX opset {opset}: {why}"
            )
    return f"the network cannot be exported to ONNX opset {opset}: {reason}"


def check_against_torch(data: bytes, net, task, embedding_layer: str, dynamic_batch: bool):
    """(max |onnx - torch|, its tolerance, input shapes checked); the first miss wins."""
    import numpy as np
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    module = _Exported.module(net, embedding_layer)
    worst, tolerance, beyond, shapes = 0.0, ATOL, None, []
    for x in sample_inputs(net.spec, task, 2 if dynamic_batch else 1):
        with torch.inference_mode():
            expected = [t.float().cpu().numpy() for t in module(x.to(_device(net)))]
        got = session.run(["output", "embedding"], {"input": x.numpy()})
        for want, have in zip(expected, got, strict=True):
            if want.shape != have.shape:
                raise ExportError(
                    f"the exported graph gives shape {have.shape} where PyTorch gives {want.shape}"
                )
            diff = float(np.abs(want - have).max()) if want.size else 0.0
            bound = ATOL + RTOL * (float(np.abs(want).max()) if want.size else 0.0)
            if diff > bound and beyond is None:
                beyond = (diff, bound)
            if diff >= worst:
                worst, tolerance = diff, bound
        shapes.append(tuple(x.shape))
    if beyond is not None:
        worst, tolerance = beyond
    return worst, tolerance, shapes


def _device(net):
    return next(net.parameters()).device


def export_onnx(
    loaded,
    out: str | Path,
    opset: int = DEFAULT_OPSET,
    dynamic_batch: bool = True,
) -> ExportReport:
    """Export a loaded ``.convkit`` model to ``out``; refuses to write an export that differs."""
    import onnx

    from convkit.modelfile import atomic_write_bytes

    if not 9 <= opset <= 21:
        raise ExportError(f"`--opset` must be between 9 and 21. Received: --opset {opset}")
    net = loaded.net.float().eval()
    embedding_layer = _embedding_layer(loaded.spec)
    data = export_bytes(net, loaded.task, embedding_layer, opset, dynamic_batch)
    max_diff, tolerance, shapes = check_against_torch(
        data, net, loaded.task, embedding_layer, dynamic_batch
    )
    if max_diff > tolerance:
        raise ExportError(
            f"the exported graph differs from PyTorch by up to {max_diff:.3g} (tolerance "
            f"{tolerance:.3g}); not written"
        )
    model = onnx.load_from_string(data)
    document = {
        "format": EXPORT_FORMAT,
        "spec": loaded.spec.to_dict(),
        "task": loaded.task.to_dict(),
        "preprocessing": loaded.preprocessing,
        "labels": list(getattr(loaded.task, "labels", []) or []),
        "kind": loaded.task.kind,
        "metadata": loaded.metadata,
        "weights_sha256": loaded.weights_sha256,
        "embedding_layer": embedding_layer,
        "opset": opset,
        "dynamic_batch": dynamic_batch,
    }
    props = {METADATA_KEY: json.dumps(document, default=str), DIGEST_KEY: graph_digest(model)}
    onnx.helper.set_model_props(model, props)
    model.producer_name = "convkit"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, model.SerializeToString())
    return ExportReport(out, max_diff, tolerance, opset, shapes)


def _embedding_layer(spec) -> str:
    return spec.layers[-2].name if len(spec.layers) > 1 else spec.layers[-1].name
