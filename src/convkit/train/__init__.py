"""Training: a readable loop (Trainer), its settings, callbacks and checkpoints."""

from convkit.train.callbacks import Callback
from convkit.train.config import TrainConfig
from convkit.train.trainer import FitResult, Trainer

__all__ = ["Callback", "FitResult", "TrainConfig", "Trainer"]
