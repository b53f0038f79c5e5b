"""Running convkit on hostile input in a child process, fenced in.

Each case runs ``python -m convkit ...`` under an address-space limit
(RLIMIT_AS) and a wall-clock timeout, so a regression shows as a failed
assertion (killed for memory, or timed out) instead of taking the test
machine down or hanging CI.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
# torch + OpenCV + a small net fit in well under this; a runaway read or decode does not.
MEMORY_LIMIT = 3 * 1024**3


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run_fenced(argv, *, timeout=60, memory=MEMORY_LIMIT, cwd=None, env=None, module=True):
    """Run ``python -m convkit *argv`` (or python *argv) limited in memory and time."""

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    environment = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1", **(env or {})}
    command = [sys.executable, "-m", "convkit", *argv] if module else [sys.executable, *argv]
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limit,
        cwd=cwd,
        env=environment,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()  # this test's own child, by its handle
        stdout, stderr = process.communicate()
        raise AssertionError(f"convkit {argv} hung for more than {timeout}s") from None
    return Outcome(process.returncode, stdout, stderr, time.perf_counter() - started)


def assert_one_line_error(outcome: Outcome, *fragments: str) -> str:
    """Exit 2 with exactly one line ``convkit: error: ...`` containing ``fragments``."""
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    assert outcome.returncode == 2, (outcome.returncode, outcome.stderr[-2000:])
    assert "Traceback" not in outcome.stderr, outcome.stderr[-2000:]
    errors = [line for line in lines if line.startswith("convkit: error: ")]
    assert len(errors) == 1, outcome.stderr[-2000:]
    assert len(errors[0]) < 600, errors[0][:600]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]
