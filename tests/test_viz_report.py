"""`convkit report RUN_DIR` on a real (tiny) training run."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

from convkit.cli import main
from convkit.viz.report import write_report
from test_viz_support import LENET_YAML, mnist_digits, write_png

# A real training run is the fixture: a few seconds on an idle 2-core machine.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, mnist_dir):
    """Two epochs of LeNet on 100 digits in class folders, one of them a broken file."""
    from convkit import api
    from convkit.spec import NetSpec

    root = tmp_path_factory.mktemp("report")
    images, labels = mnist_digits(mnist_dir, 100)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        write_png(root / "digits" / str(label) / f"{i}.png", image)
    (root / "digits" / "3" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n then nothing")
    api.fit(
        NetSpec.from_yaml(LENET_YAML),
        root / "digits",
        run_dir=root / "run",
        epochs=2,
        batch_size=16,
        val_fraction=0.3,
        progress=False,
    )
    return root / "run"


def test_report_is_one_self_contained_page_with_every_section(run_dir, tmp_path):
    page_path = write_report(run_dir, tmp_path / "report.html")
    page = page_path.read_text()
    for heading in (
        "Summary",
        "Training curves",
        "Metrics per epoch",
        "Confusion matrix (validation)",
        "Per-class metrics",
        "Worst-classified examples",
        "Sample batch",
        "Skipped files (1)",
        "Configuration (config.yaml)",
    ):
        assert f"<h2>{heading}" in page, heading
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) >= 4
    assert all(source.startswith("data:image/png;base64,") for source in sources)
    assert "broken.png" in page
    assert "no end marker" in page or "truncated" in page


def test_per_class_metrics_come_from_the_runs_own_validation_examples(run_dir, tmp_path):
    from convkit.viz.run_review import review_run

    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    history = json.loads((run_dir / "metrics.json").read_text())
    review = review_run(run_dir / "model.convkit", config, worst=5)
    # Same examples as training validated on, so the same count and the saved (best) accuracy.
    assert review.examples == config["examples"]["val"]
    best = max(row["val_accuracy"] for row in history)
    assert review.report["accuracy"] == pytest.approx(best, abs=1e-6)
    assert sum(c["support"] for c in review.report["per_class"]) == review.examples
    wrong = review.worst
    assert len(wrong) <= 5
    assert all(w.true_label != w.predicted_label for w in wrong)
    probabilities = [w.true_probability for w in wrong]
    assert probabilities == sorted(probabilities)  # worst first


def _scanned(path):
    """The data opened and scanned as training did: positions count after the scan."""
    from convkit.data import open_image_dataset

    dataset = open_image_dataset(path)
    dataset.scan(progress=False)  # drops broken.png
    return dataset


def test_the_run_folder_records_its_split(run_dir):
    import numpy as np

    from convkit.data.split import read_split, targets_digest

    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    record = read_split(run_dir)
    assert record.data == config["data"] and record.val_fraction == 0.3 and record.seed == 0
    dataset = _scanned(record.data)
    assert record.size == len(dataset) == 100 and record.excluded.tolist() == []
    assert record.targets_sha256 == targets_digest(dataset.targets)
    train = record.train_indices()
    assert (
        len(train) == config["examples"]["train"] and len(record.val) == config["examples"]["val"]
    )
    assert not set(train) & set(record.val)
    assert sorted([*train, *record.val]) == list(range(100))
    assert np.array_equal(record.val, np.sort(record.val))


def test_the_review_reads_the_recorded_split_not_a_new_one(run_dir, tmp_path):
    from convkit.data.split import SplitRecord, read_split, write_split
    from convkit.viz.run_review import review_run

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    config = yaml.safe_load((copy / "config.yaml").read_text())
    config["train"]["seed"] = 7  # a split derived again from config.yaml would differ
    recorded = read_split(copy)
    chosen = recorded.val[::3]  # and so would any split but this one
    write_split(copy, SplitRecord(**{**vars(recorded), "val": chosen}))
    review = review_run(copy / "model.convkit", config, worst=50)
    assert review.examples == len(chosen) and not review.note
    paths = _scanned(recorded.data).paths
    assert review.worst and {w.where for w in review.worst} <= {paths[i] for i in chosen}

    (copy / "split.json").unlink()  # a run folder from before the split was recorded
    config["train"]["seed"] = 0
    assert review_run(copy / "model.convkit", config).examples == config["examples"]["val"]


def test_the_review_notices_data_that_changed_since_the_run(run_dir, tmp_path):
    from convkit.data.split import SplitRecord, read_split, write_split
    from convkit.viz.run_review import review_run

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    recorded = read_split(copy)
    data = tmp_path / "digits"
    shutil.copytree(recorded.data, data)
    shutil.copy(next((data / "1").glob("*.png")), data / "1" / "extra.png")
    write_split(copy, SplitRecord(**{**vars(recorded), "data": str(data)}))
    config = yaml.safe_load((copy / "config.yaml").read_text())
    review = review_run(copy / "model.convkit", config)
    assert review.examples == 0 and "the run's data has changed since it trained" in review.note


def test_report_cli_and_its_mistakes(run_dir, tmp_path, capsys):
    assert main(["report", str(run_dir), "--out", str(tmp_path / "r.html"), "--worst", "0"]) == 0
    assert "Worst-classified" not in (tmp_path / "r.html").read_text()
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "run folder not found" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty)]) == 2
    assert "is not a run folder" in capsys.readouterr().err


def test_report_without_the_model_still_shows_the_pictures(run_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("*.convkit", "checkpoints"))
    page = write_report(copy).read_text()
    assert "Training curves" in page and "Per-class metrics" not in page


def test_examples_become_network_inputs_whether_pixels_or_ready_volumes(run_dir):
    import numpy as np

    from convkit.viz.model_view import ModelView
    from convkit.viz.run_review import network_input

    view = ModelView.from_file(run_dir / "model.convkit")
    pixels = np.full((28, 28, 1), 255, np.uint8)  # an image dataset's decoded digit
    assert np.allclose(network_input(view, pixels), view.preprocessing.apply(pixels))
    volume = np.random.default_rng(0).normal(size=(28, 28, 1)).astype(np.float32)  # audio-style
    assert np.array_equal(network_input(view, volume), volume.transpose(2, 0, 1))
