"""A throwaway Spark standalone cluster on this machine: one master, N workers.

Tests and benchmarks use it to run convkit against a real ``spark://`` master
(separate executor JVMs, separate Python workers, task slots that can
disappear) instead of ``local[N]``, where everything lives in one JVM. The
processes are pyspark's own ``spark-class`` launches of
``org.apache.spark.deploy.master.Master`` and ``...worker.Worker``, bound to
127.0.0.1 on ports picked at run time.

Every process the cluster starts — JVMs, executors, Python daemons and the
training processes they spawn — carries the environment variable
``CONVKIT_CLUSTER_ID``; ``stop()`` ends them all by PID, including the ones
that left the JVMs' process groups (PySpark's Python daemon makes its own),
so nothing outlives the cluster even when a test fails half-way.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from convkit.errors import UsageError

CLUSTER_ID_VARIABLE = "CONVKIT_CLUSTER_ID"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def processes_with_marker(variable: str, value: str) -> list[int]:
    """PIDs of this user's processes whose environment has ``variable=value``."""
    needle = f"{variable}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environment = (entry / "environ").read_bytes()
        except OSError:  # gone, or another user's
            continue
        if needle in environment.split(b"\0"):
            found.append(int(entry.name))
    return found


def end_processes(pids: list[int], grace_s: float = 5.0) -> None:
    """SIGTERM each PID, then SIGKILL whatever is still there after ``grace_s``."""
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(is_alive(pid) for pid in pids):
        time.sleep(0.1)
    for pid in pids:
        if is_alive(pid):
            _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait() is missing


def spark_home() -> Path:
    """The Spark distribution pyspark ships with (its bin/spark-class and jars/)."""
    try:
        import pyspark
    except ImportError:
        raise UsageError("a Spark cluster needs pyspark: pip install 'convkit[spark]'") from None
    return Path(pyspark.__file__).parent


class LocalCluster:
    """``with LocalCluster(workers=2) as cluster: ... cluster.master_url ...``.

    Each worker offers ``cores`` task slots and ``memory`` for executors.
    ``env`` is added to every cluster process's environment (executors and
    their Python workers inherit the worker's), e.g. ``PYTHONPATH``.
    """

    def __init__(
        self,
        work_dir: str | os.PathLike,
        workers: int = 2,
        cores: int = 1,
        memory: str = "1g",
        env: dict[str, str] | None = None,
        start_timeout_s: float = 90.0,
    ):
        self.work_dir = Path(work_dir)
        self.workers = workers
        self.cores = cores
        self.memory = memory
        self.start_timeout_s = start_timeout_s
        self.cluster_id = uuid.uuid4().hex
        self.master_port = free_port()
        self.master_ui_port = free_port()
        self.master_url = f"spark://127.0.0.1:{self.master_port}"
        self._master: subprocess.Popen | None = None
        self._workers: dict[int, subprocess.Popen] = {}
        self._env = self._environment(env or {})

    # -- environment ---------------------------------------------------------
    def _environment(self, extra: dict[str, str]) -> dict[str, str]:
        home = spark_home()
        conf_dir = self.work_dir / "conf"  # empty: no site-wide spark-defaults leak in
        conf_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            {
                "SPARK_HOME": str(home),
                "SPARK_CONF_DIR": str(conf_dir),
                "SPARK_LOCAL_IP": "127.0.0.1",
                "SPARK_LOG_DIR": str(self.work_dir / "logs"),
                "PYSPARK_PYTHON": sys.executable,
                CLUSTER_ID_VARIABLE: self.cluster_id,
            }
        )
        env.update(extra)
        return env

    def client_env(self) -> dict[str, str]:
        """Environment for a driver process (e.g. ``convkit train --spark ...``).

        It carries the cluster's marker, so ``leftover_processes`` also finds a
        driver's JVM and its children.
        """
        return dict(self._env)

    # -- start / stop --------------------------------------------------------
    def start(self) -> LocalCluster:
        try:
            self._master = self._launch(
                "master",
                "org.apache.spark.deploy.master.Master",
                ["--host", "127.0.0.1", "--port", str(self.master_port)],
                ["--webui-port", str(self.master_ui_port)],
            )
            self._wait_for(lambda: self._master_state() is not None, "the master to listen")
            for index in range(self.workers):
                self.start_worker(index)
        except BaseException:
            self.stop()
            raise
        return self

    def start_worker(self, index: int) -> None:
        """Start worker ``index`` (again, after ``kill_worker``) and wait until it registers."""
        work = self.work_dir / f"worker-{index}"
        work.mkdir(parents=True, exist_ok=True)
        alive_before = self.alive_workers()
        self._workers[index] = self._launch(
            f"worker-{index}",
            "org.apache.spark.deploy.worker.Worker",
            ["--host", "127.0.0.1", "--port", str(free_port())],
            [
                "--webui-port",
                str(free_port()),
                "--cores",
                str(self.cores),
                "--memory",
                self.memory,
                "--work-dir",
                str(work),
                self.master_url,
            ],
        )
        self._wait_for(lambda: self.alive_workers() > alive_before, f"worker {index} to register")

    def _launch(self, name: str, main_class: str, address: list[str], rest: list[str]):
        log_dir = self.work_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        command = [str(spark_home() / "bin" / "spark-class"), main_class, *address, *rest]
        # Own process group: killing the group ends the JVM and the executors it forked.
        process = subprocess.Popen(
            command,
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        return process

    def kill_worker(self, index: int) -> list[int]:
        """SIGKILL worker ``index`` and everything it started, as a crashed machine would.

        Returns the PIDs that were killed.
        """
        process = self._workers.pop(index)
        victims = [process.pid, *descendants(process.pid)]
        for pid in victims:
            _signal(pid, signal.SIGKILL)
        process.wait(timeout=10)
        return victims

    def stop(self) -> None:
        """End every process of the cluster: workers, master, then any stragglers."""
        for process in [*self._workers.values(), self._master]:
            if process is not None and process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
        for process in [*self._workers.values(), self._master]:
            if process is None:
                continue
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self._workers.clear()
        self._master = None
        end_processes(self.leftover_processes())

    def leftover_processes(self) -> list[int]:
        """PIDs of processes that carry this cluster's marker, except master and workers."""
        daemons = {p.pid for p in [*self._workers.values(), self._master] if p is not None}
        return [
            pid
            for pid in processes_with_marker(CLUSTER_ID_VARIABLE, self.cluster_id)
            if pid not in daemons and is_alive(pid)
        ]

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- state ---------------------------------------------------------------
    def _master_state(self) -> dict | None:
        try:
            url = f"http://127.0.0.1:{self.master_ui_port}/json/"
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except (OSError, ValueError):
            return None

    def started_workers(self) -> list[int]:
        """Indices of the workers this object started that have not been killed."""
        return sorted(i for i, p in self._workers.items() if p.poll() is None)

    def alive_workers(self) -> int:
        state = self._master_state() or {}
        return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")

    def free_cores(self) -> int:
        state = self._master_state() or {}
        return int(state.get("cores", 0)) - int(state.get("coresused", 0))

    def _wait_for(self, condition, what: str) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while not condition():
            if self._master is not None and self._master.poll() is not None:
                raise RuntimeError(f"the Spark master exited; see {self.work_dir / 'logs'}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"timed out after {self.start_timeout_s:.0f}s waiting for {what}; "
                    f"see {self.work_dir / 'logs'}"
                )
            time.sleep(0.25)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        _signal(pid, sig)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` in the process tree (children first found, any depth)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found
