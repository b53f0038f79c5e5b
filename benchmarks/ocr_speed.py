"""OCR speed: text lines read per second on CPU, at batch 1 and batch 64.

Three timings per batch size, on the same generated lines:
- plain:  a hand-written PyTorch loop over the built network (padded tensor in,
          argmax out) — the floor a reader cannot beat;
- reader: convkit's TextReader.read_arrays (padding per batch, per-line
          trimming, greedy decoding, exact confidence) on preprocessed lines;
- files:  TextReader.read from PNG files (decode + resize + all of the above),
          what `convkit ocr` does.

    nice python benchmarks/ocr_speed.py [--model runs/crnn/model.convkit] [--threads 1]

Without --model the reader is examples/crnn.yaml with fresh weights (speed
does not depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def fresh_model_file(folder: Path) -> Path:
    from convkit.modelfile import save_model
    from convkit.nn import build
    from convkit.ocr.preprocess import TextLinePreprocessing
    from convkit.spec import load_spec
    from convkit.tasks import task_for_spec

    spec = load_spec(REPO / "examples" / "crnn.yaml")
    path = folder / "crnn.convkit"
    save_model(
        path,
        build(spec),
        task=task_for_spec(spec),
        preprocessing=TextLinePreprocessing.for_spec(spec).to_dict(),
        metadata={"note": "fresh weights, for timing"},
    )
    return path


def lines_per_second(function, lines: int, repeats: int) -> float:
    function()  # warm-up: first-call allocations and kernel selection
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return lines / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a trained reader (default: crnn.yaml, fresh weights)")
    parser.add_argument("--lines", type=int, default=256, help="lines per timing")
    parser.add_argument("--repeats", type=int, default=3, help="best of N timings")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()

    import numpy as np
    import torch

    from convkit.inference import TextReader
    from convkit.ocr.generator import generate_text_lines
    from convkit.ocr.preprocess import pad_batch

    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="ocr_speed_"))
    model_path = Path(args.model) if args.model else fresh_model_file(work)
    pairs = generate_text_lines(work / "lines", args.lines, seed=3)
    paths = [str(p) for p, _ in pairs]
    reader = TextReader(model_path)
    arrays = [reader.preprocessing.load(p) for p in paths]
    widths = [a.shape[2] for a in arrays]

    def plain(batch_size):
        def run():
            with torch.inference_mode():
                for start in range(0, len(arrays), batch_size):
                    batch, _ = pad_batch(arrays[start : start + batch_size])
                    reader.net(torch.from_numpy(batch)).argmax(-1)

        return run

    def with_reader(batch_size):
        def run():
            for start in range(0, len(arrays), batch_size):
                reader.read_arrays(arrays[start : start + batch_size])

        return run

    def from_files(batch_size):
        def run():
            for _ in reader.read(paths, batch_size=batch_size):
                pass

        return run

    results = {}
    for batch_size in (1, 64):
        row = {}
        for name, make in (("plain", plain), ("reader", with_reader), ("files", from_files)):
            row[name] = round(lines_per_second(make(batch_size), len(arrays), args.repeats), 1)
        row["reader_vs_plain"] = round(row["reader"] / row["plain"], 2)
        results[f"batch_{batch_size}"] = row
    print(
        json.dumps(
            {
                "command": " ".join(["python", *sys.argv]),
                "model": str(model_path) if args.model else "examples/crnn.yaml (fresh weights)",
                "threads": args.threads,
                "torch": torch.__version__,
                "lines": len(arrays),
                "mean_width_px": round(float(np.mean(widths)), 1),
                "lines_per_second": results,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
