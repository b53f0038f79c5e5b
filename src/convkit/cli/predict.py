"""`convkit predict`: labels with probabilities for images, folders or recordings."""

from __future__ import annotations

from pathlib import Path

from convkit.cli.common import add_verb
from convkit.cli.prediction_output import (
    add_engine_arguments,
    open_for,
    print_stream,
    show_progress,
)
from convkit.errors import UsageError

EPILOG = """\
examples:
  convkit predict runs/lenet/model.convkit digit.png
  convkit predict model.convkit photos/ --top 3 --json > predictions.jsonl
  convkit predict spoken.convkit clip.wav
  convkit predict model.convkit photos/ --spark 'local[2]' --out results.parquet
"""


PREDICT_ABOUT = """\
label images or recordings with a trained model

Predict labels for each input with MODEL. Folders are walked recursively and
results stream as they are computed, the same fields for every kind of model
(classifier, detector, reader); unreadable files are reported and skipped (exit
code 1 if any was).
"""


def register(subparsers) -> None:
    parser = add_verb(subparsers, "predict", PREDICT_ABOUT, epilog=EPILOG)
    parser.add_argument("model", help="a .convkit model file")
    parser.add_argument("inputs", nargs="+", help="image/recording files or folders")
    parser.add_argument("--top", type=int, default=1, metavar="K", help="show the K best labels")
    add_engine_arguments(parser, batch_size=64)
    from convkit.cli.spark_options import add_predict_arguments, run_spark_predict  # no pyspark

    add_predict_arguments(parser)
    parser.set_defaults(handler=run_predict, run_spark_predict=run_spark_predict)


def expand_inputs(items: list[str]):
    """Files as given; folders walked recursively for known image/audio suffixes."""
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = False
            from convkit.data.listing import list_input_files  # train's rule: no hidden files
            from convkit.data.suffixes import INPUT_SUFFIXES  # images and recordings

            for child in list_input_files(path, INPUT_SUFFIXES)[0]:
                found = True
                yield str(child)
            if not found:
                raise UsageError(f"no images or recordings found in folder {item}")
        elif path.is_file():
            yield str(path)
        else:
            raise UsageError(f"input not found: {item}")


def run_predict(args) -> int:
    if args.spark:  # convkit.spark: Spark reads the inputs and writes Parquet
        return args.run_spark_predict(args)
    if args.top < 1:
        raise UsageError(f"`--top` must be at least 1. Received: --top {args.top}")
    model = open_for(args)
    paths = list(expand_inputs(args.inputs))
    stream = model.predict_stream(
        paths, top_k=args.top, batch_size=args.batch_size, progress=show_progress(args)
    )
    return print_stream(model, stream, args.json, args.top)
