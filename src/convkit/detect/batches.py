"""Batches of images with their boxes (the BatchSource protocol of the trainer).

A batch is ``(x, targets)``: ``x`` (N, C, H, W) float32 in channels_last, and
``targets`` (M, 6) float32 rows ``[image index in batch, label, x1, y1, x2,
y2]`` in input pixels — one tensor however many boxes each image has, so it
moves to a device in one call.
"""

from __future__ import annotations

import numpy as np

from convkit.errors import DataError


def collate(examples: list[tuple[np.ndarray, np.ndarray, np.ndarray]]):
    """[(array (C, H, W), boxes (M_i, 4), labels (M_i,))] -> (x (N, C, H, W), targets (M, 6))."""
    import torch

    x = torch.from_numpy(np.stack([e[0] for e in examples]))
    rows = [
        np.concatenate(
            [np.full((len(b), 1), i, np.float32), lab[:, None].astype(np.float32), b], axis=1
        )
        for i, (_, b, lab) in enumerate(examples)
    ]
    targets = torch.from_numpy(np.concatenate(rows) if rows else np.zeros((0, 6), np.float32))
    return x.contiguous(memory_format=torch.channels_last), targets


def mosaic_partners(augment, epoch: int, index: int, pool) -> list[int]:
    """The dataset indices of ``index``'s three mosaic partners this epoch, drawn from ``pool``."""
    if augment is None or not getattr(augment, "mosaic", 0):
        return []
    return augment.mosaic_partners(epoch, index, pool)


def make_example(loaded, partners: list, augment, preprocessing, epoch: int, index: int):
    """(array (C, H, W), boxes (M, 4) input pixels, labels (M,)) of one decoded example.

    ``loaded`` is (image, boxes pixels, labels); ``partners`` the decoded
    mosaic partners (three make a mosaic; fewer: the example alone is augmented).
    """
    image, boxes, labels = loaded
    if len(partners) == 3:
        image, boxes, labels = augment.mosaic_of(
            [loaded, *partners], preprocessing.width, preprocessing.height, epoch, index
        )
    elif augment is not None:  # no mosaic this time (or a partner was unreadable)
        image, boxes, labels = augment(image, boxes, labels, epoch, index)
    array, boxes, _ = preprocessing.fit(image, boxes)
    return array, boxes.astype(np.float32), labels


class DetectBatchSource:
    """Deterministic batches for a given (seed, epoch); unreadable images are skipped and listed."""

    def __init__(
        self,
        dataset,
        indices,
        preprocessing,
        augment=None,
        batch_size: int = 16,
        shuffle: bool = True,
        seed: int = 0,
        workers: int = 0,
        drop_last: bool = False,
    ):
        self.dataset = dataset
        self.indices = np.asarray(list(indices), np.int64)
        self.preprocessing = preprocessing
        self.augment = augment
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = seed
        self.workers = int(workers or 0)
        self.drop_last = drop_last
        self.skipped: list[tuple[str, str]] = []
        self._skipped_paths: set[str] = set()

    @property
    def num_examples(self) -> int:
        return len(self.indices)

    def __len__(self) -> int:
        full, rest = divmod(len(self.indices), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return self.indices
        return np.random.default_rng([self.seed, epoch]).permutation(self.indices)

    def _load(self, index: int):
        """(image, boxes, labels) of dataset item ``index``, or None (listed once) if unreadable."""
        try:
            return self.dataset.load(int(index))
        except DataError as error:
            path = str(self.dataset.annotations[int(index)].image)
            if path not in self._skipped_paths:
                self._skipped_paths.add(path)
                self.skipped.append((path, str(error)))
            return None

    def example(self, index: int, epoch: int):
        """(array (C, H, W), boxes (M, 4) input pixels, labels (M,)) or None if unreadable."""
        loaded = self._load(index)
        if loaded is None:
            return None
        partners = mosaic_partners(self.augment, epoch, int(index), self.indices)
        tiles = [t for t in map(self._load, partners) if t is not None]
        return make_example(loaded, tiles, self.augment, self.preprocessing, epoch, int(index))

    def epoch(self, epoch: int, start: int = 0):
        order = self.order(epoch)
        pool = None
        if self.workers > 0:  # OpenCV releases the GIL: threads decode in parallel
            from concurrent.futures import ThreadPoolExecutor

            pool = ThreadPoolExecutor(self.workers)
        try:
            for batch in range(start, len(self)):
                chunk = order[batch * self.batch_size : (batch + 1) * self.batch_size]
                if pool is not None:
                    examples = list(pool.map(lambda i: self.example(i, epoch), chunk))
                else:
                    examples = [self.example(i, epoch) for i in chunk]
                examples = [e for e in examples if e is not None]
                if examples:
                    yield collate(examples)
        finally:
            if pool is not None:
                pool.shutdown()
