"""Folders of recordings -> ``AudioDataset``: labels, splits, the FSDD defaults.

Layouts (searched recursively for .wav/.flac/.ogg):

    speech/yes/clip1.wav, speech/no/clip2.flac        one subfolder per class
    speech/train/yes/…, speech/test/yes/…              the same, split by folder
    recordings/7_jackson_32.wav                        labels from the file name
                                                       (options["label_pattern"])

Without split folders, the held-out split is chosen by ``options["test_where"]``
(e.g. ``index<5``) over the fields the pattern names. When the folder follows the Free Spoken
Digit Dataset's naming, its pattern and official split (index 0-4 = test) are
the defaults, and ``notes`` says so.
"""

from __future__ import annotations

import sys
from pathlib import Path

from convkit.audio.dataset import AudioDataset
from convkit.audio.decode import AUDIO_EXTENSIONS
from convkit.audio.naming import (
    FSDD_PATTERN,
    FSDD_TEST_WHERE,
    LabelPattern,
    SplitCondition,
    looks_like_fsdd,
    natural_sort,
)
from convkit.data.suffixes import describe
from convkit.errors import DataError, UsageError

SPLITS = ("train", "val", "test", "all")
_ANNOUNCED: set[str] = set()  # notes already printed by this process


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


def _class_order(root: Path, labels: list[str], given: list[str] | None) -> list[str]:
    """The class list: ``given`` (a trained model's labels, so indices match), else the
    natural order of every label in every split, so train and test agree."""
    if given is None:
        return natural_sort(set(labels))
    unknown = sorted(set(labels) - set(map(str, given)))
    if unknown:
        raise DataError(
            f"{root}: labels {unknown[:8]} are not among the model's classes "
            f"({', '.join(map(str, given))})"
        )
    return [str(name) for name in given]


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
    from convkit.data.listing import list_input_files  # the one listing rule (hidden, special)

    return list_input_files(root, AUDIO_EXTENSIONS)[0]


def open_audio_dataset(
    path: str | Path, split: str | None = "all", options: dict | None = None
) -> AudioDataset:
    """Open a folder of recordings; ``split`` is "train", "val", "test" or "all".

    Splits come from train/, val/, test/ subfolders when there are any, else
    from ``test_where`` (FSDD's official one by default); with neither, every
    split is the whole folder.

    ``options``: ``label_pattern`` (labels from file names, e.g.
    ``{label}_{speaker}_{index}.wav``), ``test_where`` (held-out files, e.g.
    ``index<5``), ``classes`` (a fixed class order, e.g. a trained model's
    labels), ``quiet`` (do not print notes). Unknown keys are ignored, so
    the caller can pass all its data flags.
    """
    options = dict(options or {})
    split = split or "all"
    if split not in SPLITS:
        raise UsageError(f"audio split must be one of {list(SPLITS)}. Received: split={split!r}")
    root = Path(path)
    if not root.is_dir():
        raise DataError(
            f"{root}: not a folder of recordings (expected {describe(AUDIO_EXTENSIONS)} files)"
        )
    files = _list_recordings(root)
    if not files:
        raise DataError(
            f"{root}: no {describe(AUDIO_EXTENSIONS)} recordings found (looked in subfolders too)"
        )

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
    classes = _class_order(root, labels, options.get("classes"))
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
    if not options.get("quiet"):
        for note in notes:
            if note not in _ANNOUNCED:  # train and test splits open the same folder: say it once
                _ANNOUNCED.add(note)
                print(f"convkit: {note}", file=sys.stderr)
    return dataset
