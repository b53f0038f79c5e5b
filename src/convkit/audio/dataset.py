"""``AudioDataset``: recordings with integer targets, the image Dataset protocol for sound.

``classes``, ``targets``, ``__len__``, ``load(i)`` (the spectrogram, (H, W, 1)
float32), ``describe(i)`` and ``scan()``, plus the two hooks ``ClassifyTask``
calls: ``default_preprocessing(spec, options)`` and ``make_batches(...)``.
Folders become datasets in ``convkit.audio.folders``.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convkit.audio.decode import check_not_silent, load_mono, read_audio
from convkit.audio.naming import natural_sort
from convkit.audio.preprocessing import AudioPreprocessing
from convkit.audio.specaugment import SpecAugment
from convkit.errors import DataError, UsageError


@dataclass
class AudioScanReport:
    """What ``scan()`` found: usable files per class, bad files and why, rates and lengths."""

    files: int
    class_counts: dict[str, int]
    bad: list[tuple[str, str]]  # (path, reason)
    bad_indices: list[int]  # dataset indices of the bad files, for the caller to leave out
    sample_rates: dict[int, int]
    seconds_min: float
    seconds_mean: float
    seconds_max: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "class_counts": self.class_counts,
            "bad": [list(item) for item in self.bad],
            "bad_indices": list(self.bad_indices),
            "sample_rates": {str(k): v for k, v in self.sample_rates.items()},
            "seconds": {
                "min": self.seconds_min,
                "mean": self.seconds_mean,
                "max": self.seconds_max,
            },
            "notes": self.notes,
        }

    def __str__(self) -> str:
        rates = ", ".join(
            f"{rate} Hz x{count}" for rate, count in sorted(self.sample_rates.items())
        )
        lines = [
            f"{self.files} recordings in {len(self.class_counts)} classes; {len(self.bad)} unusable",
            f"sample rates: {rates or '-'}; length {self.seconds_min:.2f}-{self.seconds_max:.2f} s "
            f"(mean {self.seconds_mean:.2f} s)",
            *self.notes,
            *(f"skipped {path}: {reason}" for path, reason in self.bad),
        ]
        return "\n".join(lines)


class AudioDataset:
    """Recordings with integer targets; ``load(i)`` gives the spectrogram (H, W, 1) float32."""

    def __init__(
        self,
        root: Path,
        paths: list[Path],
        labels: list[str],
        fields: list[dict[str, str]],
        split: str,
        notes: list[str],
        classes: list[str] | None = None,
        preprocessing: AudioPreprocessing | None = None,
    ) -> None:
        self.root = root
        self.paths = paths
        self.fields = fields
        self.split = split
        self.notes = notes
        self.classes = classes if classes is not None else natural_sort(set(labels))
        index_of = {name: i for i, name in enumerate(self.classes)}
        self.targets = np.array([index_of[label] for label in labels], dtype=np.int64)  # (N,)
        self._preprocessing = preprocessing
        self.options: dict = {}  # the data options it was opened with (SpecAugment settings…)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def preprocessing(self) -> AudioPreprocessing:
        """What ``load(i)`` draws: the model's once ``default_preprocessing`` ran, else
        speech defaults at this data's own sample rate (nothing resampled)."""
        if self._preprocessing is None:
            self._preprocessing = AudioPreprocessing(sample_rate=self.native_sample_rate())
        return self._preprocessing

    @preprocessing.setter
    def preprocessing(self, value: AudioPreprocessing) -> None:
        self._preprocessing = value

    def load_waveform(self, i: int, sample_rate: int | None = None) -> np.ndarray:
        """Mono float32 (T,) at ``sample_rate`` (the preprocessing's by default)."""
        return load_mono(self.paths[i], sample_rate or self.preprocessing.sample_rate)

    def load(self, i: int) -> tuple[np.ndarray, int]:
        """(spectrogram (n_mels, frames, 1) float32, target); DataError for a bad file."""
        volume = self.preprocessing.load(self.paths[i])  # (1, H, W)
        return np.ascontiguousarray(volume.transpose(1, 2, 0)), int(self.targets[i])  # (H, W, 1)

    def describe(self, i: int) -> str:
        return f"{self.paths[i]} (label {self.classes[self.targets[i]]})"

    def default_preprocessing(self, spec, options: dict | None = None) -> AudioPreprocessing:
        """The front end for ``spec`` (n_mels x frames x 1), at this data's sample rate.

        Also becomes what ``load(i)`` uses, so examples look like the batches.
        """
        from convkit.audio.defaults import audio_preprocessing_for

        self.preprocessing = audio_preprocessing_for(
            spec, self, {**self.options, **(options or {})}
        )
        return self.preprocessing

    def make_batches(
        self, indices, preprocessing=None, augment=None, shuffle: bool = False, **kwargs
    ):
        """A BatchSource over ``indices`` (see ``convkit.audio.batches``).

        Training batches (``shuffle=True``) use SpecAugment when the data options
        ask for it (``specaugment=on``, optionally ``freq_masks``, ``freq_width``,
        ``time_masks``, ``time_width``, ``time_shift``) or ``augment`` is a
        SpecAugment. Image augmentations (flip, crop…) make no sense on a
        spectrogram and are refused.
        """
        from convkit.audio.batches import make_audio_batches
        from convkit.audio.specaugment import spec_augment_from_options

        if augment is not None and not isinstance(augment, (SpecAugment, dict, bool)):
            if getattr(augment, "enabled", True):
                raise UsageError(
                    "image augmentations (flip, crop, rotation…) do not apply to recordings; "
                    "use --data-option specaugment=on for SpecAugment's time and frequency masks"
                )
            augment = None
        if augment is None and shuffle:
            augment = spec_augment_from_options(self.options)
        kwargs.pop("collate", None)
        kwargs.pop("progress", None)
        return make_audio_batches(
            self, indices, preprocessing or self.preprocessing, augment, shuffle=shuffle, **kwargs
        )

    def native_sample_rate(self, probe: int = 64) -> int:
        """The most common sample rate among the first ``probe`` files (header read only)."""
        import soundfile

        rates: Counter[int] = Counter()
        for path in self.paths[:probe]:
            try:
                rates[soundfile.info(str(path)).samplerate] += 1
            except Exception:  # a bad file says nothing about the others' rate
                continue
        if not rates:
            raise DataError(f"{self.root}: none of the first {probe} recordings can be read")
        return rates.most_common(1)[0][0]

    def scan(self, strict: bool = False, progress: bool = True) -> AudioScanReport:
        """Decode every file once: which are unusable and why; rates and lengths of the rest.

        ``strict`` raises ``DataError`` at the first unusable file instead of listing it.
        """
        from tqdm import tqdm

        bad: list[tuple[str, str]] = []
        bad_indices: list[int] = []
        rates: Counter[int] = Counter()
        seconds: list[float] = []
        counts: Counter[str] = Counter()
        for i in tqdm(
            range(len(self)), desc="scan", unit="clip", disable=not progress, file=sys.stderr
        ):
            path = self.paths[i]
            try:
                samples, rate = read_audio(path)
                check_not_silent(samples, str(path))
            except DataError as error:
                if strict:
                    raise DataError(f"{error} (strict data: fix or remove the file)") from None
                bad.append((str(path), str(error).split(": ", 1)[-1]))
                bad_indices.append(i)
                continue
            rates[rate] += 1
            seconds.append(samples.shape[0] / rate)
            counts[self.classes[self.targets[i]]] += 1
        return AudioScanReport(
            files=len(self) - len(bad),
            class_counts={name: counts[name] for name in self.classes},
            bad=bad,
            bad_indices=bad_indices,
            sample_rates=dict(rates),
            seconds_min=min(seconds, default=0.0),
            seconds_mean=float(np.mean(seconds)) if seconds else 0.0,
            seconds_max=max(seconds, default=0.0),
            notes=list(self.notes),
        )
