"""`convkit summary SPEC`: every layer's volume, parameters, FLOPs and receptive field."""

from __future__ import annotations

import json

from convkit.cli.common import add_verb
from convkit.errors import UsageError

DESCRIPTION = """\
Show what a network spec computes, layer by layer, without building it:
the output volume of every layer (height x width x channels, e.g. 24x24x20),
its parameters, forward FLOPs per image and receptive field, then totals.
A spec whose volumes do not fit is refused with the arithmetic and values
that would fit (exit code 2).

FLOPs count a multiply-add as 2; MB are 10^6 bytes of float32; a receptive
field of `all` means every input pixel (after dense or global layers). The
spec layer never imports torch, so this takes a fraction of a second."""

EPILOG = """\
examples:
  convkit summary examples/lenet.yaml
  convkit summary examples/seed_volume.yaml --explain
  convkit summary examples/resnet18.yaml --batch-size 64
  convkit summary examples/lenet.yaml --json > lenet-summary.json
  convkit summary resnet50                     a zoo network: lenet, alexnet, vgg11,
                                               vgg16(_bn), resnet18/34/50, mobilenet_v2,
                                               mobilenet_v3_small/large, efficientnet_b0
"""


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "summary",
        "show every layer's volume, parameters and FLOPs",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument(
        "spec",
        metavar="SPEC",
        help="network spec file (.yaml, .yml or .json), a model file (.convkit), or a zoo name "
        "such as resnet18",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=1,
        metavar="N",
        help="batch size for the activation memory total (default: 1)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="add a line per layer with its arithmetic, e.g. 30x30x3 → 3x3 filters, stride 3, "
        "96 of them → 10x10x96",
    )
    parser.set_defaults(handler=run)


def load_spec_or_zoo(text: str):
    """A spec file, a model file's spec, or a zoo name (``convkit.names.resolve_spec``)."""
    from convkit.names import resolve_spec

    return resolve_spec(text)


def run(args) -> int:
    from convkit.spec.summary import format_summary, summarize

    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be a positive integer. Received: {args.batch_size}")
    summary = summarize(load_spec_or_zoo(args.spec), batch_size=args.batch_size)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(format_summary(summary, explain=args.explain))
    return 0
