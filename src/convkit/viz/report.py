"""`convkit report RUN_DIR`: one self-contained HTML page for a training run.

Everything a reader needs to judge a run, in one file that can be mailed:
the curves, the confusion matrix, per-class metrics, the validation examples
the model got most wrong, sample batches, the files that were skipped and the
configuration. Images are inlined as base64, so the page has no side files.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from convkit.errors import UsageError
from convkit.viz import grids
from convkit.viz.html import data_uri, escape, figure, write_page

PICTURES = (
    ("curves.png", "Training curves"),
    ("confusion.png", "Confusion matrix (validation)"),
    ("samples.png", "Sample batch (validation, true / predicted)"),
)
MAX_SKIPPED_SHOWN = 200


def write_report(run_dir: str | Path, out: str | Path | None = None, worst: int = 16) -> Path:
    """Write the report page for run_dir (default ``RUN_DIR/report.html``); return its path."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"run folder not found: {run_dir}")
    known = ("metrics.json", "metrics.csv", "config.yaml", "model.convkit")
    if not any((run_dir / name).exists() for name in known):
        raise UsageError(
            f"{run_dir} is not a run folder (none of {', '.join(known)}): "
            "pass the folder `convkit train` wrote"
        )
    if worst < 0:
        raise UsageError(f"--worst must be 0 or more. Received: {worst}")
    config = _read_config(run_dir)
    history = _read_history(run_dir)
    sections = [_summary(run_dir, config, history)]
    sections.append(_pictures(run_dir, PICTURES[:1]))
    sections.append(_history_table(history))
    review = None
    if (run_dir / "model.convkit").is_file() and config:
        from convkit.viz.run_review import review_run

        review = review_run(run_dir / "model.convkit", config, worst=worst)
    sections.append(_pictures(run_dir, PICTURES[1:2]))
    sections.append(_per_class(review))
    sections.append(_worst(review, worst))
    sections.append(_pictures(run_dir, PICTURES[2:]))
    sections.append(_skipped(run_dir))
    sections.append(_configuration(run_dir))
    out = Path(out) if out else run_dir / "report.html"
    return write_page(out, f"Training run {run_dir.name}", "\n".join(s for s in sections if s))


# -- reading the run folder ------------------------------------------------------
def _read_config(run_dir: Path) -> dict:
    import yaml

    path = run_dir / "config.yaml"
    if not path.is_file():
        return {}
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


def _read_history(run_dir: Path) -> list[dict]:
    """Per-epoch rows from metrics.json (a list of rows), else metrics.csv."""
    path = run_dir / "metrics.json"
    if path.is_file():
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(loaded, list):
            return [row for row in loaded if isinstance(row, dict)]
        if isinstance(loaded, dict) and isinstance(loaded.get("history"), list):
            return loaded["history"]
    path = run_dir / "metrics.csv"
    if path.is_file():
        with open(path, newline="", encoding="utf-8") as stream:
            return [
                {key: _number(value) for key, value in row.items()}
                for row in csv.DictReader(stream)
            ]
    return []


def _number(text: str) -> Any:
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except (TypeError, ValueError):
        return text


# -- sections ---------------------------------------------------------------------
def _summary(run_dir: Path, config: dict, history: list[dict]) -> str:
    rows = []
    spec = config.get("spec") or {}
    train = config.get("train") or {}
    examples = config.get("examples") or {}
    if config.get("data"):
        rows.append(("data", config["data"]))
    if examples:
        rows.append(("examples", ", ".join(f"{k} {v:,}" for k, v in examples.items())))
    if spec.get("input"):
        rows.append(("input", _compact(spec["input"])))
    for key in ("epochs", "batch_size", "optimizer", "lr", "seed"):
        if key in train:
            rows.append((key, train[key]))
    if history:
        last = history[-1]
        rows.append(("epochs run", last.get("epoch", len(history))))
        best = _best_row(history)
        if best is not None:
            key, row = best
            rows.append((f"best {key}", f"{row[key]:.4f} (epoch {row.get('epoch', '?')})"))
    if not rows:
        return '<p class="muted">No configuration or metrics found in this run folder.</p>'
    cells = "".join(
        f'<tr><th class="text">{escape(k)}</th><td class="text">{escape(v)}</td></tr>'
        for k, v in rows
    )
    return f"<h2>Summary</h2><table>{cells}</table>"


def _best_row(history: list[dict]) -> tuple[str, dict] | None:
    for key, better in (("val_accuracy", max), ("val_loss", min), ("train_loss", min)):
        rows = [row for row in history if isinstance(row.get(key), int | float)]
        if rows:
            return key, better(rows, key=lambda row, key=key: row[key])
    return None


