"""Guarding a run folder: never overwrite a finished run or a killed run's checkpoints by accident.

``convkit train … --run-dir DIR`` on a folder that already holds a run used to
replace its model, checkpoints, config and plots silently, and a rerun that
forgot ``--resume`` threw a killed run's checkpoint away. Now a folder that
holds a run must be continued (``--resume``) or replaced on purpose
(``--overwrite``); the folder must also be writable, checked before any data
is loaded.
"""

from __future__ import annotations

from pathlib import Path

from convkit.errors import UsageError
from convkit.fileio import check_writable_folder

# What a run writes; --overwrite removes exactly these, nothing else in the folder.
RUN_FILES = (
    "model.convkit",
    "metrics.csv",
    "metrics.json",
    "config.yaml",
    "curves.png",
    "confusion.png",
    "samples.png",
    "skipped.txt",
    "report.html",
    "checkpoints/last.ckpt",
    "checkpoints/previous.ckpt",
)


def guard_run_folder(run_dir: str | Path, *, resume: bool, overwrite: bool = False) -> None:
    """Refuse (UsageError) to start a new run over an existing one unless told to."""
    run_dir = Path(run_dir)
    check_writable_folder(run_dir, "--run-dir")
    if resume and overwrite:
        raise UsageError("--resume continues a run and --overwrite replaces it: choose one")
    if resume:
        return
    finished = (run_dir / "model.convkit").exists()
    checkpoints = [run_dir / "checkpoints" / n for n in ("last.ckpt", "previous.ckpt")]
    unfinished = any(path.exists() for path in checkpoints)
    if not (finished or unfinished):
        return
    if overwrite:
        for name in RUN_FILES:
            (run_dir / name).unlink(missing_ok=True)
        return
    what = "a finished run (model.convkit)" if finished else "a stopped run's checkpoints"
    raise UsageError(
        f"{run_dir} already holds {what}: add --resume to continue it, --overwrite to "
        "replace it, or choose another --run-dir"
    )
