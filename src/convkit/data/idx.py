"""MNIST-style IDX files (gzip or raw): parse, find on disk, download.

IDX is LeCun's format: a big-endian magic (0x0000 + type code + number of
dimensions), one uint32 per dimension, then the data. Images are 2051
(N x rows x cols, uint8), labels 2049 (N, uint8). The whole split is held in
memory as one uint8 array: 60,000 MNIST digits are 47 MB.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np

from convkit.data.dataset import ArrayDataset
from convkit.errors import DataError

# The four files by split: (images, labels), names as published.
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# SHA-256 of the published .gz files (see shared/data/mnist/README.md).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

# Public mirrors, tried in order (yann.lecun.com often refuses robots now).
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse one IDX file (gzip-compressed or raw) into a numpy array."""
    path = Path(path)
    from convkit.fileio import read_file_bytes

    raw = read_file_bytes(path, what="IDX file")  # regular files only, size cap
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise DataError(f"{path}: damaged gzip data ({error})") from error
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header_end])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header_end < expected:
        raise DataError(f"{path}: truncated IDX data ({len(raw) - header_end} of {expected} bytes)")
    return np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape)), offset=header_end).reshape(
        shape
    )


def idx_dataset(images_path, labels_path, name: str = "idx") -> ArrayDataset:
    """An in-memory dataset from an images IDX file and its labels IDX file."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim not in (3, 4) or images.dtype != np.uint8:
        raise DataError(
            f"{images_path}: expected uint8 images (N, rows, cols), found {images.dtype} {images.shape}"
        )
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: expected a labels file (N,), found shape {labels.shape}")
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    labels = labels.astype(np.int64)
    # Labels are the digits themselves; MNIST-style sets always have 0..9 at least.
    num_classes = max(10, int(labels.max()) + 1 if len(labels) else 0)
    classes = [str(k) for k in range(num_classes)]
    return ArrayDataset(images, labels, classes, name=name)


def find_idx_pair(folder: str | os.PathLike, split: str) -> tuple[Path, Path] | None:
    """The (images, labels) files of a split in a folder, gz or raw; None if absent.

    Accepts the published names and the common variant with a dot
    (``train-images.idx3-ubyte``).
    """
    if split not in MNIST_FILES:
        raise DataError(f"IDX data has the splits 'train' and 'test'. Received: split={split!r}")
    folder = Path(folder)
    found = []
    for stem in MNIST_FILES[split]:
        variants = [stem, stem.replace("-idx", ".idx")]
        match = None
        for variant in variants:
            for suffix in (".gz", ""):
                candidate = folder / (variant + suffix)
                if candidate.is_file():
                    match = candidate
                    break
            if match:
                break
        if match is None:
            return None
        found.append(match)
    return found[0], found[1]


def has_idx_files(folder: str | os.PathLike) -> bool:
    folder = Path(folder)
    return folder.is_dir() and any(
        "idx" in child.name and "ubyte" in child.name for child in folder.iterdir()
    )


def mnist(folder: str | os.PathLike, split: str = "train") -> ArrayDataset:
    """MNIST (or any IDX set with the MNIST file names) from a folder."""
    pair = find_idx_pair(folder, split)
    if pair is None:
        images, labels = MNIST_FILES[split]
        raise DataError(
            f"{folder}: no {split} IDX files; expected {images}.gz and {labels}.gz (or unzipped)"
        )
    return idx_dataset(pair[0], pair[1], name=f"mnist {split}")


def mnist_search_paths() -> list[Path]:
    """Where find_mnist looks: $CONVKIT_DATA (and its mnist/), then the user cache."""
    paths = []
    env = os.environ.get("CONVKIT_DATA")
    if env:
        paths += [Path(env) / "mnist", Path(env)]
    paths.append(default_cache_dir())
    return paths


def default_cache_dir() -> Path:
    return Path(os.path.expanduser("~")) / ".cache" / "convkit" / "mnist"


def find_mnist() -> Path | None:
    """A folder that holds all four MNIST files, or None."""
    for folder in mnist_search_paths():
        if folder.is_dir() and all(find_idx_pair(folder, split) for split in MNIST_FILES):
            return folder
    return None


def download_mnist(cache_dir: str | os.PathLike | None = None, timeout: float = 30.0) -> Path:
    """Download the four MNIST files into cache_dir, checking each SHA-256.

    Tries the public mirrors in turn; a file already present with the right
    checksum is kept. Raises DataError when no mirror can be reached (offline).
    """
    import urllib.error
    import urllib.request

    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for filename, expected in MNIST_SHA256.items():
        target = folder / filename
        if target.is_file() and _sha256(target.read_bytes()) == expected:
            continue
        errors = []
        for mirror in MNIST_MIRRORS:
            try:
                with urllib.request.urlopen(mirror + filename, timeout=timeout) as response:
                    data = response.read()
            except (urllib.error.URLError, OSError, TimeoutError) as error:
                errors.append(f"{mirror}: {getattr(error, 'reason', error)}")
                continue
            if _sha256(data) != expected:
                errors.append(f"{mirror}: checksum mismatch")
                continue
            partial = target.with_suffix(".part")
            partial.write_bytes(data)
            os.replace(partial, target)  # never leave a half-written file under the real name
            break
        else:
            raise DataError(f"cannot download {filename} ({'; '.join(errors)})")
    return folder


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
