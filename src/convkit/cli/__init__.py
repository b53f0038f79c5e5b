"""The ``convkit`` command: verbs that map onto the Python API.

Each verb lives in its own module under ``convkit.cli`` and exposes
``register(subparsers)``, which adds its parser and sets ``handler`` to a
function ``handler(args) -> int``. The handlers hold no logic of their own:
they parse, call the same functions the Python API calls, and print.

User mistakes raise ``ConvkitError`` anywhere below; they are printed here as
one line and exit with code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from convkit import __version__
from convkit.errors import ConvkitError

# One module per verb group, in the order `convkit --help` lists them.
COMMAND_MODULES = [
    "convkit.cli.summary",
    "convkit.cli.train",
    "convkit.cli.evaluate",
    "convkit.cli.predict",
    "convkit.cli.export",
    "convkit.cli.upgrade",
    "convkit.cli.search",
    "convkit.cli.viz",
    "convkit.cli.serve",
    "convkit.cli.ocr",
    "convkit.cli.detect",
    "convkit.cli.weights",
    "convkit.cli.import_onnx",
    "convkit.cli.dataset",
]

EPILOG = """\
examples:
  convkit summary examples/lenet.yaml          show every layer's volume
  convkit train examples/lenet.yaml --data ../shared/data/mnist --epochs 3
  convkit predict runs/lenet/model.convkit digit.png --top 3

Run `convkit VERB --help` for the options of one verb.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convkit",
        description="Declare, explain, train and use convolutional networks.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"convkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="VERB")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except ConvkitError as error:
        print(f"convkit: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("convkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `convkit predict … | head` closes the pipe early
        return 0


if __name__ == "__main__":
    sys.exit(main())
