"""`convkit export`: a model file as an ONNX graph that serves on its own."""

from __future__ import annotations

import sys
from pathlib import Path

from convkit.cli.common import add_verb
from convkit.errors import UsageError

EPILOG = """\
examples:
  convkit export runs/lenet/model.convkit --format onnx
  convkit export model.convkit --format onnx --out lenet.onnx --opset 17
  convkit predict lenet.onnx digit.png          the .onnx file alone predicts

The export is checked before it is written: the graph runs in ONNX Runtime on
sample inputs and must match PyTorch within 1e-4 + 1e-3 * max|output| (the
largest difference is printed). Spec, task, labels and preprocessing travel in
the ONNX metadata. A layer ONNX cannot express is named, and nothing is written.
"""


EXPORT_ABOUT = """\
export a model file to ONNX (checked against PyTorch)

Export MODEL to another format. The ONNX graph has input `input` (N, C, H, W)
and outputs `output` (raw scores) and `embedding` (the layer before).
"""


def register(subparsers) -> None:
    parser = add_verb(subparsers, "export", EXPORT_ABOUT, epilog=EPILOG)
    parser.add_argument("model", help="a .convkit model file")
    parser.add_argument("--format", choices=("onnx",), default="onnx", help="onnx (default)")
    parser.add_argument("--out", metavar="FILE", help="where to write (default: MODEL with .onnx)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default: 17)")
    parser.add_argument(
        "--dynamic-batch",
        action="store_true",
        help="any batch size (default: batch 1 fixed; text readers always take any width)",
    )
    parser.set_defaults(handler=run_export)


def run_export(args) -> int:
    from convkit.inference.onnx_export import export_onnx
    from convkit.inference.runtimes import onnxruntime_available
    from convkit.modelfile import load_model

    if not onnxruntime_available():
        raise UsageError("export checks itself with onnxruntime: pip install 'convkit[onnx]'")
    out = Path(args.out) if args.out else Path(args.model).with_suffix(".onnx")
    if out.suffix.lower() != ".onnx":
        raise UsageError(f"--out must end in .onnx. Received: --out {out}")
    if out.resolve() == Path(args.model).resolve():
        raise UsageError("--out would overwrite the model file; choose another name")
    loaded = load_model(args.model)
    report = export_onnx(loaded, out, opset=args.opset, dynamic_batch=args.dynamic_batch)
    shapes = ", ".join("x".join(map(str, shape)) for shape in report.checked_shapes)
    print(
        f"wrote {report.path} (opset {report.opset}); ONNX Runtime vs PyTorch max |diff| "
        f"{report.max_diff:.2e} (tolerance {report.tolerance:.2e}) on {shapes}",
        file=sys.stderr,
    )
    return 0
