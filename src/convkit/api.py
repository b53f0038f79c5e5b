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


def load_spec_any(spec):
    """A NetSpec from a NetSpec, a dict, or a path to YAML/JSON."""
    from convkit.spec import NetSpec, load_spec

    if isinstance(spec, NetSpec):
        return spec
    if isinstance(spec, dict):
        return NetSpec.from_dict(spec)
    return load_spec(spec)


def default_run_dir(spec) -> Path:
    return Path("runs") / f"{spec.name or 'net'}-{time.strftime('%Y%m%d-%H%M%S')}"


def fit(
    spec,
    data: str | Path,
    *,
    run_dir: str | Path | None = None,
    config: TrainConfig | None = None,
    options: dict | None = None,
    augment=None,
    val_data: str | Path | None = None,
    val_fraction: float = 0.05,
    resume: bool = False,
    strict_data: bool = False,
    balance_classes: bool = False,
    init_from: str | Path | None = None,
    freeze_epochs: int = 0,
    callbacks: list | tuple = (),
    evaluate_test: bool = True,
    progress: bool = True,
    overwrite: bool = False,
    **config_overrides: Any,
) -> TrainReport:
    """Train ``spec`` on ``data``; write the run folder; evaluate on the test split if any."""
    from convkit import __version__
    from convkit.data import stratified_split
    from convkit.nn import build
    from convkit.tasks import task_for_spec
    from convkit.train import Trainer
    from convkit.train.artifacts import (
        write_classification_pictures,
        write_config,
        write_metrics,
        write_skipped,
    )

    spec = load_spec_any(spec)
    config = config_with_overrides(config, config_overrides)  # one or the other, not both
    if init_from is not None:  # a model file or a zoo name; the head is sized for the data
        from convkit.train.transfer import image_classes, rebuild_head, resolve_init_from

        init_from = resolve_init_from(init_from)
        classes = (
            image_classes(spec, data, options or {}) if spec.layers[-1].type == "output" else None
        )
        spec = rebuild_head(spec, classes) if classes else spec
    options = dict(options or {})
    options.setdefault("label_smoothing", config.label_smoothing)
    run_dir = Path(run_dir) if run_dir else default_run_dir(spec)
    from convkit.fileio import check_input_path
    from convkit.train.run_folder import guard_run_folder

    # Paths before data: a run folder that cannot be written, or holds a run that a
    # forgotten --resume would overwrite, fails now, not after the data is loaded.
    check_input_path(str(data), "data")
    if val_data is not None:
        check_input_path(str(val_data), "validation data")
    guard_run_folder(run_dir, resume=resume, overwrite=overwrite)
    if resume and not any(
        (run_dir / "checkpoints" / name).exists() for name in ("last.ckpt", "previous.ckpt")
    ):
        raise UsageError(f"nothing to resume in {run_dir}: no checkpoints/last.ckpt there")
    if not 0 <= val_fraction < 1:
        raise UsageError(f"`val_fraction` must be in [0, 1). Received: val_fraction={val_fraction}")

    # Data: open, scan, split.
    spec.infer()  # shape errors before any data is touched
    from convkit.train.memory import check_fits_in_memory

    check_fits_in_memory(spec, config.batch_size, device=config.device)
    task = task_for_spec(spec, options)
    train_set = task.open_data(str(data), "train", options)
    scan = train_set.scan(strict=strict_data, progress=progress)
    _log(str(scan), progress)
    if val_data is not None:
        val_set = task.open_data(str(val_data), "train", options)
        train_indices = _usable(train_set, scan)
        val_scan = val_set.scan(strict=strict_data, progress=progress)
        val_indices = _usable(val_set, val_scan)
    else:
        val_set = train_set
        usable = _usable(train_set, scan)
        if val_fraction > 0:
            train_pos, val_pos = stratified_split(
                train_set.targets[usable], val_fraction, config.seed
            )
            train_indices, val_indices = usable[train_pos], usable[val_pos]
        else:
            train_indices, val_indices = usable, None
    if len(train_indices) == 0:
        raise DataError(f"no usable training examples in {data}")
    if balance_classes:
        task.balance_classes(train_set.targets[train_indices])

    preprocessing = task.default_preprocessing(spec, train_set, options)
    if init_from is not None and preprocessing.to_dict().get("kind") == "image":
        # the pretrained features expect the pretrained preprocessing (photos only: a detector
        # or a spectrogram network keeps its own)
        from convkit.train.transfer import pretrained_preprocessing

        preprocessing = pretrained_preprocessing(init_from, spec) or preprocessing
    augment_config = _augment(augment)
    batch_options = {
        "batch_size": config.batch_size,
        "seed": config.seed,
        "workers": config.resolved_workers(),
    }
    train_batches = task.make_batches(
        train_set, train_indices, preprocessing, augment_config, shuffle=True, **batch_options
    )
    val_batches = None
    if val_indices is not None and len(val_indices):
        val_batches = task.make_batches(
            val_set, val_indices, preprocessing, None, shuffle=False, **batch_options
        )

    # Network: seeded first, so the initial weights are the same on every run.
    from convkit.train.environment import seed_everything

    seed_everything(config.seed)
    net = build(spec)
    callbacks = list(callbacks)
    if init_from is not None:
        from convkit.train.transfer import FreezeCallback, load_matching_weights

        copied = load_matching_weights(net, init_from)
        _log(f"initialised {len(copied)} tensors from {init_from}", progress)
        layers = sorted(
            {
                name.split(".")[1] if name.startswith("layers.") else name.split(".")[0]
                for name in copied
            }
        )
        net.backbone_layers = layers  # their lr is lr x backbone_lr_scale (train.transfer)
        if freeze_epochs:
            callbacks.append(FreezeCallback(layers, freeze_epochs))

    resolved = {
        "convkit_version": __version__,
        "spec": spec.to_dict(),
        "data": str(data),
        "val_data": str(val_data) if val_data else None,
        "val_fraction": val_fraction,
        "options": options,
        "augment": augment_config.to_dict() if augment_config else None,
        "train": config.to_dict(),
        "examples": {
            "train": int(len(train_indices)),
            "val": int(len(val_indices)) if val_indices is not None else 0,
        },
        "init_from": str(init_from) if init_from else None,
    }
    from convkit.train.distributed import rank_and_world

    if rank_and_world()[0] == 0:  # in distributed training rank 0 alone writes files
        write_config(run_dir, resolved)
    metadata = {
        "data": str(data),
        "train": config.to_dict(),
        "seed": config.seed,
        "convkit_version": __version__,
        "scan": scan.to_dict(),
    }
    trainer = Trainer(
        net,
        task,
        train_batches,
        val_batches,
        config,
        run_dir,
        preprocessing=preprocessing.to_dict(),
        metadata=metadata,
        callbacks=callbacks,
        resume=resume,
        progress=progress,
    )
    result = trainer.fit()
    if not trainer.is_main:
        return TrainReport(run_dir, result.model_path, result.history, result.best)

    # Run folder: tables and pictures from the best model.
    write_metrics(run_dir, result.history)
    skipped = list(scan.bad) + list(result.skipped)
    write_skipped(run_dir, skipped)
    best = load(result.model_path, device=str(trainer.device))
    write_classification_pictures(
        run_dir, best.net, best.task, val_batches, result.history, trainer.device
    )
    test = None
    if evaluate_test and _has_test_split(task, data, options):
        test = evaluate(best, data, split="test", options=options, progress=progress)
    return TrainReport(
        run_dir,
        result.model_path,
        result.history,
        result.best,
        test=test,
        scan=scan.to_dict(),
        skipped=skipped,
        stopped_early=result.stopped_early,
        test_line=task.summary_line(test) if test else "",
    )


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
    if text.lower() in ("sklearn-digits", "sklearn:digits", "digits"):
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
    """Accuracy, top-k, per-class precision/recall/F1, confusion matrix on ``data``."""
    import numpy as np
    import torch

    model = model if isinstance(model, InferenceModel) else load(model)
    model.require_net("evaluation")
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
