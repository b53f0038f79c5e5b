"""`convkit upgrade`: sign a model file written before headers were checksummed."""

from __future__ import annotations

from convkit.cli.common import add_verb

EPILOG = """\
examples:
  convkit upgrade runs/old/model.convkit                 re-written in place
  convkit upgrade old.convkit --out new.convkit

Model files of format 1 checksummed their weights but not their header (spec,
labels, preprocessing), so convkit now refuses them: an edited header could
change predictions unnoticed. If you trust the file (you trained it, or it
came from someone you trust), this re-writes it in the current format with the
header under the checksum. The weights are still checked against their own
digest, and the spec is validated and the network rebuilt before anything is
written.
"""


UPGRADE_ABOUT = """\
re-write an older model file in the current format (header checksummed)

Re-write MODEL, written by an older convkit, in the current model-file format.
"""


def register(subparsers) -> None:
    parser = add_verb(subparsers, "upgrade", UPGRADE_ABOUT, epilog=EPILOG)
    parser.add_argument("model", help="a .convkit model file of an older format")
    parser.add_argument("--out", metavar="FILE", help="where to write (default: MODEL itself)")
    parser.set_defaults(handler=run_upgrade)


def run_upgrade(args) -> int:
    from convkit.modelfile import upgrade_model_file

    written = upgrade_model_file(args.model, args.out)
    print(f"wrote {written} (current model-file format, header checksummed)")
    return 0
