"""Evaluate a detector model file on annotated images: mAP, per-class AP, PR curves."""

from __future__ import annotations

from pathlib import Path

from convkit.detect.map_metrics import EVAL_CONF_THRESHOLD, batch_results


def collect_results(net, task, batches, device, progress: bool = False) -> list:
    """Run ``net`` over ``batches``; one ImageResult per image (boxes in input pixels)."""
    import torch

    from convkit.data.batches import one_pass

    results = []
    net.eval()
    with torch.inference_mode():
        for inputs, targets in one_pass(batches, progress):
            output = net(inputs.to(device)).float()
            results.extend(batch_results(task.detect(output, EVAL_CONF_THRESHOLD), targets))
    return results


def _available_split(data, split: str) -> str:
    """``split`` if the dataset defines it (VOC split file, YOLO YAML entry), else "train" (all)."""
    from convkit.detect.formats.voc import split_ids
    from convkit.detect.formats.yolo import YAML_NAMES

    root = Path(data)
    if root.is_dir() and split_ids(root, split) is not None:
        return split
    yaml_path = (
        root
        if root.suffix in (".yaml", ".yml")
        else next((root / n for n in YAML_NAMES if (root / n).is_file()), None)
    )
    if yaml_path is not None and yaml_path.is_file():
        import yaml

        try:
            config = yaml.safe_load(yaml_path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            return "train"  # opening the data will report the malformed YAML
        if isinstance(config, dict) and split in config:
            return split
    return "train"


def evaluate_detector(
    model,
    data,
    *,
    split: str = "test",
    options: dict | None = None,
    out_dir=None,
    progress: bool = True,
    batch_size: int = 32,
) -> dict:
    """mAP@0.5, mAP@[0.5:0.95], per-class AP and precision/recall of ``model`` on ``data``.

    ``split`` picks VOC's ``ImageSets/Main/<split>.txt`` or a YOLO YAML's
    entry when the data has one; otherwise the whole folder is evaluated
    (point ``data`` at the held-out folder). With
    ``out_dir``, the precision-recall curves are drawn to ``pr_curves.png``.
    """
    from convkit.detect.map_metrics import evaluate_detections, plot_pr_curves

    task = model.task
    dataset = task.open_data(str(data), _available_split(data, split), options or {})
    scan = dataset.scan(strict=False, progress=progress)
    batches = task.make_batches(
        dataset,
        range(len(dataset)),
        model.preprocessing,
        None,
        batch_size=batch_size,
        shuffle=False,
        seed=0,
    )
    results = collect_results(model.net, task, batches, model.device, progress)
    report = evaluate_detections(results, task.labels, task.conf_threshold)
    report["images"] = len(results)
    report["skipped"] = [list(item) for item in list(scan.bad) + list(batches.skipped)]
    report["per_class_ap"] = report.pop("per_class")  # classification's printer reads "per_class"
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        plot_pr_curves(results, task.labels, Path(out_dir) / "pr_curves.png")
        report["pr_curves"] = str(Path(out_dir) / "pr_curves.png")
    return report
