"""What one request may cost the server, and how many may cost it at once.

Three bounds, each closing a way a small request could take a large server:

- **parameters**: repeated names in a list parameter (``layers=conv1 conv1 …``
  15,000 times) are de-duplicated, and the raw text is capped, so the answer
  grows with the network, not with the request;
- **memory per request**: an image costs what its *decoded* array costs,
  width x height x channels x bytes per sample (a 309 KB 16-bit RGBA PNG of
  6300 x 6300 decodes to 318 MB, plus conversions), refused over a budget;
- **work in flight**: the decoded images of all requests in flight share one
  pool of ``max_inflight`` x the per-request budget; a request reserves what
  its image costs (at least ``MIN_CHARGE``) and waits up to ``queue_seconds``
  for room, then gets 503 with ``Retry-After``. Peak memory is then about
  base + that pool, whatever the mix, while many small images (a digit, a
  thumbnail) still run side by side and share forward passes. A count gate
  (``max_requests``) bounds the requests whose bodies are being read at all.

Kept apart from the endpoints (one middleware, one check, one helper) so the
routes stay about answering, not policing.
"""

from __future__ import annotations

import asyncio
import threading
import time

from convkit.errors import UsageError

# The endpoints that decode an upload and run the network.
HEAVY_PATHS = frozenset({"/predict", "/featuremaps", "/gradcam", "/similar"})
# A list parameter longer than this (characters) is refused outright.
MAX_PARAMETER_CHARS = 4096
# The least a request is charged from the memory pool: the upload itself, the
# network's activations and the answer cost something even for a tiny image.
MIN_CHARGE = 1024 * 1024


def unique_names(text: str, limit: int) -> list[str]:
    """Names from a comma/space separated parameter, first occurrence kept, at most ``limit``."""
    if len(text) > MAX_PARAMETER_CHARS:
        raise UsageError(
            f"parameter is {len(text):,} characters long; at most {MAX_PARAMETER_CHARS:,} allowed"
        )
    names = list(dict.fromkeys(name for name in text.replace(",", " ").split() if name))
    if len(names) > limit:
        raise UsageError(f"at most {limit} distinct names allowed; received {len(names)}")
    return names


class InflightGate:
    """A counting semaphore with a bounded wait: the server's admission control.

    A threading semaphore, polled from the event loop, rather than an asyncio
    one: it does not belong to any one event loop (a test client starts its
    own), and a waiting request holds no thread.
    """

    POLL_SECONDS = 0.01

    def __init__(self, slots: int, queue_seconds: float):
        if slots < 1:
            raise UsageError(f"max in-flight requests must be at least 1. Received: {slots}")
        self.slots = slots
        self.queue_seconds = queue_seconds
        self._semaphore = threading.BoundedSemaphore(slots)
        self.refused = 0

    async def enter(self) -> bool:
        deadline = time.monotonic() + self.queue_seconds
        while not self._semaphore.acquire(blocking=False):
            if time.monotonic() >= deadline:
                self.refused += 1
                return False
            await asyncio.sleep(self.POLL_SECONDS)
        return True

    def leave(self) -> None:
        self._semaphore.release()


class MemoryPool:
    """Decoded bytes that the requests in flight may hold together; a bounded wait for room."""

    def __init__(self, capacity: int, queue_seconds: float):
        if capacity < 1:
            raise UsageError(f"the in-flight memory pool must be positive. Received: {capacity}")
        self.capacity = capacity
        self.queue_seconds = queue_seconds
        self.held = 0
        self.refused = 0
        self._room = threading.Condition()

    def reserve(self, cost: int, wait: bool = True) -> bool:
        """Hold ``cost`` bytes (capped at the capacity); False when no room came in time.

        ``wait=False``: only if there is room now (the event loop must not block).
        """
        cost = min(max(cost, MIN_CHARGE), self.capacity)
        deadline = time.monotonic() + (self.queue_seconds if wait else 0.0)
        with self._room:
            while self.held + cost > self.capacity:
                if not wait:
                    return False
                left = deadline - time.monotonic()
                if left <= 0 or not self._room.wait(left):
                    if self.held + cost > self.capacity:
                        self.refused += 1
                        return False
            self.held += cost
        return True

    def release(self, cost: int) -> None:
        cost = min(max(cost, MIN_CHARGE), self.capacity)
        with self._room:
            self.held -= cost
            self._room.notify_all()


class AdmissionControl:
    """Pure ASGI middleware: a body over ``max_body`` is a 413 from its declared length
    (before the multipart parser spools it), and heavy endpoints pass ``gate`` or get
    503 + Retry-After. Written against ASGI, not as ``@app.middleware("http")``:
    each of those wraps every request in a task group and memory streams, which
    cost more than a small /predict itself.
    """

    def __init__(self, app, gate: InflightGate, max_body: int, max_body_text: str):
        self.app = app
        self.gate = gate
        self.max_body = max_body
        self.max_body_text = max_body_text
        self.retry_after = str(max(1, round(gate.queue_seconds))).encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_body:
            return await _json(send, 413, {"detail": self.max_body_text})
        if scope["path"] not in HEAVY_PATHS:
            return await self.app(scope, receive, send)
        if not await self.gate.enter():
            body = {"detail": "server busy: too many requests in flight; retry shortly"}
            return await _json(send, 503, body, [(b"retry-after", self.retry_after)])
        try:
            return await self.app(scope, receive, send)
        finally:
            self.gate.leave()


async def _json(send, status: int, body: dict, headers: list | None = None) -> None:
    import json

    data = json.dumps(body).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await send({"type": "http.response.body", "body": data})
