"""Batching: the BatchSource the Trainer consumes, in memory or from files.

The order of an epoch is a permutation drawn from ``(seed, epoch)``; batch k
is always the same examples, so ``epoch(e, start=k)`` resumes a run exactly.
``shard(rank, world_size)`` gives each rank a disjoint, equal-sized slice of
every epoch's permutation for distributed training.

Two implementations behind one interface:

- ``InMemoryBatches``: the dataset is one uint8 array, resized once; each
  batch is a fancy index + one multiply-add (+ a batched affine warp when
  augmenting), in numpy: no thread pool competes with the training step.
- ``FileBatches``: a torch DataLoader whose worker processes decode, resize,
  augment and normalise with OpenCV. A file that fails is skipped and
  recorded in ``skipped``; its batch is just smaller.
"""

from __future__ import annotations

import contextlib
import copy
import math

import numpy as np

from convkit.data.augment import Augment
from convkit.data.dataset import strip_name
from convkit.data.preprocessing import Preprocessing
from convkit.errors import DataError


def one_pass(batches, progress: bool = False, desc: str = "evaluating"):
    """Epoch 0 of any batch source, for evaluation; with a transient progress bar on stderr."""
    iterator = batches.epoch(0)
    if not progress:
        return iterator
    import sys

    from tqdm import tqdm

    return tqdm(iterator, total=len(batches), desc=desc, unit="batch", file=sys.stderr, leave=False)


