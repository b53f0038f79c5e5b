"""`convkit detect` (find objects in photos) and `convkit scenes` (synthetic scenes)."""

from __future__ import annotations

import argparse

DETECT_EPILOG = """\
examples:
  convkit detect runs/tinyyolo_scenes/model.convkit photo.jpg
  convkit detect model.convkit photos/ --out detected/ --conf 0.4
  convkit detect model.convkit photos/ --json > boxes.json

Each line of plain output is: image, label, confidence, box x1,y1,x2,y2 in the
photo's own pixels. --out saves a copy of every photo with its boxes drawn.
"""

SCENES_EPILOG = """\
examples:
  convkit scenes scenes/ --count 2000 --size 64 --min-extent 10 --max-extent 24
  convkit scenes scenes_yolo/ --count 200 --format yolo   images/ + labels/ + data.yaml
  convkit scenes scenes_coco/ --count 200 --format coco   images/ + annotations.json
  convkit train examples/tinyyolo_scenes.yaml --data scenes/ --epochs 30 --lr 4e-3 --threads 1

Classes (--classes N takes the first N): circle, square, triangle, diamond, cross.
"""


def register(subparsers) -> None:
    detect = subparsers.add_parser(
        "detect",
        help="find objects in photos: boxes, labels, confidences",
        description="Run a detector (a model whose spec ends in yolo_output) on IMAGE or on "
        "every image in FOLDER. Boxes come back in each photo's own pixels.",
        epilog=DETECT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    detect.add_argument("model", help="a .convkit detector model file")
    detect.add_argument("input", help="an image file or a folder of images (searched recursively)")
    detect.add_argument("--json", action="store_true", help="print all detections as JSON")
    detect.add_argument("--out", metavar="DIR", help="save annotated copies of the images here")
    detect.add_argument(
        "--conf", type=float, default=None,
        help="keep detections at least this confident, 0..1 (default: the model's, 0.25)",
    )  # fmt: skip
    detect.add_argument(
        "--iou", type=float, default=None,
        help="non-maximum suppression: drop a box overlapping a better one by more than "
        "this IoU (default: the model's, 0.45)",
    )  # fmt: skip
    detect.add_argument("--batch-size", type=int, default=16, help="images per forward pass")
    detect.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    detect.add_argument("--quiet", action="store_true", help="no progress bar")
    detect.set_defaults(handler=run_detect)

    scenes = subparsers.add_parser(
        "scenes",
        help="generate synthetic scenes with exact boxes (VOC, YOLO or COCO)",
        description="Write COUNT synthetic scenes to OUT: coloured shapes of several sizes, some "
        "overlapping, on cluttered backgrounds, with their exact boxes — a dataset to try "
        "detection on, and the one the quickstart and tests use.",
        epilog=SCENES_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scenes.add_argument("out", help="folder to write (created if missing)")
    scenes.add_argument("--count", type=int, required=True, help="number of scenes")
    scenes.add_argument("--format", choices=("voc", "yolo", "coco"), default="voc")
    scenes.add_argument("--size", type=int, default=96, help="scene width and height in pixels")
    scenes.add_argument("--classes", type=int, default=3, help="number of shape classes, 1..5")
    scenes.add_argument("--max-objects", type=int, default=4, help="most objects in one scene")
    scenes.add_argument(
        "--min-extent", type=int, help="smallest object in pixels (default 11%% of --size)"
    )
    scenes.add_argument(
        "--max-extent", type=int, help="largest object in pixels (default 34%% of --size)"
    )
    scenes.add_argument("--seed", type=int, default=0, help="same seed, same scenes")
    scenes.add_argument("--quiet", action="store_true", help="no progress bar")
    scenes.set_defaults(handler=run_scenes)


def run_detect(args) -> int:
    import json
    import sys
    from pathlib import Path

    from convkit.detect.predict import Detector, list_images

    if args.batch_size < 1:
        from convkit.errors import UsageError

        raise UsageError(f"--batch-size must be >= 1. Received: {args.batch_size}")
    device = args.device
    if device == "auto":
        from convkit.train.environment import choose_device

        device = str(choose_device("auto"))
    detector = Detector(args.model, conf=args.conf, iou=args.iou, device=device)
    paths = list_images(args.input)
    out = Path(args.out) if args.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    results, failures = [], 0
    stream = detector.detect_files(
        paths, args.batch_size, progress=not args.quiet and not args.json
    )
    for path, image, detections, error in stream:
        if error is not None:
            failures += 1
            print(f"convkit: skipped {path}: {error}", file=sys.stderr)
            results.append({"image": str(path), "error": error})
            continue
        results.append(
            {
                "image": str(path),
                "width": image.shape[1],
                "height": image.shape[0],
                "detections": detections,
            }
        )
        if out is not None:
            _save_annotated(image, detections, out / f"{path.stem}.png")
        if not args.json:
            if not detections:
                print(f"{path}\t(nothing found)")
            for d in detections:
                box = ",".join(f"{v:.1f}" for v in d["box"])
                print(f"{path}\t{d['label']}\t{d['confidence']:.3f}\t{box}")
    if args.json:
        print(json.dumps(results, indent=2))
    if out is not None and not args.json:
        print(f"annotated images saved in {out}", file=sys.stderr)
    return 1 if failures and failures == len(paths) else 0


def _save_annotated(image, detections, path) -> None:
    import cv2

    from convkit.detect.draw import draw_detections

    drawn = draw_detections(image, detections)
    if drawn.shape[2] == 3:
        drawn = cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(path), drawn)


def run_scenes(args) -> int:
    from convkit.detect.scenes import generate_scenes

    out = generate_scenes(
        args.out, args.count, args.format, size=args.size, classes=args.classes,
        max_objects=args.max_objects, seed=args.seed, progress=not args.quiet,
        min_extent=args.min_extent, max_extent=args.max_extent,
    )  # fmt: skip
    print(f"wrote {args.count} scenes ({args.format}) to {out}")
    return 0
