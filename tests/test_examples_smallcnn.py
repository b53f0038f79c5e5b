"""examples/smallcnn.yaml, the recommended small-image classifier: it builds, stays
under a million parameters, has batch norm and dropout, and learns."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convkit.spec import load_spec

SMALLCNN = Path(__file__).resolve().parents[1] / "examples" / "smallcnn.yaml"


def test_smallcnn_is_small_and_regularised():
    spec = load_spec(SMALLCNN)
    infos = spec.infer()
    total = sum(info.params for info in infos)
    assert total < 1_000_000
    assert total == 288_170
    types = {layer.type for layer in spec.layers}
    assert {"batch_norm", "dropout", "global_avg_pool"} <= types
    assert str(spec.input) == "28x28x1" and infos[-1].output_shape.units == 10


def test_smallcnn_trains_a_few_steps(tmp_path):
    """Eight steps with the ordinary trainer on 64 digit-like images lower the loss."""
    import cv2

    from convkit import api

    rng = np.random.default_rng(0)
    for label in range(10):
        folder = tmp_path / "data" / str(label)
        folder.mkdir(parents=True)
        for i in range(8):
            image = np.zeros((28, 28), np.uint8)
            cv2.putText(
                image,
                str(label),
                (6 + int(rng.integers(0, 4)), 22),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.8,
                255,
                2,
            )
            cv2.imwrite(str(folder / f"{i}.png"), image)
    report = api.fit(
        SMALLCNN,
        tmp_path / "data",
        run_dir=tmp_path / "run",
        epochs=2,
        batch_size=20,
        optimizer="adamw",
        lr=3e-3,
        val_fraction=0.2,
        threads=1,
        progress=False,
        augment="rotation=10,scale=0.1,translate=0.08",
    )
    losses = [row["train_loss"] for row in report.history]
    assert len(losses) == 2 and losses[1] < losses[0]
    model = api.load(report.model_path)
    assert sum(p.numel() for p in model.net.parameters()) == 288_170
