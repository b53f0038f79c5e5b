"""The task registry: which task a spec's last layer names, and how a model file's task is rebuilt.

A task plugs in here and only here: one ``register_task`` line (below, or in a
plugin module) makes training, prediction, export, the server and the Spark
UDFs know it, because each of them asks the Task's hooks, never its kind.
Entries are "module:Class" strings so that registering imports nothing heavy.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from convkit.errors import SpecError


@dataclass(frozen=True)
class TaskEntry:
    kind: str
    last_layer: str
    reference: str  # "module:Class"

    def load(self):
        module_name, class_name = self.reference.split(":")
        return getattr(importlib.import_module(module_name), class_name)


_BY_KIND: dict[str, TaskEntry] = {}
_BY_LAST_LAYER: dict[str, TaskEntry] = {}


def register_task(kind: str, last_layer: str, reference: str) -> None:
    """Make ``kind`` (stored in model files) and its last layer type known."""
    entry = TaskEntry(kind, last_layer, reference)
    _BY_KIND[kind] = entry
    _BY_LAST_LAYER[last_layer] = entry


def registered_tasks() -> list[TaskEntry]:
    return list(_BY_KIND.values())


def task_class_for_last_layer(layer_type: str, layer_name: str):
    entry = _BY_LAST_LAYER.get(layer_type)
    if entry is None:
        known = ", ".join(sorted(_BY_LAST_LAYER))
        raise SpecError(
            f"the last layer ({layer_name}, type {layer_type}) does not say what the "
            f"network is for: end it with one of {known}"
        )
    return entry.load()


def task_class_for_kind(kind: str):
    entry = _BY_KIND.get(kind)
    if entry is None:
        raise SpecError(f"unknown task kind {kind!r} in model file (known: {', '.join(_BY_KIND)})")
    return entry.load()


register_task("classify", "output", "convkit.classify.task:ClassifyTask")
register_task("ocr", "ctc_output", "convkit.ocr.task:OcrTask")
register_task("detect", "yolo_output", "convkit.detect.task:DetectTask")
