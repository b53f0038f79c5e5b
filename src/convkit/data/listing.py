"""The one rule for which files under a folder are inputs, shared by train and predict.

Hidden files and folders (name starting with ".") are not inputs: they are
editor backups, macOS ``._`` resource forks and ``.git`` internals. Files
with a suffix we do not read are reported, not decoded. Special files (FIFOs,
devices, sockets, links to them, broken links) are reported too: reading
them would hang or never end. Order is sorted, so runs are repeatable.
"""

from __future__ import annotations

import os
from pathlib import Path

from convkit.fileio import not_regular_reason


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def walk_files(folder: str | os.PathLike):
    """Every non-hidden entry below ``folder`` that is not a folder, sorted, recursively."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not is_hidden(d))
        for filename in sorted(filenames):
            if not is_hidden(filename):
                yield Path(dirpath) / filename


def list_input_files(
    folder: str | os.PathLike, suffixes: tuple[str, ...], kind: str = "an input"
) -> tuple[list[Path], list[tuple[str, str]]]:
    """``(files, excluded)`` below ``folder``: readable files with one of ``suffixes``
    and ``(path, reason)`` for the entries left out (wrong type, special file)."""
    files: list[Path] = []
    excluded: list[tuple[str, str]] = []
    for path in walk_files(folder):
        if path.suffix.lower() not in suffixes:
            excluded.append((str(path), f"not {kind} file type ({path.suffix or 'no suffix'})"))
            continue
        reason = not_regular_reason(path)
        if reason is not None:
            excluded.append((str(path), reason))
            continue
        files.append(path)
    return files, excluded
