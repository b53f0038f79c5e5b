"""`convkit ocr` reads text lines with a trained reader; `convkit textlines` draws some."""

from __future__ import annotations

import sys

from convkit.cli.common import add_verb
from convkit.cli.prediction_output import (
    add_engine_arguments,
    open_for,
    print_stream,
    show_progress,
)
from convkit.errors import UsageError

OCR_EPILOG = """\
examples:
  convkit ocr runs/crnn/model.convkit line.png
  convkit ocr runs/crnn/model.convkit scans/ --json > texts.jsonl
  convkit ocr runs/crnn/model.convkit line.png --beam 8

Each line prints PATH<TAB>TEXT<TAB>CONFIDENCE, where the confidence is the
model's probability of that exact text (summed over every alignment).
Train a reader first:  convkit train examples/crnn.yaml --data lines/
"""

TEXTLINES_EPILOG = """\
examples:
  convkit textlines lines/ --count 5000
  convkit textlines digits/ --count 2000 --alphabet digits --min-length 4 --max-length 8
  convkit textlines plates/ --count 500 --alphabet "ABCDEFGHJKLMNPRSTUVWXYZ0123456789-"

Files are named by their text (abc12.png; a repeat is abc12_1.png) when every
symbol is safe in a file name, otherwise 000001.png with labels.tsv beside them.
Presets for --alphabet: digits, lowercase, uppercase, alnum (digits + lowercase,
the default), alnum_upper, letters; any other value is the literal symbols.
"""


OCR_ABOUT = """\
read the text in line images with a trained reader

Transcribe each image (or every image in a folder, recursively) with MODEL, a
reader trained from a spec ending in ctc_output. Unreadable files are reported
and skipped (exit code 1 if any was).
"""

TEXTLINES_ABOUT = """\
draw synthetic text-line images (to try or test a reader)

Write COUNT images of random strings drawn with OpenCV's Hershey fonts (random
font, size, stroke, spacing, colours, background, rotation, blur, noise),
scaled to a fixed height. The folder trains a reader as it is.
"""


def register(subparsers) -> None:
    reader = add_verb(subparsers, "ocr", OCR_ABOUT, epilog=OCR_EPILOG)
    reader.add_argument("model", help="a .convkit reader (its spec ends in ctc_output)")
    reader.add_argument("inputs", nargs="+", metavar="IMAGE|FOLDER", help="line images or folders")
    reader.add_argument(
        "--beam",
        type=int,
        default=1,
        metavar="N",
        help="beam-search width; 1 (default) reads greedily, 8 weighs competing readings",
    )
    add_engine_arguments(reader, batch_size=32)
    reader.set_defaults(handler=run_ocr)

    lines = add_verb(subparsers, "textlines", TEXTLINES_ABOUT, epilog=TEXTLINES_EPILOG)
    lines.add_argument("out", help="folder to write the images into (created if missing)")
    lines.add_argument("--count", type=int, default=1000, help="how many lines (default 1000)")
    lines.add_argument(
        "--alphabet", default="alnum", help="preset name or the literal symbols (default alnum)"
    )
    lines.add_argument("--min-length", type=int, default=3, help="shortest text (default 3)")
    lines.add_argument("--max-length", type=int, default=10, help="longest text (default 10)")
    lines.add_argument("--height", type=int, default=32, help="image height in pixels (default 32)")
    lines.add_argument("--seed", type=int, default=0, help="same seed, same images")
    lines.set_defaults(handler=run_textlines)


def run_ocr(args) -> int:
    from convkit.ocr.inputs import image_files

    if args.beam < 1:
        raise UsageError(f"`--beam` must be at least 1. Received: --beam {args.beam}")
    model = open_for(args, kind="ocr", verb="ocr")
    paths = list(image_files(args.inputs))
    stream = model.predict_stream(
        paths, batch_size=args.batch_size, progress=show_progress(args), beam=args.beam
    )
    return print_stream(model, stream, args.json)


def run_textlines(args) -> int:
    from convkit.ocr.generator import LineStyle, generate_text_lines

    if args.height < 8:
        raise UsageError(f"`--height` must be at least 8 pixels. Received: --height {args.height}")
    pairs = generate_text_lines(
        args.out,
        args.count,
        alphabet=args.alphabet,
        min_length=args.min_length,
        max_length=args.max_length,
        seed=args.seed,
        style=LineStyle(height=args.height),
        progress=True,
    )
    print(f"wrote {len(pairs)} text lines to {args.out}", file=sys.stderr)
    return 0
