"""Kangaroo detection from scratch: held-out mAP@0.5 on real photos, trained on the CPU.

``../shared/data/kangaroo`` holds 164 photos with VOC XML in its author's layout
(``images/`` + ``annots/``). The split is fixed: in sorted order, every 5th photo
(00001, 00006, ... — position % 5 == 0, 33 photos) is held out for the test, the
other 131 train (10% of them, seeded, pick the best epoch). The split is written
as VOC split files (``ImageSets/Main/train.txt`` / ``test.txt``) into a work
folder that links to the photos, so ``convkit train`` reads the data as it is and
evaluates the held-out photos at the end. Prints one JSON document.

    OMP_NUM_THREADS=1 python benchmarks/kangaroo_detect.py --out /tmp/kg
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "kangaroo"


def make_split(data: Path, work: Path) -> tuple[int, int]:
    """Link ``data``'s folders into ``work`` and write the fixed train/test split files."""
    work.mkdir(parents=True, exist_ok=True)
    for name in ("images", "annots"):
        link = work / name
        if not link.exists():
            link.symlink_to((data / name).resolve(), target_is_directory=True)
    stems = sorted(p.stem for p in (data / "annots").glob("*.xml"))
    test = [s for i, s in enumerate(stems) if i % 5 == 0]
    train = [s for i, s in enumerate(stems) if i % 5 != 0]
    split_dir = work / "ImageSets" / "Main"
    split_dir.mkdir(parents=True, exist_ok=True)
    (split_dir / "train.txt").write_text("\n".join(train) + "\n")
    (split_dir / "test.txt").write_text("\n".join(test) + "\n")
    return len(train), len(test)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the kangaroo folder")
    parser.add_argument("--out", default="/tmp/kangaroo_detect", help="work folder (split, run)")
    parser.add_argument("--spec", default=str(REPO / "examples" / "yolo_kangaroo.yaml"))
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--augment", default="flip,scale=0.3,crop=1")
    parser.add_argument("--mosaic", type=float, default=0.8, help="share of mosaic examples")
    parser.add_argument(
        "--mosaic-epochs", type=int, default=0, help="mosaics only before this epoch (0: all)"
    )
    parser.add_argument("--hsv", default="0.015,0.7,0.4", help="colour gains H,S,V ('' = off)")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: shared CPU)")
    args = parser.parse_args()

    import torch

    from convkit import api

    out = Path(args.out)
    train_count, test_count = make_split(Path(args.data), out / "data")
    torch.set_num_threads(args.threads)
    options = {"resize": "letterbox", "mosaic": args.mosaic, "hsv": args.hsv or None}
    if args.mosaic_epochs:
        options["mosaic_epochs"] = args.mosaic_epochs
    started = time.perf_counter()
    report = api.fit(
        args.spec,
        out / "data",
        run_dir=out / "run",
        options=options,
        augment=args.augment,
        val_fraction=args.val_fraction,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer="adamw",
        lr=args.lr,
        weight_decay=args.weight_decay,
        schedule="onecycle",
        seed=args.seed,
        threads=args.threads,
        device="cpu",
        progress=True,
    )
    trained = time.perf_counter()
    test = report.test or api.evaluate(report.model_path, out / "data", split="test")
    model = api.load(report.model_path)
    result = {
        "command": "OMP_NUM_THREADS=1 python benchmarks/kangaroo_detect.py "
        + " ".join(sys.argv[1:]),
        "split": {
            "train_and_val": train_count,
            "test": test_count,
            "rule": "sorted, i % 5 == 0 is test",
        },
        "epochs": args.epochs,
        "anchors": model.task.anchors,
        "best_val": report.best,
        "test_map50": round(test["map50"], 4),
        "test_map50_95": round(test["map"], 4),
        "test_precision": round(test["precision"], 4),
        "test_recall": round(test["recall"], 4),
        "passes_bar": test["map50"] >= 0.70,
        "cpu_train_seconds": round(trained - started, 1),
        "torch_threads": args.threads,
        "model": str(report.model_path),
    }
    print(json.dumps(result, indent=2))
    (out / "result.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
