"""Where a text line's label comes from: its file name or a table beside it.

File names: the label is the file name without its extension, so ``abc12.png``
reads "abc12". Several images with the same text need distinct names, so a
trailing ``_<digits>`` is a duplicate counter and is dropped: ``abc12_3.png``
reads "abc12" too. A label that truly ends in ``_<digits>`` needs a table.

Tables: a CSV (``,``) or TSV (tab) file with two columns, ``path`` and ``text``;
a header row naming them is optional. Paths are relative to the table's folder.
A folder holding ``labels.tsv`` or ``labels.csv`` is read through that table.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from convkit.data.suffixes import IMAGE_SUFFIXES
from convkit.errors import DataError

TABLE_NAMES = ("labels.tsv", "labels.csv")
_DUPLICATE_COUNTER = re.compile(r"_\d+$")


def label_from_filename(path: str | Path) -> str:
    """``abc12.png`` -> "abc12"; ``abc12_3.png`` -> "abc12" (``_3`` counts duplicates)."""
    return _DUPLICATE_COUNTER.sub("", Path(path).stem)


def labels_from_folder(folder: Path) -> list[tuple[Path, str]]:
    """Every image under ``folder`` (recursively, sorted) with the label its name carries."""
    images = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise DataError(
            f"no images (.png, .jpg, …) under {folder}; a text-line folder holds images "
            "named by their text (abc12.png) or a labels.tsv/labels.csv of path,text"
        )
    return [(path, label_from_filename(path)) for path in images]


def labels_from_table(table: Path) -> list[tuple[Path, str]]:
    """Rows ``path,text`` (CSV) or ``path<TAB>text`` (TSV); a header row is optional."""
    delimiter = "\t" if table.suffix.lower() in (".tsv", ".tab") else ","
    from convkit.fileio import MIB, read_file_text  # regular files only, size cap

    text = read_file_text(table, limit=64 * MIB, what="label table")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if rows and [cell.strip().lower() for cell in rows[0][:2]] == ["path", "text"]:
        rows = rows[1:]
    pairs = []
    for line_number, row in enumerate(rows, start=1):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if len(row) < 2:
            raise DataError(
                f"{table}, row {line_number}: expected 2 columns path{delimiter!r}text, "
                f"found {len(row)}: {row!r}"
            )
        # A CSV text may itself hold commas when quoted; keep everything after the path.
        text = delimiter.join(row[1:])
        pairs.append((table.parent / row[0].strip(), text))
    if not pairs:
        raise DataError(f"label table {table} has no rows of path,text")
    return pairs


def find_labelled_images(path: str | Path) -> list[tuple[Path, str]]:
    """A folder (names or labels table inside) or a table file -> (image path, text) pairs."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() not in (".csv", ".tsv", ".tab"):
            raise DataError(
                f"{path} is a file but not a .csv/.tsv label table; pass the folder of "
                "text-line images or a table of path,text"
            )
        return labels_from_table(path)
    if not path.is_dir():
        raise DataError(f"text-line data not found: {path}")
    for name in TABLE_NAMES:
        if (path / name).is_file():
            return labels_from_table(path / name)
    return labels_from_folder(path)
