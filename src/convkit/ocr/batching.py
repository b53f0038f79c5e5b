"""Batches of text lines for the Trainer: width padded per batch, texts carried along.

``TextLineBatches`` follows the BatchSource protocol of docs/ARCHITECTURE.md:
``len`` is batches per epoch; ``epoch(epoch, start)`` yields ``(x, targets)``,
the same for a given (seed, epoch) so a resumed run sees the same batches.
``x`` is float32 (N, C, H, W_max); ``targets`` a ``TextTargets``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convkit.errors import DataError
from convkit.ocr.alphabet import Alphabet
from convkit.ocr.preprocess import TextLinePreprocessing, pad_batch


@dataclass
class TextTargets:
    """What CTC needs per batch: the texts, their symbols end to end, lengths and widths."""

    texts: list[str]
    symbols: object  # LongTensor (sum of lengths,): every label's indices, concatenated
    lengths: object  # LongTensor (N,): symbols per label
    widths: object  # LongTensor (N,): true image widths before padding

    def __len__(self) -> int:
        return len(self.texts)

    def to(self, device, non_blocking: bool = False) -> TextTargets:
        return TextTargets(
            self.texts,
            self.symbols.to(device, non_blocking=non_blocking),
            self.lengths.to(device, non_blocking=non_blocking),
            self.widths.to(device, non_blocking=non_blocking),
        )


def make_targets(texts: list[str], widths: list[int], alphabet: Alphabet) -> TextTargets:
    import torch

    encoded = [alphabet.encode(text) for text in texts]
    return TextTargets(
        texts=list(texts),
        symbols=torch.tensor([i for line in encoded for i in line], dtype=torch.long),
        lengths=torch.tensor([len(line) for line in encoded], dtype=torch.long),
        widths=torch.tensor(widths, dtype=torch.long),
    )


def line_batch(prepared: list[np.ndarray], texts: list[str], preprocessing, alphabet: Alphabet):
    """Lines already at the reader's height (uint8 (H, W_i, C)) -> (x (N, C, H, W_max), targets)."""
    import torch

    arrays = [preprocessing.to_array(p) for p in prepared]
    batch, widths = pad_batch(arrays)  # (N, C, H, W_max)
    return torch.from_numpy(batch), make_targets(texts, widths, alphabet)


class TextLineBatches:
    """A BatchSource over ``dataset[indices]``; decoded lines are cached as uint8."""

    def __init__(
        self,
        dataset,
        indices,
        preprocessing: TextLinePreprocessing,
        alphabet: Alphabet,
        batch_size: int = 32,
        shuffle: bool = False,
        seed: int = 0,
        workers: int = 0,
        cache: bool = True,
        drop_last: bool = False,
    ):
        if batch_size < 1:
            raise DataError(f"batch_size must be at least 1. Received: batch_size={batch_size}")
        self.dataset = dataset
        self.indices = np.asarray(list(indices), dtype=np.int64)
        self.preprocessing = preprocessing
        self.alphabet = alphabet
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.workers = int(workers or 0)
        self.drop_last = drop_last
        # Lines are small (32 x ~150 bytes each): keeping them decoded and resized
        # saves the PNG decode on every epoch after the first.
        self._cache: dict[int, np.ndarray] | None = {} if cache else None
        # Lines the scan rejected are reported by the scan; none are dropped here.
        self.skipped: list[tuple[str, str]] = []

    @property
    def num_examples(self) -> int:
        return len(self.indices)

    def __len__(self) -> int:
        full, rest = divmod(len(self.indices), self.batch_size)
        return full if (self.drop_last or not rest) else full + 1

    def shard(self, rank: int, world_size: int) -> TextLineBatches:
        """This process's share of the lines, for distributed training."""
        part = TextLineBatches.__new__(TextLineBatches)
        part.__dict__.update(self.__dict__)
        part.indices = self.indices[rank::world_size]
        part._cache = {} if self._cache is not None else None
        return part

    def _order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return self.indices
        rng = np.random.default_rng((self.seed, epoch))
        return self.indices[rng.permutation(len(self.indices))]

    def _prepared(self, index: int) -> np.ndarray:
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        image, _ = self.dataset.load(int(index))
        prepared = self.preprocessing.prepare(image)
        if self._cache is not None:
            self._cache[index] = prepared
        return prepared

    def _batch(self, chunk: np.ndarray):
        if self.workers > 1 and (self._cache is None or len(self._cache) < len(self.indices)):
            from concurrent.futures import ThreadPoolExecutor

            # OpenCV releases the GIL while decoding, so threads decode in parallel.
            with ThreadPoolExecutor(self.workers) as pool:
                prepared = list(pool.map(self._prepared, chunk))
        else:
            prepared = [self._prepared(i) for i in chunk]
        texts = [self.dataset.texts[int(i)] for i in chunk]
        return line_batch(prepared, texts, self.preprocessing, self.alphabet)

    def epoch(self, epoch: int, start: int = 0):
        order = self._order(epoch)
        for number in range(start, len(self)):
            chunk = order[number * self.batch_size : (number + 1) * self.batch_size]
            yield self._batch(chunk)
