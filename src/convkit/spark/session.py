"""Spark sessions for convkit: a loopback-only local session and the slot check.

Spark is an optional dependency (the ``spark`` extra); pyspark is imported
inside the functions here, so importing this module costs nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time

from convkit.errors import UsageError

# binaryFile packs small files into partitions by size; Spark's default cost of
# opening a file (4 MiB) makes it spread a folder of small images over dozens of
# near-empty partitions, measured ~10x slower than with this lowered cost.
BINARY_FILE_OPEN_COST = str(64 * 1024)

LOCAL_MASTER = re.compile(r"^local(\[(\*|\d+)(,\s*\d+)?\])?$")
# spark://host:port[,host2:port2] (standalone, optionally with standby masters).
STANDALONE_MASTER = re.compile(r"^spark://(.+)$")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# A cluster's executors register one by one; once their number has not changed
# for this long, more are not coming (see check_slots).
SLOTS_SETTLE_S = 10.0


def is_local_master(master: str) -> bool:
    """True for ``local``, ``local[N]``, ``local[*]`` and ``local[N, F]`` masters."""
    return bool(LOCAL_MASTER.match(master.strip()))


def local_slots(master: str) -> int | None:
    """Task slots a ``local[...]`` master offers, or None for a cluster master."""
    match = LOCAL_MASTER.match(master.strip())
    if not match:
        return None
    if match.group(2) is None:
        return 1
    if match.group(2) == "*":
        return os.cpu_count() or 1
    return int(match.group(2))


def get_session(master: str, app_name: str = "convkit", conf: dict[str, str] | None = None):
    """Return a SparkSession on ``master``, reusing an active one.

    A local master is bound to loopback (driver host and bind address
    127.0.0.1, ``SPARK_LOCAL_IP``) so that tests and laptops never open a port
    on the network; the web UI is off and shuffles use few partitions, because
    the data of a local job fit on one machine. A cluster master keeps the
    cluster's own networking and UI settings.
    """
    _require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    check_master_reachable(master)
    builder = SparkSession.builder.master(master).appName(app_name)
    settings = {
        "spark.sql.files.openCostInBytes": BINARY_FILE_OPEN_COST,
        # pandas UDFs get Arrow batches of this many rows (Spark's default is
        # 10,000): small enough that one batch of decoded images stays well
        # inside an executor's memory, on a cluster as on local[N].
        "spark.sql.execution.arrow.maxRecordsPerBatch": "256",
    }
    if is_loopback_standalone(master):
        # A master on 127.0.0.1 has its executors there too: they must reach
        # the driver on loopback, whatever this machine's host name resolves to.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        settings.update({"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"})
    if is_local_master(master):
        # The JVM reads SPARK_LOCAL_IP when it starts; spark.driver.* alone
        # still lets the block manager pick a public interface.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Local Python workers must run this interpreter (the one with convkit,
        # torch and pandas), not whatever `python3` is first on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        settings.update(
            {
                "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
                "spark.ui.enabled": "false",
                "spark.ui.showConsoleProgress": "false",
                "spark.sql.shuffle.partitions": str(max(2, local_slots(master) or 2)),
            }
        )
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def standalone_addresses(master: str) -> list[tuple[str, int]]:
    """(host, port) of each master in a ``spark://`` URL; [] for other masters."""
    match = STANDALONE_MASTER.match(master.strip())
    if not match:
        return []
    addresses = []
    for part in match.group(1).split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(
                f"--spark {master}: a standalone master URL is spark://HOST:PORT "
                "(e.g. spark://127.0.0.1:7077)"
            )
        addresses.append((host.strip("[]"), int(port)))
    return addresses


def is_loopback_standalone(master: str) -> bool:
    addresses = standalone_addresses(master)
    return bool(addresses) and all(host in LOOPBACK_HOSTS for host, _ in addresses)


