"""A loaded model seen from the outside: its layers, labels and input.

Every picture (feature maps, filters, Grad-CAM) and every server endpoint
starts from the same three questions — which layers can be drawn, what
does the network take as input, what are the class names — so they are
answered once, here, on top of ``convkit.modelfile.load_model``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convkit.errors import DataError, ModelFileError, UsageError

# Layer types whose maps the guide draws by default: the ones that slide
# filters (conv) or shrink the stack (pool).
_DEFAULT_KINDS = ("conv", "pool")


def is_volume(shape: Any) -> bool:
    """True for a spatial output (height x width x channels), False for a flat vector."""
    return all(hasattr(shape, name) for name in ("height", "width", "channels"))


def shape_text(shape: Any) -> str:
    """The guide's way of writing a volume, e.g. ``24x24x20``."""
    if is_volume(shape):
        return f"{shape.height}x{shape.width}x{shape.channels}"
    return str(shape)


@dataclass
class LayerView:
    """One layer as the pictures need it."""

    name: str
    type: str
    shape: Any  # a Volume or a Vector from convkit.spec

    @property
    def title(self) -> str:
        """Title for a picture, e.g. ``conv1 24x24x20``."""
        return f"{self.name} {shape_text(self.shape)}"

    @property
    def spatial(self) -> bool:
        return is_volume(self.shape)


