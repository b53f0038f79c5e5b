"""The one way convkit reads a file it was pointed at: regular files only, with a size cap.

Why: a data folder (or a spec or model path) may hold anything a file name can
name. A symlink ``x.png -> /dev/zero`` never ends, a FIFO named ``x.png``
blocks the reader forever, and a 512 MB file of garbage costs 512 MB before it
is refused. So every read checks what the path really is (after following
links) and how big it is *before* reading, opens without blocking (a FIFO
swapped in after the check still cannot hang us), checks again on the open
descriptor, and never reads more than the cap.

Pure Python (os/stat); the caller chooses the error class so a data file
raises DataError and a model file ModelFileError.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from convkit.errors import ConvkitError, DataError
from convkit.limits import positive_int_from_env

MIB = 1024 * 1024
# Largest file convkit reads whole: a 100-megapixel 16-bit RGB TIFF is ~600 MB.
# Raise it with CONVKIT_MAX_FILE_BYTES (a whole number of bytes).
DEFAULT_MAX_FILE_BYTES = 1024 * MIB


def max_file_bytes() -> int:
    return positive_int_from_env("CONVKIT_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES)


def kind_of(mode: int) -> str:
    """A human name for a non-regular file's type."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def not_regular_reason(path: str | os.PathLike) -> str | None:
    """Why ``path`` (links followed) cannot be read as a file, or None if it can be.

    Cheap (one stat, no open): listings use it to report special files as
    skipped instead of handing them to a reader.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "file not found"
    except OSError as error:
        return f"cannot read ({error.strerror or error})"
    if stat.S_ISREG(mode):
        return None
    return f"{kind_of(mode)}, not a regular file"


def read_file_bytes(
    path: str | os.PathLike,
    *,
    limit: int | None = None,
    error: type[ConvkitError] = DataError,
    what: str = "file",
    setting: str | None = "CONVKIT_MAX_FILE_BYTES",
) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; ``error`` otherwise.

    ``limit`` defaults to ``max_file_bytes()``. ``what`` names the file in the
    message ("image", "spec file", "model file"); ``setting`` the environment
    variable that raises ``limit`` (None: a fixed limit).
    """
    limit = max_file_bytes() if limit is None else limit
    name = os.fspath(path)
    descriptor, info = _open_regular(path, error)
    try:
        if info.st_size > limit:
            raise error(_too_big(name, what, info.st_size, limit, setting))
        # One read of the size fstat gave (plus one byte, to see whether the file
        # grew) is usually the whole file: a second call only to hear EOF cost
        # ~2 us an image. The loop handles short reads and growth, never past the cap.
        first = os.read(descriptor, min(limit, info.st_size, 1 << 30) + 1)
        if len(first) == info.st_size:
            return first
        chunks, total = [first], len(first)
        while True:
            chunk = os.read(descriptor, min(limit + 1 - total, 8 * MIB))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise error(_too_big(name, what, total, limit, setting))
        return b"".join(chunks)
    except OSError as failure:
        raise error(f"{name}: cannot read ({failure.strerror or failure})") from None
    finally:
        os.close(descriptor)


def read_file_text(path: str | os.PathLike, *, limit: int = 256 * MIB, what: str = "file") -> str:
    """A regular UTF-8 text file (annotations, label lists) through the same checks."""
    data = read_file_bytes(path, limit=limit, error=DataError, what=what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{os.fspath(path)}: not UTF-8 text ({error.reason})") from None


def read_file_head(
    path: str | os.PathLike, size: int, *, error: type[ConvkitError] = DataError
) -> tuple[bytes, int]:
    """The first ``size`` bytes of a regular file and its total size (header sniffing)."""
    name = os.fspath(path)
    descriptor, info = _open_regular(path, error)
    try:
        return os.read(descriptor, size), info.st_size
    except OSError as failure:
        raise error(f"{name}: cannot read ({failure.strerror or failure})") from None
    finally:
        os.close(descriptor)


def _too_big(name: str, what: str, size: int, limit: int, setting: str | None) -> str:
    hint = f"; raise {setting} if the file is trusted" if setting else ""
    return (
        f"{name}: {what} is too large ({size / MIB:,.1f} MiB, limit {limit / MIB:,.0f} MiB{hint})"
    )


def check_writable_folder(path: str | os.PathLike, what: str = "folder") -> None:
    """UsageError unless ``path`` is (or can be made) a folder we can write files into.

    Checked by doing: the missing folders are created, a probe file is written
    and removed, and the folders this check created are removed again, so a
    run that fails later leaves nothing behind. Being root does not make
    /proc writable, which is why ``os.access`` is not enough.
    """
    import tempfile

    from convkit.errors import UsageError

    path = Path(os.fspath(path)) if os.fspath(path) else Path("")
    if not os.fspath(path):
        raise UsageError(f"{what} is empty: give a folder path")
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what} {path}: {kind_of(os.stat(path).st_mode)}, not a folder")
    missing = []
    parent = path
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    try:
        path.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".convkit-write-test-", dir=path)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise UsageError(f"{what} {path}: cannot write there ({error.strerror or error})") from None
    finally:
        for folder in missing:  # deepest first
            try:
                folder.rmdir()
            except OSError:
                break


def check_input_path(text: str | os.PathLike, what: str = "--data") -> None:
    """UsageError for an empty path or one naming a device, FIFO or socket.

    ``''`` would otherwise mean the current folder, silently; /dev/zero would
    be read until memory runs out. Missing paths are left to the data source,
    which says what it expected.
    """
    from convkit.errors import UsageError

    if not os.fspath(text).strip():
        raise UsageError(f"{what} is empty: give a dataset folder or file")
    try:
        mode = os.stat(text).st_mode
    except OSError:
        return
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise UsageError(f"{what} {os.fspath(text)}: {kind_of(mode)}, not a dataset folder or file")


def _open_regular(path: str | os.PathLike, error: type[ConvkitError]) -> tuple[int, os.stat_result]:
    """An open descriptor on a regular file and its stat; the caller closes it."""
    name = os.fspath(path)
    reason = not_regular_reason(path)
    if reason is not None:
        raise error(f"{name}: {reason}")
    try:
        # O_NONBLOCK: if a FIFO replaced the file since the stat, open returns at
        # once instead of waiting for a writer; the fstat below then refuses it.
        descriptor = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as failure:
        raise error(f"{name}: cannot read ({failure.strerror or failure})") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{name}: {kind_of(info.st_mode)}, not a regular file")
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor, info
