"""The ``--spark`` options of ``convkit train`` and ``convkit predict``.

cli/train.py and cli/predict.py call these; importing this module imports
neither pyspark nor torch, so ``convkit --help`` stays instant.
"""

from __future__ import annotations

import sys

from convkit.errors import UsageError

TRAIN_HELP = """\
train on Spark: MASTER is a Spark master URL (local[2], spark://host:7077, yarn,
k8s://https://host:6443); --workers N then sets the number of training processes
(data-parallel, one Spark task each; --batch-size is per process). Needs the
`spark` extra and Java 17+. See docs/spark.md."""

PREDICT_HELP = """\
predict on Spark (MASTER: local[2], spark://host:7077, yarn, k8s://…): inputs are
read with Spark's binaryFile source (folders recursively, globs as given) and the
results written to --out as Parquet (path, label, probability, [top], [embedding], error)"""


def add_train_arguments(parser) -> None:
    group = parser.add_argument_group("spark")
    group.add_argument("--spark", metavar="MASTER", help=TRAIN_HELP)


def spark_fit(args):
    """A function with ``api.fit``'s signature that trains on Spark per ``args``."""
    from convkit.spark.training import fit_distributed

    workers = args.workers if args.workers is not None else 2

    def fit(spec, data, *, run_dir=None, config=None, resume=False, progress=True, **options):
        if config is not None:
            # With --spark, --workers counts training processes, not data loaders.
            config.workers = None
        return fit_distributed(
            spec,
            data,
            config,
            run_dir,
            args.spark,
            workers,
            resume=resume,
            progress=progress,
            **options,
        )

    return fit


def add_predict_arguments(parser) -> None:
    group = parser.add_argument_group("spark")
    group.add_argument("--spark", metavar="MASTER", help=PREDICT_HELP)
    group.add_argument("--out", metavar="PARQUET", help="with --spark: where the results go")
    group.add_argument(
        "--embeddings",
        action="store_true",
        help="with --spark: also write each input's embedding vector",
    )


def run_spark_predict(args) -> int:
    """``convkit predict MODEL INPUTS --spark MASTER --out results.parquet``."""
    from convkit.spark.dataframe import predict_dataframe

    if not args.out:
        raise UsageError("--spark needs --out PATH: the Parquet dataset to write")
    if args.top < 1:
        raise UsageError(f"`--top` must be at least 1. Received: --top {args.top}")
    summary = predict_dataframe(
        args.model,
        list(args.inputs),
        args.spark,
        args.out,
        embeddings=args.embeddings,
        top_k=args.top,
        batch_size=args.batch_size,
        runtime=getattr(args, "runtime", "auto"),
    )
    print(
        f"{summary['rows']} files -> {summary['out']} "
        f"({summary['errors']} unreadable, {summary['images_per_second']:.0f} files/s)"
    )
    if summary["errors"]:
        print(
            f"convkit: {summary['errors']} files could not be read: their `error` column says why",
            file=sys.stderr,
        )
    return 1 if summary["errors"] else 0
