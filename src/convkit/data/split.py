"""Deterministic, stratified train/validation split."""

from __future__ import annotations

import numpy as np

from convkit.errors import DataError


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
