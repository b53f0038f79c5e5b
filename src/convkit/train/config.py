"""Training settings, validated once, recorded in the run folder and checkpoints.

Every setting of a run that is not data lives here: the optimisation, the
schedule, how much of the data is held out for validation, what to do with
unreadable files. Each field's allowed values are declared as data in
``RULES``, with the spec layer's constraints (``convkit.spec.constraints``),
and checked by its one validator; a misspelt name is refused with the
closest field (``TrainConfig(epoch=3)``: "did you mean `epochs`?").
"""

from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass, fields
from typing import Any

from convkit.errors import SpecError, UsageError
from convkit.spec.constraints import (
    Boolean,
    Interval,
    Options,
    Param,
    check_keys,
    validate_params,
)

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("none", "step", "cosine", "onecycle")


def _refuse_unknown_names(cls):
    """Wrap the generated __init__: an unknown keyword is a UsageError, not a bare TypeError."""
    generated = cls.__init__

    @functools.wraps(generated)  # help() and signature() still show every field
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        check_names(kwargs)
        generated(self, *args, **kwargs)

    cls.__init__ = __init__
    return cls


@_refuse_unknown_names
@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9  # SGD and RMSprop
    nesterov: bool = False  # SGD
    weight_decay: float = 0.0
    schedule: str = "cosine"  # anneal to 0 over the run: +0.2% on MNIST LeNet in 3 epochs
    step_epochs: int = 10  # step schedule: multiply lr by step_gamma every step_epochs
    step_gamma: float = 0.1
    label_smoothing: float = 0.0
    clip_grad: float | None = None  # max gradient norm
    balance_classes: bool = False  # weight the loss by inverse class frequency (classify)
    patience: int | None = None  # early stopping: epochs without improvement
    monitor: str | None = None  # validation metric to watch; the task's default when None
    val_fraction: float = 0.05  # share of the data held out (stratified) without val_data
    strict_data: bool = False  # stop on an unreadable file instead of skipping and listing it
    seed: int = 0  # initial weights, the validation split, shuffling, augmentation
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool | None = None  # mixed precision; None = on for CUDA and CPUs with native bf16
    channels_last: bool = True
    deterministic: bool = False
    workers: int | None = None  # loader processes; None = a sensible number for this machine
    threads: int | None = None  # torch CPU threads; None = torch's default
    checkpoint_every: int = 0  # also checkpoint every N steps (0 = at epoch ends only)
    backbone_lr_scale: float = 1.0  # transfer learning: the copied layers' lr = lr x this
    freeze_epochs: int = 0  # transfer learning: keep the copied layers frozen for N epochs

    def __post_init__(self) -> None:
        if isinstance(self.optimizer, str):
            self.optimizer = self.optimizer.lower()
        if self.schedule is None or isinstance(self.schedule, str):
            self.schedule = (self.schedule or "none").lower()
        values = {name: getattr(self, name) for name in RULES}
        try:
            checked = validate_params("TrainConfig", RULES, values)
        except SpecError as error:  # the spec layer's kind; here it is a usage mistake
            raise UsageError(str(error)) from None
        for name, value in checked.items():
            setattr(self, name, value)

    def resolved_workers(self) -> int:
        if self.workers is not None:
            return max(0, self.workers)
        return min(4, max(0, (os.cpu_count() or 1) - 1))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """The config ``to_dict`` wrote; an unknown key is refused, not dropped."""
        check_names(data)
        return cls(**data)


def _number(low=None, high=None, closed="both") -> Param:
    return Param([Interval(float, low, high, closed)])


def _integer(low=None) -> Param:
    return Param([Interval(int, low, None)])


#: What each checked field accepts; ``device`` and ``monitor`` are checked where
#: they are used. Each rule's default is the field's (declared once, on the
#: dataclass): where it is None, None means "decide for me".
RULES: dict[str, Param] = {
    "epochs": _integer(1),
    "batch_size": _integer(1),
    "optimizer": Param([Options(OPTIMIZERS)]),
    "lr": _number(0, closed="neither"),
    "momentum": _number(0),
    "nesterov": Param([Boolean()]),
    "weight_decay": _number(0),
    "schedule": Param([Options(SCHEDULES)]),
    "step_epochs": _integer(1),
    "step_gamma": _number(0, closed="neither"),
    "label_smoothing": _number(0, 1, closed="left"),
    "clip_grad": _number(0, closed="neither"),
    "balance_classes": Param([Boolean()]),
    "patience": _integer(1),
    "val_fraction": _number(0, 1, closed="left"),
    "strict_data": Param([Boolean()]),
    "seed": _integer(0),
    "amp": Param([Boolean()]),
    "channels_last": Param([Boolean()]),
    "deterministic": Param([Boolean()]),
    "workers": _integer(),
    "threads": _integer(0),  # 0 or None: torch's default
    "checkpoint_every": _integer(0),
    "backbone_lr_scale": _number(0, 1, closed="right"),
    "freeze_epochs": _integer(0),
}
_DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}
RULES = {name: Param(rule.constraints, _DEFAULTS[name], rule.doc) for name, rule in RULES.items()}


def field_names() -> list[str]:
    return [f.name for f in fields(TrainConfig)]


def check_names(values) -> None:
    """UsageError for the first key of ``values`` that is not a TrainConfig field.

    The same check and message as every other settings dict's ``from_dict``.
    """
    check_keys(values, field_names(), "the training settings", error=UsageError)


def config_with_overrides(config: TrainConfig | None, overrides: dict) -> TrainConfig:
    """``config``, or a TrainConfig made of ``overrides``; both at once is a mistake.

    ``fit(spec, data, epochs=3)`` and ``fit(spec, data, config=TrainConfig(epochs=3))``
    mean the same; ``fit(..., config=c, epochs=3)`` would leave unclear which wins.
    """
    if config is not None and overrides:
        names = ", ".join(f"`{key}`" for key in overrides)
        raise UsageError(
            f"pass either config= or training settings as keywords ({names}), not both: "
            "set them on the TrainConfig"
        )
    if config is None:
        return TrainConfig(**overrides)
    if not isinstance(config, TrainConfig):
        raise UsageError(
            f"config= must be a TrainConfig. Received: {type(config).__name__}; "
            "for a dict, use TrainConfig.from_dict"
        )
    return config
