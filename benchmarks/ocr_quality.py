"""OCR quality bar: CER <= 1% and exact match >= 95% on generated lines held out from training.

What it does, top to bottom:
1. draws TRAIN lines (seed 1) and a separate TEST set (seed 2) with the
   generator's default style (`convkit textlines`), unless they exist already;
2. trains examples/crnn.yaml on TRAIN through the same API as `convkit train`
   (5% of TRAIN held back for validation, best-CER model kept), timing it;
3. reads TEST with the saved model file (greedy and beam search) and reports
   CER, WER and exact match, and whether the bar is met (exit code 1 if not).

    nice python benchmarks/ocr_quality.py --work /tmp/ocr_bench --train 10000 --epochs 8
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CER_BAR, EXACT_BAR = 0.01, 0.95


def ensure_lines(folder: Path, count: int, seed: int, alphabet: str, lengths) -> None:
    from convkit.ocr.generator import generate_text_lines

    if folder.is_dir() and len(list(folder.glob("*.png"))) == count:
        return
    generate_text_lines(
        folder, count, alphabet=alphabet, min_length=lengths[0], max_length=lengths[1], seed=seed
    )


def read_all(model_path: Path, folder: Path, beam: int) -> dict:
    from convkit.inference import TextReader
    from convkit.ocr.labels import find_labelled_images
    from convkit.ocr.text_metrics import text_scores

    pairs = find_labelled_images(folder)
    reader = TextReader(model_path)
    guesses = [r["text"] for _, r, _ in reader.read([str(p) for p, _ in pairs], beam=beam)]
    return text_scores([t for _, t in pairs], guesses)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/ocr_bench", help="folder for lines and the run")
    parser.add_argument("--spec", default=str(REPO / "examples" / "crnn.yaml"))
    parser.add_argument("--train", type=int, default=10000, help="training lines")
    parser.add_argument("--test", type=int, default=1000, help="held-out test lines")
    parser.add_argument("--alphabet", default="alnum")
    parser.add_argument("--min-length", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    from convkit import api

    work = Path(args.work)
    lengths = (args.min_length, args.max_length)
    started = time.time()
    ensure_lines(work / "train", args.train, 1, args.alphabet, lengths)
    ensure_lines(work / "test", args.test, 2, args.alphabet, lengths)
    generated = time.time() - started

    started = time.time()
    report = api.fit(
        args.spec,
        work / "train",
        run_dir=work / "run",
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer="adamw",
        schedule="onecycle",
        clip_grad=5.0,
        threads=args.threads,
        device="cpu",
        val_fraction=0.05,
    )
    train_seconds = time.time() - started

    greedy = read_all(report.model_path, work / "test", beam=1)
    beam = read_all(report.model_path, work / "test", beam=8)
    result = {
        "command": " ".join(["python", *sys.argv]),
        "train_lines": args.train,
        "test_lines": args.test,
        "alphabet": args.alphabet,
        "lengths": list(lengths),
        "epochs": args.epochs,
        "generate_seconds": round(generated, 1),
        "train_seconds_cpu": round(train_seconds, 1),
        "best_val": report.best,
        "test_greedy": greedy,
        "test_beam8": beam,
        "bar": {"cer_max": CER_BAR, "exact_min": EXACT_BAR},
    }
    passed = greedy["cer"] <= CER_BAR and greedy["exact_match"] >= EXACT_BAR
    result["passed"] = passed
    print(json.dumps(result, indent=2))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
