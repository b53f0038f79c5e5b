"""`convkit dataset pack`: turn a dataset into a packed Parquet dataset for streaming."""

from __future__ import annotations

import sys

from convkit.cli.common import add_verb

EPILOG = """\
examples:
  convkit dataset pack photos/ /shared/photos.pack
  convkit dataset pack ../shared/data/mnist s3://bucket/mnist.pack
  convkit dataset pack ../shared/data/mnist mnist-test.pack --split test
  convkit dataset pack kangaroo/ kangaroo.pack --kind detect
  convkit train spec.yaml --data /shared/photos.pack --spark spark://master:7077 --workers 8
"""


DATASET_ABOUT = """\
pack a dataset as Parquet for streaming (large or remote data)

Dataset tools.
"""

PACK_ABOUT = """\
write FOLDER as a packed Parquet dataset at OUT

Write FOLDER (class folders, a CSV, MNIST IDX files; --kind detect: VOC, YOLO
or COCO; --kind ocr: text lines) as a packed Parquet dataset at OUT: encoded
image bytes, label, path (and boxes or text), in a seeded random order, in row
groups sized for streaming, with a manifest. OUT may be a local folder or any
URL pyarrow or fsspec opens (s3://, gs://, hdfs://, abfs://...). Training ranks
then read only their own shard of it.
"""


def register(subparsers) -> None:
    parser = add_verb(subparsers, "dataset", DATASET_ABOUT, epilog=EPILOG)
    verbs = parser.add_subparsers(dest="dataset_command", metavar="ACTION")
    pack = add_verb(verbs, "pack", PACK_ABOUT, epilog=EPILOG)
    pack.add_argument("folder", help="the dataset to pack")
    pack.add_argument("out", help="where the packed dataset goes (a folder or URL)")
    pack.add_argument("--kind", default="classify", choices=["classify", "detect", "ocr"])
    pack.add_argument("--seed", type=int, default=0, help="seed of the row order (default 0)")
    pack.add_argument(
        "--group-mib",
        type=float,
        default=16.0,
        help="encoded bytes per row group (default 16; 64..4096 rows each)",
    )
    pack.add_argument("--channels", type=int, default=3, choices=[1, 3])
    pack.add_argument(
        "--split",
        default="train",
        choices=["train", "val", "test"],
        help="which split of FOLDER to pack, when it has several (default train)",
    )
    pack.add_argument("--quiet", action="store_true", help="no progress lines")
    pack.set_defaults(handler=run_pack)
    parser.set_defaults(handler=lambda args: _usage(parser))


def _usage(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_pack(args) -> int:
    from convkit.spark.pack import pack_dataset

    summary = pack_dataset(
        args.folder,
        args.out,
        kind=args.kind,
        seed=args.seed,
        group_mib=args.group_mib,
        channels=args.channels,
        split=args.split,
        progress=not args.quiet,
    )
    print(summary)
    return 0
