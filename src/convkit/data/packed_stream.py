"""``StreamingBatches``: a rank's shard of a packed dataset, read a window at a time.

An epoch's order is planned from the manifest alone (rows per row group), so
every rank computes the same plan without reading anything:

1. the row groups are put in a random order drawn from ``(seed, epoch)``;
2. their selected rows (the split's, minus the scan's rejects), taken in that
   group order, form one sequence; rank r gets its equal slice of it, as
   ``BatchSource.positions`` does for in-memory data, so a rank reads only the
   row groups its slice touches (at most two of them shared with a neighbour);
3. the slice is cut into windows of a few row groups (``window_rows`` rows,
   ``window_mib`` of bytes at most); the rows of a window are shuffled with
   ``(seed, epoch, rank, window)``. Memory per rank is one window (plus the one
   read ahead), whatever the dataset's size.

Batch k is therefore always the same rows, and ``epoch(e, start=k)`` resumes
by reading from the window that holds batch k's first row.

What a batch's rows become is the one part that depends on the task:
``assemble(epoch, positions, images)`` here makes classification batches;
``convkit.detect.packed`` and ``convkit.ocr.packed`` subclass this class and
assemble boxes or texts instead. Planning, reading, resuming and skipping
undecodable rows are the same for every kind.
"""

from __future__ import annotations

import concurrent.futures

import numpy as np

from convkit.data.batches import BatchSource
from convkit.errors import DataError

# A window: enough rows to mix well (the pack's rows are already in random
# order), few enough that a rank's memory does not depend on the dataset.
WINDOW_ROWS = 4096
WINDOW_MIB = 64.0


