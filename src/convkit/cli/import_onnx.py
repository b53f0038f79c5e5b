"""`convkit import model.onnx`: an ONNX classifier as a convkit spec plus weights."""

from __future__ import annotations

from pathlib import Path

from convkit.cli.common import add_verb

DESCRIPTION = """\
Turn a CNN classifier exported to ONNX (by PyTorch, Keras/tf2onnx, …) into a convkit model
file: every node becomes a layer of the guide's notation (see `convkit summary`), so the
model can be summarised, fine-tuned (`convkit train … --init-from`), served and searched.

Maps Conv (groups, dilation, pads), BatchNormalization, Relu, LeakyRelu, Sigmoid, Tanh,
HardSwish, HardSigmoid, Clip, MaxPool, AveragePool, GlobalAveragePool, Gemm, MatMul, Add,
Mul, Concat, Flatten, Reshape to (N, -1), Dropout, Pad, Resize and Softmax. Any other op
is refused, naming the node; so is an input whose height or width is dynamic."""

EPILOG = """\
examples:
  convkit import resnet18.onnx --imagenet --labels imagenet.txt
  convkit import model.onnx --out model.convkit --spec-out model.yaml
"""


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "import",
        "convert an ONNX classifier into a convkit model file",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument("model", metavar="MODEL.onnx")
    parser.add_argument("--out", help="model file to write (default: MODEL.convkit beside it)")
    parser.add_argument("--spec-out", metavar="FILE.yaml", help="also write the spec as YAML")
    parser.add_argument("--labels", metavar="FILE", help="class names, one per line")
    parser.add_argument(
        "--imagenet",
        action="store_true",
        help="ImageNet preprocessing (256 -> 224 centre crop, ImageNet mean/std); "
        "default: stretch to the input size, pixels scaled to 0..1",
    )
    parser.set_defaults(handler=run)


def run(args) -> int:
    from convkit.errors import UsageError
    from convkit.fileio import read_file_bytes
    from convkit.onnx_import import write_model

    labels = None
    if args.labels:  # the one reader: regular files only, size cap (a FIFO would hang)
        raw = read_file_bytes(args.labels, error=UsageError, what="labels file")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"labels file {args.labels}: not UTF-8 text") from None
        labels = [line.strip() for line in text.splitlines() if line.strip()]
    out = write_model(args.model, args.out, labels=labels, imagenet=args.imagenet)
    if args.spec_out:
        from convkit.modelfile import load_model

        Path(args.spec_out).write_text(load_model(out).spec.to_yaml(), encoding="utf-8")
    print(f"model: {out}")
    return 0
