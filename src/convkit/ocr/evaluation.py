"""`convkit evaluate` for readers: CER, WER, exact match and the worst readings.

Each line is read over its own time steps (padding excluded), greedily or with
a beam, exactly as `convkit ocr` reads it. The report lists the misread lines
(truth, reading, confidence) so a user sees what the reader confuses.
"""

from __future__ import annotations

from pathlib import Path


def evaluate_reader(
    model,
    data,
    *,
    split: str = "test",
    options: dict | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
    batch_size: int = 64,
    beam: int | None = None,
    max_errors: int = 50,
) -> dict:
    """Read every line of ``data`` with ``model`` (an ``api.Model``) and score it."""
    import torch

    from convkit.data.batches import one_pass
    from convkit.ocr.decoding import decode_lines
    from convkit.ocr.text_metrics import TextScores

    task = model.task
    beam = task.beam if beam is None else beam
    dataset = task.open_data(str(data), split, options or {})
    scan = dataset.scan(strict=False, progress=progress)
    bad = set(scan.bad_indices)
    indices = [i for i in range(len(dataset)) if i not in bad]
    batches = task.make_batches(
        dataset, indices, model.preprocessing, None, batch_size=batch_size, shuffle=False
    )
    scores = TextScores()
    errors = []
    with torch.inference_mode():
        for inputs, targets in one_pass(batches, progress, desc="reading"):
            logits = model.net(inputs.to(model.device)).float().cpu()  # (N, T, K)
            steps = task.step_lengths(targets.widths, logits.shape[1]).tolist()
            for line, length, truth in zip(logits, steps, targets.texts, strict=True):
                [reading] = decode_lines(line[None, :length], task.alphabet, beam=beam)
                scores.add(truth, reading["text"])
                if reading["text"] != truth and len(errors) < max_errors:
                    errors.append({"truth": truth, **reading})
    report = {
        "lines": scores.lines,
        **scores.compute(),
        "beam": beam,
        "errors": errors,
        "skipped": [list(item) for item in scan.bad],
    }
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    return report
