"""What one request may cost the server, and how many may cost it at once.

Three bounds, each closing a way a small request could take a large server:

- **parameters**: repeated names in a list parameter (``layers=conv1 conv1 …``
  15,000 times) are de-duplicated, and the raw text is capped, so the answer
  grows with the network, not with the request;
- **memory per request**: an image costs what its *decoded* array costs,
  width x height x channels x bytes per sample (a 309 KB 16-bit RGBA PNG of
  6300 x 6300 decodes to 318 MB, plus conversions), refused over a budget;
- **work in flight**: at most ``max_inflight`` heavy requests run at once;
  the next ones wait up to ``queue_seconds`` for a slot, then get 503 with
  ``Retry-After``. Peak memory is then about base + max_inflight x budget.

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


def add_admission_control(app, gate: InflightGate) -> None:
    """Run heavy endpoints through ``gate``; answer 503 + Retry-After when it stays full."""
    from fastapi import Request
    from fastapi.responses import JSONResponse

    retry_after = str(max(1, round(gate.queue_seconds)))

    @app.middleware("http")
    async def admit(request: Request, call_next):
        if request.url.path not in HEAVY_PATHS:
            return await call_next(request)
        if not await gate.enter():
            return JSONResponse(
                {"detail": "server busy: too many requests in flight; retry shortly"},
                status_code=503,
                headers={"Retry-After": retry_after},
            )
        try:
            return await call_next(request)
        finally:
            gate.leave()
