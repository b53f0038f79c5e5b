"""Prepare inputs in threads ahead of the forward pass, keeping their order.

Decoding a PNG and resizing it happen in OpenCV, which releases the GIL, so a
few threads keep the network fed while it runs a batch (ONNX Runtime and
PyTorch release the GIL too). At most ``2 * batch_size`` items are in flight:
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
    return max(1, min(4, (os.cpu_count() or 1)))


def prepared_stream(
    model, items: Iterable, batch_size: int, workers: int | None = None
) -> Iterator[tuple[Any, Any, str | None]]:
    """Yield ``(item, (array, info) or None, error or None)`` for each item, in order."""
    from convkit.inference.engine import describe_error

    def prepare(item):
        try:
            return model.prepare_with_info(item), None
        except ConvkitError as error:  # unreadable or unusable input: reported, not fatal
            return None, describe_error(error)

    workers = workers or default_workers()
    if workers <= 1:
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
