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

    # -- prediction -----------------------------------------------------------
    @abstractmethod
    def decode(self, output, top_k: int = 5) -> list[dict[str, Any]]:
        """JSON-ready predictions, one dict per example of the batch."""

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
    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}

    @classmethod
    @abstractmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        """Rebuild the task stored in a model file."""
