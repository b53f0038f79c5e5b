"""``fit_distributed``: data-parallel training of a spec on Spark.

Every rank runs ``convkit.api.fit`` — the same code path as single-process
training. The Trainer notices the process group TorchDistributor set up: it
wraps the network in DistributedDataParallel, gives each rank its shard of
every epoch, sums metrics across ranks, and lets rank 0 alone write the
checkpoints and the model file (same format as a single-process run).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from convkit.errors import UsageError


def fit_distributed(
    spec_path,
    data: str | os.PathLike,
    config=None,
    run_dir: str | os.PathLike | None = None,
    master: str = "local[2]",
    workers: int = 2,
    *,
    resume: bool = False,
    use_gpu: bool | None = None,
    local_mode: bool = False,
    session=None,
    spark_conf: dict[str, str] | None = None,
    slot_wait_s: float = 30.0,
    progress: bool = True,
    **fit_options: Any,
):
    """Train ``spec_path`` on ``data`` with ``workers`` processes on the Spark ``master``.

    ``config`` is a ``TrainConfig`` (its ``batch_size`` is per worker, so the
    effective batch is ``workers * batch_size``); ``fit_options`` are the other
    keyword arguments of ``convkit.api.fit`` (options, augment, val_data,
    init_from, evaluate_test, …) or, without ``config``, training settings
    (epochs, val_fraction, …), as for ``api.fit``. ``spec_path`` and ``data``
    may be names (a zoo network, ``mnist``: ``convkit.names``). ``data`` and
    ``run_dir`` must be paths every worker can read (and, for ``run_dir``,
    rank 0 can write): the same machine for ``local[N]``, a shared file system
    on a cluster.

    ``use_gpu`` (default: whether the cluster offers GPUs) selects NCCL and
    one GPU per process; otherwise gloo on CPU. ``local_mode=True`` runs the
    processes with torchrun on the driver machine instead of on executors.
    ``session`` reuses a SparkSession (it is then left running); otherwise one
    is started on ``master`` and stopped at the end.

    Returns rank 0's ``TrainReport`` (the same value on every rank).
    """
    from convkit.api import default_run_dir, fit_keywords
    from convkit.data.packed_layout import has_manifest
    from convkit.names import resolve_data, resolve_spec, zoo_name
    from convkit.spark.launch import WorkerLostError, run_on_workers
    from convkit.spark.session import local_slots, session_scope
    from convkit.train.config import config_with_overrides

    if workers < 1:
        raise UsageError(f"--workers must be at least 1. Received: workers={workers}")
    # The rest are training settings (or misspelt): checked here, not on every rank.
    settings = {key: fit_options.pop(key) for key in list(fit_options) if key not in fit_keywords()}
    config = config_with_overrides(config, settings)
    from_zoo = zoo_name(spec_path) is not None
    spec = resolve_spec(spec_path)
    spec.infer()  # a shape error is reported here, before Spark starts
    # Resolved on the driver so that every rank agrees (the default name has a time in it).
    run_dir = Path(run_dir) if run_dir else default_run_dir(spec)
    run_dir = run_dir.absolute()
    if resume and not (run_dir / "checkpoints" / "last.ckpt").exists():
        raise UsageError(f"nothing to resume in {run_dir}: no checkpoints/last.ckpt there")
    data = _absolute_if_local(resolve_data(data, progress))
    if from_zoo:  # the ranks get the spec as data, sized here as api.fit sizes a zoo name
        from convkit.train.transfer import head_for_data

        spec = head_for_data(spec, data, fit_options.get("options"))

    with session_scope(master, session, f"convkit train {spec.name}", spark_conf) as session:
        if use_gpu is None:
            use_gpu = config.device != "cpu" and cluster_has_gpus(session)
        worker_config = config_for_workers(config, session, workers, use_gpu)
        known_scans = {}
        if has_manifest(str(data)):
            # One Spark job decodes every row once; the ranks skip their own scan.
            from convkit.spark.packed_scan import scan_packed_dataset

            known_scans[str(data)] = scan_packed_dataset(session, str(data), 3, progress)
        payload = {
            "spec": spec.to_dict(),  # travels as data: workers need not see the spec file
            "data": str(data),
            "run_dir": str(run_dir),
            "config": worker_config.to_dict(),
            "resume": resume,
            "progress": progress,
            "fit_options": fit_options,
            "known_scans": known_scans,
        }
        if progress:
            slots = local_slots(session.sparkContext.master)
            where = "torchrun on the driver" if local_mode else "Spark barrier tasks"
            print(
                f"training on {workers} processes ({where}, "
                f"{'NCCL on GPUs' if use_gpu else 'gloo on CPU'}"
                f"{f', {worker_config.threads} threads each' if worker_config.threads else ''}"
                f"{f', {slots} local slots' if slots else ''}); run folder {run_dir}",
                file=sys.stderr,
                flush=True,
            )
        try:
            return run_on_workers(
                fit_on_rank,
                payload,
                session=session,
                workers=workers,
                use_gpu=use_gpu,
                local_mode=local_mode,
                threads_per_worker=worker_config.threads,
                slot_wait_s=slot_wait_s,
            )
        except WorkerLostError as error:
            raise WorkerLostError(f"{error}; {resume_advice(run_dir)}") from None


def resume_advice(run_dir: Path) -> str:
    """What to do after a lost rank: resume from the checkpoint rank 0 left, if any."""
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    if checkpoint.exists():
        return f"the same command with --resume continues from {checkpoint}"
    return "no checkpoint was written yet: run the command again"


def fit_on_rank(payload: dict):
    """What every rank runs: ``api.fit`` in the process group, then share rank 0's report."""
    import torch.distributed as dist

    from convkit import api
    from convkit.spark.progress_lines import ThrottledLines
    from convkit.train.config import TrainConfig

    rank = dist.get_rank()
    for location, bad_rows in payload.get("known_scans", {}).items():
        from convkit.data.packed import remember_scan

        remember_scan(location, bad_rows)
    config = TrainConfig.from_dict(payload["config"])
    if config.device.startswith("cuda"):
        # TorchDistributor hands each task its own GPUs; LOCAL_RANK picks one of them.
        config.device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    saved_stderr = sys.stderr
    sys.stderr = ThrottledLines(saved_stderr)  # bars reach the driver as lines
    try:
        report = api.fit(
            payload["spec"],
            payload["data"],
            run_dir=payload["run_dir"],
            config=config,
            resume=payload["resume"],
            progress=payload["progress"] and rank == 0,
            **payload["fit_options"],
        )
    finally:
        sys.stderr = saved_stderr
    # Only rank 0 evaluates the test split and lists skipped files; give every
    # rank its report, so that whichever rank's value Spark returns is the same.
    shared = [report if rank == 0 else None]
    dist.broadcast_object_list(shared, src=0)
    return shared[0]


