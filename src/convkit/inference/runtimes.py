"""What runs the forward pass: eager PyTorch or ONNX Runtime on the exported graph.

Both take a prepared batch (N, C, H, W) float32 numpy array and return the
network's raw output: a torch tensor from torch, a numpy array from ONNX
Runtime (so a cached export runs without importing torch); every task's
decode takes either. ``auto`` picks ONNX Runtime (CPU, or CUDA's provider on
a GPU when installed) and falls back to torch with a one-line note when the
model does not export; Grad-CAM and feature maps always use the torch network.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from convkit.errors import ConvkitError, UsageError


class TorchRuntime:
    name = "torch"
    # Whether a forward pass should run beside the preparing of the next batch.
    # Not for eager torch on a CPU: its OpenMP threads spin after every op and
    # starve the preparing thread (LeNet on 2 cores: 7,100 img/s beside, 8,300 in turn).
    overlaps = False

    def __init__(self, net):
        self.net = net
        self.device = next(net.parameters()).device
        self.overlaps = self.device.type == "cuda"  # a GPU computes while the CPU prepares

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
    """ONNX Runtime on a convkit-exported graph (outputs: output, embedding).

    Two sessions on the same graph, each made at its first use, differ in one
    setting: whether idle worker threads spin. Spinning halves a small batch's
    latency (LeNet, one image, 2 threads: 68 us spinning, 147 us sleeping; 1
    thread 107 us), but between runs a spinning thread keeps the core that the
    caller needs to prepare the next batch (a stream of MNIST PNGs: 11,800
    img/s sleeping, 5,600-9,300 spinning). So a batch of at most
    ``SMALL_BATCH`` inputs (a request, one image) runs on the spinning
    session and full batches of a stream on the sleeping one.
    """

    name = "onnx"
    overlaps = True  # the stream's full batches run on threads that sleep when idle
    SMALL_BATCH = 8

    def __init__(self, path: Path, embedding_layer: str | None, fallback=None, cuda=False):
        import onnxruntime as ort

        self.path = Path(path)
        self.providers = ["CPUExecutionProvider"]
        if cuda and "CUDAExecutionProvider" in ort.get_available_providers():
            self.providers.insert(0, "CUDAExecutionProvider")
        self._sessions: dict[bool, object] = {}
        self._lock = threading.Lock()
        session = self.session_for(spinning=False)
        self.outputs = [item.name for item in session.get_outputs()]
        # An export without --dynamic-batch takes batch 1 only: feed it row by row.
        self.fixed_batch = session.get_inputs()[0].shape[0] == 1
        self.embedding_layer = embedding_layer
        self._fallback = fallback  # () -> TorchRuntime, for layers the graph does not output

    @property
    def session(self):
        """The session full batches run on (its providers are what `auto` chose)."""
        return self.session_for(spinning=False)

    def session_for(self, spinning: bool):
        with self._lock:
            if spinning not in self._sessions:
                self._sessions[spinning] = self._new_session(spinning)
            return self._sessions[spinning]

    def _new_session(self, spinning: bool):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = intra_op_threads()
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if spinning else "0"
        )
        return ort.InferenceSession(str(self.path), options, providers=self.providers)

    def _run(self, batch, names):
        import numpy as np

        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if self.fixed_batch and len(batch) != 1:
            session = self.session_for(spinning=True)  # back-to-back runs of one row
            rows = [session.run(names, {"input": batch[i : i + 1]}) for i in range(len(batch))]
            return [np.concatenate([row[k] for row in rows]) for k in range(len(names))]
        session = self.session_for(spinning=len(batch) <= self.SMALL_BATCH)
        return session.run(names, {"input": batch})

    def run(self, batch):
        return self._run(batch, ["output"])[0]

    def layer(self, batch, name: str):
        if name == self.embedding_layer and "embedding" in self.outputs:
            return self._run(batch, ["embedding"])[0]
        if self._fallback is None:
            raise UsageError(
                f"this ONNX graph outputs only the layer {self.embedding_layer!r}; "
                f"layer {name!r} needs the .convkit model file (or --runtime torch)"
            )
        return self._fallback().layer(batch, name)


def intra_op_threads() -> int:
    """As many threads as torch would use: under Spark that is the task's cores.

    Without importing torch when it is not loaded: OMP_NUM_THREADS if set,
    else the cores this process may run on (torch's own default).
    """
    if "torch" in sys.modules:
        return max(1, sys.modules["torch"].get_num_threads())
    setting = os.environ.get("OMP_NUM_THREADS", "")
    if setting.isdigit() and int(setting) > 0:
        return int(setting)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


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
    if choice == "torch":
        return TorchRuntime(model.net)
    cuda = str(model.device_name).startswith("cuda")
    if not onnxruntime_available():
        if choice == "onnx":
            raise UsageError("`--runtime onnx` needs onnxruntime: pip install 'convkit[onnx]'")
        return TorchRuntime(model.net)
    if choice == "auto" and cuda:
        import onnxruntime as ort

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            return TorchRuntime(model.net)  # on a GPU without ORT's CUDA provider, torch is faster
    from convkit.inference.onnx_cache import cached_graph

    torch_runtime: list = []  # built at most once, and only if a layer needs it

    def fallback():
        if not torch_runtime:
            torch_runtime.append(TorchRuntime(model.net))
        return torch_runtime[0]

    try:
        path = cached_graph(model.loaded)
        return OnnxRuntime(path, model.embedding_layer(), fallback=fallback, cuda=cuda)
    except ConvkitError as error:
        if choice == "onnx":
            raise
        note(f"running on torch: {str(error).splitlines()[0]}")
        return fallback()
