"""Folders of recordings as a classification dataset.

Two layouts, the same protocol as image datasets (``classes``, ``targets``,
``__len__``, ``load(i)``, ``describe(i)``, ``scan()``):

    speech/yes/clip1.wav, speech/no/clip2.flac        one subfolder per class
    recordings/7_jackson_32.wav                        labels from the file name
                                                       (options["label_pattern"])

The held-out split is chosen by ``options["test_where"]`` (e.g. ``index<5``)
over the fields the pattern names. When the folder follows the Free Spoken
Digit Dataset's naming, its pattern and official split (index 0-4 = test) are
the defaults, and ``notes`` says so.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convkit.audio.decode import AUDIO_EXTENSIONS, check_not_silent, load_mono, read_audio
from convkit.audio.naming import (
    FSDD_PATTERN,
    FSDD_TEST_WHERE,
    LabelPattern,
    SplitCondition,
    looks_like_fsdd,
    natural_sort,
)
from convkit.audio.preprocessing import AudioPreprocessing
from convkit.audio.specaugment import SpecAugment
from convkit.errors import DataError, UsageError

SPLITS = ("train", "val", "test", "all")


def is_audio_folder(path: str | Path) -> bool:
    """True when ``path`` is a folder holding recordings (directly or one level down)."""
    path = Path(path)
    if path.is_file():
        return path.suffix.lower() in AUDIO_EXTENSIONS
    if not path.is_dir():
        return False
    for depth_pattern in ("*", "*/*"):
        if any(p.suffix.lower() in AUDIO_EXTENSIONS for p in path.glob(depth_pattern)):
            return True
    return False


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
        self.preprocessing = preprocessing or AudioPreprocessing()
        self.options: dict = {}  # the data options it was opened with (SpecAugment settings…)

    def __len__(self) -> int:
        return len(self.paths)

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


def _split_folders(root: Path) -> dict[str, Path]:
    """root/train, root/val, root/test when root/train exists: the split is the folder."""
    children = {child.name.lower(): child for child in root.iterdir() if child.is_dir()}
    if "train" not in children:
        return {}
    return {name: children[name] for name in SPLITS if name in children}


def _base_of(file: Path, root: Path, split_dirs: dict[str, Path]) -> Path:
    for folder in split_dirs.values():
        if folder in file.parents:
            return folder
    return root


def _keep_for_split(root, split, split_dirs, origins, fields, pattern, test_where, notes):
    """Which files belong to ``split``: by split folder, by ``test_where``, or all of them."""
    if split == "all":
        return [True] * len(fields)
    if split_dirs:
        if split not in split_dirs:
            raise DataError(
                f"{root}: has no {split}/ folder (found {', '.join(sorted(split_dirs))})"
            )
        return [origin == split_dirs[split].name for origin in origins]
    if test_where is None:
        if split == "test":
            notes.append(
                f"{root} defines no test split (no test/ folder, no test_where): using every recording"
            )
        return [True] * len(fields)
    available = pattern.fields if pattern else ["label", "name"]
    condition = SplitCondition(str(test_where), available)
    in_test = [condition.holds(f) for f in fields]
    keep = in_test if split == "test" else [not t for t in in_test]
    if not any(keep):
        raise DataError(f"{root}: test_where {test_where!r} leaves the {split} split empty")
    return keep


def has_test_split(path: str | Path, options: dict | None = None) -> bool:
    """Whether recordings at ``path`` have a held-out split: ``test_where``, or FSDD naming."""
    options = options or {}
    root = Path(path)
    if not root.is_dir():
        return False
    if options.get("test_where") or "test" in _split_folders(root):
        return True
    files = _list_recordings(root)
    in_subfolders = bool(files) and all(p.parent != root for p in files)
    label_pattern = options.get("label_pattern")
    return not in_subfolders and label_pattern is None and looks_like_fsdd([p.stem for p in files])


def _list_recordings(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS
    )


def open_audio_dataset(
    path: str | Path, split: str | None = "all", options: dict | None = None
) -> AudioDataset:
    """Open a folder of recordings; ``split`` is "train", "val", "test" or "all".

    Splits come from train/, val/, test/ subfolders when there are any, else
    from ``test_where`` (FSDD's official one by default); with neither, every
    split is the whole folder.

    ``options``: ``label_pattern`` (labels from file names, e.g.
    ``{label}_{speaker}_{index}.wav``), ``test_where`` (held-out files, e.g.
    ``index<5``), ``quiet`` (do not print notes). Unknown keys are ignored, so
    the caller can pass all its data flags.
    """
    options = dict(options or {})
    split = split or "all"
    if split not in SPLITS:
        raise UsageError(f"audio split must be one of {list(SPLITS)}. Received: split={split!r}")
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder of recordings (expected .wav/.flac/.ogg files)")
    files = _list_recordings(root)
    if not files:
        raise DataError(f"{root}: no .wav/.flac/.ogg recordings found (looked in subfolders too)")

    notes: list[str] = []
    split_dirs = _split_folders(root)
    # Each file's folder of origin: root itself, or root/train, root/test… when present.
    bases = [_base_of(file, root, split_dirs) for file in files]
    pattern_text = options.get("label_pattern")
    test_where = options.get("test_where")
    in_subfolders = all(file.parent != base for file, base in zip(files, bases, strict=True))
    if pattern_text is None and not in_subfolders and looks_like_fsdd([p.stem for p in files]):
        pattern_text = FSDD_PATTERN
        if test_where is None and not split_dirs:
            test_where = FSDD_TEST_WHERE
            notes.append(
                "recognised the Free Spoken Digit Dataset naming {label}_{speaker}_{index}: "
                "using its official split, index<5 (0-4) is the test set (set test_where to change)"
            )
    if pattern_text is None and not in_subfolders:
        raise DataError(
            f"{root}: recordings lie directly in the folder, so labels must come from file names; "
            "pass label_pattern, e.g. '{label}_{speaker}_{index}.wav', or use one subfolder per class"
        )

    pattern = LabelPattern(pattern_text) if pattern_text else None
    paths: list[Path] = []
    labels: list[str] = []
    fields: list[dict[str, str]] = []
    origins: list[str | None] = []  # the split folder each file came from
    unmatched: list[str] = []
    for file, base in zip(files, bases, strict=True):
        if pattern is not None:
            parsed = pattern.parse(file.name, file.stem)
            if parsed is None:
                unmatched.append(file.name)
                continue
        else:
            parsed = {"label": file.relative_to(base).parts[0], "name": file.stem}
        paths.append(file)
        labels.append(parsed["label"])
        fields.append(parsed)
        origins.append(base.name if base != root else None)
    if unmatched:
        notes.append(
            f"{len(unmatched)} file(s) do not follow label_pattern {pattern_text!r} and are left out, "
            f"e.g. {unmatched[0]}"
        )
    if not paths:
        raise DataError(f"{root}: no file name follows label_pattern {pattern_text!r}")
    classes = natural_sort(set(labels))  # from every split, so train and test agree
    keep = _keep_for_split(root, split, split_dirs, origins, fields, pattern, test_where, notes)

    dataset = AudioDataset(
        root,
        [p for p, k in zip(paths, keep, strict=True) if k],
        [label for label, k in zip(labels, keep, strict=True) if k],
        [f for f, k in zip(fields, keep, strict=True) if k],
        split,
        notes,
        classes=classes,
    )
    dataset.options = options
    if notes and not options.get("quiet"):
        for note in notes:
            print(f"convkit: {note}", file=sys.stderr)
    return dataset
