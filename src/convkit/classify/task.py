"""Classification: name what is in an image (or a spectrogram).

The network ends in an ``output`` layer with one node per label. Training uses
cross-entropy on the raw scores (optionally with label smoothing and class
weights); prediction applies the declared output activation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from convkit.data.suffixes import AUDIO_SUFFIXES
from convkit.errors import DataError, SpecError
from convkit.tasks.base import Metrics, Task


class ClassifyMetrics(Metrics):
    """Loss, accuracy and top-5 from a confusion matrix kept on the device."""

    def __init__(self, num_classes: int):
        self.num_classes = num_classes
        self.confusion = None  # (K, K) int64, rows = true class, columns = predicted
        self.loss_sum = None
        self.count = 0
        self.top5_correct = None

    def update(self, output, targets, loss) -> None:
        import torch

        k = self.num_classes
        if self.confusion is None:
            self.confusion = torch.zeros(k * k, dtype=torch.int64, device=output.device)
            self.loss_sum = torch.zeros((), dtype=torch.float64, device=output.device)
            self.top5_correct = torch.zeros((), dtype=torch.int64, device=output.device)
        output = output.detach()
        predicted = output.argmax(dim=1)
        self.confusion += torch.bincount(targets * k + predicted, minlength=k * k)
        if loss is not None:
            self.loss_sum += loss.detach().double() * targets.numel()
        if k > 5:
            top5 = output.topk(5, dim=1).indices  # (N, 5)
            self.top5_correct += (top5 == targets[:, None]).any(dim=1).sum()
        self.count += targets.numel()

    def state_tensors(self) -> list:
        return [self.confusion, self.loss_sum, self.top5_correct]

    def confusion_matrix(self):
        """The (K, K) confusion matrix as a numpy array (rows: true labels)."""
        import numpy as np

        if self.confusion is None:
            return np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
        return self.confusion.view(self.num_classes, self.num_classes).cpu().numpy()

    def compute(self) -> dict[str, float]:
        if self.confusion is None:
            return {}
        confusion = self.confusion_matrix()
        total = int(confusion.sum())
        result = {
            "loss": float(self.loss_sum.item()) / max(total, 1),
            "accuracy": float(confusion.trace()) / max(total, 1),
        }
        if self.num_classes > 5:
            result["top5"] = float(self.top5_correct.item()) / max(total, 1)
        return result


class ClassifyTask(Task):
    kind: ClassVar[str] = "classify"
    monitor: ClassVar[str] = "accuracy"
    monitor_mode: ClassVar[str] = "max"

    def __init__(
        self,
        num_classes: int,
        labels: list[str] | None = None,
        activation: str = "softmax",
        label_smoothing: float = 0.0,
        class_weights: list[float] | None = None,
        input_channels: int = 3,
    ):
        self.num_classes = num_classes
        self.input_channels = input_channels
        self.labels = list(labels) if labels else [str(i) for i in range(num_classes)]
        self.activation = activation
        self.label_smoothing = label_smoothing
        self.class_weights = class_weights
        self._weight_tensor = None

    @classmethod
    def for_spec(cls, spec, options: dict | None = None) -> ClassifyTask:
        options = options or {}
        params = spec.layers[-1].params
        return cls(
            num_classes=int(params["classes"]),
            activation=params.get("activation", "softmax"),
            label_smoothing=float(options.get("label_smoothing", 0.0)),
            input_channels=spec.input.channels,
        )

    # -- training -----------------------------------------------------------
    def loss(self, output, targets):
        import torch.nn.functional as F

        if self.class_weights is not None and (
            self._weight_tensor is None or self._weight_tensor.device != output.device
        ):
            import torch

            self._weight_tensor = torch.tensor(
                self.class_weights, dtype=output.dtype, device=output.device
            )
        return F.cross_entropy(
            output, targets, weight=self._weight_tensor, label_smoothing=self.label_smoothing
        )

    def new_metrics(self) -> ClassifyMetrics:
        return ClassifyMetrics(self.num_classes)

    def balance_classes(self, targets) -> None:
        """Weight the loss by inverse class frequency (for imbalanced data)."""
        import numpy as np

        counts = np.bincount(np.asarray(targets), minlength=self.num_classes).astype(float)
        counts[counts == 0] = 1.0
        self.class_weights = (counts.sum() / (self.num_classes * counts)).tolist()
        self._weight_tensor = None

    # -- prediction -------------------------------------------------------------
    def probabilities(self, output):
        """Scores -> probabilities with the output layer's declared activation."""
        import torch

        if self.activation == "sigmoid":
            return torch.sigmoid(output)
        if self.activation in ("identity", "linear", "none"):
            return output
        return torch.softmax(output.float(), dim=1)

    def decode(self, output, top_k: int = 5, infos: list | None = None) -> list[dict[str, Any]]:
        """[{"label", "probability", "top": [{label, index, probability}]}] per example.

        In numpy, not torch: a 64x10 softmax in torch wakes its thread pool,
        which then spins against the forward pass of the next batch running
        beside it (see convkit.inference.stream) and was 5x slower than this.
        """
        import numpy as np

        probabilities = self.numpy_probabilities(output)  # (N, K)
        k = min(top_k, self.num_classes)
        order = np.argsort(-probabilities, axis=1, kind="stable")[
            :, :k
        ]  # best first, ties by index
        values = np.take_along_axis(probabilities, order, axis=1)
        results = []
        for row_values, row_indices in zip(values.tolist(), order.tolist(), strict=True):
            top = [
                {"label": self.labels[i], "index": i, "probability": round(p, 6)}
                for p, i in zip(row_values, row_indices, strict=True)
            ]
            results.append(
                {"label": top[0]["label"], "probability": top[0]["probability"], "top": top}
            )
        return results

    def numpy_probabilities(self, output):
        """Like ``probabilities``, for a torch tensor or array, as float32 numpy (N, K)."""
        import numpy as np

        if hasattr(output, "detach"):
            output = output.detach().float().cpu().numpy()
        scores = np.asarray(output, dtype=np.float32)
        if self.activation == "sigmoid":
            return 1.0 / (1.0 + np.exp(-scores))
        if self.activation in ("identity", "linear", "none"):
            return scores
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    spark_type: ClassVar[str] = (
        "struct<label:string, probability:double, "
        "top:array<struct<label:string, index:int, probability:double>>, error:string>"
    )

    def spark_row(self, prediction: dict) -> dict:
        return {
            "label": prediction["label"],
            "probability": float(prediction["probability"]),
            "top": [
                {
                    "label": t["label"],
                    "index": int(t["index"]),
                    "probability": float(t["probability"]),
                }
                for t in prediction["top"]
            ],
            "error": None,
        }

    def summary_line(self, report: dict) -> str:
        line = f"accuracy {report['accuracy']:.2%} on {report['examples']} examples"
        return line + (f", top-5 {report['top5']:.2%}" if "top5" in report else "")

    # -- data -----------------------------------------------------------------------
    def open_data(self, path: str, split: str = "train", options: dict | None = None):
        options = options or {}
        if is_audio_folder(path):
            from convkit.audio import open_audio_dataset

            if self._labels_known():  # keep the trained model's label order
                options = {**options, "classes": self.labels}
            dataset = open_audio_dataset(path, split=split, options=options)
        else:
            from convkit.data import open_image_dataset

            image_options = {"channels": self.input_channels}
            if self._labels_known():  # keep the trained model's label order
                image_options["classes"] = self.labels
            dataset = open_image_dataset(path, split=split, options=image_options)
        self._adopt_labels(list(dataset.classes), path)
        return dataset

    def has_test_split(self, path: str, options: dict | None = None) -> bool | None:
        """Whether recordings at ``path`` hold a test split; None lets the image rules decide."""
        if is_audio_folder(path):
            from convkit.audio.folders import has_test_split

            return has_test_split(path, options)
        return None

    def _labels_known(self) -> bool:
        return self.labels != [str(i) for i in range(self.num_classes)]

    def _adopt_labels(self, classes: list[str], path: str) -> None:
        if len(classes) != self.num_classes:
            raise SpecError(
                f"the spec's output layer has {self.num_classes} classes but {path} has "
                f"{len(classes)} ({', '.join(classes[:8])}{'…' if len(classes) > 8 else ''}): "
                f"set `classes: {len(classes)}` in the output layer"
            )
        if self._labels_known() and self.labels != classes:
            raise DataError(
                f"the classes in {path} ({', '.join(classes)}) differ from the model's "
                f"({', '.join(self.labels)})"
            )
        self.labels = classes

    def make_batches(self, dataset, indices, preprocessing, augment=None, **kwargs):
        maker = getattr(dataset, "make_batches", None)
        if maker is not None:  # datasets with their own batching (e.g. audio)
            return maker(indices, preprocessing, augment, **kwargs)
        from convkit.data import make_batches

        return make_batches(dataset, indices, preprocessing, augment, **kwargs)

    def default_preprocessing(self, spec, dataset, options: dict | None = None):
        options = options or {}
        own = getattr(dataset, "default_preprocessing", None)
        if own is not None:  # the dataset knows its front end (e.g. audio)
            return own(spec, options)
        from convkit.data import Preprocessing

        kwargs = {"resize": options.get("resize", "stretch")}
        if options.get("mean") is not None:
            kwargs["mean"] = options["mean"]
        if options.get("std") is not None:
            kwargs["std"] = options["std"]
        return Preprocessing.for_spec(spec, **kwargs)

    # -- persistence ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "num_classes": self.num_classes,
            "labels": self.labels,
            "activation": self.activation,
            "input_channels": self.input_channels,
        }

    stored_keys: ClassVar[tuple[str, ...]] = (
        "kind",
        "num_classes",
        "labels",
        "activation",
        "input_channels",
    )
    required_keys: ClassVar[tuple[str, ...]] = ("num_classes",)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifyTask:
        data = cls.checked_dict(data)
        return cls(
            num_classes=int(data["num_classes"]),
            labels=data.get("labels"),
            activation=data.get("activation", "softmax"),
            input_channels=int(data.get("input_channels", 3)),
        )


def is_audio_folder(path: str) -> bool:
    """True when ``path`` is an audio file or a folder whose first files are recordings."""
    root = Path(path)
    if root.is_file():
        return root.suffix.lower() in AUDIO_SUFFIXES
    if not root.is_dir():
        return False
    for count, item in enumerate(root.rglob("*")):
        if item.is_file():
            return item.suffix.lower() in AUDIO_SUFFIXES
        if count > 50:
            break
    return False
