"""Look at a run's model on its own validation examples, for the report.

The run folder records which examples the run validated on (``split.json``,
``convkit.data.split.SplitRecord``), so they can be opened again and
classified once more: that gives per-class metrics and the examples the
model got most wrong (lowest probability on the true label). A run folder
from before the split was recorded has only ``config.yaml`` (data path,
val_fraction or val_data, options, seed): the split is then derived again as
``convkit.api.fit`` derived it — same scan, same ``stratified_split`` call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convkit.errors import ConvkitError
from convkit.viz.model_view import ModelView

# Enough for stable per-class numbers; the rest would only cost time.
MAX_EXAMPLES = 10_000
BATCH = 256


@dataclass
class WrongExample:
    image: Any  # (H, W, 3) uint8, the input as the network saw it
    true_label: str
    predicted_label: str
    true_probability: float
    predicted_probability: float
    where: str  # file path or dataset position


@dataclass
class RunReview:
    """What re-classifying the validation examples showed (or why it could not be done)."""

    examples: int = 0
    report: dict = field(default_factory=dict)  # convkit.classify.class_metrics format
    worst: list[WrongExample] = field(default_factory=list)
    note: str = ""  # a reason when the review is partial or missing


def validation_examples(view: ModelView, config: dict, run_dir=None) -> tuple[Any, Any]:
    """(dataset, indices) of the run's validation examples, as api.fit chose them.

    From ``run_dir``'s split.json when it has one; else derived again from ``config``.
    """
    import numpy as np

    from convkit.data.split import read_split, stratified_split

    options = dict(config.get("options") or {})
    record = read_split(run_dir) if run_dir is not None else None
    if record is not None:
        return _recorded_examples(view, record, options)
    seed = int((config.get("train") or {}).get("seed", 0))
    source = config.get("val_data") or config.get("data")
    if not source:
        raise ConvkitError("config.yaml names no data")
    if not Path(str(source)).exists():
        raise ConvkitError(f"the run's data is not here ({source})")
    dataset = view.task.open_data(str(source), "train", options)
    scan = dataset.scan(strict=False, progress=False)
    bad = set(getattr(scan, "bad_indices", []) or [])
    usable = np.array([i for i in range(len(dataset)) if i not in bad], dtype=np.int64)
    if config.get("val_data"):
        return dataset, usable
    fraction = float(config.get("val_fraction") or 0)
    if fraction <= 0:
        raise ConvkitError("the run kept no validation examples (val_fraction 0)")
    _, val_positions = stratified_split(dataset.targets[usable], fraction, seed)
    return dataset, usable[val_positions]


def _recorded_examples(view: ModelView, record, options: dict) -> tuple[Any, Any]:
    """(dataset, indices) of a recorded split, once the data is checked to be the run's."""
    from convkit.data.digits import is_digits_name
    from convkit.data.split import targets_digest

    source, size, digest = record.validation_source()
    if not Path(source).exists() and not is_digits_name(source):
        raise ConvkitError(f"the run's data is not here ({source})")
    if len(record.val) == 0:
        raise ConvkitError("the run kept no validation examples (val_fraction 0)")
    dataset = view.task.open_data(str(source), "train", options)
    dataset.scan(strict=False, progress=False)  # positions count after the scan, as in training
    if len(dataset) != size or targets_digest(dataset.targets) != digest:
        raise ConvkitError(
            f"the run's data has changed since it trained ({source}: {len(dataset):,} "
            f"examples now, {size:,} then, or other labels)"
        )
    return dataset, record.val


def network_input(view: ModelView, sample: Any) -> Any:
    """One dataset example -> the network's input (C, H, W) float32.

    Image datasets give decoded pixels (uint8, H x W x C) for the stored
    preprocessing to fit and normalise; audio datasets already give the
    spectrogram volume (float, H x W x C), which only needs its axes moved.
    """
    import numpy as np

    sample = np.asarray(sample)
    shape = view.input_shape
    ready = (
        getattr(shape, "height", None),
        getattr(shape, "width", None),
        getattr(shape, "channels", None),
    )
    if sample.dtype != np.uint8 and sample.shape == ready:
        return np.ascontiguousarray(sample.transpose(2, 0, 1), dtype=np.float32)
    return view.preprocessing.apply(sample)


def review_run(model_path: Path, config: dict, worst: int = 16, run_dir=None) -> RunReview:
    """Classify the validation examples again; keep per-class metrics and the worst ones.

    ``run_dir`` (default: the model's folder) holds the recorded split.
    """
    import numpy as np
    import torch
    from tqdm import tqdm

    from convkit.classify.class_metrics import classification_report

    view = ModelView.from_file(model_path)
    if view.kind != "classify":
        return RunReview(note=f"per-class review applies to classifiers, not {view.kind} models")
    try:
        where = Path(run_dir) if run_dir is not None else Path(model_path).parent
        dataset, indices = validation_examples(view, config, where)
    except ConvkitError as error:
        return RunReview(note=f"validation examples not reviewed: {error}")
    note = ""
    if len(indices) > MAX_EXAMPLES:
        note = f"reviewed the first {MAX_EXAMPLES:,} of {len(indices):,} validation examples"
        indices = indices[:MAX_EXAMPLES]
    labels = view.labels
    k = len(labels)
    confusion = np.zeros((k, k), dtype=np.int64)
    # Per example: (true probability, predicted probability, predicted, true, index)
    scored: list[tuple[float, float, int, int, int]] = []
    skipped = 0
    for start in tqdm(range(0, len(indices), BATCH), desc="reviewing", unit="batch", leave=False):
        arrays, targets, kept = [], [], []
        for index in indices[start : start + BATCH]:
            try:
                sample, target = dataset.load(int(index))
                arrays.append(network_input(view, sample))  # (C, H, W)
            except ConvkitError:
                skipped += 1  # an unreadable file: the run skipped it too
                continue
            targets.append(int(target))
            kept.append(int(index))
        if not arrays:
            continue
        x = torch.from_numpy(np.stack(arrays))  # (N, C, H, W)
        with torch.inference_mode():
            probabilities = view.task.probabilities(view.net(x).float()).cpu().numpy()  # (N, K)
        predicted = probabilities.argmax(axis=1)
        for row, true, guess, index in zip(probabilities, targets, predicted, kept, strict=True):
            confusion[true, guess] += 1
            scored.append((float(row[true]), float(row[guess]), int(guess), true, index))
    if skipped:
        note = (note + "; " if note else "") + f"{skipped} unreadable examples left out"
    scored.sort()
    wrong = [entry for entry in scored if entry[2] != entry[3]][:worst]
    return RunReview(
        examples=len(scored),
        report=classification_report(confusion, labels),
        worst=[_wrong_example(view, dataset, entry) for entry in wrong],
        note=note,
    )


def _wrong_example(view: ModelView, dataset: Any, entry: tuple) -> WrongExample:
    import torch

    true_probability, predicted_probability, guess, true, index = entry
    sample, _ = dataset.load(index)
    x = torch.from_numpy(network_input(view, sample)).unsqueeze(0)  # (1, C, H, W)
    paths = getattr(dataset, "paths", None)
    labels = view.labels
    return WrongExample(
        image=view.display_image(x),
        true_label=labels[true],
        predicted_label=labels[guess],
        true_probability=true_probability,
        predicted_probability=predicted_probability,
        where=str(paths[index]) if paths is not None else f"example #{index}",
    )
