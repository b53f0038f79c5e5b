"""``InferenceModel``: a model loaded once, the only thing that turns inputs into predictions.

Every front end (``convkit.api``, the CLI verbs, the server, the Spark UDFs,
search) predicts and embeds through this class, so they cannot disagree.
How an input is prepared and how a batch is decoded belong to the task
(``Task.prepare_input`` / ``collate`` / ``decode``): the task records what the
preparation did to each item (letterbox and photo size for detection, true
width for a text line), and ``decode`` reads that record back, which is how
boxes land in the photo's own pixels and each text line is read over its own
width — whoever calls.

The runtime under it (eager PyTorch or ONNX Runtime) is chosen lazily, at the
first forward pass, so loading a model to draw its filters costs no export.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from convkit.errors import UsageError

RUNTIMES = ("auto", "onnx", "torch")
POOLINGS = ("avg", "flatten")


def resolve_device(device: str) -> str:
    """``auto`` -> cuda when visible, else cpu; anything else is checked and kept.

    (Its own few lines rather than convkit.train's choose_device: inference sits
    below viz and search, which train uses, so it must not import train.)
    """
    name = str(device or "cpu")
    if name == "cpu":  # the common case needs no torch (ONNX Runtime starts without it)
        return name
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"`--device {name}` asked for, but no CUDA GPU is visible; use cpu")
    try:
        return str(torch.device(name))
    except RuntimeError:
        raise UsageError(
            f"`--device` must be cpu, cuda, cuda:N or auto. Received: --device {device}"
        ) from None


def check_runtime(runtime: str) -> str:
    if runtime not in RUNTIMES:
        raise UsageError(
            f"`--runtime` must be one of {', '.join(RUNTIMES)}. Received: --runtime {runtime}"
        )
    return runtime


def open_model(
    path: str | Path, device: str = "cpu", runtime: str = "auto", model_class=None
) -> InferenceModel:
    """Load a ``.convkit`` model file (or an exported ``.onnx`` file) for inference.

    ``model_class`` lets ``convkit.api`` get its ``Model`` (this class plus evaluate).
    """
    model_class = model_class or InferenceModel
    check_runtime(runtime)
    if str(path).lower().endswith(".onnx"):
        from convkit.inference.onnx_bundle import load_onnx_bundle

        if runtime == "torch":
            raise UsageError(f"{path} is an ONNX graph; it runs with --runtime onnx (or auto)")
        bundle = load_onnx_bundle(path)
        return model_class(bundle, device="cpu", runtime="onnx", onnx_path=Path(path))
    from convkit.modelfile import load_model, open_model_file

    device = resolve_device(device)
    if runtime != "torch" and device == "cpu":  # torch is imported only if the network is needed
        return model_class(open_model_file(path, device), device=device, runtime=runtime)
    return model_class(load_model(path, device=device), device=device, runtime=runtime)


class InferenceModel:
    """A loaded model: predictions, embeddings, and the pieces pictures need (.net, .spec)."""

    def __init__(self, loaded, device: str = "cpu", runtime: str = "torch", onnx_path=None):
        from convkit.data import preprocessing_from_dict

        self.loaded = loaded
        self.spec = loaded.spec
        self.task = loaded.task
        self.path = Path(loaded.path)
        self.metadata = loaded.metadata
        self.preprocessing = preprocessing_from_dict(loaded.preprocessing)
        self.device_name = device
        self.runtime_choice = check_runtime(runtime)
        self._onnx_path = onnx_path
        self._runtime = None

    # -- what the model is ------------------------------------------------------------
    @property
    def net(self):
        """The torch network (built at first use; None for a bare .onnx file)."""
        return self.loaded.net

    @property
    def kind(self) -> str:
        return self.task.kind

    @property
    def labels(self) -> list[str]:
        return list(getattr(self.task, "labels", []) or [])

    @property
    def device(self):
        import torch

        if self.net is None:
            return torch.device("cpu")
        return next(self.net.parameters()).device

    @property
    def input_kind(self) -> str:
        """The stored preprocessing's kind: "image", "audio", "textline" or "detect-letterbox"."""
        return str(self.preprocessing.to_dict().get("kind", "image"))

    @property
    def runtime(self):
        """The runtime that runs forward passes (chosen at first use; see runtimes.py)."""
        if self._runtime is None:
            from convkit.inference.runtimes import choose_runtime

            self._runtime = choose_runtime(self, self.runtime_choice, self._onnx_path)
        return self._runtime

    def embedding_layer(self) -> str:
        """The default embedding: the features that feed the last layer."""
        layers = self.spec.layers
        return layers[-2].name if len(layers) > 1 else layers[-1].name

    # -- inputs -------------------------------------------------------------------------
    def prepare_with_info(self, item) -> tuple[Any, Any]:
        """One input (path, bytes or HxWxC array) -> ((C, H, W) float32, what was done to it)."""
        return self.task.prepare_input(self.preprocessing, item)

    def prepare(self, item):
        """One input -> (C, H, W) float32, ready to stack into a batch."""
        return self.prepare_with_info(item)[0]

    # -- forward passes -------------------------------------------------------------------
    def forward(self, arrays: list):
        """Raw network output for prepared (C, H, W) arrays: a numpy array from ONNX
        Runtime, a torch tensor from torch; every task's decode takes either."""
        return self.runtime.run(self.task.collate(arrays))

    def decode(self, output, infos: list, top_k: int = 5, **options) -> list[dict]:
        return self.task.decode(output, top_k=top_k, infos=infos, **options)

    def predict_prepared(self, prepared: list[tuple], top_k: int = 5, **options) -> list[dict]:
        """Predictions for ``[(array, info), …]`` in one forward pass."""
        if not prepared:
            return []
        output = self.forward([array for array, _ in prepared])
        return self.decode(output, [info for _, info in prepared], top_k=top_k, **options)

    def predict(self, inputs, top_k: int = 5, batch_size: int = 64, **options) -> list[dict]:
        """Predictions for each input; raises DataError on the first unreadable one."""
        inputs = list(inputs)
        results: list[dict] = []
        for start in range(0, len(inputs), batch_size):
            chunk = [self.prepare_with_info(item) for item in inputs[start : start + batch_size]]
            results += self.predict_prepared(chunk, top_k=top_k, **options)
        return results

    def predict_stream(
        self,
        items: Iterable,
        top_k: int = 5,
        batch_size: int = 64,
        progress: bool = False,
        workers: int | None = None,
        **options,
    ) -> Iterator[tuple[Any, dict | None, str | None]]:
        """Yield ``(item, prediction or None, error or None)`` in input order.

        Two things overlap (inference/stream.py): the forward pass of one
        batch runs in a thread while the next batch is read, decoded and
        prepared (ONNX Runtime, or torch on a GPU; eager torch on a CPU runs
        in turn), and on machines with more than two cores the preparing
        itself is spread over ``workers`` threads. An unreadable file yields
        its error and the stream goes on.
        """
        from convkit.inference.stream import batches_of, forward_ahead, prepared_stream

        batches = batches_of(prepared_stream(self, items, batch_size, workers), batch_size)
        overlap = self.runtime.overlaps
        with _progress(progress, items) as bar:
            for pending, output in forward_ahead(batches, self._forward_good, overlap):
                infos = [info for _, (_, info), error in _good(pending)]
                decoded = iter(self.decode(output, infos, top_k=top_k, **options) if infos else [])
                for item, _, error in pending:
                    yield item, (None if error is not None else next(decoded)), error
                bar.update(len(pending))

    def _forward_good(self, pending):
        good = [array for _, (array, _), _ in _good(pending)]
        return self.forward(good) if good else None

    # -- embeddings -------------------------------------------------------------------------
    def features(self, arrays: list, layer: str | None = None):
        """One layer's raw output (numpy array or torch tensor) for prepared arrays."""
        return self.runtime.layer(self.task.collate(arrays), layer or self.embedding_layer())

    def embed_arrays(
        self, arrays, layer: str | None = None, pooling: str = "avg", normalize: bool = True
    ):
        """(N, D) float32 embeddings of prepared (C, H, W) arrays (a list or an (N, C, H, W) stack).

        A spatial layer (N, C, H, W) is averaged over H and W (``avg``) or
        flattened (``flatten``); vectors are L2-normalised unless ``normalize=False``.
        """
        import numpy as np

        if pooling not in POOLINGS:
            raise UsageError(f"pooling must be avg or flatten. Received: pooling={pooling!r}")
        features = as_numpy(self.features(list(arrays), layer))
        if features.ndim == 4 and pooling == "avg":  # (N, C, H, W) -> (N, C)
            features = features.mean(axis=(2, 3), dtype=np.float32)
        features = features.reshape(len(features), -1)  # (N, D)
        if normalize:  # as torch.nn.functional.normalize: x / max(|x|, 1e-12)
            norms = np.linalg.norm(features, axis=1, keepdims=True)
            features = features / np.maximum(norms, 1e-12)
        return features.astype(np.float32)

    def embed(
        self,
        inputs,
        layer: str | None = None,
        batch_size: int = 64,
        normalize: bool = True,
        progress: bool = False,
        pooling: str = "avg",
    ):
        """(N, D) float32 embeddings of inputs, L2-normalised by default."""
        import numpy as np

        inputs = list(inputs)
        chunks = []
        starts = range(0, len(inputs), batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="embedding", unit="batch", file=sys.stderr)
        for start in starts:
            arrays = [self.prepare(item) for item in inputs[start : start + batch_size]]
            chunks.append(self.embed_arrays(arrays, layer, pooling, normalize))
        if not chunks:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(chunks)

    def require_net(self, what: str):
        """The torch network, for work that needs it (pictures, other layers)."""
        if self.net is None:
            raise UsageError(
                f"{self.path.name} is an exported ONNX graph; {what} needs the .convkit model file"
            )
        return self.net


def _good(pending):
    return [entry for entry in pending if entry[2] is None]


class _progress:
    """A tqdm bar on stderr counting images with their rate, or nothing."""

    def __init__(self, enabled: bool, items):
        self.enabled = enabled
        self.total = len(items) if hasattr(items, "__len__") else None
        self.bar = None

    def __enter__(self):
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, desc="predicting", unit="img", file=sys.stderr)
        return self

    def update(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False


def as_numpy(output):
    """A runtime's output (numpy array or torch tensor, any device) as float32 numpy."""
    import numpy as np

    if hasattr(output, "detach"):
        output = output.detach().float().cpu().numpy()
    return np.asarray(output, dtype=np.float32)
