"""Tasks: what a network is for. The spec's last layer decides which one."""

from __future__ import annotations

import importlib

from convkit.errors import SpecError
from convkit.tasks.base import Metrics, Task

# last layer type -> "module:Class" of the task that trains it
TASKS_BY_LAST_LAYER = {
    "output": "convkit.tasks.classify:ClassifyTask",
    "ctc_output": "convkit.tasks.ocr:OcrTask",
    "yolo_output": "convkit.tasks.detect:DetectTask",
}
# task kind (as stored in model files) -> "module:Class"
TASKS_BY_KIND = {
    "classify": "convkit.tasks.classify:ClassifyTask",
    "ocr": "convkit.tasks.ocr:OcrTask",
    "detect": "convkit.tasks.detect:DetectTask",
}


def _load(reference: str):
    module_name, class_name = reference.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def task_for_spec(spec, options: dict | None = None) -> Task:
    """The task a network is for, read off its last layer."""
    last = spec.layers[-1].type
    reference = TASKS_BY_LAST_LAYER.get(last)
    if reference is None:
        known = ", ".join(sorted(TASKS_BY_LAST_LAYER))
        raise SpecError(
            f"the last layer ({spec.layers[-1].name}, type {last}) does not say what the "
            f"network is for: end it with one of {known}"
        )
    return _load(reference).for_spec(spec, options or {})


def task_from_dict(data: dict) -> Task:
    """Rebuild the task stored in a model file."""
    reference = TASKS_BY_KIND.get(data.get("kind", ""))
    if reference is None:
        raise SpecError(f"unknown task kind {data.get('kind')!r} in model file")
    return _load(reference).from_dict(data)


__all__ = ["Metrics", "Task", "task_for_spec", "task_from_dict"]