class BatchSource:
    """Deterministic epochs of batches over a fixed list of dataset indices."""

    def __init__(self, indices, batch_size: int, shuffle: bool, seed: int, drop_last: bool):
        if not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise DataError(
                f"`batch_size` must be a positive whole number. Received: {batch_size!r}"
            )
        self.indices = np.asarray(indices, dtype=np.int64)  # dataset indices, in given order
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.rank, self.world_size = 0, 1
        self.skipped: list[tuple[str, str]] = []  # (path, reason), each file once

    # positions index into self.indices (and into any per-position storage)
    def positions(self, epoch: int) -> np.ndarray:
        """This rank's positions for an epoch, in batch order."""
        count = len(self.indices)
        if self.shuffle:
            order = np.random.default_rng((self.seed, epoch)).permutation(count)
        else:
            order = np.arange(count)
        if self.world_size > 1:
            per_rank = count // self.world_size  # equal shares; the remainder sits out this epoch
            order = order[self.rank * per_rank : (self.rank + 1) * per_rank]
        return order

    @property
    def num_examples(self) -> int:
        """Examples this source yields per epoch (this rank's share, drop_last applied)."""
        count = len(self.indices) // self.world_size
        if self.drop_last:
            return (count // self.batch_size) * self.batch_size
        return count

    def __len__(self) -> int:
        count = len(self.indices) // self.world_size
        if self.drop_last:
            return count // self.batch_size
        return math.ceil(count / self.batch_size)

    def batch_positions(self, epoch: int, start: int = 0) -> list[np.ndarray]:
        if start < 0:
            raise DataError(f"`start` must be >= 0. Received: start={start}")
        order = self.positions(epoch)
        return [
            order[k * self.batch_size : (k + 1) * self.batch_size] for k in range(start, len(self))
        ]

    def shard(self, rank: int, world_size: int) -> BatchSource:
        """A copy that yields only rank's slice of every epoch (disjoint across ranks)."""
        if world_size < 1 or not 0 <= rank < world_size:
            raise DataError(
                f"need 0 <= rank < world_size. Received: rank={rank}, world_size={world_size}"
            )
        if len(self.indices) < world_size:
            raise DataError(f"{len(self.indices)} examples cannot be shared by {world_size} ranks")
        shard = copy.copy(self)
        shard.rank, shard.world_size = int(rank), int(world_size)
        shard.skipped = []
        return shard

    def epoch(self, epoch: int, start: int = 0):
        raise NotImplementedError

    def _record_skipped(self, items) -> None:
        known = {path for path, _ in self.skipped}
        for path, reason in items:
            if path not in known:
                self.skipped.append((path, reason))
                known.add(path)


class InMemoryBatches(BatchSource):
    """Batches cut from one uint8 array already at the network's input size."""

    def __init__(
        self,
        dataset,
        indices,
        preprocessing: Preprocessing,
        augment: Augment | None,
        batch_size: int,
        shuffle: bool,
        seed: int,
        drop_last: bool,
        progress: bool = True,
    ):
        super().__init__(indices, batch_size, shuffle, seed, drop_last)
        self.preprocessing = preprocessing
        self.augment = augment if augment is not None and augment.enabled else None
        self.images = _fit_all(
            dataset.images, self.indices, preprocessing, progress
        )  # (M, H, W, C)
        self.targets = np.asarray(dataset.targets, dtype=np.int64)[self.indices]  # (M,)

    def epoch(self, epoch: int, start: int = 0):
        import torch

        height, width = self.preprocessing.height, self.preprocessing.width
        for positions in self.batch_positions(epoch, start):
            x8 = self.images[positions]  # (N, H, W, C) uint8, a copy
            y = torch.from_numpy(self.targets[positions])  # (N,) int64
            if self.augment is None:
                yield self.preprocessing.normalise_batch(x8), y
                continue
            params = self.augment.sample_batch(
                self.seed, epoch, self.indices[positions], height, width
            )
            x = self.augment.apply_batch(x8, params)  # (N, H, W, C) float32 0..255
            yield self.preprocessing.normalise_batch_(x), y


def _fit_all(
    images: np.ndarray, indices: np.ndarray, pre: Preprocessing, progress: bool
) -> np.ndarray:
    """Resize/convert the selected images once; no copy work when they already fit."""
    from tqdm import tqdm

    selected = images[indices]  # (M, h, w, c) uint8, a copy in the given order
    h, w, c = selected.shape[1:]
    if (h, w, c) == (pre.height, pre.width, pre.channels) and (
        pre.channel_order == "rgb" or c == 1
    ):
        return np.ascontiguousarray(selected)
    out = np.empty((len(selected), pre.height, pre.width, pre.channels), dtype=np.uint8)
    for k in tqdm(
        range(len(selected)), desc="resize", unit="img", disable=not progress, leave=False
    ):
        out[k] = pre.fit(selected[k])
    return out


class FileBatches(BatchSource):
    """Batches decoded from files by DataLoader workers (OpenCV, one thread each)."""

    def __init__(
        self,
        dataset,
        indices,
        preprocessing,
        augment: Augment | None,
        batch_size: int,
        shuffle: bool,
        seed: int,
        drop_last: bool,
        workers: int,
        collate=None,
    ):
        super().__init__(indices, batch_size, shuffle, seed, drop_last)
        if workers < 0:
            raise DataError(f"`workers` must be >= 0. Received: workers={workers}")
        self.dataset = dataset
        self.preprocessing = preprocessing
        self.augment = augment if augment is not None and augment.enabled else None
        self.workers = int(workers)
        self.collate = collate

    def epoch(self, epoch: int, start: int = 0):
        from torch.utils.data import DataLoader

        batches = [self.indices[p] for p in self.batch_positions(epoch, start)]
        job = _LoadBatches(
            self.dataset, self.preprocessing, self.augment, batches, epoch, self.seed, self.collate
        )
        loader = DataLoader(
            job,
            batch_size=None,  # each item is already a whole batch
            shuffle=False,
            num_workers=self.workers,
            worker_init_fn=_init_worker if self.workers else None,
            prefetch_factor=4 if self.workers else None,
        )
        with _opencv_single_threaded_while_forking():
            results = iter(loader)  # the workers are forked here
        for result in results:
            inputs, targets, skipped = result
            if skipped:
                self._record_skipped(skipped)
            if inputs is None:  # every file of this batch failed
                continue
            yield inputs, targets


class _LoadBatches:
    """Map-style dataset of whole batches, run inside DataLoader workers."""

    def __init__(self, dataset, preprocessing, augment, batches, epoch, seed, collate):
        self.dataset = dataset
        self.preprocessing = preprocessing
        self.augment = augment
        self.batches = batches
        self.epoch = epoch
        self.seed = seed
        self.collate = collate

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, k: int):
        import torch

        pre = self.preprocessing
        images, targets, skipped = [], [], []
        batch = self.batches[k]
        sized_load = getattr(self.dataset, "load_for_size", None)
        if self.augment is not None:
            params = self.augment.sample_batch(self.seed, self.epoch, batch, pre.height, pre.width)
        for row, index in enumerate(batch):
            index = int(index)
            try:
                if sized_load is not None:  # large JPEGs decode faster at reduced scale
                    image, target = sized_load(index, pre.decode_min_side)
                else:
                    image, target = self.dataset.load(index)
                image = pre.fit(image)
                if self.augment is not None:
                    image = self.augment.apply(image, params[row])
            except (DataError, ValueError, OSError) as error:
                name = self.dataset.describe(index)
                skipped.append((name, strip_name(str(error), name)))
                continue
            except Exception as error:  # noqa: BLE001 - e.g. cv2.error: never kill training
                skipped.append((self.dataset.describe(index), f"{type(error).__name__}: {error}"))
                continue
            images.append(image)
            targets.append(target)
        if not images:
            return None, None, skipped
        if self.collate is not None:
            examples = [(pre.normalise(img), t) for img, t in zip(images, targets, strict=True)]
            inputs, collated = self.collate(examples)
            return inputs, collated, skipped
        x8 = np.stack(images)  # (N, H, W, C) uint8
        return pre.normalise_batch(x8), torch.as_tensor(targets, dtype=torch.int64), skipped


