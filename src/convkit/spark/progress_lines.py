"""Progress bars that survive Spark's log streaming.

A rank's output reaches the driver line by line (PySpark's log-streaming
server splits on newlines and cuts lines at 4,000 characters). A tqdm bar
redraws itself with carriage returns and no newline, so a whole epoch would
arrive as one truncated line at its end. ``ThrottledLines`` turns the redraws
into ordinary lines, at most one every ``interval`` seconds.
"""

from __future__ import annotations

import re
import time

_SEPARATORS = re.compile(r"(\r|\n)")


class ThrottledLines:
    """A text stream wrapper: newline-ended text passes, redraws become sparse lines."""

    def __init__(self, stream, interval: float = 10.0, clock=time.monotonic):
        self._stream = stream
        self._interval = interval
        self._clock = clock
        self._pending = ""
        self._last_redraw = -float("inf")

    def write(self, text: str) -> int:
        for piece in _SEPARATORS.split(text):
            if piece == "\n":
                self._emit(self._pending)
                self._pending = ""
            elif piece == "\r":
                # The text before a carriage return is one redraw of a bar.
                now = self._clock()
                if self._pending.strip() and now - self._last_redraw >= self._interval:
                    self._emit(self._pending)
                    self._last_redraw = now
                self._pending = ""
            else:
                self._pending += piece
        return len(text)

    def _emit(self, line: str) -> None:
        if line.strip():
            self._stream.write(line.rstrip() + "\n")
            self._stream.flush()

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
