"""Training end to end on real data (scikit-learn's bundled digits): run folder, options, resume."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from convkit import api
from convkit.train import TrainConfig

LENET = Path(__file__).resolve().parents[1] / "examples" / "lenet.yaml"


def small_config(**overrides) -> TrainConfig:
    settings = {"epochs": 2, "batch_size": 64, "workers": 0, "seed": 0}
    settings.update(overrides)
    return TrainConfig(**settings)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("digits") / "run"
    report = api.fit(
        LENET, "sklearn-digits", run_dir=run_dir, config=small_config(epochs=4), progress=False
    )
    return report


def test_fit_writes_the_run_folder_and_learns(digits_run):
    run_dir = digits_run.run_dir
    for name in (
        "model.convkit",
        "metrics.csv",
        "metrics.json",
        "curves.png",
        "confusion.png",
        "samples.png",
        "skipped.txt",
        "config.yaml",
        "checkpoints/last.ckpt",
    ):
        assert (run_dir / name).is_file(), name
    history = json.loads((run_dir / "metrics.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    # 4 short epochs on 1,400 digits: far above the 10% of guessing
    assert digits_run.test["accuracy"] > 0.8
    assert digits_run.test["examples"] == 359  # the stratified 20% of 1,797


def test_evaluate_report_matches_scikit_learn(digits_run):
    from sklearn.metrics import precision_recall_fscore_support

    report = api.evaluate(digits_run.model_path, "sklearn-digits", progress=False)
    confusion = report["confusion_matrix"]
    truth, guesses = [], []
    for i, row in enumerate(confusion):
        for j, count in enumerate(row):
            truth += [i] * count
            guesses += [j] * count
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth, guesses, average="macro", zero_division=0
    )
    assert report["macro"]["precision"] == pytest.approx(precision)
    assert report["macro"]["recall"] == pytest.approx(recall)
    assert report["macro"]["f1"] == pytest.approx(f1)
    assert report["accuracy"] == pytest.approx(digits_run.test["accuracy"])


def test_predict_in_a_fresh_process_with_only_the_model_file(digits_run, tmp_path):
    import cv2

    from convkit.data import open_image_dataset

    test_set = open_image_dataset("sklearn-digits", split="test")
    folder = tmp_path / "digits"
    folder.mkdir()
    truth = {}
    for index in range(20):
        image, label = test_set.load(index)
        png = folder / f"{index:02d}.png"
        cv2.imwrite(str(png), image[:, :, 0])
        truth[str(png)] = test_set.classes[label]
    copied = tmp_path / "elsewhere" / "model.convkit"
    copied.parent.mkdir()
    copied.write_bytes(digits_run.model_path.read_bytes())
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "convkit",
            "predict",
            str(copied),
            str(folder),
            "--top",
            "3",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    fresh = [json.loads(line) for line in completed.stdout.splitlines()]
    assert sorted(row["path"] for row in fresh) == sorted(truth)
    in_process = api.load(digits_run.model_path).predict([row["path"] for row in fresh], top_k=3)
    for row, expected in zip(fresh, in_process, strict=True):
        assert row["label"] == expected["label"]
        # rounded to 6 decimals: a float32 difference may flip the last digit
        assert [t["probability"] for t in row["top"]] == pytest.approx(
            [t["probability"] for t in expected["top"]], abs=2e-6
        )
    correct = sum(row["label"] == truth[row["path"]] for row in fresh)
    assert correct >= 14  # digits the model never saw, named from the PNG alone


@pytest.mark.parametrize(
    "optimizer,schedule,extra",
    [
        ("sgd", "onecycle", {"nesterov": True, "lr": 0.05}),
        ("rmsprop", "cosine", {"lr": 1e-3, "clip_grad": 1.0}),
        ("adamw", "step", {"weight_decay": 0.01, "step_epochs": 1, "label_smoothing": 0.1}),
    ],
)
def test_optimizers_and_schedules_train(tmp_path, optimizer, schedule, extra):
    report = api.fit(
        LENET,
        "sklearn-digits",
        run_dir=tmp_path,
        config=small_config(epochs=2, optimizer=optimizer, schedule=schedule, **extra),
        evaluate_test=False,
        progress=False,
    )
    losses = [row["train_loss"] for row in report.history]
    assert all(loss == loss and loss < 10 for loss in losses)  # finite
    if schedule == "step":
        assert report.history[1]["lr"] == pytest.approx(report.history[0]["lr"] * 0.1)


def test_early_stopping_stops(tmp_path):
    # a learning rate of 0 cannot improve validation accuracy after the first epoch
    report = api.fit(
        LENET,
        "sklearn-digits",
        run_dir=tmp_path,
        config=small_config(epochs=6, patience=1, lr=1e-12, optimizer="sgd", momentum=0),
        evaluate_test=False,
        progress=False,
    )
    assert report.stopped_early
    assert len(report.history) < 6


KILLER = textwrap.dedent("""
    import os, signal, sys
    from convkit import api
    from convkit.train import Callback, TrainConfig

    class KillDuringEpochTwo(Callback):
        def on_batch_end(self, trainer, step, loss):
            if trainer.epoch == 1 and step == 7:
                os.kill(os.getpid(), signal.SIGKILL)   # as `kill -9` would

    run_dir, every, kill = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "kill"
    config = TrainConfig(epochs=3, batch_size=64, workers=0, seed=3, deterministic=True,
                         checkpoint_every=every, threads=1)
    api.fit("{lenet}", "sklearn-digits", run_dir=run_dir, config=config, progress=False,
            augment={{"rotation": 8}}, evaluate_test=False,
            resume=os.path.exists(os.path.join(run_dir, "checkpoints", "last.ckpt")),
            callbacks=[KillDuringEpochTwo()] if kill else [])
