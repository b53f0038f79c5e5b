"""The run folder's human-readable files: metrics tables, pictures, skipped files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml


def write_config(run_dir: Path, resolved: dict) -> Path:
    path = Path(run_dir) / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(resolved, sort_keys=False))
    return path


def write_metrics(run_dir: Path, history: list[dict]) -> None:
    run_dir = Path(run_dir)
    (run_dir / "metrics.json").write_text(json.dumps(history, indent=2))
    columns: list[str] = []
    for row in history:
        columns += [key for key in row if key not in columns]
    with open(run_dir / "metrics.csv", "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(history)


def write_skipped(run_dir: Path, skipped: list[tuple[str, str]]) -> Path:
    """One JSON object per line, ``{"path": ..., "reason": ...}``.

    JSON lines, not tab-separated text: a file name may hold a tab or a
    newline, and must still be one record that tools can read back.
    """
    path = Path(run_dir) / "skipped.txt"
    lines = [
        json.dumps({"path": str(where), "reason": str(reason)}, ensure_ascii=False)
        for where, reason in skipped
    ]
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return path


def write_classification_pictures(run_dir: Path, net, task, val_batches, history, device) -> None:
    """curves.png always; confusion.png and samples.png from the validation data."""
    import torch

    from convkit.viz.plots import plot_confusion, plot_curves, plot_samples

    run_dir = Path(run_dir)
    if history:
        plot_curves(history, run_dir / "curves.png")
    if val_batches is None or getattr(task, "kind", "") != "classify":
        return
    metrics = task.new_metrics()
    shown_images, shown_true, shown_predicted = [], [], []
    net.eval()
    with torch.inference_mode():
        for inputs, targets in val_batches.epoch(0):
            output = net(inputs.to(device)).float()
            metrics.update(output, targets.to(device), None)
            if len(shown_images) < 32:
                predicted = output.argmax(1).cpu()
                for image, true, guess in zip(
                    inputs[: 32 - len(shown_images)], targets, predicted, strict=False
                ):
                    shown_images.append(image.permute(1, 2, 0).float().numpy())  # (H, W, C)
                    shown_true.append(task.labels[int(true)])
                    shown_predicted.append(task.labels[int(guess)])
    plot_confusion(
        metrics.confusion_matrix(),
        task.labels,
        run_dir / "confusion.png",
        title="validation confusion matrix",
    )
    if shown_images:
        plot_samples(shown_images, shown_true, shown_predicted, run_dir / "samples.png")
