"""Run one Python function on N processes with PySpark's TorchDistributor.

``run_on_workers`` is the only place convkit starts distributed processes; it
adds three things TorchDistributor lacks:

- a slot check before launching, because a barrier stage that asks for more
  tasks than the cluster can run at once waits ~10 minutes before failing;
- the process group: each rank joins it (gloo on CPU, NCCL on GPUs) before the
  function runs, and leaves it afterwards, so the function only sees
  ``torch.distributed.is_initialized()``;
- errors: TorchDistributor reports a failed rank as "view stdout logs". Each
  rank here prints one marker line with its exception; the line travels with
  the worker's log back to the driver, where it is raised again with the
  worker's message (a ``ConvkitError`` keeps its kind).
"""

from __future__ import annotations

import collections
import json
import os
import re
import sys
import threading
from collections.abc import Callable
from typing import Any

from convkit import errors as convkit_errors
from convkit.errors import ConvkitError, UsageError

ERROR_MARKER = "CONVKIT-WORKER-ERROR "
# Seen when a peer died first: the interesting error is the other rank's.
PEER_FAILURE_HINTS = ("Connection closed by peer", "Connection reset by peer", "Broken pipe")


# What a worker prints when it cannot unpickle the function it was sent.
MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")
# Wrappers that say nothing about the cause; the line before them does.
UNINFORMATIVE = ("ChildFailedError", "TorchDistributor failed", "Py4JJavaError", "SparkException")
EXCEPTION_LINE = re.compile(r"^\s*(?:\[rank\d+\]:\s*)?([\w.]+(?:Error|Exception)): (.+)$")


# Spark's words for an executor (or its machine) that went away mid-stage.
EXECUTOR_LOST_HINTS = ("ExecutorLostFailure", "worker lost", "Lost executor", "Executor lost")


class WorkerError(RuntimeError):
    """A rank failed with an error that is not a user mistake (a bug, out of memory)."""


class WorkerLostError(ConvkitError):
    """A rank, its executor or its machine died, and the other ranks lost contact.

    Not a bug in the run: the cure is to run again (``--resume`` continues
    from the last checkpoint), so it is reported as one line, like a user error.
    """


def run_on_workers(
    function: Callable[..., Any],
    *args: Any,
    session,
    workers: int,
    use_gpu: bool = False,
    local_mode: bool = False,
    threads_per_worker: int | None = None,
    slot_wait_s: float = 0.0,
) -> Any:
    """Call ``function(*args)`` on ``workers`` ranks and return rank 0's value.

    ``local_mode=False`` (the default) runs the ranks as a Spark barrier stage on
    the executors; ``local_mode=True`` runs them with torchrun on the driver
    machine (no task slots needed). ``threads_per_worker`` caps each rank's
    torch threads, so that N ranks on one machine do not oversubscribe it.
    """
    from pyspark.ml.torch.distributor import TorchDistributor

    from convkit.spark.session import check_slots

    if not local_mode:
        check_slots(session, workers, wait_s=slot_wait_s)
    distributor = TorchDistributor(num_processes=workers, local_mode=local_mode, use_gpu=use_gpu)
    rank_function = RankFunction(function, use_gpu=use_gpu, threads=threads_per_worker)
    with _WorkerErrorWatch() as watch:
        try:
            return distributor.run(rank_function, *args)
        except Exception as error:
            log = watch.text() + "\n" + str(error)
        # Raised outside the except block so that Spark's long Java trace is not chained.
    reported = pick_root_cause(parse_error_lines(log))
    if reported is not None and not reported.get("user_error") and is_peer_failure(reported):
        raise WorkerLostError(
            f"worker rank {reported['rank']}: lost contact with the other ranks "
            f"({peer_failure_summary(reported['message'])}): a training process, its executor "
            "or its machine stopped"
        )
    if reported is not None:
        raise _rebuild(reported)
    if any(hint in log for hint in EXECUTOR_LOST_HINTS):
        raise WorkerLostError(
            f"a Spark executor running a training rank was lost ({last_exception_line(log)})"
        )
    missing = MISSING_MODULE.search(log)
    if missing:
        raise UsageError(
            f"Spark workers cannot import {missing.group(1)!r}: install convkit (and the "
            "module of your training function) on every worker, e.g. pip install 'convkit[spark]'"
        )
    raise WorkerError(f"distributed run failed: {last_exception_line(log)}")


