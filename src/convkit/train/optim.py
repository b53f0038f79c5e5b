"""Optimizers and learning-rate schedules named in a TrainConfig."""

from __future__ import annotations

from convkit.train.config import TrainConfig

# schedules that step after every batch rather than every epoch
PER_BATCH_SCHEDULES = {"cosine", "onecycle"}


def make_optimizer(parameters, config: TrainConfig):
    import torch

    if config.optimizer == "sgd":
        return torch.optim.SGD(
            parameters,
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.nesterov and config.momentum > 0,
            weight_decay=config.weight_decay,
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.RMSprop(
        parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


def make_scheduler(optimizer, config: TrainConfig, steps_per_epoch: int):
    """The schedule, or None; per-batch schedules span the whole run."""
    import torch

    total_steps = max(1, config.epochs * steps_per_epoch)
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=config.step_epochs, gamma=config.step_gamma
        )
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            # each group peaks at its own lr (a pretrained backbone's is lower)
            optimizer,
            max_lr=[group["lr"] for group in optimizer.param_groups],
            total_steps=total_steps,
        )
    return None
