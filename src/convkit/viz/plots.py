"""Pictures of a training run: curves, confusion matrix, labelled samples.

matplotlib is imported inside each function (with the Agg backend, no screen
needed), so importing this module costs nothing.
"""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history: list[dict], out_png: str | Path) -> Path:
    """Loss and every other shared train/val metric per epoch, one panel each."""
    plt = _pyplot()
    epochs = [row["epoch"] for row in history]
    names = sorted(
        {k.split("_", 1)[1] for row in history for k in row if k.startswith(("train_", "val_"))}
    )
    names.sort(key=lambda name: (name != "loss", name))
    figure, axes = plt.subplots(1, max(1, len(names)), figsize=(4.5 * max(1, len(names)), 3.6))
    axes = list(axes) if len(names) > 1 else [axes]
    for axis, name in zip(axes, names, strict=False):
        for split, style in (("train", "-o"), ("val", "-s")):
            values = [row.get(f"{split}_{name}") for row in history]
            if any(v is not None for v in values):
                axis.plot(
                    epochs,
                    [float("nan") if v is None else v for v in values],
                    style,
                    label=split,
                    markersize=4,
                )
        axis.set_title(name)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    return _save(figure, out_png)


def plot_confusion(
    matrix, labels: list[str], out_png: str | Path, title: str = "confusion matrix"
) -> Path:
    """Rows are true labels, columns predicted; cells show counts, colour shows row share."""
    import numpy as np

    plt = _pyplot()
    matrix = np.asarray(matrix)
    k = len(labels)
    size = min(14, 2.5 + 0.55 * k)
    figure, axis = plt.subplots(figsize=(size, size))
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(k), labels, rotation=45, ha="right")
    axis.set_yticks(range(k), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    if k <= 30:
        for i in range(k):
            for j in range(k):
                if matrix[i, j]:
                    axis.text(
                        j,
                        i,
                        str(int(matrix[i, j])),
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white" if shares[i, j] > 0.5 else "black",
                    )
    figure.tight_layout()
    return _save(figure, out_png)


def plot_samples(
    images,
    true_labels: list[str],
    predicted_labels: list[str],
    out_png: str | Path,
    columns: int = 8,
) -> Path:
    """A grid of images titled "pred / true", wrong predictions in red.

    ``images`` are (H, W, C) arrays in any range; each is stretched to 0–1 for display.
    """
    import numpy as np

    plt = _pyplot()
    count = len(images)
    rows = max(1, -(-count // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.8 * rows))
    for index, axis in enumerate(np.atleast_1d(axes).ravel()):
        axis.axis("off")
        if index >= count:
            continue
        image = np.asarray(images[index], dtype=np.float32)
        low, high = float(image.min()), float(image.max())
        image = (image - low) / (high - low) if high > low else image * 0
        if image.shape[-1] == 1:
            axis.imshow(image[..., 0], cmap="gray")
        else:
            axis.imshow(image)
        correct = predicted_labels[index] == true_labels[index]
        axis.set_title(
            f"{predicted_labels[index]} / {true_labels[index]}",
            fontsize=8,
            color="black" if correct else "red",
        )
    figure.suptitle("predicted / true", fontsize=9)
    figure.tight_layout()
    return _save(figure, out_png)


def _save(figure, out_png: str | Path) -> Path:
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(figure)
    return out
