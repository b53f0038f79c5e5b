"""Damaged checkpoints and diverging runs (issue 15, item 6).

Before the fix, bit flips or NaN in last.ckpt resumed silently (loss inf/nan,
exit 0, a NaN model reported as "best: epoch 1"), edited metadata ended in
tracebacks and epoch 99 silently trained nothing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from convkit import api
from convkit.errors import ModelFileError, TrainingDiverged, UsageError
from convkit.train import TrainConfig
from convkit.train.callbacks import Callback
from convkit.train.checkpoint import DIGEST_KEY, META_KEY, read_checkpoint, state_digest

TINY = {
    "input": "12x12x3",
    "layers": [
        {"conv2d": {"filters": 4, "kernel": 3}},
        {"global_avg_pool": {}},
        {"output": {"classes": 2}},
    ],
}


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from convkit.data.samples import make_photo_folder

    return make_photo_folder(tmp_path_factory.mktemp("ck") / "photos", per_class=8, size=16)


def fit(photos, run_dir, epochs, resume=False, callbacks=()):
    config = TrainConfig(
        epochs=epochs, batch_size=4, workers=0, seed=0, device="cpu", val_fraction=0.25
    )
    return api.fit(
        TINY,
        photos,
        run_dir=run_dir,
        config=config,
        resume=resume,
        callbacks=callbacks,
        progress=False,
        evaluate_test=False,
    )


def rewrite(path, change_meta=None, change_tensors=None, recompute=True):
    """Edit a checkpoint's JSON state or tensors, with its checksum recomputed (a crafted file)."""
    from safetensors.torch import load, save

    data = path.read_bytes()
    tensors = load(data)
    length = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8 : 8 + length])["__metadata__"]
    meta = json.loads(metadata[META_KEY])
    if change_meta:
        meta = change_meta(meta)
    if change_tensors:
        change_tensors(tensors)
    text = json.dumps(meta)
    digest = state_digest(tensors, text) if recompute else metadata[DIGEST_KEY]
    path.write_bytes(save(tensors, metadata={META_KEY: text, DIGEST_KEY: digest}))


@pytest.fixture(scope="module")
def pristine_run(photos, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("pristine") / "run"
    fit(photos, run_dir, epochs=2)
    assert (run_dir / "checkpoints" / "previous.ckpt").exists()
    return run_dir


@pytest.fixture
def run_dir(pristine_run, tmp_path):
    """A copy of a finished 2-epoch run, to damage (trained once per module)."""
    import shutil

    return Path(shutil.copytree(pristine_run, tmp_path / "run"))


def test_a_bit_flip_falls_back_to_the_previous_checkpoint_and_says_so(photos, run_dir, capsys):
    last = run_dir / "checkpoints" / "last.ckpt"
    data = bytearray(last.read_bytes())
    data[-100] ^= 0x10  # one bit in the tensor data
    last.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="do not match the checksum"):
        read_checkpoint(last)
    report = fit(photos, run_dir, epochs=3, resume=True)
    assert "resuming from the previous checkpoint" in capsys.readouterr().err
    assert [row["epoch"] for row in report.history] == [1, 2, 3]  # epoch 2 trained again


def _set(key, value):
    def change(meta):
        meta[key] = value
        return meta

    return change


def _drop(key):
    def change(meta):
        del meta[key]
        return meta

    return change


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (_set("epoch", "x"), "`epoch`"),
        (_set("epoch", -5), "`epoch`"),
        (_drop("optimizer"), "optimizer state"),
        (_drop("numpy_rng"), "numpy RNG"),
        (_drop("python_rng"), "Python RNG"),
        (lambda meta: [meta], "not a JSON object"),
    ],
)
def test_edited_state_is_refused_in_one_line(run_dir, change, fragment):
    last = run_dir / "checkpoints" / "last.ckpt"
    rewrite(last, change_meta=change)
    with pytest.raises(ModelFileError, match="damaged checkpoint") as caught:
        read_checkpoint(last)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_nan_weights_are_refused_even_with_a_matching_checksum(run_dir):
    last = run_dir / "checkpoints" / "last.ckpt"

    def poison(tensors):
        name = next(k for k in tensors if k.startswith("model.") and tensors[k].is_floating_point())
        tensors[name].view(-1)[0] = math.nan

    rewrite(last, change_tensors=poison)
    with pytest.raises(ModelFileError, match="NaN"):
        read_checkpoint(last)


def test_a_checkpoint_past_the_last_epoch_is_refused(photos, run_dir):
    rewrite(run_dir / "checkpoints" / "last.ckpt", change_meta=_set("epoch", 99))
    with pytest.raises(UsageError, match="nothing left to train"):
        fit(photos, run_dir, epochs=3, resume=True)


class PoisonWeights(Callback):
    """Write NaN into the first weight during the second epoch: the loss goes NaN next."""

    def on_batch_end(self, trainer, step, loss):
        if trainer.epoch == 1 and step == 1:
            import torch

            with torch.no_grad():
                next(trainer.net.parameters()).fill_(math.nan)


def test_a_non_finite_loss_stops_the_run_keeping_the_last_good_model(photos, tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(TrainingDiverged, match="loss became nan at epoch 2") as caught:
        fit(photos, run_dir, epochs=3, callbacks=[PoisonWeights()])
    assert "kept the last good model" in str(caught.value)
    import torch

    model = api.load(run_dir / "model.convkit")
    assert all(torch.isfinite(p).all() for p in model.net.parameters())
    read_checkpoint(run_dir / "checkpoints" / "last.ckpt")  # still a good checkpoint


def test_on_accelerators_a_non_finite_loss_is_caught_without_a_per_step_sync(tmp_path):
    """The device-side flag path (no GPU here): folded without reading, read when checked."""
    from types import SimpleNamespace

    import torch

    from convkit.train.trainer import Trainer

    trainer = Trainer.__new__(Trainer)
    trainer.device = SimpleNamespace(type="cuda")
    trainer.best, trainer.model_path = {}, tmp_path / "model.convkit"
    trainer._watch_loss(torch.tensor(0.5), epoch=0, step=0)
    trainer._check_finite(epoch=0, step=1)  # all finite so far: no error
    trainer._watch_loss(torch.tensor(math.inf), epoch=0, step=1)  # no raise: not read yet
    trainer._watch_loss(torch.tensor(0.25), epoch=0, step=2)
    with pytest.raises(TrainingDiverged, match="NaN or infinite"):
        trainer._check_finite(epoch=0, step=3)
