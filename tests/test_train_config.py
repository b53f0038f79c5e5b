"""TrainConfig: every setting checked once, with one line that names the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from convkit.errors import UsageError
from convkit.train import TrainConfig

LENET = Path(__file__).resolve().parents[1] / "examples" / "lenet.yaml"


def test_an_unknown_setting_names_the_closest_one():
    with pytest.raises(
        UsageError, match=r"unknown key `epoch` in the training settings; did you mean `epochs`\?"
    ):
        TrainConfig(epoch=3)
    with pytest.raises(
        UsageError, match=r"`val_fractoin` in the training settings; did you mean `val_fraction`\?"
    ):
        TrainConfig(val_fractoin=0.1)


def test_from_dict_refuses_unknown_keys_instead_of_dropping_them():
    config = TrainConfig(epochs=3, lr=0.01, val_fraction=0.2, freeze_epochs=1)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(
        UsageError,
        match=r"unknown key `batchsize` in the training settings; did you mean `batch_size`\?",
    ):
        TrainConfig.from_dict({"epochs": 3, "batchsize": 32})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"epochs": 0}, "`epochs` must be a positive integer. Received: epochs=0"),
        ({"epochs": 2.5}, "`epochs` must be a positive integer. Received: epochs=2.5"),
        ({"batch_size": 0}, "`batch_size` must be a positive integer. Received: batch_size=0"),
        ({"lr": 0}, "`lr` must be a positive number. Received: lr=0"),
        ({"lr": -1e-3}, "`lr` must be a positive number. Received: lr=-0.001"),
        ({"lr": "fast"}, "`lr` must be a positive number. Received: lr='fast'"),
        ({"weight_decay": -1.0}, "`weight_decay` must be a non-negative number"),
        (
            {"val_fraction": 1.0},
            "`val_fraction` must be a number in [0, 1). Received: val_fraction=1.0",
        ),
        ({"val_fraction": -0.1}, "`val_fraction` must be a number in [0, 1)"),
        ({"label_smoothing": 1}, "`label_smoothing` must be a number in [0, 1)"),
        ({"backbone_lr_scale": 0}, "`backbone_lr_scale` must be a number in (0, 1]"),
        ({"freeze_epochs": -1}, "`freeze_epochs` must be a non-negative integer"),
        ({"patience": 0}, "`patience` must be a positive integer. Received: patience=0"),
        ({"clip_grad": 0}, "`clip_grad` must be a positive number"),
        ({"checkpoint_every": -5}, "`checkpoint_every` must be a non-negative integer"),
        ({"seed": -1}, "`seed` must be a non-negative integer"),
        (
            {"strict_data": "yes"},
            "`strict_data` must be true or false. Received: strict_data='yes'",
        ),
        ({"nesterov": "yes"}, "`nesterov` must be true or false. Received: nesterov='yes'"),
        (
            {"optimizer": "adm"},
            "`optimizer` must be one of 'adam', 'adamw', 'rmsprop', 'sgd'. "
            "Received: optimizer='adm'; did you mean `adam`?",
        ),
        ({"schedule": "cosin"}, "; did you mean `cosine`?"),
    ],
)
def test_values_out_of_range_are_one_line_usage_errors(settings, message):
    with pytest.raises(UsageError) as caught:
        TrainConfig(**settings)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_none_means_the_default_only_where_the_default_is_none():
    config = TrainConfig(clip_grad=None, patience=None, amp=None, workers=None, threads=None)
    assert config.clip_grad is None and config.patience is None
    assert TrainConfig(optimizer="SGD", schedule=None).optimizer == "sgd"
    assert TrainConfig(schedule=None).schedule == "none"
    assert TrainConfig(lr=1).lr == 1.0 and isinstance(TrainConfig(lr=1).lr, float)
    with pytest.raises(UsageError, match="`epochs` must be a positive integer"):
        TrainConfig(epochs=None)


def test_the_signature_still_shows_every_field():
    import inspect

    parameters = inspect.signature(TrainConfig).parameters
    assert list(parameters)[:3] == ["epochs", "batch_size", "optimizer"]
    assert {"val_fraction", "strict_data", "balance_classes", "freeze_epochs"} <= set(parameters)


def test_fit_takes_config_or_settings_not_both(tmp_path):
    from convkit import api

    # Refused before anything is read: the data path does not even exist.
    nowhere = tmp_path / "nowhere"
    with pytest.raises(
        UsageError,
        match=r"pass either config= or training settings as keywords \(`epochs`\), not both",
    ):
        api.fit(LENET, nowhere, config=TrainConfig(), epochs=2, progress=False)
    with pytest.raises(
        UsageError, match=r"unknown key `epoch` in the training settings; did you mean `epochs`\?"
    ):
        api.fit(LENET, nowhere, epoch=2, progress=False)
    with pytest.raises(UsageError, match="`val_fraction` must be a number in"):
        api.fit(LENET, nowhere, val_fraction=1.5, progress=False)
    with pytest.raises(UsageError, match="config= must be a TrainConfig"):
        api.fit(LENET, nowhere, config={"epochs": 2}, progress=False)


def test_fit_distributed_takes_config_or_settings_not_both(tmp_path):
    from convkit.spark.training import fit_distributed

    # Refused on the driver before Spark starts (no session is made for this).
    with pytest.raises(
        UsageError, match=r"pass either config= or training settings .*`val_fraction`"
    ):
        fit_distributed(LENET, tmp_path, TrainConfig(), tmp_path / "run", val_fraction=0.1)
    with pytest.raises(UsageError, match=r"did you mean `epochs`\?"):
        fit_distributed(LENET, tmp_path, None, tmp_path / "run", epoch=1)