class RankFunction:
    """What each rank runs: join the process group, call the function, report errors.

    A class at module level (not a closure) so that cloudpickle sends it by
    reference; the wrapped function travels by reference too when it lives in
    an installed module, which is why workers need convkit installed.
    """

    def __init__(self, function: Callable[..., Any], use_gpu: bool, threads: int | None):
        self.function = function
        self.use_gpu = use_gpu
        self.threads = threads

    def __call__(self, *args: Any) -> Any:
        import torch
        import torch.distributed as dist

        rank = int(os.environ.get("RANK", "0"))
        try:
            if self.threads:
                torch.set_num_threads(self.threads)
            if self.use_gpu:
                # TorchDistributor limits CUDA_VISIBLE_DEVICES to this task's GPUs.
                torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
            dist.init_process_group("nccl" if self.use_gpu else "gloo")
            try:
                return self.function(*args)
            finally:
                dist.destroy_process_group()
        except BaseException as error:
            report_error(rank, error)
            raise


def report_error(rank: int, error: BaseException) -> None:
    """Print the marker line the driver looks for (one line, short enough to stream)."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
    record = {
        "rank": rank,
        "kind": type(error).__name__,
        "user_error": isinstance(error, ConvkitError),
        "message": message[:1500],
    }
    print(ERROR_MARKER + json.dumps(record), flush=True)


def parse_error_lines(text: str) -> list[dict]:
    """Every worker error record found in ``text``, in order of appearance."""
    records = []
    for line in text.splitlines():
        position = line.find(ERROR_MARKER)
        if position < 0:
            continue
        try:
            records.append(json.loads(line[position + len(ERROR_MARKER) :]))
        except json.JSONDecodeError:
            continue  # a truncated line: the tail of a long log
    return records


def pick_root_cause(records: list[dict]) -> dict | None:
    """The error that started the failure: a user mistake first, then a non-peer error."""
    if not records:
        return None
    for record in records:
        if record.get("user_error"):
            return record
    for record in records:
        if not any(hint in record.get("message", "") for hint in PEER_FAILURE_HINTS):
            return record
    return records[0]


def is_peer_failure(record: dict) -> bool:
    return any(hint in record.get("message", "") for hint in PEER_FAILURE_HINTS)


def peer_failure_summary(message: str) -> str:
    """ "Connection reset by peer" and the address, without gloo's source path and advice."""
    for hint in PEER_FAILURE_HINTS:
        if hint in message:
            address = re.search(r"\[([\w.:-]+)\]:(\d+)", message)
            return f"{hint} at {address.group(1)}:{address.group(2)}" if address else hint
    return message


def last_exception_line(log: str) -> str:
    """The last "SomethingError: message" line of a log that is not a wrapper's."""
    found = "see the workers' log above"
    for line in log.splitlines():
        match = EXCEPTION_LINE.match(line)
        if match and not any(word in line for word in UNINFORMATIVE):
            found = f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(2).strip()}"
    return found


def _rebuild(record: dict) -> Exception:
    message = f"worker rank {record['rank']}: {record['message']}"
    if record.get("user_error"):
        kind = getattr(convkit_errors, record.get("kind", ""), None)
        if isinstance(kind, type) and issubclass(kind, ConvkitError):
            return kind(message)
        return ConvkitError(message)
    return WorkerError(f"{message} ({record.get('kind', 'error')})")


class _WorkerErrorWatch:
    """Tee the driver's stdout/stderr while ranks run, keeping marker lines.

    Workers' logs (their last lines, and every marker line) reach the driver in two ways: torchrun's output on the driver
    (local mode) and PySpark's log-streaming server, which writes executor
    output to the driver's ``sys.stderr``. Both pass through here.
    """

    def __init__(self, keep_lines: int = 2000):
        self._lines: collections.deque[str] = collections.deque(maxlen=keep_lines)
        self._markers: list[str] = []
        self._lock = threading.Lock()

    def __enter__(self) -> _WorkerErrorWatch:
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _Tee(sys.stdout, self._keep)
        sys.stderr = _Tee(sys.stderr, self._keep)
        return self

    def __exit__(self, *exc_info) -> None:
        sys.stdout, sys.stderr = self._saved

    def _keep(self, text: str) -> None:
        with self._lock:
            # Marker lines are kept apart: a long log must not push them out.
            (self._markers if ERROR_MARKER in text else self._lines).append(text)

    def text(self) -> str:
        with self._lock:
            return "".join(self._markers) + "\n" + "".join(self._lines)


class _Tee:
    def __init__(self, stream, keep: Callable[[str], None]):
        self._stream = stream
        self._keep = keep

    def write(self, text: str) -> int:
        self._keep(text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
