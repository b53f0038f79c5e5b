"""What runs the forward pass: eager PyTorch or ONNX Runtime on the exported graph.

Both take a prepared batch (N, C, H, W) float32 numpy array and return the
network's raw output as a torch tensor, so the task's decode is the same code
whichever runs. ``auto`` picks ONNX Runtime (CPU, or CUDA's provider on a GPU
when installed) and falls back to torch with a one-line note when the model
does not export; Grad-CAM and feature maps always use the torch network.
"""

from __future__ import annotations

import sys
from pathlib import Path

from convkit.errors import ConvkitError, UsageError


class TorchRuntime:
    name = "torch"

    def __init__(self, net):
        self.net = net
        self.device = next(net.parameters()).device

    def _input(self, batch):
        import numpy as np
        import torch

        return torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)  # (N, C, H, W)

    def run(self, batch):
        import torch

        with torch.inference_mode():
            return self.net(self._input(batch))

    def layer(self, batch, name: str):
        import torch

        with torch.inference_mode():
            return self.net.forward_layers(self._input(batch), [name])[name]


class OnnxRuntime:
    """An ONNX Runtime session on a convkit-exported graph (outputs: output, embedding)."""

    name = "onnx"

    def __init__(self, path: Path, embedding_layer: str | None, fallback=None, cuda=False):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # As many threads as torch would use: under Spark that is the task's cores.
        options.intra_op_num_threads = _torch_threads()
        # Idle ORT threads must not spin: decode (torch) and the threads that decode
        # the next images run between two forward passes and would wait for the CPU.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = ["CPUExecutionProvider"]
        if cuda and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.path = Path(path)
        self.session = ort.InferenceSession(str(path), options, providers=providers)
        self.outputs = [item.name for item in self.session.get_outputs()]
        # An export without --dynamic-batch takes batch 1 only: feed it row by row.
        self.fixed_batch = self.session.get_inputs()[0].shape[0] == 1
        self.embedding_layer = embedding_layer
        self.fallback = fallback  # a TorchRuntime for layers the graph does not output

    def _run(self, batch, names):
        import numpy as np

        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if self.fixed_batch and len(batch) != 1:
            rows = [self.session.run(names, {"input": batch[i : i + 1]}) for i in range(len(batch))]
            return [np.concatenate([row[k] for row in rows]) for k in range(len(names))]
        return self.session.run(names, {"input": batch})

    def run(self, batch):
        import torch

        return torch.from_numpy(self._run(batch, ["output"])[0])

    def layer(self, batch, name: str):
        import torch

        if name == self.embedding_layer and "embedding" in self.outputs:
            return torch.from_numpy(self._run(batch, ["embedding"])[0])
        if self.fallback is None:
            raise UsageError(
                f"this ONNX graph outputs only the layer {self.embedding_layer!r}; "
                f"layer {name!r} needs the .convkit model file (or --runtime torch)"
            )
        return self.fallback.layer(batch, name)


def _torch_threads() -> int:
    import torch

    return max(1, torch.get_num_threads())


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def note(message: str) -> None:
    print(f"convkit: note: {message}", file=sys.stderr, flush=True)


def choose_runtime(model, choice: str, onnx_path: Path | None = None):
    """The runtime for ``model`` given ``--runtime`` (auto, onnx or torch)."""
    if onnx_path is not None:  # a bare .onnx file: nothing else can run it
        if not onnxruntime_available():
            raise UsageError("running an .onnx file needs onnxruntime: pip install 'convkit[onnx]'")
        return OnnxRuntime(onnx_path, model.metadata.get("embedding_layer"))
    torch_runtime = TorchRuntime(model.net)
    if choice == "torch":
        return torch_runtime
    cuda = torch_runtime.device.type == "cuda"
    if not onnxruntime_available():
        if choice == "onnx":
            raise UsageError("`--runtime onnx` needs onnxruntime: pip install 'convkit[onnx]'")
        return torch_runtime
    if choice == "auto" and cuda:
        import onnxruntime as ort

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            return torch_runtime  # on a GPU without ORT's CUDA provider, torch is the fast one
    from convkit.inference.onnx_cache import cached_graph

    try:
        path = cached_graph(model.loaded)
        return OnnxRuntime(path, model.embedding_layer(), fallback=torch_runtime, cuda=cuda)
    except ConvkitError as error:
        if choice == "onnx":
            raise
        note(f"running on torch: {str(error).splitlines()[0]}")
        return torch_runtime
