"""Batches of spectrograms for the Trainer: the BatchSource protocol, for recordings.

``make_audio_batches`` is the audio twin of ``convkit.data.make_batches``:
``len(source)`` batches per epoch; ``source.epoch(epoch, start=0)`` yields
``(inputs (N, 1, n_mels, frames) float32, targets (N,) int64)``, the same
batches for the same ``(seed, epoch)``; ``num_examples``; ``skipped`` lists
``(path, reason)`` of recordings that could not be used; ``shard(rank, world)``
gives one worker's part.

Decoded, resampled waveforms are kept in memory (up to ``cache_mb``): decoding
is done once, while the spectrogram and SpecAugment, which differ every epoch,
are computed fresh.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from convkit.audio.preprocessing import AudioPreprocessing
from convkit.audio.specaugment import SpecAugment, as_spec_augment
from convkit.errors import DataError, UsageError


@contextmanager
def _single_threaded(device):
    """Run the CPU front end on one torch thread, then give the Trainer its threads back.

    Its tensors are small (a batch of 40x100 images): splitting each op over
    threads costs more in hand-offs than it gains, and on a busy machine made a
    64-clip batch take 390 ms instead of 60 ms (see docs/audio.md).
    """
    import torch

    if device is not None and str(device) != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class AudioBatchSource:
    def __init__(
        self,
        dataset,
        indices: Sequence[int],
        preprocessing: AudioPreprocessing,
        augment: SpecAugment | None,
        batch_size: int,
        shuffle: bool,
        seed: int,
        workers: int = 0,
        drop_last: bool = False,
        cache_mb: float = 512.0,
        device=None,
    ) -> None:
        if batch_size < 1:
            raise UsageError(f"`batch_size` must be positive. Received: batch_size={batch_size}")
        self.dataset = dataset
        self.indices = [int(i) for i in indices]
        self.preprocessing = preprocessing
        self.augment = augment
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = int(seed)
        self.workers = int(workers)
        self.drop_last = drop_last
        self.device = device
        self._cache: dict[int, np.ndarray] = {}
        self._cache_budget = int(cache_mb * 2**20)
        self._bad: dict[int, str] = {}  # dataset index -> reason, reported once each

    # -- the protocol ----------------------------------------------------------------

    @property
    def num_examples(self) -> int:
        return len(self.indices)

    @property
    def skipped(self) -> list[tuple[str, str]]:
        return [(str(self.dataset.paths[i]), reason) for i, reason in sorted(self._bad.items())]

    def __len__(self) -> int:
        full, rest = divmod(len(self.indices), self.batch_size)
        return full if (self.drop_last or rest == 0) else full + 1

    def order(self, epoch: int) -> list[int]:
        """The dataset indices of one epoch, in the order they are served."""
        if not self.shuffle:
            return list(self.indices)
        permutation = np.random.default_rng((self.seed, int(epoch))).permutation(len(self.indices))
        return [self.indices[p] for p in permutation]

    def epoch(self, epoch: int, start: int = 0) -> Iterator[tuple]:
        """Yield (inputs, targets) for batches ``start``…; a resumed run passes the next batch."""
        order = self.order(epoch)
        pool = None
        if self.workers > 0:
            from concurrent.futures import ThreadPoolExecutor

            # Threads suffice: libsndfile, scipy and torch.stft release the GIL.
            pool = ThreadPoolExecutor(max_workers=self.workers)
        try:
            for batch in range(start, len(self)):
                chosen = order[batch * self.batch_size : (batch + 1) * self.batch_size]
                loaded = list(
                    pool.map(self._waveform, chosen) if pool else map(self._waveform, chosen)
                )
                kept = [(i, w) for i, w in zip(chosen, loaded, strict=True) if w is not None]
                if not kept:
                    continue  # every file in this batch was unusable; they are in `skipped`
                yield self._transform(epoch, kept)
        finally:
            if pool is not None:
                pool.shutdown(wait=True)

    def shard(self, rank: int, world: int) -> AudioBatchSource:
        """Every ``world``-th example starting at ``rank``: one process's part of the data."""
        if not 0 <= rank < world:
            raise UsageError(f"shard rank must be in [0, {world}). Received: rank={rank}")
        part = AudioBatchSource(
            self.dataset,
            self.indices[rank::world],
            self.preprocessing,
            self.augment,
            self.batch_size,
            self.shuffle,
            self.seed,
            self.workers,
            self.drop_last,
            self._cache_budget / 2**20 / world,
            self.device,
        )
        return part

    # -- one example -----------------------------------------------------------------

    def _waveform(self, i: int) -> np.ndarray | None:
        """Decoded, resampled (T,) float32, or None (and remembered) when the file is unusable."""
        cached = self._cache.get(i)
        if cached is not None:
            return cached
        if i in self._bad:
            return None
        try:
            waveform = self.dataset.load_waveform(i, self.preprocessing.sample_rate)  # (T,)
        except DataError as error:
            self._bad[i] = str(error).split(": ", 1)[-1]
            return None
        if waveform.nbytes <= self._cache_budget:
            self._cache_budget -= waveform.nbytes
            self._cache[i] = waveform
        return waveform

    def _transform(self, epoch: int, kept: list[tuple[int, np.ndarray]]) -> tuple:
        """Spectrograms (and SpecAugment) of one batch: (N, 1, H, W) float32, targets (N,)."""
        import torch

        indices = [i for i, _ in kept]
        rngs = [self.augment.rng(self.seed, epoch, i) for i in indices] if self.augment else None
        positions = [self.augment.position(rng) for rng in rngs] if rngs else None
        with _single_threaded(self.device):
            inputs = self.preprocessing.apply_batch([w for _, w in kept], positions, self.device)
        inputs = inputs.cpu()  # (N, 1, n_mels, frames); the Trainer moves it to its device
        if rngs:
            array = inputs.numpy()  # shares memory: masks are written into `inputs`
            for row, rng in enumerate(rngs):
                self.augment.mask(array[row, 0], rng)
        targets = torch.tensor([self.dataset.targets[i] for i in indices], dtype=torch.long)
        return inputs.contiguous(memory_format=torch.channels_last), targets


def make_audio_batches(
    dataset,
    indices: Sequence[int] | None,
    preprocessing: AudioPreprocessing | None = None,
    augment: object = None,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    workers: int = 0,
    drop_last: bool = False,
    cache_mb: float = 512.0,
    device=None,
) -> AudioBatchSource:
    """A BatchSource over ``dataset`` (all of it when ``indices`` is None).

    ``augment``: None/False for none, True for SpecAugment's speech defaults, a
    dict of SpecAugment settings, or a ``SpecAugment``.
    """
    return AudioBatchSource(
        dataset,
        range(len(dataset)) if indices is None else indices,
        preprocessing or dataset.preprocessing,
        as_spec_augment(augment),
        batch_size,
        shuffle,
        seed,
        workers,
        drop_last,
        cache_mb,
        device,
    )
