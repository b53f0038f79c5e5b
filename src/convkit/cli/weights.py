"""`convkit weights import|pull|list`: published ImageNet weights as convkit model files."""

from __future__ import annotations

import sys

from convkit.cli.common import add_verb, info

DESCRIPTION = """\
Bring published ImageNet weights into convkit.

  import FILE --arch NAME   read a .pth/.pt state dict (tensors only, never a full unpickle)
                            or a .safetensors file, map every tensor onto the zoo network
                            NAME, check shapes, and write a model file with the 1,000
                            ImageNet labels and the matching preprocessing
  pull NAME                 download torchvision's published file (resumable, SHA-256
                            checked) into the cache, then import it
  list                      the networks whose weights can be imported, and what is cached

Model files go to the user cache (~/.cache/convkit/weights, or $CONVKIT_WEIGHTS) unless
--out says otherwise; `convkit train --init-from NAME` and `convkit index NAME` read them."""

EPILOG = """\
examples:
  convkit weights pull resnet50
  convkit weights import resnet50-0676ba61.pth --arch resnet50
  convkit weights import model.safetensors --arch resnet18 --out resnet18.convkit
  convkit summary resnet50
"""


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "weights",
        "import or pull published ImageNet weights",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    verbs = parser.add_subparsers(dest="weights_command", metavar="ACTION")
    imp = verbs.add_parser("import", help="turn a .pth/.safetensors state dict into a model file")
    imp.add_argument("file", metavar="FILE", help=".pth, .pt or .safetensors state dict")
    imp.add_argument("--arch", required=True, help="zoo network, e.g. resnet50, mobilenet_v2")
    imp.add_argument(
        "--from",
        dest="source",
        default="torchvision",
        choices=["torchvision", "timm"],
        help="who published the file (default torchvision; timm for its ResNets)",
    )
    imp.add_argument("--out", help="model file to write (default: the user cache)")
    imp.set_defaults(handler=run_import)
    pull = verbs.add_parser("pull", help="download published weights and import them")
    pull.add_argument("arch", metavar="NAME", help="zoo network, e.g. resnet18")
    pull.add_argument("--url", help="download from this address instead (a mirror, file://…)")
    pull.set_defaults(handler=run_pull)
    listing = verbs.add_parser("list", help="importable networks and the cache")
    listing.set_defaults(handler=run_list)
    parser.set_defaults(handler=lambda args: (parser.print_help(), 2)[1])


def run_import(args) -> int:
    from convkit.weights.importer import import_weights

    report = import_weights(args.file, args.arch, source=args.source, out=args.out)
    print(
        f"imported {report.tensors} tensors ({report.parameters:,} parameters) into {report.path}"
    )
    if report.defaulted:
        info(f"note: the file has no {', '.join(report.defaulted[:3])} (batch-norm step counters)")
    return 0


def run_pull(args) -> int:
    from tqdm import tqdm

    from convkit.weights.pull import pull

    bar = None

    def progress(done: int, total: int | None) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=args.arch,
                leave=False,
                disable=not sys.stderr.isatty(),  # a bar only for a person watching
            )
        bar.update(done - bar.n)

    try:
        path = pull(args.arch, url=args.url, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    print(f"{args.arch}: {path}")
    return 0


def run_list(args) -> int:
    from convkit.weights.cache import model_path
    from convkit.weights.catalog import CATALOG
    from convkit.zoo import layout_names

    for arch in layout_names():
        where = model_path(arch)
        state = f"imported: {where}" if where.is_file() else "not imported"
        url = CATALOG[arch].url if arch in CATALOG else "-"
        print(f"{arch:20s} {state}  ({url})")
    return 0
