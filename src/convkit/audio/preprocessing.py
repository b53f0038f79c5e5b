"""``AudioPreprocessing``: the recording -> network input recipe that travels in the model file.

A spoken-digit net is an ordinary spec whose input volume is
``n_mels x frames x 1`` (H = mel bands, W = frames, one channel). This object
holds everything needed to turn any recording into that volume on a machine
that never saw the training data: the sample rate, the analysis window and hop,
the number of mel bands and frames, and the normalisation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from convkit.audio.decode import load_mono
from convkit.audio.melspec import fft_size, fix_frames, frame_count, log_mel, normalise_valid
from convkit.errors import ShapeError, UsageError
from convkit.spec.constraints import Interval, Options, Param, check_keys, check_value, check_values

NORMALISATIONS = ("utterance", "band", "none")
WHAT = "audio preprocessing"
_POSITIVE = Interval(float, 0, None, closed="neither")
_COUNT = Interval(int, 1, None)
# What each setting may be; f_min, f_max and n_mels are bounded by the others (below).
_PARAMS = {
    "sample_rate": Param([_COUNT], doc="Hz"),
    "n_mels": Param([_COUNT]),
    "frames": Param([_COUNT]),
    "window_ms": Param([_POSITIVE]),
    "hop_ms": Param([_POSITIVE]),
    "f_min": Param([Interval(float, 0, None)]),
    "f_max": Param([_POSITIVE], default=None),
    "normalise": Param([Options(NORMALISATIONS)]),
    "kind": Param([Options({"audio"})]),
}


@dataclass(frozen=True)
class AudioPreprocessing:
    """Log-mel front end settings. Defaults suit speech: 25 ms window, 10 ms hop, 40 mels, 1 s."""

    sample_rate: int = 16000
    n_mels: int = 40
    frames: int = 100
    window_ms: float = 25.0
    hop_ms: float = 10.0
    f_min: float = 20.0
    f_max: float | None = None  # None: up to the Nyquist frequency, sample_rate / 2
    normalise: str = "utterance"
    kind: str = "audio"

    def __post_init__(self) -> None:
        # Validated only: the values stay as given (a frozen dataclass, and 25 stays 25).
        check_values(WHAT, _PARAMS, asdict(self), UsageError)
        # The band and the mel count are bounded by the other settings.
        nyquist = self.sample_rate / 2.0
        if self.f_max is not None:
            band_top = Interval(float, 0, nyquist, closed="right")
            check_value("f_max", self.f_max, band_top, WHAT, UsageError, "at most sample_rate/2")
        top = nyquist if self.f_max is None else self.f_max
        below = "sample_rate/2" if self.f_max is None else "f_max"
        band_bottom = Interval(float, 0, top, closed="left")
        check_value("f_min", self.f_min, band_bottom, WHAT, UsageError, f"below {below}")
        bins = fft_size(self.window_samples) // 2 + 1
        check_value(
            "n_mels",
            self.n_mels,
            Interval(int, 1, bins),
            WHAT,
            UsageError,
            f"the FFT bins of a {self.window_ms:g} ms window at {self.sample_rate} Hz: "
            "use fewer mel bands or a longer window_ms",
        )

    # -- derived sizes -------------------------------------------------------------

    @property
    def window_samples(self) -> int:
        return max(1, round(self.sample_rate * self.window_ms / 1000.0))

    @property
    def hop_samples(self) -> int:
        return max(1, round(self.sample_rate * self.hop_ms / 1000.0))

    @property
    def seconds(self) -> float:
        """How much sound the fixed-length input covers."""
        return ((self.frames - 1) * self.hop_samples + self.window_samples) / self.sample_rate

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """The network's input volume (H, W, C) = (n_mels, frames, 1)."""
        return (self.n_mels, self.frames, 1)

    def describe(self) -> str:
        return (
            f"{self.n_mels} mel bands x {self.frames} frames ({self.seconds:.2f} s) at "
            f"{self.sample_rate} Hz, {self.window_ms:g} ms window, {self.hop_ms:g} ms hop, "
            f"{self.normalise} normalisation"
        )

    # -- the transform -------------------------------------------------------------

    def apply_batch(self, waveforms, positions=None, device=None):
        """Mono waveforms at ``sample_rate`` (a list of (T_i,)) -> torch (N, 1, n_mels, frames).

        ``positions`` (one per clip, in [0, 1]) places each clip in its window;
        None centres them all. Waveforms may be numpy arrays or torch tensors;
        the work runs on ``device`` (default: the first tensor's device, else
        the CPU) and the result stays there. A clip longer than the window is cropped first, so its normalisation
        statistics are those of the sound the network sees.
        """
        import torch

        if positions is None:
            positions = [0.5] * len(waveforms)
        # Crop long clips to the samples their window needs before any FFT: the
        # network never sees the rest, and a batch is padded to its longest clip.
        n_fft = fft_size(self.window_samples)
        needed = (self.frames - 1) * self.hop_samples + n_fft
        clips, places = [], []
        if device is None:
            device = next((w.device for w in waveforms if torch.is_tensor(w)), "cpu")
        for waveform, position in zip(waveforms, positions, strict=True):
            if not torch.is_tensor(waveform):
                waveform = torch.from_numpy(np.asarray(waveform, dtype=np.float32))
            waveform = waveform.to(device=device, dtype=torch.float32)
            surplus = frame_count(waveform.shape[0], self.window_samples, self.hop_samples)
            surplus -= self.frames
            if surplus > 0:
                start = round(surplus * position) * self.hop_samples
                waveform, position = waveform[start : start + needed], 0.5
            clips.append(waveform)
            places.append(position)
        lengths = [int(w.shape[0]) for w in clips]
        longest = max(max(lengths), n_fft)
        batch = torch.zeros((len(clips), longest), dtype=torch.float32, device=device)  # (N, T)
        for row, waveform in enumerate(clips):
            batch[row, : lengths[row]] = waveform
        mel = log_mel(
            batch,
            self.sample_rate,
            self.n_mels,
            self.window_samples,
            self.hop_samples,
            self.f_min,
            self.f_max,
        )  # (N, n_mels, T frames)
        frames = [frame_count(n, self.window_samples, self.hop_samples) for n in lengths]
        valid = (
            torch.arange(mel.shape[-1], device=mel.device)[None, None, :]
            < torch.tensor(frames, device=mel.device)[:, None, None]
        )  # (N, 1, T)
        mel = normalise_valid(mel, valid, self.normalise)
        fixed = fix_frames(mel, frames, self.frames, places)  # (N, n_mels, frames)
        return fixed.unsqueeze(1)  # (N, 1, n_mels, frames)

    def apply(self, waveform, position: float = 0.5, device=None) -> np.ndarray:
        """Mono waveform (T,) at ``sample_rate`` -> network input, float32 (1, n_mels, frames)."""
        volume = self.apply_batch([waveform], [position], device)[0]
        return volume.cpu().numpy()

    def load(self, source: str | Path | bytes | bytearray) -> np.ndarray:
        """Decode, mix to mono, resample and transform: float32 (1, n_mels, frames).

        Raises ``DataError`` for an empty, silent, truncated or non-audio input.
        """
        return self.apply(load_mono(source, self.sample_rate))

    # -- travelling in the model file ----------------------------------------------

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> AudioPreprocessing:
        known = [field.name for field in fields(cls)]
        return cls(**check_keys(d, known, "audio preprocessing", error=UsageError))

    @classmethod
    def for_spec(cls, spec, **settings) -> AudioPreprocessing:
        """Settings whose output volume is the spec's input volume (n_mels x frames x 1).

        ``settings`` may repeat ``n_mels``/``frames``; they must then agree with
        the spec, and the error says which side to change.
        """
        height, width, channels = _input_volume(spec)
        if channels != 1:
            raise ShapeError(
                f"a spectrogram is one channel, but the spec's input is {height}x{width}x{channels}; "
                f"set the spec's input to {height}x{width}x1 (mel bands x frames x 1)"
            )
        for name, from_spec, meaning in (("n_mels", height, "height"), ("frames", width, "width")):
            asked = settings.get(name)
            if asked is not None and int(asked) != from_spec:
                raise ShapeError(
                    f"audio {name}={asked} does not match the spec's input {height}x{width}x1 "
                    f"({meaning} = {name} = {from_spec}); set the spec's input {meaning} to {asked} "
                    f"or drop {name} to use {from_spec}"
                )
        settings = {k: v for k, v in settings.items() if v is not None}
        settings.update(n_mels=height, frames=width)
        return cls.from_dict(settings)


def _input_volume(spec) -> tuple[int, int, int]:
    """(height, width, channels) of a NetSpec's input, or a ShapeError saying what is expected."""
    volume = getattr(spec, "input", spec)
    try:
        return int(volume.height), int(volume.width), int(volume.channels)
    except AttributeError:
        raise ShapeError(
            f"an audio network's input must be a volume (mel bands x frames x 1), got {volume}"
        ) from None
