"""A stream of inputs becomes a stream of batches, prepared while the network runs.

Two overlaps, in order of what they buy on a small machine:

1. ``forward_ahead``: the forward pass of batch k runs in its own thread while
   the caller's thread reads, decodes and prepares batch k+1 (ONNX Runtime,
   PyTorch and OpenCV release the GIL). On one 2-core machine this took
   `convkit predict` on MNIST PNGs, in process, from 11,800 to 16,400
   images/s (the end-to-end figures are in docs/benchmarks.md).
2. ``prepared_stream`` with ``workers`` threads: several inputs decoded at
   once. It pays for large photos on many cores; with 2 cores and small images
   the threads only fight the forward pass for the GIL, so it is off there.

At most two batches are in flight, plus ``2 * workers`` prepared chunks:
memory stays bounded however long the stream is.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from convkit.errors import ConvkitError


def default_workers() -> int:
    """Preparing threads beside the forward thread: none on 2 cores or fewer (see above)."""
    cores = os.cpu_count() or 1
    return 0 if cores <= 2 else min(4, cores - 2)


def describe_error(error: BaseException) -> str:
    """The first line of an error, for a per-item ``error`` field."""
    if isinstance(error, ConvkitError):
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"unreadable input: {type(error).__name__}: {error}".splitlines()[0]


def prepared_stream(
    model, items: Iterable, batch_size: int, workers: int | None = None
) -> Iterator[tuple[Any, Any, str | None]]:
    """Yield ``(item, (array, info) or None, error or None)`` for each item, in order.

    ``workers``: threads that prepare (0: in the calling thread; None: default_workers()).
    """

    def prepare(item):
        try:
            return model.prepare_with_info(item), None
        except ConvkitError as error:  # unreadable or unusable input: reported, not fatal
            return None, describe_error(error)

    workers = default_workers() if workers is None else workers
    if workers <= 0:
        for item in items:
            yield (item, *prepare(item))
        return

    def prepare_chunk(chunk):
        return [(item, *prepare(item)) for item in chunk]

    # One task per chunk, not per item: a digit-sized image prepares in ~0.1 ms,
    # less than a thread hand-off costs, so per-item tasks were slower than none.
    chunk_size = max(1, batch_size // workers)
    in_flight: deque = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="convkit-prepare") as pool:
        for chunk in _chunks(items, chunk_size):
            in_flight.append(pool.submit(prepare_chunk, chunk))
            if len(in_flight) >= 2 * workers:  # at most ~2 batches ahead: memory stays bounded
                yield from in_flight.popleft().result()
        while in_flight:
            yield from in_flight.popleft().result()


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def batches_of(prepared: Iterable[tuple], batch_size: int) -> Iterator[list[tuple]]:
    """Group ``(item, prepared, error)`` entries into lists holding ``batch_size`` good ones."""
    pending: list[tuple] = []
    ready = 0
    for entry in prepared:
        pending.append(entry)
        ready += entry[2] is None
        if ready == batch_size:
            yield pending
            pending, ready = [], 0
    if pending:
        yield pending


def forward_ahead(batches: Iterable[list], forward, overlap: bool = True) -> Iterator[tuple]:
    """Yield ``(batch, forward(batch))`` in order; each forward runs while the next batch forms.

    ``overlap=False``: in turn, in the caller's thread (for a runtime that does not gain).
    """
    if not overlap:
        for batch in batches:
            yield batch, forward(batch)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="convkit-forward") as pool:
        running = None
        for batch in batches:
            future = pool.submit(forward, batch)
            if running is not None:
                yield running[0], running[1].result()
            running = (batch, future)
        if running is not None:
            yield running[0], running[1].result()