class StreamingBatches(BatchSource):
    def __init__(
        self,
        dataset,
        indices,
        preprocessing,
        augment=None,
        batch_size: int = 64,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        workers: int = 0,  # decoding runs in this process; the read-ahead is a thread
        window_rows: int = WINDOW_ROWS,
        window_mib: float = WINDOW_MIB,
        **_ignored,
    ):
        super().__init__(indices, batch_size, shuffle, seed, drop_last)
        if len(self.indices) and (self.indices.min() < 0 or self.indices.max() >= len(dataset)):
            raise DataError(f"indices must lie in 0..{len(dataset) - 1}")
        self.dataset = dataset
        self.preprocessing = preprocessing
        self.augment = augment if augment is not None and augment.enabled else None
        self.window_rows = int(window_rows)
        self.window_bytes = float(window_mib) * 2**20
        layout = dataset.layout
        self._group_starts = np.concatenate([[0], np.cumsum(layout.rows_per_group)])
        self._group_bytes = layout.bytes_per_group
        self._groups = layout.groups
        rows = np.asarray(dataset.rows, dtype=np.int64)[self.indices]  # global row per position
        self._rows = rows
        self._by_row = np.argsort(rows, kind="stable")  # positions in row order
        self._bounds = np.searchsorted(rows[self._by_row], self._group_starts)  # (G + 1,)
        self.targets = np.asarray(dataset.targets, dtype=np.int64)[self.indices]

    # -- the plan --------------------------------------------------------------
    def plan(self, epoch: int) -> list[list[tuple[int, int, int]]]:
        """This rank's windows: each a list of (group, first, end) into the group's selected rows."""
        counts = np.diff(self._bounds)
        groups = len(counts)
        if self.shuffle:
            order = np.random.default_rng((self.seed, epoch)).permutation(groups)
        else:
            order = np.arange(groups)
        per_rank = int(counts.sum()) // self.world_size
        low, high = self.rank * per_rank, (self.rank + 1) * per_rank
        ends = np.cumsum(counts[order])
        windows, window, rows, size = [], [], 0, 0.0
        for k, group in enumerate(order):
            end = int(ends[k])
            start = end - int(counts[group])
            first, last = max(start, low), min(end, high)
            if first >= last:
                continue
            piece = (int(group), first - start, last - start)
            window.append(piece)
            rows += last - first
            size += self._group_bytes[group] * (last - first) / max(1, counts[group])
            if rows >= self.window_rows or size >= self.window_bytes:
                windows.append(window)
                window, rows, size = [], 0, 0.0
        if window:
            windows.append(window)
        return windows

    def _window_positions(self, epoch: int, number: int, window) -> np.ndarray:
        """Positions (into ``indices``) of one window's rows, in training order."""
        positions = np.concatenate(
            [self._by_row[self._bounds[g] + first : self._bounds[g] + end]
             for g, first, end in window]
        )  # fmt: skip
        if self.shuffle:
            rng = np.random.default_rng((self.seed, epoch, self.rank, number))
            positions = positions[rng.permutation(len(positions))]
        return positions

    # -- reading ---------------------------------------------------------------
    def _read_window(self, positions: np.ndarray, handles: dict):
        """(index of each position, one BinaryArray): the window's bytes, each group read once.

        The bytes stay in Arrow's memory until a batch takes them: the reading
        thread creates no Python object per row (which would pile up in its
        own malloc arena and raise the process's peak memory).
        """
        import pyarrow as pa

        rows = self._rows[positions]
        group_of = np.searchsorted(self._group_starts, rows, side="right") - 1
        pieces, order = [], []
        for group in np.unique(group_of):
            file_index, group_in_file = self._groups[int(group)]
            if file_index not in handles:
                handles[file_index] = self.dataset.open_file(file_index)
            contents = self.dataset.read_group(file_index, group_in_file, handles[file_index])
            mine = positions[group_of == group]
            pieces.append(contents.take(pa.array(self._rows[mine] - self._group_starts[group])))
            order.append(mine)
        values = pa.concat_arrays(pieces) if pieces else pa.array([], pa.binary())
        where = {int(p): k for k, p in enumerate(np.concatenate(order))} if order else {}
        return where, values

    def epoch(self, epoch: int, start: int = 0):
        if start < 0:
            raise DataError(f"`start` must be >= 0. Received: start={start}")
        skip = start * self.batch_size
        limit = self.num_examples if self.drop_last else len(self.indices) // self.world_size
        windows = self.plan(epoch)
        sizes = [sum(end - first for _, first, end in w) for w in windows]
        ends = np.cumsum(sizes) if sizes else np.zeros(0, np.int64)
        first_window = int(np.searchsorted(ends, skip, side="right")) if skip else 0
        offset = skip - (int(ends[first_window - 1]) if first_window else 0)
        pending: list[tuple[int, bytes | None]] = []  # may span two windows
        handles: dict = {}
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="convkit-read") as pool:
            # Read window n + 1 while window n is decoded and trained on.
            def submit(number):
                positions = self._window_positions(epoch, number, windows[number])
                return positions, pool.submit(self._read_window, positions, handles)

            ahead = submit(first_window) if first_window < len(windows) else None
            emitted = skip
            for number in range(first_window, len(windows)):
                positions, future = ahead
                ahead = submit(number + 1) if number + 1 < len(windows) else None
                where, values = future.result()
                if number == first_window:
                    positions = positions[offset:]
                for position in positions:
                    if emitted >= limit:
                        break
                    index = where.get(int(position))
                    pending.append(
                        (int(position), None if index is None else values[index].as_py())
                    )
                    emitted += 1
                    if len(pending) == self.batch_size:
                        batch = self._batch(epoch, pending)
                        pending = []
                        if batch is not None:
                            yield batch
                del where, values  # let the window go before the next one is decoded
        if pending and not self.drop_last:
            batch = self._batch(epoch, pending)
            if batch is not None:
                yield batch

    def _batch(self, epoch: int, rows: list[tuple[int, bytes | None]]):
        """Decode a batch's rows (skipping and listing those that fail), then ``assemble`` it."""
        from convkit.data.decode import read_image

        images, kept, skipped = [], [], []
        for position, data in rows:
            try:
                if data is None:
                    raise DataError("no image bytes")
                image = read_image(data, self.preprocessing.channels)
            except DataError as error:  # a row the scan did not see: skip it, as files are
                row = int(self._rows[position])
                skipped.append((f"{self.dataset.location} row {row}", str(error)))
                continue
            images.append(image)
            kept.append(position)
        if skipped:
            self._record_skipped(skipped)
        if not kept:
            return None
        return self.assemble(epoch, np.asarray(kept, dtype=np.int64), images)

    def assemble(self, epoch: int, positions: np.ndarray, images: list[np.ndarray]):
        """(inputs, targets) of one batch from its decoded images (H, W, C) uint8.

        ``positions`` index ``self.indices`` (dataset item ``self.indices[p]``).
        This is classification's (x (N, C, H, W), class indices (N,)); the
        detection and OCR streams override it with their own targets.
        """
        import torch

        pre = self.preprocessing
        x8 = np.stack([pre.fit(image) for image in images])  # (N, H, W, C) uint8
        y = torch.from_numpy(self.targets[positions])
        if self.augment is None:
            return pre.normalise_batch(x8), y
        params = self.augment.sample_batch(self.seed, epoch, self.indices[positions], pre.height,
                                           pre.width)  # fmt: skip
        return pre.normalise_batch_(self.augment.apply_batch(x8, params)), y
