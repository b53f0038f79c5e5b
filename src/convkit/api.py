"""The Python API: fit, evaluate, predict, embed. Every front end calls these.

from convkit import api
report = api.fit("examples/lenet.yaml", "../shared/data/mnist", epochs=3)
model = api.load(report.model_path)
model.predict(["digit.png"], top_k=3)
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convkit.errors import DataError, SpecError, UsageError
from convkit.inference import InferenceModel, open_model
from convkit.names import is_digits_name, resolve_data, resolve_spec, zoo_name
from convkit.train.config import TrainConfig, config_with_overrides


@dataclass
class TrainReport:
    run_dir: Path
    model_path: Path
    history: list[dict]
    best: dict
    test: dict | None = None
    scan: dict | None = None
    skipped: list = field(default_factory=list)
    stopped_early: bool = False
    test_line: str = ""  # one line about ``test``, in the task's own terms (Task.summary_line)


def _log(message: str, progress: bool = True) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def default_run_dir(spec) -> Path:
    return Path("runs") / f"{spec.name or 'net'}-{time.strftime('%Y%m%d-%H%M%S')}"


def fit(
    spec,
    data: str | Path,
    *,
    config: TrainConfig | None = None,
    run_dir: str | Path | None = None,
    val_data: str | Path | None = None,
    options: dict | None = None,
    augment=None,
    init_from: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    callbacks: list | tuple = (),
    evaluate_test: bool = True,
    progress: bool = True,
    **settings: Any,
) -> TrainReport:
    """Train ``spec`` on ``data``; write the run folder; evaluate on the test split if any.

    ``spec``: a NetSpec, a dict, a spec file, a model file or a zoo name (a zoo
    network's output layer is sized for the data's classes). ``data``: a path,
    ``mnist`` or ``sklearn-digits`` (``convkit.names``). The training settings
    (epochs, lr, val_fraction, strict_data, freeze_epochs… see ``TrainConfig``)
    come as ``config=TrainConfig(...)`` or as keywords, not both. ``val_data``:
    a separate validation set (else ``val_fraction`` of ``data`` is held out).
    ``options``: the data source's (resize, label_pattern, anchors…).
    ``augment``: an Augment, a dict or a string like "flip,crop=4".
    ``init_from``: a model file or zoo name whose matching layers start the network.
    """
    config = config_with_overrides(config, settings)
    resized = zoo_name(spec) is not None or init_from is not None
    spec = resolve_spec(spec)
    init_from = _resolve_init_from(init_from)
    run_dir = _check_paths(spec, data, val_data, run_dir, resume, overwrite)
    data = resolve_data(data, progress)  # `mnist`: the cached copy, downloaded if missing
    if resized:  # made for other classes (ImageNet's 1000): sized for this data's
        from convkit.train.transfer import head_for_data

        spec = head_for_data(spec, data, options)
    task, options = _make_task(spec, config, options)
    splits = _open_splits(task, data, val_data, config, options, progress)
    sources = _make_sources(task, spec, splits, config, augment, options, init_from)
    net, callbacks = _build_network(spec, config, init_from, callbacks, progress)
    _write_run_folder(run_dir, spec, data, val_data, options, config, splits, sources, init_from)
    trainer = _trainer(
        net, task, sources, config, run_dir, data, splits, callbacks, resume, progress
    )
    result = trainer.fit()
    if not trainer.is_main:  # in distributed training rank 0 alone writes and evaluates
        return TrainReport(run_dir, result.model_path, result.history, result.best)
    best = load(result.model_path, device=str(trainer.device))
    skipped = _write_results(run_dir, best, trainer.device, result, splits, sources)
    test = None
    if evaluate_test and _has_test_split(task, data, options):
        test = evaluate(best, data, split="test", options=options, progress=progress)
    return TrainReport(
        run_dir,
        result.model_path,
        result.history,
        result.best,
        test=test,
        scan=splits.scan.to_dict(),
        skipped=skipped,
        stopped_early=result.stopped_early,
        test_line=task.summary_line(test) if test else "",
    )


def fit_keywords() -> set[str]:
    """The keyword arguments of ``fit`` that are not training settings (``TrainConfig``)."""
    import inspect

    parameters = inspect.signature(fit).parameters.values()
    return {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


# -- the steps of fit, in the order it takes them ------------------------------------------
@dataclass
class Splits:
    """The opened data and which of its examples train and validate."""

    train_set: Any
    val_set: Any  # the training set itself when validation is held out of it
    train_indices: Any  # int64 positions in train_set
    val_indices: Any  # int64 positions in val_set, or None (nothing held out)
    scan: Any  # the training set's ScanReport


@dataclass
class Sources:
    """What the Trainer reads: batches of both sides and how inputs are prepared."""

    preprocessing: Any
    augment: Any  # the Augment applied to training batches, or None
    train_batches: Any
    val_batches: Any  # None without validation examples


def _resolve_init_from(init_from):
    """A model file path for ``init_from`` (a file or a zoo name with imported weights)."""
    if init_from is None:
        return None
    from convkit.train.transfer import resolve_init_from

    return resolve_init_from(init_from)


def _check_paths(spec, data, val_data, run_dir, resume: bool, overwrite: bool) -> Path:
    """The run folder, after the checks that fail fast, before any data is loaded.

    A run folder that cannot be written, or that holds a run a forgotten
    --resume would overwrite, fails now, not after the data is scanned.
    """
    from convkit.fileio import check_input_path
    from convkit.train.run_folder import guard_run_folder

    run_dir = Path(run_dir) if run_dir else default_run_dir(spec)
    check_input_path(str(data), "data")
    if val_data is not None:
        check_input_path(str(val_data), "validation data")
    guard_run_folder(run_dir, resume=resume, overwrite=overwrite)
    if resume and not any(
        (run_dir / "checkpoints" / name).exists() for name in ("last.ckpt", "previous.ckpt")
    ):
        raise UsageError(f"nothing to resume in {run_dir}: no checkpoints/last.ckpt there")
    return run_dir


def _make_task(spec, config: TrainConfig, options: dict | None):
    """The task the spec's last layer names, once its shapes and memory needs are checked."""
    from convkit.tasks import task_for_spec
    from convkit.train.memory import check_fits_in_memory

    options = dict(options or {})
    options.setdefault("label_smoothing", config.label_smoothing)
    spec.infer()  # shape errors before any data is touched
    check_fits_in_memory(spec, config.batch_size, device=config.device)
    return task_for_spec(spec, options), options


