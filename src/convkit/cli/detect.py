"""`convkit detect` (find objects in photos) and `convkit scenes` (synthetic scenes)."""

from __future__ import annotations

from convkit.cli.common import add_verb
from convkit.cli.prediction_output import (
    add_engine_arguments,
    open_for,
    print_stream,
    show_progress,
)

DETECT_EPILOG = """\
examples:
  convkit detect runs/tinyyolo_scenes/model.convkit photo.jpg
  convkit detect model.convkit photos/ --out detected/ --conf 0.4
  convkit detect model.convkit photos/ --json > boxes.jsonl

Each line of plain output is: image, label, confidence, box x1,y1,x2,y2 in the
photo's own pixels. --json prints one object per photo per line (path, boxes,
width, height, or error), as `convkit predict --json` does. --out saves a copy
of every photo with its boxes drawn. Exit code 1 if any photo was skipped.
"""

SCENES_EPILOG = """\
examples:
  convkit scenes scenes/ --count 2000 --size 64 --min-extent 10 --max-extent 24
  convkit scenes scenes_yolo/ --count 200 --format yolo   images/ + labels/ + data.yaml
  convkit scenes scenes_coco/ --count 200 --format coco   images/ + annotations.json
  convkit train examples/tinyyolo_scenes.yaml --data scenes/ --epochs 30 --lr 4e-3 --threads 1

Classes (--classes N takes the first N): circle, square, triangle, diamond, cross.
"""


DETECT_ABOUT = """\
find objects in photos: boxes, labels, confidences

Run a detector (a model whose spec ends in yolo_output) on IMAGE or on every
image in FOLDER. Boxes come back in each photo's own pixels.
"""

SCENES_ABOUT = """\
generate synthetic scenes with exact boxes (VOC, YOLO or COCO)

Write COUNT synthetic scenes to OUT: coloured shapes of several sizes, some
overlapping, on cluttered backgrounds, with their exact boxes — a dataset to
try detection on, and the one the quickstart and tests use.
"""


def register(subparsers) -> None:
    detect = add_verb(subparsers, "detect", DETECT_ABOUT, epilog=DETECT_EPILOG)
    detect.add_argument("model", help="a .convkit detector model file")
    detect.add_argument("input", help="an image file or a folder of images (searched recursively)")
    detect.add_argument("--out", metavar="DIR", help="save annotated copies of the images here")
    detect.add_argument(
        "--conf",
        type=float,
        default=None,
        help="keep detections at least this confident, 0..1 (default: the model's, 0.25)",
    )
    detect.add_argument(
        "--iou",
        type=float,
        default=None,
        help="non-maximum suppression: drop a box overlapping a better one by more than "
        "this IoU (default: the model's, 0.45)",
    )
    add_engine_arguments(detect, batch_size=16)
    detect.set_defaults(handler=run_detect)

    scenes = add_verb(subparsers, "scenes", SCENES_ABOUT, epilog=SCENES_EPILOG)
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
    import sys
    from pathlib import Path

    from convkit.detect.inputs import list_images

    model = open_for(args, kind="detect", verb="detect")
    options = {"conf_threshold": args.conf, "iou_threshold": args.iou}
    model.task.check_options(**options)  # before any photo is read
    paths = list_images(args.input)
    out = Path(args.out) if args.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)

    def save(path, prediction):
        _save_annotated(
            model.preprocessing.read(path), prediction["boxes"], out / f"{path.stem}.png"
        )

    stream = model.predict_stream(
        paths, batch_size=args.batch_size, progress=show_progress(args), **options
    )
    code = print_stream(model, stream, args.json, on_result=save if out is not None else None)
    if out is not None and not args.json:
        print(f"annotated images saved in {out}", file=sys.stderr)
    return code


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
        args.out,
        args.count,
        args.format,
        size=args.size,
        classes=args.classes,
        max_objects=args.max_objects,
        seed=args.seed,
        progress=not args.quiet,
        min_extent=args.min_extent,
        max_extent=args.max_extent,
    )
    print(f"wrote {args.count} scenes ({args.format}) to {out}")
    return 0
