"""Fine-tuning from imported weights: head rebuilt, backbone (and its BN statistics) frozen,
then unfrozen at a lower learning rate, pretrained preprocessing kept."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from convkit.cli import main
from convkit.train import Callback
from reference_nets import reference


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    import cv2

    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for label, colour in (("red", (0, 0, 200)), ("blue", (200, 0, 0))):
        (root / label).mkdir()
        for index in range(10):
            image = rng.integers(0, 60, (80, 96, 3), dtype=np.uint8)
            image[20:60, 20:70] = colour
            cv2.imwrite(str(root / label / f"{index}.png"), image)
    return root


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVKIT_WEIGHTS", str(tmp_path / "cache"))
    path = tmp_path / "r18.pth"
    torch.save(reference("resnet18").state_dict(), path)
    assert main(["weights", "import", str(path), "--arch", "resnet18"]) == 0
    return tmp_path / "cache"


class _Watch(Callback):
    def __init__(self):
        self.rows = []

    def on_epoch_end(self, trainer, epoch, row):
        net = trainer.net
        self.rows.append(
            {
                "conv": net.layers["stage1_block1_a_conv"].conv.weight.detach().clone(),
                "bn_mean": net.layers["stage1_block1_a_bn"].running_mean.detach().clone(),
                "head": net.layers["output"].linear.weight.detach().clone(),
                "lrs": [group["lr"] for group in trainer.optimizer.param_groups],
            }
        )


def test_fine_tune_from_a_zoo_name(cache, photos, tmp_path):
    from convkit import api
    from convkit.modelfile import load_model
    from convkit.zoo import get_spec

    pretrained = load_model(cache / "resnet18.convkit").net.state_dict()
    watch = _Watch()
    report = api.fit(
        get_spec("resnet18", input="64x64x3"),  # 1000 classes: rebuilt for the 2 in the data
        photos,
        run_dir=tmp_path / "run",
        init_from="resnet18",
        freeze_epochs=1,
        epochs=2,
        batch_size=8,
        lr=1e-3,
        backbone_lr_scale=0.1,
        optimizer="adamw",
        val_fraction=0.2,
        workers=0,
        callbacks=[watch],
        progress=False,
        evaluate_test=False,
    )
    first, second = watch.rows
    start_conv = pretrained["layers.stage1_block1_a_conv.conv.weight"]
    start_mean = pretrained["layers.stage1_block1_a_bn.running_mean"]
    assert torch.equal(first["conv"], start_conv)  # frozen in epoch 1 ...
    assert torch.equal(first["bn_mean"], start_mean)  # ... batch-norm statistics too
    assert not torch.equal(second["conv"], start_conv)  # trained in epoch 2
    assert not torch.equal(second["bn_mean"], start_mean)
    assert not torch.equal(first["head"], second["head"])
    head_lr, backbone_lr = second["lrs"]
    assert backbone_lr == pytest.approx(0.1 * head_lr)
    model = load_model(report.model_path)
    assert model.spec.layers[-1].params["classes"] == 2
    assert sorted(model.task.labels) == ["blue", "red"]
    pre = model.preprocessing
    assert pre["resize"] == "center_crop" and pre["crop"] == 224 / 256 and pre["height"] == 64
    assert pre["mean"] == pytest.approx([0.485, 0.456, 0.406])


def test_a_zoo_name_without_imported_weights_says_how(tmp_path, monkeypatch, photos, capsys):
    monkeypatch.setenv("CONVKIT_WEIGHTS", str(tmp_path / "empty"))
    code = main(
        [
            "train",
            "examples/finetune_resnet18.yaml",
            "--data",
            str(photos),
            "--init-from",
            "resnet18",
            "--epochs",
            "1",
            "--quiet",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "no imported weights for resnet18" in err and "convkit weights pull resnet18" in err


def test_backbone_lr_scale_without_init_from_is_a_usage_error(capsys):
    code = main(["train", "examples/lenet.yaml", "--backbone-lr-scale", "0.1", "--quiet"])
    assert code == 2
    assert "--backbone-lr-scale needs --init-from" in capsys.readouterr().err