def _open_splits(task, data, val_data, config: TrainConfig, options: dict, progress) -> Splits:
    """Open and scan the data; split it into training and validation examples.

    Without ``val_data``, ``config.val_fraction`` of each class is held out
    (``stratified_split`` with ``config.seed``: the same split on every run).
    """
    from convkit.data import stratified_split

    train_set = task.open_data(str(data), "train", options)
    scan = train_set.scan(strict=config.strict_data, progress=progress)
    _log(str(scan), progress)
    usable = _usable(train_set, scan)
    if val_data is not None:
        val_set = task.open_data(str(val_data), "train", options)
        val_scan = val_set.scan(strict=config.strict_data, progress=progress)
        train_indices, val_indices = usable, _usable(val_set, val_scan)
    elif config.val_fraction > 0:
        val_set = train_set
        train_pos, val_pos = stratified_split(
            train_set.targets[usable], config.val_fraction, config.seed
        )
        train_indices, val_indices = usable[train_pos], usable[val_pos]
    else:
        val_set, train_indices, val_indices = train_set, usable, None
    if len(train_indices) == 0:
        raise DataError(f"no usable training examples in {data}")
    if config.balance_classes:
        task.balance_classes(train_set.targets[train_indices])
    return Splits(train_set, val_set, train_indices, val_indices, scan)


def _make_sources(task, spec, splits: Splits, config, augment, options, init_from) -> Sources:
    """The preprocessing (stored in the model file) and the training and validation batches."""
    preprocessing = task.default_preprocessing(spec, splits.train_set, options)
    if init_from is not None and preprocessing.to_dict().get("kind") == "image":
        # the pretrained features expect the pretrained preprocessing (photos only: a detector
        # or a spectrogram network keeps its own)
        from convkit.train.transfer import pretrained_preprocessing

        preprocessing = pretrained_preprocessing(init_from, spec) or preprocessing
    augment = _augment(augment)
    batching = {
        "batch_size": config.batch_size,
        "seed": config.seed,
        "workers": config.resolved_workers(),
    }
    train_batches = task.make_batches(
        splits.train_set, splits.train_indices, preprocessing, augment, shuffle=True, **batching
    )
    val_batches = None
    if splits.val_indices is not None and len(splits.val_indices):
        val_batches = task.make_batches(
            splits.val_set, splits.val_indices, preprocessing, None, shuffle=False, **batching
        )
    return Sources(preprocessing, augment, train_batches, val_batches)