""")


def _final_weights(run_dir: Path):
    from safetensors.torch import load_file

    return {
        k: v
        for k, v in load_file(run_dir / "checkpoints" / "last.ckpt").items()
        if k.startswith("model.")
    }


@pytest.mark.slow
@pytest.mark.parametrize("checkpoint_every", [0, 5])
def test_resume_after_kill_9_gives_the_uninterrupted_weights(tmp_path, checkpoint_every):
    import torch

    script = tmp_path / "train.py"
    script.write_text(KILLER.format(lenet=LENET))

    def run(run_dir, mode):
        return subprocess.run(
            [sys.executable, str(script), str(run_dir), str(checkpoint_every), mode],
            capture_output=True,
            text=True,
        )

    straight = run(tmp_path / "straight", "no")
    assert straight.returncode == 0, straight.stderr
    killed = run(tmp_path / "resumed", "kill")
    assert killed.returncode == -9
    resumed = run(tmp_path / "resumed", "no")
    assert resumed.returncode == 0, resumed.stderr
    expected, actual = _final_weights(tmp_path / "straight"), _final_weights(tmp_path / "resumed")
    assert expected.keys() == actual.keys()
    for name in expected:
        assert torch.equal(expected[name], actual[name]), name


TINY_PHOTO_NET = {
    "name": "tiny_photo",
    "input": "32x32x3",
    "layers": [
        {"conv2d": {"filters": 8, "kernel": 3, "padding": 1}},
        {"max_pool": {"kernel": 2, "stride": 2}},
        {"conv2d": {"filters": 16, "kernel": 3, "padding": 1}},
        {"global_avg_pool": {}},
        {"output": {"classes": 2}},
    ],
}


def test_photo_folder_with_corrupt_files_trains_to_the_end(tmp_path):
    from convkit.data.samples import make_photo_folder

    photos = make_photo_folder(tmp_path / "photos", per_class=24, corrupt=4, size=48)
    report = api.fit(
        TINY_PHOTO_NET,
        photos,
        run_dir=tmp_path / "run",
        config=small_config(epochs=2, batch_size=16, workers=1, val_fraction=0.25),
        augment="flip,crop=2",
        progress=False,
    )
    assert len(report.history) == 2
    skipped = (tmp_path / "run" / "skipped.txt").read_text().splitlines()
    assert len(skipped) == 4
    assert all(json.loads(line)["path"].startswith(str(photos)) for line in skipped)
    assert api.load(report.model_path).labels == sorted(p.name for p in photos.iterdir())
    assert report.test is None  # a flat class folder has no test split of its own


def test_strict_data_refuses_corrupt_files(tmp_path):
    from convkit.data.samples import make_photo_folder
    from convkit.errors import DataError

    photos = make_photo_folder(tmp_path / "photos", per_class=4, corrupt=2, size=40)
    with pytest.raises(DataError, match="unusable files"):
        api.fit(
            TINY_PHOTO_NET,
            photos,
            run_dir=tmp_path / "run",
            config=small_config(epochs=1, strict_data=True),
            progress=False,
        )


def test_cli_user_mistakes_exit_2_with_one_line(tmp_path):
    cases = [
        ["train", str(LENET), "--data", str(tmp_path / "nowhere")],
        ["train", str(LENET), "--data", "sklearn-digits", "--lr", "-1"],
        ["train", str(tmp_path / "missing.yaml")],
        ["predict", str(tmp_path / "missing.convkit"), str(LENET)],
    ]
    for argv in cases:
        result = subprocess.run(
            [sys.executable, "-m", "convkit", *argv], capture_output=True, text=True
        )
        assert result.returncode == 2, (argv, result.stderr)
        assert result.stderr.startswith("convkit: error: "), result.stderr
        assert "Traceback" not in result.stderr


def test_mixed_precision_is_on_where_the_hardware_pays_for_it(monkeypatch):
    import torch

    from convkit.train import environment
    from convkit.train.environment import amp_dtype

    cpu = torch.device("cpu")
    assert amp_dtype(cpu, False) is None and amp_dtype(cpu, True) is torch.bfloat16
    monkeypatch.setattr(environment, "cpu_has_native_bf16", lambda: True)
    assert amp_dtype(cpu, None) is torch.bfloat16
    monkeypatch.setattr(environment, "cpu_has_native_bf16", lambda: False)
    assert amp_dtype(cpu, None) is None  # emulated bf16 is slower than float32
    monkeypatch.undo()
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert environment.cpu_has_native_bf16() is False
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert environment.cpu_has_native_bf16() is True
