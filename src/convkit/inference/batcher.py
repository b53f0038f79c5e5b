"""Concurrent single-item requests answered by shared forward passes (the server's /predict).

Each request decodes its own upload in its own thread (OpenCV releases the
GIL, so that runs in parallel), then hands the prepared array to one worker
thread, which runs whatever has queued up — up to ``max_batch`` items, waiting
at most ``max_wait_s`` for more — as one forward pass. One request alone waits
for nobody: the worker takes what is there the moment it is free. Under load,
32 clients cost a few forward passes instead of 32.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future

_STOP = object()


class MicroBatcher:
    def __init__(self, engine, max_batch: int = 32, max_wait_s: float = 0.002):
        self.engine = engine
        self.max_batch = int(max_batch)
        self.max_wait_s = float(max_wait_s)
        self._queue: queue.Queue = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="convkit-batcher", daemon=True)
        self._worker.start()

    def predict(self, item, top_k: int = 5) -> dict:
        """The prediction for one input (path, bytes or array), batched with its neighbours."""
        prepared = self.engine.prepare_with_info(item)  # in the caller's thread
        return self.submit(prepared, top_k).result()

    def submit(self, prepared, top_k: int = 5) -> Future:
        """Queue one prepared ``(array, info)``; the Future gets its prediction.

        For an asyncio caller (the server): ``await asyncio.wrap_future(...)``
        waits without holding a thread.
        """
        future: Future = Future()
        self._queue.put((prepared, top_k, future))
        return future

    def close(self) -> None:
        self._queue.put(_STOP)
        self._worker.join(timeout=5)

    def _take_batch(self, first) -> list:
        batch = [first]
        while len(batch) < self.max_batch:
            try:
                entry = self._queue.get(timeout=self.max_wait_s if len(batch) > 1 else 0)
            except queue.Empty:
                break
            if entry is _STOP:
                self._queue.put(_STOP)
                break
            batch.append(entry)
        return batch

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = self._take_batch(first)
            for top_k in {top_k for _, top_k, _ in batch}:  # one decode per distinct k
                group = [entry for entry in batch if entry[1] == top_k]
                try:
                    results = self.engine.predict_prepared([p for p, _, _ in group], top_k=top_k)
                except BaseException as error:  # the callers re-raise it in their threads
                    for _, _, future in group:
                        future.set_exception(error)
                    continue
                for (_, _, future), result in zip(group, results, strict=True):
                    future.set_result(result)