def _build_network(spec, config: TrainConfig, init_from, callbacks, progress):
    """The network, seeded first so the initial weights are the same on every run.

    With ``init_from``, the matching layers are copied in (their lr is
    ``lr x backbone_lr_scale``) and, for ``freeze_epochs``, held frozen.
    """
    from convkit.nn import build
    from convkit.train.environment import seed_everything

    seed_everything(config.seed)
    net = build(spec)
    callbacks = list(callbacks)
    if init_from is not None:
        from convkit.train.transfer import FreezeCallback, layer_of, load_matching_weights

        copied = load_matching_weights(net, init_from)
        _log(f"initialised {len(copied)} tensors from {init_from}", progress)
        layers = sorted({layer_of(name) for name in copied})
        net.backbone_layers = layers  # their lr is lr x backbone_lr_scale (train.transfer)
        if config.freeze_epochs:
            callbacks.append(FreezeCallback(layers, config.freeze_epochs))
    return net, callbacks


def _write_run_folder(run_dir, spec, data, val_data, options, config, splits, sources, init_from):
    """config.yaml (everything the run was given, resolved) and split.json (its split).

    In distributed training rank 0 alone writes files.
    """
    from convkit import __version__
    from convkit.data.split import SplitRecord, targets_digest, write_split
    from convkit.train.artifacts import write_config
    from convkit.train.distributed import rank_and_world

    if rank_and_world()[0] != 0:
        return
    val_indices = splits.val_indices if splits.val_indices is not None else []
    resolved = {
        "convkit_version": __version__,
        "spec": spec.to_dict(),
        "data": str(data),
        "val_data": str(val_data) if val_data else None,
        "val_fraction": config.val_fraction,
        "options": options,
        "augment": sources.augment.to_dict() if sources.augment else None,
        "train": config.to_dict(),
        "examples": {"train": int(len(splits.train_indices)), "val": int(len(val_indices))},
        "init_from": str(init_from) if init_from else None,
    }
    write_config(run_dir, resolved)
    import numpy as np

    excluded = np.asarray(getattr(splits.scan, "bad_indices", []) or [], dtype=np.int64)
    separate = splits.val_set is not splits.train_set
    record = SplitRecord(
        data=str(data),
        size=len(splits.train_set),
        targets_sha256=targets_digest(splits.train_set.targets),
        seed=config.seed,
        val_fraction=config.val_fraction,
        excluded=np.unique(excluded),
        val=np.asarray(val_indices, dtype=np.int64),
        val_data=str(val_data) if separate else None,
        val_size=len(splits.val_set) if separate else None,
        val_targets_sha256=targets_digest(splits.val_set.targets) if separate else None,
    )
    write_split(run_dir, record)


def _trainer(net, task, sources, config, run_dir, data, splits, callbacks, resume, progress):
    """The Trainer of this run: its fit() runs the epochs, checkpoints, the best model's file."""
    from convkit import __version__
    from convkit.train import Trainer

    metadata = {
        "data": str(data),
        "train": config.to_dict(),
        "seed": config.seed,
        "convkit_version": __version__,
        "scan": splits.scan.to_dict(),
    }
    return Trainer(
        net,
        task,
        sources.train_batches,
        sources.val_batches,
        config,
        run_dir,
        preprocessing=sources.preprocessing.to_dict(),
        metadata=metadata,
        callbacks=callbacks,
        resume=resume,
        progress=progress,
    )


def _write_results(run_dir, best, device, result, splits, sources) -> list:
    """Tables and pictures from the best model: metrics, skipped files, curves, confusion.

    Returns the skipped files (the scan's and those found while training).
    """
    from convkit.train.artifacts import (
        write_classification_pictures,
        write_metrics,
        write_skipped,
    )

    write_metrics(run_dir, result.history)
    skipped = list(splits.scan.bad) + list(result.skipped)
    write_skipped(run_dir, skipped)
    write_classification_pictures(
        run_dir, best.net, best.task, sources.val_batches, result.history, device
    )
    return skipped


def _augment(augment):
    """An Augment from an Augment, a dict, or a CLI string like "flip,crop=4,rotate=10"."""
    from convkit.data import Augment

    if augment is None or isinstance(augment, Augment):
        return augment if augment is None or augment.enabled else None
    parsed = Augment.parse(augment) if isinstance(augment, str) else Augment.from_dict(augment)
    return parsed if parsed.enabled else None