@dataclass
class ModelView:
    """A model loaded once, with what pictures and the server ask of it."""

    net: Any  # convkit.nn.ConvNet, in eval mode
    task: Any = None
    preprocessing: Any = None  # an object with .load(path_or_bytes) -> (C, H, W) float32
    metadata: dict = field(default_factory=dict)
    source: str = ""

    engine: Any = None  # convkit.inference.InferenceModel: what /predict runs through
    _batcher: Any = field(default=None, repr=False)

    # -- loading ---------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path, runtime: str = "auto") -> ModelView:
        """Load a ``.convkit`` model file; a missing or foreign file is a ModelFileError.

        Predictions go through the shared engine (``runtime``: auto, onnx or
        torch); pictures (feature maps, filters, Grad-CAM) use its torch network.
        """
        from convkit.inference import open_model

        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"model file not found: {path} (train one with `convkit train`)")
        engine = open_model(path, runtime=runtime)
        view = cls(
            net=engine.require_net("feature maps and Grad-CAM"),
            task=engine.task,
            preprocessing=engine.preprocessing,
            metadata=dict(engine.metadata or {}),
            source=str(path),
            engine=engine,
        )
        view.net.eval()
        return view

    def batcher(self):
        """The engine behind a MicroBatcher: concurrent /predict calls share forward passes."""
        if self._batcher is None:
            from convkit.inference.batcher import MicroBatcher

            self._batcher = MicroBatcher(self.engine)
        return self._batcher

    # -- what the model is -------------------------------------------------
    @property
    def kind(self) -> str:
        """The task kind: "classify", "detect", "ocr" (classify when unknown)."""
        return getattr(self.task, "kind", None) or "classify"

    @property
    def input_kind(self) -> str:
        """The stored preprocessing's kind: "image", "audio", "textline" or "detect-letterbox"."""
        to_dict = getattr(self.preprocessing, "to_dict", None)
        if to_dict is not None:
            return str(to_dict().get("kind", "image"))
        return "image"

    @property
    def input_shape(self) -> Any:
        return self.net.spec.input

    @property
    def layers(self) -> list[LayerView]:
        return [LayerView(info.name, info.type, info.output_shape) for info in self.net.infos]

    @property
    def output_name(self) -> str:
        return self.net.infos[-1].name

    @property
    def labels(self) -> list[str]:
        """Class names, from the task; numbers when the task does not name them."""
        labels = getattr(self.task, "labels", None)
        if labels is None and hasattr(self.task, "to_dict"):
            task_dict = self.task.to_dict()
            labels = task_dict.get("labels") or task_dict.get("classes")
        if labels:
            return [str(label) for label in labels]
        last = self.net.infos[-1].output_shape
        units = getattr(last, "units", None) or 0
        return [str(i) for i in range(units)]

    def spatial_layers(self) -> list[LayerView]:
        return [layer for layer in self.layers if layer.spatial]

    def default_map_layers(self) -> list[LayerView]:
        """The conv and pool layers, in order (all spatial layers if none is called so)."""
        spatial = self.spatial_layers()
        chosen = [
            layer for layer in spatial if any(k in layer.type.lower() for k in _DEFAULT_KINDS)
        ]
        return chosen or spatial

    def last_conv_layer(self) -> LayerView:
        """The layer Grad-CAM reads by default: the last conv layer with a spatial output."""
        spatial = self.spatial_layers()
        convs = [layer for layer in spatial if "conv" in layer.type.lower()]
        if convs:
            return convs[-1]
        if spatial:
            return spatial[-1]
        raise UsageError("this network has no layer with a spatial output to draw")

    def resolve_layers(
        self, names: list[str] | None, *, spatial_only: bool = True
    ) -> list[LayerView]:
        """Look layer names up; an unknown or flat one is a UsageError listing valid names."""
        if not names:
            return self.default_map_layers()
        candidates = self.spatial_layers() if spatial_only else self.layers
        by_name = {layer.name: layer for layer in candidates}
        valid = ", ".join(by_name) or "(none)"
        chosen = []
        for name in names:
            if name not in by_name:
                flat = any(layer.name == name for layer in self.layers)
                why = "has a flat output, not maps" if flat else "is not a layer of this network"
                raise UsageError(f"layer {name!r} {why}; choose from: {valid}")
            chosen.append(by_name[name])
        return chosen

    # -- input -------------------------------------------------------------
    def prepare(self, source: str | Path | bytes) -> Any:
        """Decode and preprocess one input as the model was trained: (1, C, H, W) float32."""
        import numpy as np
        import torch

        if self.preprocessing is None:
            raise ModelFileError("this model file carries no preprocessing; re-save it")
        if isinstance(source, str | Path) and not Path(source).is_file():
            raise DataError(f"input file not found: {source}")
        array = np.asarray(self.preprocessing.load(source), dtype=np.float32)  # (C, H, W)
        expected = self.input_shape
        if is_volume(expected):
            want = (expected.channels, expected.height, expected.width)
            got = tuple(array.shape)
            free = set(self.task.dynamic_input_axes()) if self.task is not None else set()
            if 3 in free:  # e.g. text lines keep their own width
                got, want = got[:2], want[:2]
            if got != want:
                raise DataError(
                    f"input becomes {array.shape[1]}x{array.shape[2]}x{array.shape[0]} after "
                    f"preprocessing but the network takes {shape_text(expected)}"
                )
        return torch.from_numpy(np.ascontiguousarray(array)).unsqueeze(0)  # (1, C, H, W)

    @staticmethod
    def display_image(x: Any) -> Any:
        """The prepared input as an RGB picture (H, W, 3) uint8 — exactly what the network sees."""
        import numpy as np

        array = x.detach().float().cpu().numpy()[0]  # (C, H, W)
        if array.shape[0] not in (1, 3):
            array = array.mean(axis=0, keepdims=True)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) if high > low else np.zeros_like(array)
        image = (scaled * 255).round().astype(np.uint8).transpose(1, 2, 0)  # (H, W, C)
        if image.shape[2] == 1:
            image = np.repeat(image, 3, axis=2)
        return image

    # -- network -----------------------------------------------------------
    def layer_outputs(self, x: Any, names: list[str]) -> dict[str, Any]:
        """Each named layer's output for the batch x, without gradients."""
        import torch

        with torch.inference_mode():
            return self.net.forward_layers(x, list(names))

    def scores(self, x: Any) -> Any:
        """Raw output of the last layer (logits), (N, classes)."""
        import torch

        with torch.inference_mode():
            return self.net(x)

    def class_index(self, wanted: str | int | None, x: Any) -> int:
        """Resolve ``--class`` (a label or an index); None means the predicted class."""
        labels = self.labels
        if wanted is None:
            return int(self.scores(x)[0].argmax())
        text = str(wanted)
        if text in labels:
            return labels.index(text)
        if text.lstrip("-").isdigit() and 0 <= int(text) < len(labels):
            return int(text)
        shown = ", ".join(labels[:20]) + (" …" if len(labels) > 20 else "")
        raise UsageError(f"class {text!r} is neither a label nor an index; labels: {shown}")