def config_for_workers(config, session, workers: int, use_gpu: bool):
    """A copy of ``config`` that suits one of ``workers`` processes.

    On ``local[N]`` all processes share one machine: each gets an equal share
    of its cores as torch threads and no data-loader processes, since N
    processes that each start more threads and loaders only fight for cores.
    On a cluster, ``spark.task.cpus`` (cores per task) sets the threads.
    """
    from convkit.spark.session import local_slots
    from convkit.train.config import TrainConfig

    values = config.to_dict()
    values["device"] = "cuda" if use_gpu else "cpu"
    if local_slots(session.sparkContext.master) is not None:
        if values["threads"] is None:
            values["threads"] = max(1, (os.cpu_count() or 1) // workers)
        if values["workers"] is None:
            values["workers"] = 0
    elif values["threads"] is None:
        task_cpus = session.sparkContext.getConf().get("spark.task.cpus")
        values["threads"] = int(task_cpus) if task_cpus else None
    return TrainConfig.from_dict(values)


def cluster_has_gpus(session) -> bool:
    """Whether Spark was configured to give each task GPUs."""
    # TorchDistributor reads the same setting; without it tasks own no GPUs.
    conf = session.sparkContext.getConf()
    return float(conf.get("spark.task.resource.gpu.amount", "0") or 0) > 0


def _absolute_if_local(data) -> str:
    """A relative path is made absolute, since executors do not run in our directory."""
    text = str(data)
    from convkit.names import is_digits_name

    if "://" in text or is_digits_name(text):
        return text
    path = Path(text)
    return str(path.absolute()) if path.exists() else text
