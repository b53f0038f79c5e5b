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

from convkit.errors import DataError, UsageError
from convkit.train.config import TrainConfig


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
    **config_overrides: Any,
) -> TrainReport:
    """Train ``spec`` on ``data``; write the run folder; evaluate on the test split if any."""
    from convkit import __version__
    from convkit.build import build
    from convkit.data import stratified_split
    from convkit.tasks import task_for_spec
    from convkit.train import Trainer
    from convkit.train.artifacts import (
        write_classification_pictures,
        write_config,
        write_metrics,
        write_skipped,
    )

    spec = load_spec_any(spec)
    config = config or TrainConfig(**config_overrides)
    options = dict(options or {})
    options.setdefault("label_smoothing", config.label_smoothing)
    run_dir = Path(run_dir) if run_dir else default_run_dir(spec)
    if resume and not (run_dir / "checkpoints" / "last.ckpt").exists():
        raise UsageError(f"nothing to resume in {run_dir}: no checkpoints/last.ckpt there")
    if not 0 <= val_fraction < 1:
        raise UsageError(f"`val_fraction` must be in [0, 1). Received: val_fraction={val_fraction}")

    # Data: open, scan, split.
    spec.infer()  # shape errors before any data is touched
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
    if balance_classes and hasattr(task, "balance_classes"):
        task.balance_classes(train_set.targets[train_indices])

    preprocessing = task.default_preprocessing(spec, train_set, options)
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
        if freeze_epochs:
            layers = sorted(
                {
                    name.split(".")[1] if name.startswith("layers.") else name.split(".")[0]
                    for name in copied
                }
            )
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
    has_test = getattr(task, "has_test_split", None)
    answer = has_test(text, options) if has_test is not None else None
    if answer is not None:  # tasks with their own data layouts answer for themselves
        return bool(answer)
    path = Path(text)
    if not path.is_dir():
        return False
    if has_idx_files(path):
        return find_idx_pair(path, "test") is not None
    return {"train", "test"} <= set(split_folders(path))


# ----------------------------------------------------------------------------
class Model:
    """A loaded model file with the verbs users want: predict, embed, evaluate."""

    def __init__(self, loaded):
        from convkit.data import preprocessing_from_dict

        self.loaded = loaded
        self.net = loaded.net
        self.spec = loaded.spec
        self.task = loaded.task
        self.path = loaded.path
        self.metadata = loaded.metadata
        self.preprocessing = preprocessing_from_dict(loaded.preprocessing)

    @property
    def labels(self) -> list[str]:
        return self.loaded.labels

    @property
    def device(self):
        return next(self.net.parameters()).device

    def prepare(self, item):
        """One input (path, bytes or HxWxC array) -> (C, H, W) float32 array."""
        import numpy as np

        if isinstance(item, np.ndarray):
            return self.preprocessing.apply(item)
        return self.preprocessing.load(item)

    def _forward(self, arrays, layer: str | None = None):
        import numpy as np
        import torch

        # Text lines differ in width: their preprocessing pads a batch (`stack`).
        stack = getattr(self.preprocessing, "stack", np.stack)
        batch = torch.from_numpy(stack(arrays)).to(self.device)  # (N, C, H, W)
        with torch.inference_mode():
            if layer is None:
                return self.net(batch)
            return self.net.forward_layers(batch, [layer])[layer]

    def predict(self, inputs, top_k: int = 5, batch_size: int = 64) -> list[dict]:
        """Predictions for each input; raises DataError on the first unreadable one."""
        results = []
        for start in range(0, len(inputs), batch_size):
            arrays = [self.prepare(item) for item in inputs[start : start + batch_size]]
            results += self.task.decode(self._forward(arrays), top_k=top_k)
        return results

    def predict_stream(self, paths, top_k: int = 5, batch_size: int = 64):
        """Yield ``(path, prediction or None, error or None)``; bad files do not stop the stream."""
        pending: list[tuple[Any, Any]] = []
        for path in paths:
            try:
                pending.append((path, self.prepare(path)))
            except DataError as error:
                yield path, None, str(error)
            if len(pending) == batch_size:
                yield from self._decode_pending(pending, top_k)
                pending = []
        if pending:
            yield from self._decode_pending(pending, top_k)

    def _decode_pending(self, pending, top_k):
        decoded = self.task.decode(self._forward([array for _, array in pending]), top_k=top_k)
        for (path, _), prediction in zip(pending, decoded, strict=True):
            yield path, prediction, None

    def embedding_layer(self) -> str:
        """The default embedding: the features that feed the last layer."""
        return self.spec.layers[-2].name if len(self.spec.layers) > 1 else self.spec.layers[-1].name

    def embed(
        self,
        inputs,
        layer: str | None = None,
        batch_size: int = 64,
        normalize: bool = True,
        progress: bool = False,
    ):
        """(N, D) float32 embeddings, L2-normalised by default."""
        import numpy as np
        import torch

        layer = layer or self.embedding_layer()
        chunks = []
        starts = range(0, len(inputs), batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="embedding", unit="batch", file=sys.stderr)
        for start in starts:
            arrays = [self.prepare(item) for item in inputs[start : start + batch_size]]
            features = self._forward(arrays, layer).float()
            if features.dim() == 4:  # (N, C, H, W) feature maps -> global average pool
                features = features.mean(dim=(2, 3))
            features = features.flatten(1)
            if normalize:
                features = torch.nn.functional.normalize(features, dim=1)
            chunks.append(features.cpu().numpy())
        if not chunks:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32)

    def evaluate(self, data, **kwargs) -> dict:
        return evaluate(self, data, **kwargs)


def load(path: str | Path, device: str = "cpu") -> Model:
    """Load a model file for prediction (``device``: cpu, cuda, or auto)."""
    from convkit.modelfile import load_model

    if device == "auto":
        from convkit.train.environment import choose_device

        device = str(choose_device("auto"))
    return Model(load_model(path, device=device))


def predict(model_path, inputs, top_k: int = 5) -> list[dict]:
    return load(model_path).predict(list(inputs), top_k=top_k)


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

    model = model if isinstance(model, Model) else load(model)
    task = model.task
    if task.kind != "classify":
        evaluator = getattr(task, "evaluate", None)
        if evaluator is None:
            raise UsageError(f"`convkit evaluate` does not handle {task.kind} models yet")
        return evaluator(
            model, data, split=split, options=options, out_dir=out_dir, progress=progress
        )

    from convkit.tasks.classify_report import classification_report

    dataset = task.open_data(str(data), split, options or {})
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
