"""End to end on real recordings: train on ~100 FSDD clips, predict, draw what the net hears."""

from __future__ import annotations

import json

import pytest

TINY_SPEC = {
    "name": "tiny_digits",
    "input": "20x40x1",  # 20 mel bands x 40 frames (0.4 s) x 1
    "layers": [
        {"conv2d": {"filters": 8, "kernel": 3, "padding": "same"}},
        {"max_pool": {"kernel": 2}},
        {"conv2d": {"filters": 16, "kernel": 3, "padding": "same"}},
        {"max_pool": {"kernel": 2}},
        {"output": {"classes": 10, "activation": "softmax"}},
    ],
}


@pytest.fixture(scope="module")
def hundred_clips(fsdd_dir, tmp_path_factory):
    """Two speakers x 10 digits x indices 0-4: 100 real clips, linked, not copied."""
    folder = tmp_path_factory.mktemp("fsdd100")
    for speaker in ("jackson", "theo"):
        for digit in range(10):
            for index in range(5):
                name = f"{digit}_{speaker}_{index}.wav"
                (folder / name).symlink_to(fsdd_dir / name)
    return folder


@pytest.fixture(scope="module")
def trained(hundred_clips, tmp_path_factory):
    from convkit import api

    run_dir = tmp_path_factory.mktemp("audio_run")
    report = api.fit(
        TINY_SPEC,
        hundred_clips,
        run_dir=run_dir,
        options={"test_where": "index<1", "quiet": True},
        epochs=3,
        batch_size=16,
        lr=3e-3,
        val_fraction=0.1,
        device="cpu",
        progress=False,
        evaluate_test=False,
    )
    return report


@pytest.mark.slow
def test_training_on_recordings_learns_and_saves_the_front_end(trained):
    from convkit import api
    from convkit.audio import AudioPreprocessing

    losses = [row["train_loss"] for row in trained.history]
    assert len(losses) == 3 and losses[-1] < losses[0]
    model = api.load(trained.model_path)
    assert model.preprocessing == AudioPreprocessing(sample_rate=8000, n_mels=20, frames=40)
    assert model.labels == [str(d) for d in range(10)]


@pytest.mark.slow
def test_predict_and_evaluate_from_the_model_file_alone(trained, hundred_clips, capsys):
    from convkit import api
    from convkit.cli import main

    clip = hundred_clips / "3_theo_0.wav"
    [prediction] = api.predict(trained.model_path, [clip.read_bytes()], top_k=3)
    assert prediction["label"] in {str(d) for d in range(10)} and len(prediction["top"]) == 3
    assert main(["predict", str(trained.model_path), str(clip), "--json"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["label"] in {str(d) for d in range(10)}
    report = api.evaluate(
        trained.model_path,
        hundred_clips,
        split="test",
        options={"test_where": "index<1", "quiet": True},
        progress=False,
    )
    assert sum(map(sum, report["confusion_matrix"])) == 20  # index 0 of 2 speakers x 10 digits


def test_spectrogram_figure_draws_a_png(fsdd_dir, tmp_path):
    from convkit.audio import AudioPreprocessing, spectrogram_figure

    out = spectrogram_figure(fsdd_dir / "7_jackson_32.wav", tmp_path / "a" / "clip.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    pre = AudioPreprocessing(sample_rate=16000, n_mels=64, frames=120).to_dict()
    other = spectrogram_figure(fsdd_dir / "7_jackson_32.wav", tmp_path / "b.png", pre)
    assert other.stat().st_size > 10_000


def test_viz_spectrogram_verb_reports_bad_recordings(tmp_path, capsys):
    from convkit.cli import main

    fake = tmp_path / "notes.wav"
    fake.write_text("not sound")
    assert main(["viz", "spectrogram", str(fake), "--out", str(tmp_path / "x.png")]) == 2
    assert "not a readable WAV/FLAC/OGG recording" in capsys.readouterr().err