def _usable(dataset, scan):
    """Indices of the examples the scan did not reject."""
    import numpy as np

    bad = np.asarray(getattr(scan, "bad_indices", []) or [], dtype=np.int64)
    # numpy, not a Python int per example: a 10 M-image pack must not cost ~400 MB here.
    return np.setdiff1d(np.arange(len(dataset), dtype=np.int64), bad)


def _has_test_split(task, data, options) -> bool:
    """Whether ``data`` has a test split of its own (IDX t10k files, a test/ folder…)."""
    from convkit.data.folders import split_folders
    from convkit.data.idx import find_idx_pair, has_idx_files

    text = str(data)
    if is_digits_name(text):
        return True
    answer = task.has_test_split(text, options)
    if answer is not None:  # tasks with their own data layouts answer for themselves
        return bool(answer)
    path = Path(text)
    if not path.is_dir():
        return False
    if has_idx_files(path):
        return find_idx_pair(path, "test") is not None
    return {"train", "test"} <= set(split_folders(path))


# ----------------------------------------------------------------------------
class Model(InferenceModel):
    """A loaded model file with the verbs users want: predict, embed, evaluate.

    All of prediction lives in ``convkit.inference.InferenceModel`` (the one
    engine every front end uses); this adds evaluation.
    """

    def evaluate(self, data, **kwargs) -> dict:
        return evaluate(self, data, **kwargs)


def load(path: str | Path, device: str = "cpu", runtime: str = "auto") -> Model:
    """Load a model file (``.convkit``, or an exported ``.onnx``) for prediction.

    ``device``: cpu, cuda or auto. ``runtime``: auto (ONNX Runtime where the
    model exports and onnxruntime is installed, else torch), onnx or torch.
    """
    return open_model(path, device=device, runtime=runtime, model_class=Model)


def predict(model_path, inputs, top_k: int = 5, runtime: str = "auto", **options) -> list[dict]:
    return load(model_path, runtime=runtime).predict(list(inputs), top_k=top_k, **options)


def evaluate(
    model,
    data,
    *,
    split: str = "test",
    options: dict | None = None,
    batch_size: int = 256,
    out_dir: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Accuracy, top-k, per-class precision/recall/F1, confusion matrix on ``data``.

    ``data``: a path, ``mnist`` or ``sklearn-digits`` (``convkit.names``).
    """
    import numpy as np
    import torch

    model = model if isinstance(model, InferenceModel) else load(model)
    model.require_net("evaluation")
    if data is not None:
        data = resolve_data(data, progress)  # `mnist`: the cached copy
    task = model.task
    if task.kind != "classify":  # each other task reports in its own terms
        return task.evaluate(
            model, data, split=split, options=options, out_dir=out_dir, progress=progress
        )

    from convkit.classify.class_metrics import classification_report

    try:
        dataset = task.open_data(str(data), split, options or {})
    except SpecError as error:  # "set `classes: N` in the output layer" is advice for a spec
        raise DataError(
            f"{data} does not fit this model: {str(error).split(': set `classes')[0]}; "
            "evaluate it on data with the classes it was trained on"
        ) from None
    scan = dataset.scan(strict=False, progress=progress)
    indices = _usable(dataset, scan)
    batches = task.make_batches(
        dataset,
        indices,
        model.preprocessing,
        None,
        batch_size=batch_size,
        shuffle=False,
        seed=0,
        workers=TrainConfig().resolved_workers(),
    )
    metrics = task.new_metrics()
    from convkit.data.batches import one_pass

    with torch.inference_mode():
        for inputs, targets in one_pass(batches, progress):
            output = model.net(inputs.to(model.device)).float()
            metrics.update(output, targets.to(model.device), None)
    computed = metrics.compute()
    top = {"top5": computed["top5"]} if "top5" in computed else {}
    report = classification_report(metrics.confusion_matrix(), task.labels, top)
    report["skipped"] = [
        list(item) for item in list(scan.bad) + list(getattr(batches, "skipped", []))
    ]
    if out_dir is not None:
        from convkit.viz.plots import plot_confusion

        plot_confusion(
            np.asarray(report["confusion_matrix"]),
            task.labels,
            Path(out_dir) / "confusion.png",
            title=f"{split} confusion matrix",
        )
    return report
