"""Draw the spectrogram a network sees for one recording (``convkit viz spectrogram``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convkit.audio.decode import load_mono, read_audio
from convkit.audio.melspec import mel_band_centres
from convkit.audio.preprocessing import AudioPreprocessing


def spectrogram_figure(
    path: str | Path | bytes,
    out_png: str | Path,
    preprocessing: AudioPreprocessing | dict | None = None,
    title: str | None = None,
) -> Path:
    """Write a PNG: the waveform on top, below it the network's input volume.

    ``preprocessing`` is the model's (an ``AudioPreprocessing`` or its dict, as
    stored in the model file); without one, speech defaults at the file's own
    sample rate. Raises ``DataError`` for an unreadable or silent recording.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt

    if isinstance(preprocessing, dict):
        preprocessing = AudioPreprocessing.from_dict(preprocessing)
    if preprocessing is None:
        _, native_rate = read_audio(path)
        preprocessing = AudioPreprocessing(sample_rate=native_rate)
    pre = preprocessing
    waveform = load_mono(path, pre.sample_rate)  # (T,)
    volume = pre.apply(waveform)[0]  # (n_mels, frames), row 0 = lowest band

    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 5.5), gridspec_kw={"height_ratios": [1, 2.4]}, constrained_layout=True
    )
    seconds = np.arange(waveform.shape[0]) / pre.sample_rate
    top.plot(seconds, waveform, linewidth=0.6, color="#335")
    top.set_xlim(0, max(seconds[-1], 1e-3))
    top.set_ylabel("amplitude")
    top.set_title(title or (Path(path).name if not isinstance(path, bytes) else "recording"))

    hop_s = pre.hop_samples / pre.sample_rate
    image = bottom.imshow(
        volume,
        origin="lower",
        aspect="auto",
        cmap="magma",
        extent=(0, pre.frames * hop_s, -0.5, pre.n_mels - 0.5),
    )
    centres = mel_band_centres(pre.n_mels, pre.f_min, pre.f_max or pre.sample_rate / 2)
    ticks = np.linspace(0, pre.n_mels - 1, min(pre.n_mels, 6)).round().astype(int)
    bottom.set_yticks(ticks, [f"{centres[t]:.0f}" for t in ticks])
    bottom.set_ylabel(f"mel band centre (Hz), {pre.n_mels} bands")
    bottom.set_xlabel(f"time (s) in the network's {pre.frames}-frame window")
    bottom.set_title(f"network input {pre.n_mels}x{pre.frames}x1: {pre.describe()}", fontsize=8)
    figure.colorbar(image, ax=bottom, label=f"log-mel ({pre.normalise} normalised)")

    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out_png, dpi=110)
    plt.close(figure)
    return out_png
