"""Optional TensorBoard logging: scalars and pictures while a network trains.

    from convkit.train.tensorboard import TensorBoardCallback
    api.fit(spec, data, callbacks=[TensorBoardCallback()])   # then: tensorboard --logdir runs/

Writes event files to ``RUN_DIR/tensorboard`` (or ``log_dir``): every
epoch's train_*/val_* metrics and learning rate, the training loss every
``loss_every`` steps, and each epoch the first conv layer's filters as an
image, so one can watch them turn from noise into edge detectors.
Needs the ``tensorboard`` package (``pip install 'convkit[tensorboard]'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from convkit.errors import UsageError
from convkit.train.callbacks import Callback


class TensorBoardCallback(Callback):
    """Log a run to TensorBoard; only the main process writes (distributed runs)."""

    def __init__(
        self, log_dir: str | Path | None = None, loss_every: int = 50, filters: bool = True
    ):
        if loss_every < 1:
            raise UsageError(f"loss_every must be at least 1. Received: loss_every={loss_every}")
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.loss_every = loss_every
        self.filters = filters
        self.writer: Any = None

    def on_fit_start(self, trainer) -> None:
        if not getattr(trainer, "is_main", True):
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as error:
            raise UsageError(
                "TensorBoard logging needs the tensorboard package: "
                "pip install 'convkit[tensorboard]'"
            ) from error
        self.log_dir = self.log_dir or Path(trainer.run_dir) / "tensorboard"
        self.writer = SummaryWriter(str(self.log_dir))

    def on_batch_end(self, trainer, step: int, loss) -> None:
        # .item() waits for the GPU, so the loss is read only every loss_every steps.
        if self.writer is not None and step % self.loss_every == 0:
            self.writer.add_scalar("train/loss_step", float(loss.detach().float().item()), step)

    def on_epoch_end(self, trainer, epoch: int, row: dict) -> None:
        if self.writer is None:
            return
        for key, value in row.items():
            if key == "epoch" or not isinstance(value, int | float):
                continue
            split, _, name = key.partition("_")
            tag = f"{split}/{name}" if split in ("train", "val") and name else f"run/{key}"
            self.writer.add_scalar(tag, float(value), epoch + 1)
        if self.filters:
            self._log_first_filters(trainer, epoch + 1)
        self.writer.flush()

    def on_fit_end(self, trainer) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def _log_first_filters(self, trainer, step: int) -> None:
        from convkit.viz.filters import conv_layer_names, conv_weight, filter_image
        from convkit.viz.model_view import ModelView

        net = getattr(trainer.net, "module", trainer.net)  # unwrap DistributedDataParallel
        view = ModelView(net=net)
        names = conv_layer_names(view)
        if not names:
            return
        weight = conv_weight(view, names[0])  # (F, C_in, k, k)
        image = filter_image(weight, f"{names[0]} filters")  # (H, W, 3) uint8
        self.writer.add_image(f"filters/{names[0]}", image, step, dataformats="HWC")