def check_master_reachable(master: str, timeout_s: float = 5.0) -> None:
    """Refuse a ``spark://`` master nobody listens at, before a JVM is started.

    Spark itself retries registering with a dead master for about a minute
    and then stops the context with a long Java trace; a TCP connect says the
    same in milliseconds. Other masters (yarn, k8s://) are left to Spark.
    """
    import socket

    addresses = standalone_addresses(master)
    if not addresses:
        return
    reasons = []
    for host, port in addresses:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                return  # one live master is enough (the others are standbys)
        except OSError as error:
            reasons.append(f"{host}:{port}: {error.strerror or error}")
    raise UsageError(
        f"cannot reach the Spark master {master} ({'; '.join(reasons)}): is it running, "
        "and is the URL the one its log prints (Starting Spark master at spark://...)?"
    )


def task_slots(session) -> int:
    """How many tasks the cluster can run at the same time right now."""
    sc = session.sparkContext
    slots = local_slots(sc.master)
    if slots is not None:
        return slots // max(1, int(sc.getConf().get("spark.task.cpus", "1")))
    try:
        # What Spark's own barrier-stage check uses (counts executors that have
        # registered, divided by spark.task.cpus and other task resources).
        jsc = sc._jsc.sc()
        profile = jsc.resourceProfileManager().defaultResourceProfile()
        return int(jsc.maxNumConcurrentTasks(profile))
    except Exception:  # a Spark without that method: fall back to the public hint
        return int(sc.defaultParallelism)


def check_slots(session, processes: int, wait_s: float = 0.0) -> int:
    """Fail fast when ``processes`` barrier tasks cannot all run at once.

    Spark would otherwise wait (about ten minutes by default) for slots that
    never come. ``wait_s`` lets executors of a cluster that is still starting
    register before we give up. Returns the number of slots found.
    """
    if processes < 1:
        raise UsageError(f"--workers must be at least 1. Received: workers={processes}")
    # A local master's slots are fixed: waiting would only delay the error.
    is_local = is_local_master(session.sparkContext.master)
    started = time.monotonic()
    deadline = started + (0.0 if is_local else wait_s)
    slots = task_slots(session)
    changed = started
    while slots < processes and time.monotonic() < deadline:
        if slots > 0 and time.monotonic() - changed >= SLOTS_SETTLE_S:
            break  # executors came and stopped coming: the cluster is this big
        time.sleep(0.5)
        now_slots = task_slots(session)
        if now_slots != slots:
            slots, changed = now_slots, time.monotonic()
    if slots < processes:
        master = session.sparkContext.master
        hint = (
            f"use --spark 'local[{processes}]'"
            if is_local_master(master)
            else "add executors or cores (spark.executor.instances, spark.executor.cores)"
        )
        raise UsageError(
            f"--workers {processes} needs {processes} Spark task slots at once, but {master} "
            f"has {slots}: use --workers {slots} or {hint}"
        )
    return slots


@contextlib.contextmanager
def session_scope(master: str, session=None, app_name: str = "convkit", conf=None):
    """Yield ``session``, the active session, or a new one on ``master``.

    Only a session started here is stopped at the end: a caller's session (or
    one already active in this process, e.g. in a notebook) is left running.
    """
    if session is not None:
        yield session
        return
    from pyspark.sql import SparkSession

    _require_pyspark()
    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    created = get_session(master, app_name=app_name, conf=conf)
    try:
        yield created
    finally:
        stop_session(created)


def stop_session(session) -> None:
    """Stop ``session`` and its JVM gateway so that no process is left behind."""
    from pyspark import SparkContext

    session.stop()
    gateway = SparkContext._gateway
    if gateway is not None:
        gateway.shutdown()
        # The JVM the gateway launched may outlive shutdown(); it belongs to us.
        proc = getattr(gateway, "proc", None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except Exception:
                proc.kill()
        SparkContext._gateway = None
        SparkContext._jvm = None


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError as error:
        raise UsageError(
            "Spark support needs pyspark: pip install 'convkit[spark]' (and Java 17+)"
        ) from error
