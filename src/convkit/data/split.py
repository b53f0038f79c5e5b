"""Deterministic, stratified train/validation split, and the record of it a run folder keeps."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from convkit.errors import DataError
from convkit.spec.constraints import check_keys


def stratified_split(targets, val_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, val_idx): each class contributes ``val_fraction`` of its examples.

    Same targets + fraction + seed -> same split, on any machine. A class with
    at least two examples keeps at least one on each side, so every class is
    both learned and validated. Both index arrays come back sorted.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"`val_fraction` must be in [0, 1). Received: val_fraction={val_fraction}")
    targets = np.asarray(targets)
    if targets.ndim != 1:
        raise DataError(f"targets must be one label per example. Received: shape={targets.shape}")
    rng = np.random.default_rng(seed)
    train, val = [], []
    for label in np.unique(targets):  # sorted: the draw order does not depend on data order
        members = np.flatnonzero(targets == label)
        members = members[rng.permutation(len(members))]
        take = int(round(len(members) * val_fraction))
        if val_fraction > 0 and len(members) >= 2:
            take = min(max(take, 1), len(members) - 1)
        val.append(members[:take])
        train.append(members[take:])
    train_idx = np.sort(np.concatenate(train)) if train else np.zeros(0, dtype=np.int64)
    val_idx = np.sort(np.concatenate(val)) if val else np.zeros(0, dtype=np.int64)
    return train_idx.astype(np.int64), val_idx.astype(np.int64)


# -- the split a run used, recorded in its folder ------------------------------------------
SPLIT_FILE = "split.json"


def targets_digest(targets) -> str:
    """SHA-256 of a dataset's labels in order: the same data opened the same way, or not."""
    import hashlib

    targets = np.asarray(targets)
    if targets.dtype.kind in "iub":  # class indices, strata: as little-endian int64
        data = np.ascontiguousarray(targets, dtype="<i8").tobytes()
    else:  # anything else a dataset may use as strata, in a stable text form
        data = json.dumps([str(t) for t in targets.tolist()]).encode()
    return hashlib.sha256(data).hexdigest()


@dataclass
class SplitRecord:
    """Which examples a run trained on and which it validated on, by dataset position.

    Positions are those of the dataset as the run opened and scanned it (a
    scan may drop unreadable files), with the same path and options; ``size``
    and ``targets_sha256`` describe that dataset, so a reader can tell whether
    it still has the same data. ``val`` lists the validation examples:
    positions in ``val_data`` when the run had a separate validation set, else
    in ``data`` (held out with ``val_fraction`` and ``seed``). The training
    examples are every position below ``size`` that is neither ``excluded``
    (the scan rejected it) nor, when held out of the same data, in ``val``.
    """

    data: str
    size: int
    targets_sha256: str
    seed: int
    val_fraction: float
    excluded: np.ndarray  # positions in ``data`` the scan rejected
    val: np.ndarray  # validation positions (in ``val_data`` if given, else in ``data``)
    val_data: str | None = None
    val_size: int | None = None  # the separate validation set's, like size and targets_sha256
    val_targets_sha256: str | None = None

    def train_indices(self) -> np.ndarray:
        left_out = self.excluded if self.val_data else np.union1d(self.excluded, self.val)
        return np.setdiff1d(np.arange(self.size, dtype=np.int64), left_out)

    def validation_source(self) -> tuple[str, int, str]:
        """(path, size, targets digest) of the data ``val`` indexes."""
        if self.val_data:
            return self.val_data, int(self.val_size or 0), str(self.val_targets_sha256)
        return self.data, self.size, self.targets_sha256

    def to_dict(self) -> dict:
        return {
            "format": 1,
            "data": self.data,
            "size": self.size,
            "targets_sha256": self.targets_sha256,
            "val_data": self.val_data,
            "val_size": self.val_size,
            "val_targets_sha256": self.val_targets_sha256,
            "seed": self.seed,
            "val_fraction": self.val_fraction,
            "counts": {"train": int(len(self.train_indices())), "val": int(len(self.val))},
            "excluded": [int(i) for i in self.excluded],
            "val": [int(i) for i in self.val],
        }

    @classmethod
    def from_dict(cls, data: dict) -> SplitRecord:
        data = check_keys(
            data,
            STORED_KEYS,
            "the split record",
            error=DataError,
            required=("data", "size", "targets_sha256"),
        )

        def positions(key: str) -> np.ndarray:
            return np.asarray(data.get(key) or [], dtype=np.int64)

        return cls(
            data=str(data["data"]),
            size=int(data["size"]),
            targets_sha256=str(data["targets_sha256"]),
            seed=int(data.get("seed", 0)),
            val_fraction=float(data.get("val_fraction", 0.0)),
            excluded=positions("excluded"),
            val=positions("val"),
            val_data=str(data["val_data"]) if data.get("val_data") else None,
            val_size=int(data["val_size"]) if data.get("val_size") is not None else None,
            val_targets_sha256=data.get("val_targets_sha256"),
        )


#: What ``SplitRecord.to_dict`` writes: the fields, and ``format`` and ``counts`` for readers.
STORED_KEYS = ("format", *(f.name for f in fields(SplitRecord)), "counts")


def write_split(run_dir, record: SplitRecord) -> Path:
    """``RUN_DIR/split.json``: the split as ``SplitRecord.to_dict`` (one line of JSON)."""
    path = Path(run_dir) / SPLIT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record.to_dict(), separators=(",", ":")) + "\n")
    return path


def read_split(run_dir) -> SplitRecord | None:
    """The split recorded in ``run_dir``, or None for a run folder from before it was recorded."""
    path = Path(run_dir) / SPLIT_FILE
    if not path.is_file():
        return None
    try:
        return SplitRecord.from_dict(json.loads(path.read_text()))
    except DataError as error:
        raise DataError(f"{path}: {error}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(f"{path}: not a split record ({error})") from None
