"""Tasks: what a network is for. The spec's last layer decides which one (see registry.py)."""

from __future__ import annotations

from convkit.tasks.base import Metrics, Task
from convkit.tasks.registry import (
    register_task,
    registered_tasks,
    task_class_for_kind,
    task_class_for_last_layer,
)


def task_for_spec(spec, options: dict | None = None) -> Task:
    """The task a network is for, read off its last layer."""
    last = spec.layers[-1]
    return task_class_for_last_layer(last.type, last.name).for_spec(spec, options or {})


def task_from_dict(data: dict) -> Task:
    """Rebuild the task stored in a model file."""
    return task_class_for_kind(data.get("kind", "")).from_dict(data)


__all__ = [
    "Metrics",
    "Task",
    "register_task",
    "registered_tasks",
    "task_for_spec",
    "task_from_dict",
]
