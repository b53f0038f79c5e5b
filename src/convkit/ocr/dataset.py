"""A set of text-line images and their texts, checked against a reader before training.

CTC can only learn a line that the reader is able to write: every character in
the alphabet, at least one character, and enough time steps (columns of the
image after the network's downsampling) for its symbols plus a blank between
repeated neighbours. ``check_lines`` finds the lines that break these rules;
``TextLineDataset.scan`` reports them before training, which then skips them
(or stops with one DataError listing them all, when asked to be strict).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convkit.errors import DataError
from convkit.ocr.alphabet import Alphabet, ctc_min_steps
from convkit.ocr.labels import find_labelled_images


@dataclass
class LineProblems:
    """Lines a reader cannot learn, grouped by reason; each entry is (path, detail)."""

    unknown_characters: list[tuple[str, str]] = field(default_factory=list)
    empty_labels: list[tuple[str, str]] = field(default_factory=list)
    too_narrow: list[tuple[str, str]] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    unknown_symbols: str = ""  # every character the labels use that the alphabet lacks

    def groups(self) -> dict[str, list[tuple[str, str]]]:
        return {
            "characters outside the alphabet": self.unknown_characters,
            "empty labels": self.empty_labels,
            "too narrow for their label": self.too_narrow,
            "unreadable images": self.unreadable,
        }

    def paths(self) -> set[str]:
        return {path for entries in self.groups().values() for path, _ in entries}

    def items(self) -> list[tuple[str, str]]:
        """Every problem as (path, reason), the reason naming its group."""
        return [
            (path, f"{group}: {detail}")
            for group, entries in self.groups().items()
            for path, detail in entries
        ]

    def __len__(self) -> int:
        return sum(len(entries) for entries in self.groups().values())

    def message(self, total: int, show: int = 3) -> str:
        """One line: how many lines fail and why, with a few examples of each."""
        parts = []
        for group, entries in self.groups().items():
            if entries:
                shown = "; ".join(f"{Path(p).name} ({d})" for p, d in entries[:show])
                more = f"; … {len(entries) - show} more" if len(entries) > show else ""
                parts.append(f"{len(entries)} {group} [{shown}{more}]")
        return f"{len(self)} of {total} text lines cannot be learned: " + ", ".join(parts)


class TextLineDataset:
    """Text-line images in files; ``texts[i]`` is the label of ``paths[i]``.

    Follows the Dataset protocol of docs/ARCHITECTURE.md: ``len``, ``targets``
    (the texts), ``load(i) -> (image uint8 (H, W, C), text)``, ``describe(i)``.
    """

    def __init__(self, pairs: list[tuple[Path, str]], channels: int = 1, name: str = "lines"):
        self.paths = [Path(p) for p, _ in pairs]
        self.texts = [t for _, t in pairs]
        self.channels = channels
        self.name = name
        # What the reader can learn (alphabet, height, pixels per step), set by
        # OcrTask.open_data so that scan() can check every line against it.
        self.reader: ReaderLimits | None = None

    @classmethod
    def open(cls, path: str | Path, channels: int = 1) -> TextLineDataset:
        """A folder named-by-text, a folder with labels.tsv/csv, or a CSV/TSV table."""
        return cls(find_labelled_images(path), channels=channels, name=str(path))

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        return f"TextLineDataset({self.name!r}, {len(self)} lines)"

    @property
    def targets(self) -> np.ndarray:
        """Strata for the train/validation split: each line's length.

        The labels themselves are ``texts``; nearly every text is unique, so a
        split stratified by text would keep none back for validation. Lines
        grouped by length give a validation set with every length represented.
        """
        return np.array([len(text) for text in self.texts], dtype=np.int64)

    @property
    def classes(self) -> list[str]:
        """The characters the labels use (sorted); what an alphabet must cover."""
        return sorted(set("".join(self.texts)))

    def load(self, index: int) -> tuple[np.ndarray, str]:
        from convkit.data.decode import read_image

        return read_image(self.paths[index], channels=self.channels), self.texts[index]

    def describe(self, index: int) -> str:
        return f"{self.paths[index]} ({self.texts[index]!r})"

    def image_sizes(self, progress: bool = False) -> list[tuple[int, int] | None]:
        """(width, height) of every image from its header; None if it cannot be read."""
        from convkit.data.decode import image_size

        items = range(len(self))
        if progress and len(self) > 2000:
            from tqdm import tqdm

            items = tqdm(items, desc="checking lines", unit="img")
        sizes: list[tuple[int, int] | None] = []
        for i in items:
            try:
                sizes.append(image_size(self.paths[i]))
            except DataError:
                sizes.append(None)
        return sizes

    def scan(self, strict: bool = False, progress: bool = True) -> TextLineScan:
        """Check every line before training; strict turns any problem into a DataError."""
        return scan_lines(self, strict, progress)

    def make_batches(self, indices, preprocessing, alphabet, **options):
        from convkit.ocr.batching import TextLineBatches

        return TextLineBatches(self, indices, preprocessing, alphabet, **options)


def scan_lines(dataset, strict: bool = False, progress: bool = True) -> TextLineScan:
    """Check every line of ``dataset`` against its reader (``paths``, ``texts``, ``image_sizes``).

    Lines that fail are listed in ``bad_indices`` (training skips them);
    ``strict``, or no line left, makes it one DataError.
    """
    problems = check_lines(dataset, dataset.reader, progress=progress)
    failed = problems.paths()
    report = TextLineScan(
        num_lines=len(dataset),
        bad=problems.items(),
        bad_indices=[i for i, p in enumerate(dataset.paths) if str(p) in failed] if failed else [],
        message=problems.message(len(dataset)) + missing_alphabet_hint(problems, dataset.reader)
        if problems
        else "",
    )
    if problems and (strict or len(report.bad_indices) == len(dataset)):
        raise DataError(report.message)
    return report


@dataclass(frozen=True)
class ReaderLimits:
    """What a reader can learn: its alphabet, input height and input pixels per step."""

    alphabet: Alphabet
    height: int
    pixels_per_step: float


@dataclass
class TextLineScan:
    """What ``TextLineDataset.scan`` found; lines in ``bad_indices`` are skipped."""

    num_lines: int
    bad: list[tuple[str, str]]
    bad_indices: list[int]
    message: str = ""

    def __str__(self) -> str:
        headline = f"Found {self.num_lines} text lines"
        if not self.bad:
            return headline
        return f"{headline}; skipping {self.message}"

    def to_dict(self) -> dict:
        return {
            "num_lines": self.num_lines,
            "bad": [list(item) for item in self.bad],
            "message": self.message,
        }


def check_lines(
    dataset: TextLineDataset, reader: ReaderLimits | None, progress: bool = False
) -> LineProblems:
    """Lines the reader cannot learn: unknown characters, empty labels, too narrow.

    Every line is scaled to the reader's height (aspect kept); each
    ``pixels_per_step`` input columns make one output step. Without a reader
    only empty labels and unreadable images are found.
    """
    problems = LineProblems()
    unknown_by_path: dict[str, str] = {}
    for path, text in zip(dataset.paths, dataset.texts, strict=True):
        if not text:
            problems.empty_labels.append((str(path), "no text"))
        elif reader is not None and (missing := reader.alphabet.unknown(text)):
            unknown_by_path[str(path)] = missing
            problems.unknown_symbols += "".join(
                c for c in missing if c not in problems.unknown_symbols
            )
            problems.unknown_characters.append((str(path), f"{text!r} has {missing!r}"))
    sizes = dataset.image_sizes(progress=progress)
    for path, text, size in zip(dataset.paths, dataset.texts, sizes, strict=True):
        if size is None:
            problems.unreadable.append((str(path), "not a readable image"))
            continue
        if reader is None or not text or str(path) in unknown_by_path:
            continue
        width, image_height = size
        steps = int(width * reader.height / image_height / reader.pixels_per_step)
        needed = ctc_min_steps(text)
        if steps < needed:
            problems.too_narrow.append(
                (
                    str(path),
                    f"{width}x{image_height} px gives {steps} steps, {text!r} needs {needed}",
                )
            )
    return problems


def missing_alphabet_hint(problems: LineProblems, reader: ReaderLimits | None) -> str:
    """A suggestion to widen the alphabet with the characters the labels use."""
    if reader is None or not problems.unknown_symbols:
        return ""
    wider = reader.alphabet.symbols + problems.unknown_symbols
    return f"; to learn them, set `alphabet: {wider!r}` in the ctc_output layer"
