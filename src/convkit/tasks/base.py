"""What every task (classify, detect, ocr…) offers the trainer and the front ends.

A task turns a network's raw output into a loss, metrics and predictions, and
knows which data it reads. The trainer, the model file and the CLI only ever
talk to this interface, which is how detection, OCR and audio plug into the
same training loop as classification.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar


class Metrics(ABC):
    """Accumulates one epoch's results; ``compute()`` gives plain floats."""

    @abstractmethod
    def update(self, output, targets, loss) -> None:
        """Add one batch: the network's output, its targets and the batch loss."""

    @abstractmethod
    def compute(self) -> dict[str, float]:
        """The epoch's metrics, e.g. ``{"loss": 0.05, "accuracy": 0.99}``."""

    def state_tensors(self) -> list:
        """Tensors that distributed training sums across processes before compute()."""
        return []


class Task(ABC):
    """Base class: subclasses set ``kind`` and ``monitor`` and implement the hooks."""

    kind: ClassVar[str] = ""
    #: the validation metric that early stopping and the "best model" watch
    monitor: ClassVar[str] = "loss"
    #: "max" when a larger monitor value is better, "min" otherwise
    monitor_mode: ClassVar[str] = "min"

    # -- training -----------------------------------------------------------
    @abstractmethod
    def loss(self, output, targets):
        """A scalar tensor for one batch, computed on the network's raw output."""

    @abstractmethod
    def new_metrics(self) -> Metrics:
        """A fresh accumulator for one epoch."""

    def targets_to(self, targets, device):
        """Move a batch's targets to the device (tasks with structured targets override)."""
        return targets.to(device, non_blocking=True)

    #: metrics where a smaller value is better (``--monitor`` keeps the lowest);
    #: any name containing "loss" or "error" is lower-is-better too
    lower_is_better: ClassVar[tuple[str, ...]] = ("loss",)

    def metric_mode(self, metric: str) -> str:
        """ "min" or "max": which way ``metric`` improves (what ``--monitor`` keeps)."""
        if metric == self.monitor:
            return self.monitor_mode
        name = metric.removeprefix("val_").removeprefix("train_")
        if name in self.lower_is_better or "loss" in name or "error" in name:
            return "min"
        return "max"

    # -- prediction ---------------------------------------------------------------
    def prepare_input(self, preprocessing, item) -> tuple[Any, Any]:
        """One input (path, bytes or decoded HxWxC array) -> ((C, H, W) float32, info).

        ``info`` records what preparing did to this item (or None) and is
        handed back to ``decode``: a task whose answers live in the input's
        own coordinates (boxes) or extent (text width) needs it.
        """
        import numpy as np

        if isinstance(item, np.ndarray):
            return preprocessing.apply(item), None
        return preprocessing.load(item), None

    def collate(self, arrays: list):
        """Prepared (C, H, W) arrays -> one (N, C, H, W) float32 batch."""
        import numpy as np

        return np.stack(arrays)

    @abstractmethod
    def decode(self, output, top_k: int = 5, infos: list | None = None) -> list[dict[str, Any]]:
        """JSON-ready predictions, one dict per example of the batch.

        Field vocabulary shared by every task: ``label``, ``probability``,
        ``top`` (classify), ``boxes`` (detect), ``text``, ``confidence`` (ocr).
        """

    def check_options(self, **options) -> None:
        """Raise UsageError for a bad decode option (e.g. ``--conf 2``) before any input is read."""
        unknown = [name for name, value in options.items() if value is not None]
        if unknown:
            from convkit.errors import UsageError

            raise UsageError(f"{self.kind} models take no option {', '.join(unknown)}")

    def text_lines(self, path: str, prediction: dict, top_k: int = 1) -> list[str]:
        """Plain-text lines for one prediction (``convkit predict`` without --json)."""
        if top_k == 1:
            return [f"{path}\t{prediction['label']}\t{prediction['probability']:.4f}"]
        ranked = "  ".join(f"{t['label']} {t['probability']:.4f}" for t in prediction["top"])
        return [f"{path}\t{ranked}"]

    def server_answer(self, prediction: dict) -> dict:
        """What the server's /predict returns for one prediction: the same fields, plus kind."""
        return {"kind": self.kind, **prediction}

    #: Spark SQL type of a prediction column (a struct ending in ``error``)
    spark_type: ClassVar[str] = "struct<error:string>"

    def spark_row(self, prediction: dict) -> dict:
        """One prediction as a row of ``spark_type`` (plain Python values)."""
        return {"error": None}

    def spark_fields(self) -> list[str]:
        """Field names of ``spark_type``, in order."""
        from convkit.tasks.spark_types import struct_fields

        return struct_fields(self.spark_type)

    # -- export -------------------------------------------------------------------------
    def export_input_sizes(self, spec) -> list[tuple[int, int]]:
        """(height, width) sizes an exported graph is checked at (the spec's own by default)."""
        return [(spec.input.height, spec.input.width)]

    def dynamic_input_axes(self) -> dict[int, str]:
        """Input axes besides the batch that vary at prediction time (e.g. a text line's width)."""
        return {}

    # -- reports and data questions the front ends ask -----------------------------------
    def evaluate(self, model, data, **kwargs) -> dict:
        """The task's report on ``data`` (``convkit evaluate``)."""
        from convkit.errors import UsageError

        raise UsageError(f"`convkit evaluate` does not handle {self.kind} models yet")

    def has_test_split(self, path: str, options: dict | None = None) -> bool | None:
        """Whether ``path`` has a held-out test split of its own; None: the generic rules decide."""
        return None

    def balance_classes(self, targets) -> None:
        """Weight the loss against class imbalance (``--balance-classes``); a no-op by default."""
        return None  # tasks without class labels have nothing to balance

    def summary_line(self, report: dict) -> str:
        """One line for ``convkit train`` about a test-split report of this task."""
        return ", ".join(f"{key} {value}" for key, value in report.items() if _scalar(value))

    # -- data ---------------------------------------------------------------------
    @abstractmethod
    def open_data(self, path: str, split: str = "train", options: dict | None = None):
        """The dataset at ``path`` (Dataset protocol of docs/ARCHITECTURE.md)."""

    @abstractmethod
    def make_batches(self, dataset, indices, preprocessing, augment=None, **kwargs):
        """A BatchSource over ``dataset[indices]``."""

    @abstractmethod
    def default_preprocessing(self, spec, dataset, options: dict | None = None):
        """The preprocessing object that fits ``spec``'s input for this data."""

    # -- persistence ------------------------------------------------------------------
    #: the keys ``to_dict`` writes, in its order: ``from_dict`` refuses any other
    stored_keys: ClassVar[tuple[str, ...]] = ("kind",)
    #: the stored keys ``from_dict`` cannot do without
    required_keys: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}

    @classmethod
    @abstractmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        """Rebuild the task stored in a model file (``checked_dict`` first)."""

    @classmethod
    def checked_dict(cls, data: Any) -> dict[str, Any]:
        """``data`` once its keys are checked against ``stored_keys`` and ``required_keys``.

        A key no version of the task reads (a typo, a hand-edited file) is a
        one-line UsageError with a did-you-mean, not silently dropped.
        """
        from convkit.errors import UsageError
        from convkit.spec.constraints import check_keys

        return check_keys(
            data,
            cls.stored_keys,
            f"the {cls.kind} task",
            error=UsageError,
            required=cls.required_keys,
        )


def _scalar(value) -> bool:
    return isinstance(value, int | float | str) and not isinstance(value, bool)
