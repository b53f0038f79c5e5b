"""Extension points of the training loop: a class of empty hooks.

Subclass ``Callback`` and override what you need; the Trainer calls every hook
in order. The trainer is passed in, so a callback can read ``trainer.epoch``,
``trainer.history`` or ``trainer.net``, and can stop training by setting
``trainer.should_stop = True``.
"""

from __future__ import annotations


class Callback:
    def on_fit_start(self, trainer) -> None:
        """Before the first epoch (after a resume has restored state)."""

    def on_epoch_start(self, trainer, epoch: int) -> None:
        """Before each training epoch (0-based ``epoch``)."""

    def on_batch_end(self, trainer, step: int, loss) -> None:
        """After each optimizer step; ``loss`` is a tensor (avoid .item() on GPUs)."""

    def on_epoch_end(self, trainer, epoch: int, row: dict) -> None:
        """After validation; ``row`` holds the epoch's train_* and val_* metrics."""

    def on_fit_end(self, trainer) -> None:
        """After the last epoch (or early stop), before the final files are written."""