def _init_worker(_worker_id: int) -> None:
    import torch

    # each worker process is one decoding lane; nested thread pools only fight.
    # (OpenCV is already single-threaded here: see the context manager below.)
    torch.set_num_threads(1)


@contextlib.contextmanager
def _opencv_single_threaded_while_forking():
    """Stop OpenCV's thread pool while DataLoader forks its workers.

    A fork copies the pool's locks but not its threads; if a pool thread held
    a lock at that instant, the child's first OpenCV call (even
    ``cv2.setNumThreads``) waits forever. Shrinking the pool to one thread
    joins the pool threads, so the children start from a quiet, single-threaded
    OpenCV -- what a decoding worker wants anyway. The parent gets its pool back.
    """
    import cv2

    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def make_batches(
    dataset,
    indices=None,
    preprocessing: Preprocessing | None = None,
    augment: Augment | None = None,
    batch_size: int = 64,
    shuffle: bool = True,
    seed: int = 0,
    workers: int = 0,
    drop_last: bool = False,
    collate=None,
    progress: bool = True,
) -> BatchSource:
    """A BatchSource over ``dataset[indices]``: in memory when the dataset is an
    array (and no custom ``collate``), otherwise decoded from files by ``workers``
    DataLoader processes (0 = in this process).

    ``collate(examples) -> (inputs, targets)`` receives a list of
    ``(float32 (C, H, W), target)`` for tasks whose targets are not class indices.
    """
    if preprocessing is None:
        raise DataError("make_batches needs a preprocessing (e.g. Preprocessing.for_spec(spec))")
    if indices is None:
        indices = np.arange(len(dataset))
    indices = np.asarray(indices, dtype=np.int64)
    if len(indices) == 0:
        raise DataError("no examples to batch (empty index list)")
    if indices.min() < 0 or indices.max() >= len(dataset):
        raise DataError(f"indices must lie in 0..{len(dataset) - 1}")
    common = (dataset, indices, preprocessing, augment, batch_size, shuffle, seed, drop_last)
    if isinstance(getattr(dataset, "images", None), np.ndarray) and collate is None:
        return InMemoryBatches(*common, progress=progress)
    return FileBatches(*common, workers, collate=collate)
