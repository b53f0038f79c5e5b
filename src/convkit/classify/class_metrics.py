"""Per-class precision, recall and F1, averages and most-confused pairs from a confusion matrix."""

from __future__ import annotations


def classification_report(confusion, labels: list[str], top_k_accuracy: dict | None = None) -> dict:
    """A JSON-ready report; ``confusion`` rows are true labels, columns predictions."""
    import numpy as np

    confusion = np.asarray(confusion, dtype=np.int64)
    total = int(confusion.sum())
    true_positive = np.diag(confusion).astype(float)
    support = confusion.sum(axis=1).astype(float)
    predicted = confusion.sum(axis=0).astype(float)
    precision = np.divide(
        true_positive, predicted, out=np.zeros_like(true_positive), where=predicted > 0
    )
    recall = np.divide(true_positive, support, out=np.zeros_like(true_positive), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(
        2 * precision * recall, denominator, out=np.zeros_like(denominator), where=denominator > 0
    )
    weights = support / max(support.sum(), 1)
    per_class = [
        {
            "label": label,
            "precision": float(p),
            "recall": float(r),
            "f1": float(f),
            "support": int(s),
        }
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    ]
    off_diagonal = [
        (int(confusion[i, j]), labels[i], labels[j])
        for i in range(len(labels))
        for j in range(len(labels))
        if i != j and confusion[i, j] > 0
    ]
    off_diagonal.sort(reverse=True)
    return {
        "examples": total,
        "accuracy": float(true_positive.sum() / max(total, 1)),
        **(top_k_accuracy or {}),
        "macro": {
            "precision": float(precision.mean()),
            "recall": float(recall.mean()),
            "f1": float(f1.mean()),
        },
        "weighted": {
            "precision": float((precision * weights).sum()),
            "recall": float((recall * weights).sum()),
            "f1": float((f1 * weights).sum()),
        },
        "per_class": per_class,
        "most_confused": [
            {"true": true, "predicted": guess, "count": count}
            for count, true, guess in off_diagonal[:10]
        ],
        "confusion_matrix": confusion.tolist(),
        "labels": list(labels),
    }


def format_report(report: dict) -> str:
    """The report as a plain-text table for the terminal."""
    lines = [
        f"examples {report['examples']}   accuracy {report['accuracy']:.2%}"
        + (f"   top-5 {report['top5']:.2%}" if "top5" in report else "")
    ]
    width = max([len(row["label"]) for row in report["per_class"]] + [9])
    lines.append(f"{'label':<{width}}  precision  recall     f1  support")
    for row in report["per_class"]:
        lines.append(
            f"{row['label']:<{width}}  {row['precision']:9.2%}  {row['recall']:6.2%}  "
            f"{row['f1']:6.2%}  {row['support']:7d}"
        )
    for name in ("macro", "weighted"):
        values = report[name]
        lines.append(
            f"{name + ' avg':<{width}}  {values['precision']:9.2%}  {values['recall']:6.2%}  "
            f"{values['f1']:6.2%}  {report['examples']:7d}"
        )
    if report["most_confused"]:
        pairs = ", ".join(
            f"{p['true']}→{p['predicted']} ({p['count']})" for p in report["most_confused"][:5]
        )
        lines.append(f"most confused (true→predicted): {pairs}")
    labels = report["labels"]
    if len(labels) <= 20:
        cell = max(
            max(len(label) for label in labels),
            len(str(max(max(r) for r in report["confusion_matrix"]))),
            3,
        )
        lines.append("confusion matrix (rows true, columns predicted):")
        lines.append(" " * (width + 2) + " ".join(f"{label:>{cell}}" for label in labels))
        for label, row in zip(labels, report["confusion_matrix"], strict=True):
            lines.append(f"{label:<{width}}  " + " ".join(f"{value:>{cell}}" for value in row))
    return "\n".join(lines)
