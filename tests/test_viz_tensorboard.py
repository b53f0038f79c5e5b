"""TensorBoardCallback writes scalars and filter images TensorBoard can read."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")

from convkit.errors import UsageError  # noqa: E402
from convkit.train.tensorboard import TensorBoardCallback  # noqa: E402


def read_events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return events


def test_scalars_and_filters_reach_tensorboard(tmp_path):
    from convkit.nn import build
    from convkit.spec import NetSpec
    from test_viz_support import LENET_YAML

    trainer = SimpleNamespace(net=build(NetSpec.from_yaml(LENET_YAML)), run_dir=tmp_path, epoch=0)
    callback = TensorBoardCallback(loss_every=2)
    callback.on_fit_start(trainer)
    for step in range(1, 5):
        callback.on_batch_end(trainer, step, torch.tensor(2.5 - step * 0.5))
    callback.on_epoch_end(
        trainer, 0, {"epoch": 1, "train_loss": 1.5, "val_accuracy": 0.75, "lr": 0.001}
    )
    callback.on_fit_end(trainer)

    events = read_events(tmp_path / "tensorboard")
    tags = events.Tags()
    assert {"train/loss_step", "train/loss", "val/accuracy", "run/lr"} <= set(tags["scalars"])
    assert [(e.step, e.value) for e in events.Scalars("train/loss_step")] == [(2, 1.5), (4, 0.5)]
    assert events.Scalars("val/accuracy")[0].value == pytest.approx(0.75)
    assert tags["images"] == ["filters/conv1"]
    image = events.Images("filters/conv1")[0]
    assert image.width > 100 and image.height > 50


def test_loss_every_must_be_positive():
    with pytest.raises(UsageError, match="loss_every must be at least 1"):
        TensorBoardCallback(loss_every=0)
