"""The training loop, readable top to bottom.

    1. choose the device, seed every random source, set threads
    2. put the network on the device (channels-last), make optimizer + schedule
    3. resume from the last checkpoint when asked
    4. for each epoch: train on every batch, validate, record, checkpoint,
       keep the best model, stop early when the monitored metric stalls
    5. write the final model file and the run folder's pictures

Anything task-specific (loss, metrics, decoding) comes from the Task; anything
optional (logging, freezing layers…) comes from Callbacks. The same loop runs
in every process of distributed training (see ``convkit.train.distributed``).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convkit.train import distributed
from convkit.train.callbacks import Callback
from convkit.train.checkpoint import load_checkpoint, save_checkpoint
from convkit.train.config import TrainConfig
from convkit.train.environment import amp_dtype, choose_device, make_deterministic, seed_everything
from convkit.train.optim import PER_BATCH_SCHEDULES, make_optimizer, make_scheduler

CHECKPOINT_NAME = "checkpoints/last.ckpt"
MODEL_NAME = "model.convkit"


@dataclass
class FitResult:
    run_dir: Path
    model_path: Path
    history: list[dict[str, Any]]
    best: dict[str, Any]
    stopped_early: bool = False
    skipped: list[tuple[str, str]] = field(default_factory=list)


class Trainer:
    def __init__(
        self,
        net,
        task,
        train_batches,
        val_batches,
        config: TrainConfig,
        run_dir: str | Path,
        *,
        preprocessing: dict,
        metadata: dict | None = None,
        callbacks: list[Callback] | tuple = (),
        resume: bool = False,
        progress: bool = True,
    ):
        self.net = net
        self.task = task
        self.train_batches = train_batches
        self.val_batches = val_batches
        self.config = config
        self.run_dir = Path(run_dir)
        self.preprocessing = preprocessing
        self.metadata = dict(metadata or {})
        self.callbacks = list(callbacks)
        self.resume = resume
        self.progress = progress
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] = {}
        self.epoch = 0
        self.should_stop = False
        self.monitor = config.monitor or task.monitor
        self.monitor_mode = task.metric_mode(self.monitor)  # e.g. wer: lowest is best
        self.last_val_metrics = None  # the last validation accumulator (confusion matrix…)

    # ------------------------------------------------------------------
    def fit(self) -> FitResult:
        import torch

        config = self.config
        # 1. device, seeds, threads
        self.device = choose_device(config.device)
        seed_everything(config.seed)
        if config.threads:
            torch.set_num_threads(config.threads)
        if config.deterministic:
            make_deterministic()
        self.rank, self.world_size = distributed.rank_and_world()
        self.is_main = self.rank == 0
        if self.world_size > 1:
            self.train_batches = self.train_batches.shard(self.rank, self.world_size)
            if self.val_batches is not None:
                self.val_batches = self.val_batches.shard(self.rank, self.world_size)

        # 2. network, optimizer, schedule
        memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        self.net.to(self.device, memory_format=memory_format)
        self.model = distributed.wrap(self.net, self.device)
        trainable = [p for p in self.net.parameters() if p.requires_grad]
        from convkit.train.transfer import parameter_groups  # a lower lr for a pretrained backbone

        self.optimizer = make_optimizer(parameter_groups(self.net, trainable, config), config)
        self.scheduler = make_scheduler(self.optimizer, config, len(self.train_batches))
        self.autocast_dtype = amp_dtype(self.device, config.amp)
        use_scaler = self.autocast_dtype == torch.float16
        self.scaler = torch.amp.GradScaler("cuda") if use_scaler else None
        self.checkpoint_path = self.run_dir / CHECKPOINT_NAME
        self.model_path = self.run_dir / MODEL_NAME

        # 3. resume (from the previous checkpoint when the last one is damaged)
        start_epoch, start_batch = 0, 0
        self.bad_epochs = 0
        if self.resume:
            state = self._resume_state()
            if state is not None:
                start_epoch, start_batch = state["epoch"], state["batch"]
                self.history, self.best = state["history"], state["best"]
                self.bad_epochs = state["bad_epochs"]
                if start_epoch >= config.epochs and start_batch == 0:
                    from convkit.errors import UsageError

                    raise UsageError(
                        f"the checkpoint has finished epoch {start_epoch} and this run has "
                        f"--epochs {config.epochs}: nothing left to train; raise --epochs to "
                        "continue it"
                    )
        for callback in self.callbacks:
            callback.on_fit_start(self)

        # 4. epochs
        for epoch in range(start_epoch, config.epochs):
            self.epoch = epoch
            for callback in self.callbacks:
                callback.on_epoch_start(self, epoch)
            started = time.perf_counter()
            train_metrics = self._train_epoch(epoch, start_batch if epoch == start_epoch else 0)
            train_seconds = time.perf_counter() - started
            val_metrics = self._validate() if self.val_batches is not None else {}
            row = {
                "epoch": epoch + 1,
                "lr": self.optimizer.param_groups[0]["lr"],
                "seconds": round(train_seconds, 3),
                "images_per_second": round(
                    self.train_batches.num_examples / max(train_seconds, 1e-9), 1
                ),
                **{f"train_{k}": v for k, v in train_metrics.items()},
                **{f"val_{k}": v for k, v in val_metrics.items()},
            }
            self.history.append(row)
            self._keep_best(row)
            if self.scheduler is not None and config.schedule not in PER_BATCH_SCHEDULES:
                self.scheduler.step()
            self._save_checkpoint(epoch + 1, 0)
            self._log(self._format_row(row))
            for callback in self.callbacks:
                callback.on_epoch_end(self, epoch, row)
            if config.patience is not None and self.bad_epochs >= config.patience:
                self._log(
                    f"early stop: {self.monitor} has not improved for {config.patience} epochs"
                )
                self.should_stop = True
            if self.should_stop:
                break

        # 5. final files
        for callback in self.callbacks:
            callback.on_fit_end(self)
        if self.is_main and not self.model_path.exists():
            self._save_model()  # no validation improved on nothing: keep the last weights
        skipped = list(getattr(self.train_batches, "skipped", []))
        if self.val_batches is not None:
            skipped += list(getattr(self.val_batches, "skipped", []))
        return FitResult(
            run_dir=self.run_dir,
            model_path=self.model_path,
            history=self.history,
            best=self.best,
            stopped_early=self.should_stop,
            skipped=skipped,
        )

    def _resume_state(self) -> dict | None:
        """Load the last checkpoint, or the one before it if the last is damaged; say which."""
        from convkit.errors import ModelFileError
        from convkit.train.checkpoint import previous_path

        candidates = [self.checkpoint_path, previous_path(self.checkpoint_path)]
        problems = []
        for path in candidates:
            if not path.exists():
                continue
            try:
                state = load_checkpoint(
                    path,
                    net=self.net,
                    optimizer=self.optimizer,
                    scheduler=self.scheduler,
                    scaler=self.scaler,
                )
            except ModelFileError as error:
                problems.append(str(error))
                self._warn(f"{error}; trying the previous checkpoint")
                continue
            where = f"epoch {state['epoch'] + 1}, batch {state['batch']}"
            if path != self.checkpoint_path:
                self._warn(f"resuming from the previous checkpoint {path} ({where})")
            else:
                self._log(f"resuming from {path}: {where}")
            return state
        if problems:
            raise ModelFileError(f"cannot resume: {' / '.join(problems)}")
        return None

    # ------------------------------------------------------------------
    def _train_epoch(self, epoch: int, start_batch: int) -> dict[str, float]:
        import torch

        self.model.train()
        metrics = self.task.new_metrics()
        total = len(self.train_batches)
        bar = self._progress_bar(epoch, total, start_batch)
        step = start_batch
        for inputs, targets in self.train_batches.epoch(epoch, start=start_batch):
            output, targets, loss = self._forward(inputs, targets)
            self._watch_loss(loss, epoch, step)
            self.optimizer.zero_grad(set_to_none=True)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(self.optimizer)
            else:
                loss.backward()
            if self.config.clip_grad:
                torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.config.clip_grad)
            if self.scaler is not None:
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                self.optimizer.step()
            if self.scheduler is not None and self.config.schedule in PER_BATCH_SCHEDULES:
                self.scheduler.step()
            metrics.update(output.float(), targets, loss)
            step += 1
            for callback in self.callbacks:
                callback.on_batch_end(self, step, loss)
            if bar is not None:
                bar.update(len(inputs))
                if step % 20 == 0 or step == total:
                    bar.set_postfix(_short(metrics.compute()), refresh=False)
            if step % 20 == 0:
                self._check_finite(epoch, step)
            if (
                self.config.checkpoint_every
                and step % self.config.checkpoint_every == 0
                and step < total
            ):
                self._check_finite(epoch, step)  # never checkpoint weights a NaN has reached
                self._save_checkpoint(epoch, step)
        self._check_finite(epoch, step)
        if bar is not None:
            bar.close()
        distributed.reduce_metrics(metrics)
        return metrics.compute()

    def _validate(self) -> dict[str, float]:
        import torch

        self.model.eval()
        metrics = self.task.new_metrics()
        with torch.inference_mode():
            for inputs, targets in self.val_batches.epoch(0):
                output, targets, loss = self._forward(inputs, targets)
                metrics.update(output.float(), targets, loss)
        distributed.reduce_metrics(metrics)
        self.last_val_metrics = metrics
        return metrics.compute()

    # ------------------------------------------------------------------
    def _keep_best(self, row: dict) -> None:
        key = f"val_{self.monitor}" if f"val_{self.monitor}" in row else f"train_{self.monitor}"
        if key not in row:
            available = ", ".join(k for k in row if k.startswith(("val_", "train_")))
            from convkit.errors import UsageError

            raise UsageError(f"cannot monitor {self.monitor!r}: the metrics are {available}")
        value = row[key]
        best = self.best.get("value")
        improved = best is None or (value > best if self.monitor_mode == "max" else value < best)
        if improved and not math.isnan(value):
            self.best = {"epoch": row["epoch"], "metric": key, "value": value}
            self.bad_epochs = 0
            if self.is_main:
                self._save_model()
        else:
            self.bad_epochs += 1

    def _save_model(self) -> None:
        from convkit.modelfile import save_model

        metadata = {**self.metadata, "history": self.history, "best": self.best}
        save_model(
            self.model_path,
            self.net,
            task=self.task,
            preprocessing=self.preprocessing,
            metadata=metadata,
        )

    def _save_checkpoint(self, epoch: int, batch: int) -> None:
        if not self.is_main:
            return
        state = {
            "epoch": epoch,
            "batch": batch,
            "history": self.history,
            "best": self.best,
            "bad_epochs": self.bad_epochs,
            "config": self.config.to_dict(),
        }
        save_checkpoint(
            self.checkpoint_path,
            net=self.net,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            scaler=self.scaler,
            state=state,
        )

    def _forward(self, inputs, targets):
        """One batch onto the device and through the network and loss, under autocast.

        Training and validation share it, so both see the same precision.
        """
        import torch

        inputs = inputs.to(self.device, non_blocking=True)
        targets = self.task.targets_to(targets, self.device)
        with torch.autocast(
            self.device.type,
            dtype=self.autocast_dtype or torch.float32,
            enabled=self.autocast_dtype is not None,
        ):
            output = self.model(inputs)
            return output, targets, self.task.loss(output, targets)

    def _progress_bar(self, epoch: int, total_batches: int, start_batch: int):
        if not (self.progress and self.is_main):
            return None
        from tqdm import tqdm

        examples = self.train_batches.num_examples
        done = min(examples, start_batch * self.config.batch_size)
        return tqdm(
            total=examples,
            initial=done,
            unit="img",
            unit_scale=True,
            leave=False,
            desc=f"epoch {epoch + 1}/{self.config.epochs}",
            file=sys.stderr,
            dynamic_ncols=True,
        )

    def _watch_loss(self, loss, epoch: int, step: int) -> None:
        """Stop on a NaN/infinite loss. On CPU at once, before backward and step (the
        weights are still the last good ones); on an accelerator without a per-step
        sync: a device-side flag, read every 20 steps and before anything is saved."""
        import torch

        finite = torch.isfinite(loss.detach())
        if self.device.type == "cpu":
            if not bool(finite):
                raise self._diverged(epoch, step, f"{float(loss.detach())}")
            return
        self._finite = finite if getattr(self, "_finite", None) is None else self._finite & finite

    def _check_finite(self, epoch: int, step: int) -> None:
        flag = getattr(self, "_finite", None)
        if flag is not None and not bool(flag):
            raise self._diverged(epoch, step - 1, "NaN or infinite (within the last 20 steps)")

    def _diverged(self, epoch: int, step: int, value: str):
        from convkit.errors import TrainingDiverged

        kept = (
            f"kept the last good model ({self.model_path}, best epoch {self.best['epoch']})"
            if self.best and self.model_path.exists()
            else "no model was saved yet"
        )
        return TrainingDiverged(
            f"training stopped: the loss became {value} at epoch {epoch + 1}, batch {step + 1}; "
            f"{kept}; the checkpoints hold the last good state. Lower --lr or use --clip-grad"
        )

    def _warn(self, message: str) -> None:
        """Always shown (also with --quiet): the user must know a fallback happened."""
        if self.is_main:
            print(f"convkit: warning: {message}", file=sys.stderr, flush=True)

    def _log(self, message: str) -> None:
        if self.is_main and self.progress:
            print(message, file=sys.stderr, flush=True)

    def _format_row(self, row: dict) -> str:
        parts = [f"epoch {row['epoch']}/{self.config.epochs}"]
        for split in ("train", "val"):
            values = {k[len(split) + 1 :]: v for k, v in row.items() if k.startswith(split + "_")}
            if values:
                parts.append(f"{split} " + " ".join(f"{k} {_fmt(k, v)}" for k, v in values.items()))
        parts.append(f"{row['images_per_second']:.0f} img/s  {row['seconds']:.1f}s")
        if self.best.get("epoch") == row["epoch"]:
            parts.append("* best")
        return "  ".join(parts)


def _fmt(name: str, value: float) -> str:
    if "loss" in name:
        return f"{value:.4f}"
    return f"{value:.2%}" if 0 <= value <= 1 else f"{value:.4g}"


def _short(values: dict[str, float]) -> dict[str, str]:
    return {k: _fmt(k, v) for k, v in values.items()}