def _pictures(run_dir: Path, pictures: tuple) -> str:
    parts = []
    for name, title in pictures:
        path = run_dir / name
        if path.is_file():
            parts.append(f"<h2>{escape(title)}</h2>")
            parts.append(figure(data_uri(path.read_bytes()), name, alt=title))
    return "\n".join(parts)


def _history_table(history: list[dict]) -> str:
    if not history:
        return ""
    columns: list[str] = []
    for row in history:
        columns += [key for key in row if key not in columns]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_format(row.get(c)))}</td>" for c in columns) + "</tr>"
        for row in history
    )
    return f"<h2>Metrics per epoch</h2><table><tr>{head}</tr>{body}</table>"


def _per_class(review: Any) -> str:
    if review is None:
        return ""
    if not review.report:
        return f'<h2>Per-class metrics</h2><p class="muted">{escape(review.note)}</p>'
    report = review.report
    head = "<tr><th class='text'>label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
    rows = "".join(
        f"<tr><td class='text'>{escape(c['label'])}</td><td>{c['precision']:.3f}</td>"
        f"<td>{c['recall']:.3f}</td><td>{c['f1']:.3f}</td><td>{c['support']}</td></tr>"
        for c in report["per_class"]
    )
    macro = report["macro"]
    rows += (
        f"<tr><th class='text'>macro average</th><th>{macro['precision']:.3f}</th>"
        f"<th>{macro['recall']:.3f}</th><th>{macro['f1']:.3f}</th><th>{report['examples']}</th></tr>"
    )
    confused = ", ".join(
        f"{p['true']} → {p['predicted']} ({p['count']})"
        for p in report.get("most_confused", [])[:5]
    )
    intro = (
        f"<p>The model in this folder, on its {review.examples:,} validation examples: "
        f"accuracy {report['accuracy']:.2%}."
        + (f" Most confused: {escape(confused)}." if confused else "")
        + (f' <span class="muted">({escape(review.note)})</span>' if review.note else "")
        + "</p>"
    )
    return f"<h2>Per-class metrics</h2>{intro}<table>{head}{rows}</table>"


def _worst(review: Any, worst: int) -> str:
    if review is None or worst == 0 or not review.report:
        return ""
    if not review.worst:
        return "<h2>Worst-classified examples</h2><p>No validation example was misclassified.</p>"
    figures = []
    for example in review.worst:
        picture = grids.png_bytes(grids.enlarge(example.image, 96))
        caption = (
            f"true {example.true_label} ({example.true_probability:.0%}) · "
            f"predicted {example.predicted_label} ({example.predicted_probability:.0%})"
        )
        figures.append(
            f'<figure><img src="{data_uri(picture)}" alt="{escape(caption)}" '
            f'title="{escape(example.where)}"><figcaption>{escape(caption)}</figcaption></figure>'
        )
    return (
        "<h2>Worst-classified examples</h2><p>Validation examples with the lowest probability "
        "on their true label, worst first, as the network saw them.</p>" + "".join(figures)
    )


def _skipped_records(path: Path) -> list[tuple[str, str]]:
    """(path, reason) per line of skipped.txt: JSON lines, or older tab-separated text."""
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            records.append((str(record["path"]), str(record["reason"])))
        except (json.JSONDecodeError, KeyError, TypeError):
            where, _, reason = line.partition("\t")
            records.append((where, reason))
    return records


def _skipped(run_dir: Path) -> str:
    path = run_dir / "skipped.txt"
    if not path.is_file():
        return ""
    lines = _skipped_records(path)
    if not lines:
        return "<h2>Skipped files</h2><p>None: every file could be read.</p>"
    rows = "".join(
        "<tr>" + "".join(f"<td class='text'>{escape(c)}</td>" for c in line) + "</tr>"
        for line in lines[:MAX_SKIPPED_SHOWN]
    )
    more = (
        f"<p class='muted'>… and {len(lines) - MAX_SKIPPED_SHOWN} more in skipped.txt</p>"
        if len(lines) > MAX_SKIPPED_SHOWN
        else ""
    )
    return (
        f"<h2>Skipped files ({len(lines)})</h2><table><tr><th class='text'>file</th>"
        f"<th class='text'>reason</th></tr>{rows}</table>{more}"
    )


def _configuration(run_dir: Path) -> str:
    path = run_dir / "config.yaml"
    if not path.is_file():
        return ""
    return (
        f"<h2>Configuration (config.yaml)</h2><pre>{escape(path.read_text(encoding='utf-8'))}</pre>"
    )


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:.1f}"
    return "" if value is None else str(value)


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        return " x ".join(str(v) for v in value.values())
    if isinstance(value, list | tuple):
        return "x".join(str(v) for v in value)
    return str(value)
