"""What a model file's JSON document must be, checked before anything is built from it.

The checksum (``document_sha256``) catches edits; this catches documents that
are well-formed JSON but not a convkit model: a list or string where the
document should be, a missing ``spec``/``task``/``preprocessing``, 2 labels
for a 10-way output, a 3-channel preprocessing for a 1-channel net, or sizes
no machine can allocate (a 100000 x 100000 input, 10^9 filters). Each is a
one-line ModelFileError naming the file, never an IndexError mid-prediction
or a 100 GB allocation.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from convkit.errors import ConvkitError, ModelFileError

REQUIRED = {"spec": dict, "task": dict, "preprocessing": dict, "weights_sha256": str}

FORMAT_VERSION = 2  # 2: document_sha256 covers the whole header


def document_digest(document: dict[str, Any]) -> str:
    """SHA-256 of the document in canonical JSON, without its own checksum field."""
    body = {key: value for key, value in document.items() if key != "document_sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_document(document: Any, path: str | Path, allow_unsigned: bool = False) -> dict[str, Any]:
    """The document, if it has the model file's schema and its checksum matches.

    ``allow_unsigned`` admits a format-1 document (no header checksum) for
    ``convkit upgrade`` only: the user vouches for the header, the weights are
    still checked against their own digest.
    """
    from convkit.spec.document import check_document as check_limits

    if not isinstance(document, dict):
        raise ModelFileError(
            f"{path}: damaged convkit header (a {type(document).__name__}, not a JSON object)"
        )
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError(f"{path}: damaged convkit header (format_version is not a number)")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer convkit (format {version}); upgrade convkit to read it"
        )
    unsigned = version < 2 or "document_sha256" not in document
    if unsigned and not (allow_unsigned and version == 1):
        raise ModelFileError(
            f"{path} was written by an older convkit (format {version}, no header checksum); "
            f"if you trust it, sign it with `convkit upgrade {path}`"
        )
    if not unsigned and document.get("document_sha256") != document_digest(document):
        raise ModelFileError(f"{path} has been modified: its header does not match its checksum")
    for key, kind in REQUIRED.items():
        if not isinstance(document.get(key), kind):
            raise ModelFileError(
                f"{path}: damaged convkit header (`{key}` missing or not a {kind.__name__})"
            )
    for key in ("task", "preprocessing"):
        if not isinstance(document[key].get("kind"), str):
            raise ModelFileError(f"{path}: damaged convkit header (`{key}` has no kind)")
    if not isinstance(document.get("metadata", {}), dict):
        raise ModelFileError(f"{path}: damaged convkit header (`metadata` is not an object)")
    try:
        check_limits(document["spec"], str(path))
    except ConvkitError as error:
        raise ModelFileError(str(error)) from None
    return document


def check_spec_against(spec, document: dict[str, Any], tensors: dict, path: str | Path) -> None:
    """Sizes, labels and channels the spec implies must agree with the file, and fit here."""
    from convkit.limits import physical_memory

    try:
        infos = spec.infer()
    except ConvkitError as error:
        raise ModelFileError(f"{path}: the stored spec is invalid ({error})") from None
    params = sum(info.params for info in infos)
    stored = sum(int(t.numel()) for t in tensors.values())
    if params > stored:
        raise ModelFileError(
            f"{path}: the stored spec has {params:,} parameters but the file holds only "
            f"{stored:,} weights"
        )
    memory = physical_memory()
    values = spec.input.numel() + sum(info.output_shape.numel() for info in infos)
    if memory is not None and values * 4 > memory // 2:
        raise ModelFileError(
            f"{path}: one input ({spec.input}) needs {values * 4 / 1e9:,.1f} GB of activations; "
            f"this machine has {memory / 1e9:,.1f} GB"
        )
    _check_task(document["task"], infos[spec.order[-1]].output_shape, path)
    _check_preprocessing(document["preprocessing"], spec.input, path)


def _check_task(task: dict[str, Any], output, path) -> None:
    if task["kind"] != "classify":
        return
    units = getattr(output, "units", None)
    classes = task.get("num_classes")
    labels = task.get("labels")
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ModelFileError(f"{path}: damaged convkit header (task num_classes is not a count)")
    if units is not None and classes != units:
        raise ModelFileError(
            f"{path}: the task has {classes} classes but the network outputs {units} scores"
        )
    if labels is not None and (not isinstance(labels, list) or len(labels) != classes):
        count = len(labels) if isinstance(labels, list) else "no list of"
        raise ModelFileError(f"{path}: {count} labels for {classes} classes")


def _check_preprocessing(pre: dict[str, Any], input_shape, path) -> None:
    """Sizes the preprocessing states must be counts and match the network (absent: defaults)."""
    if pre["kind"] != "image":
        return
    for key in ("height", "width", "channels"):
        value = pre.get(key)
        if key in pre and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ModelFileError(f"{path}: damaged convkit header (preprocessing {key})")
    channels = getattr(input_shape, "channels", None)
    if "channels" in pre and channels is not None and pre["channels"] != channels:
        raise ModelFileError(
            f"{path}: the preprocessing makes {pre['channels']}-channel images but the network "
            f"takes {channels}"
        )
    expected = (getattr(input_shape, "height", None), getattr(input_shape, "width", None))
    size = (pre.get("height", expected[0]), pre.get("width", expected[1]))
    if None not in expected and size != expected:
        raise ModelFileError(
            f"{path}: the preprocessing makes {size[0]}x{size[1]} images but the "
            f"network takes {expected[0]}x{expected[1]}"
        )
