"""Detection quality bar: mAP@0.5 >= 0.90 on held-out synthetic scenes after CPU training.

Generates three disjoint sets of scenes (train, validation, held-out test;
different seeds; 64x64 scenes with objects of 10-24 pixels, 3 classes:
circle, square, triangle on cluttered backgrounds), trains examples/tinyyolo_scenes.yaml with the ordinary
`convkit.api.fit` on the CPU, then evaluates the best model on the held-out
test scenes. Prints one JSON document with the numbers and the timings.

    nice python benchmarks/detect_quality.py --out /tmp/detect_quality
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="/tmp/detect_quality", help="work folder (scenes, run)")
    parser.add_argument("--train", type=int, default=2000, help="training scenes")
    parser.add_argument("--val", type=int, default=200, help="validation scenes")
    parser.add_argument("--test", type=int, default=300, help="held-out test scenes")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=4e-3)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads; 1 is fastest on a shared, oversubscribed CPU",
    )
    parser.add_argument("--spec", default=str(REPO / "examples" / "tinyyolo_scenes.yaml"))
    args = parser.parse_args()

    import torch

    from convkit import api
    from convkit.detect.scenes import generate_scenes

    out = Path(args.out)
    started = time.perf_counter()
    sets = {"train": (args.train, 1), "val": (args.val, 2), "test": (args.test, 3)}
    for name, (count, seed) in sets.items():
        if not (out / name / "classes.txt").exists():
            generate_scenes(
                out / name,
                count,
                "voc",
                size=64,
                classes=3,
                seed=seed,
                min_extent=10,
                max_extent=24,
            )
    generated = time.perf_counter()
    torch.set_num_threads(args.threads)
    report = api.fit(
        args.spec,
        out / "train",
        val_data=out / "val",
        run_dir=out / "run",
        augment={"flip": True, "scale": 0.2, "crop_padding": 4},
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer="adamw",
        lr=args.lr,
        weight_decay=5e-4,
        schedule="onecycle",
        seed=0,
        threads=args.threads,
        progress=True,
    )
    trained = time.perf_counter()
    test = api.evaluate(report.model_path, out / "test", out_dir=out / "eval", progress=False)
    result = {
        "command": "nice python benchmarks/detect_quality.py " + " ".join(sys.argv[1:]),
        "scenes": {name: count for name, (count, _) in sets.items()},
        "epochs": args.epochs,
        "best_val": report.best,
        "test_map50": round(test["map50"], 4),
        "test_map50_95": round(test["map"], 4),
        "test_precision": round(test["precision"], 4),
        "test_recall": round(test["recall"], 4),
        "test_per_class_ap": test["per_class_ap"],
        "passes_bar": test["map50"] >= 0.90,
        "cpu_train_seconds": round(trained - generated, 1),
        "generate_seconds": round(generated - started, 1),
        "torch_threads": args.threads,
        "model": str(report.model_path),
        "pr_curves": test.get("pr_curves"),
    }
    print(json.dumps(result, indent=2))
    (out / "result.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
