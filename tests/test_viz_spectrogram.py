"""`convkit viz spectrogram`: the audio front end's picture through the viz CLI."""

from __future__ import annotations

import cv2

from convkit.cli import main
from test_viz_support import lenet_file


def test_spectrogram_of_a_recording(fsdd_dir, tmp_path, capsys):
    clip = sorted(fsdd_dir.glob("*.wav"))[0]
    out = tmp_path / "spec.png"
    assert main(["viz", "spectrogram", str(clip), "--out", str(out)]) == 0
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] > 100 and image.shape[1] > 100
    assert str(out) in capsys.readouterr().out


def test_spectrogram_mistakes(fsdd_dir, mnist_dir, tmp_path, capsys):
    assert main(["viz", "spectrogram", str(tmp_path / "missing.wav")]) == 2
    assert "recording not found" in capsys.readouterr().err
    clip = sorted(fsdd_dir.glob("*.wav"))[0]
    image_model = lenet_file(tmp_path, mnist_dir, steps=0)
    assert main(["viz", "spectrogram", str(clip), "--model", str(image_model)]) == 2
    assert "is an image model, not an audio model" in capsys.readouterr().err
