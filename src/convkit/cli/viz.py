"""`convkit viz featuremaps|filters|gradcam|spectrogram` and `convkit report`."""

from __future__ import annotations

import argparse
from pathlib import Path

from convkit.cli.common import add_verb
from convkit.errors import UsageError

VIZ_EPILOG = """\
examples:
  convkit viz featuremaps runs/lenet/model.convkit digit.png --out maps/
  convkit viz featuremaps runs/lenet/model.convkit digit.png --layers conv1 pool2
  convkit viz filters runs/lenet/model.convkit --layers conv1 conv2
  convkit viz gradcam runs/lenet/model.convkit digit.png --class 7
  convkit viz spectrogram clip.wav --model runs/fsdd/model.convkit

Every picture is a PNG; featuremaps also writes index.html when it draws
more than one layer. Open the PNGs or the page in any browser.
"""

REPORT_EPILOG = """\
examples:
  convkit report runs/lenet                  writes runs/lenet/report.html
  convkit report runs/lenet --out lenet.html

The page carries its images inside itself (base64), so it can be mailed or
attached to a ticket as one file.
"""


VIZ_ABOUT = """\
draw what a network sees: feature maps, filters, Grad-CAM, spectrograms

Draw what a trained network sees, as PNG pictures.
"""

REPORT_ABOUT = """\
one self-contained HTML page for a training run

Gather a run folder (curves, confusion matrix, per-class metrics, worst-
classified examples, sample batches, skipped files, configuration) into one
HTML page with its images inlined.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    viz = add_verb(subparsers, "viz", VIZ_ABOUT, epilog=VIZ_EPILOG)
    viz.set_defaults(handler=lambda args: _missing_picture(viz))
    pictures = viz.add_subparsers(dest="picture", metavar="PICTURE")

    maps = pictures.add_parser(
        "featuremaps",
        help="one grid of activation maps per conv/pool layer for one image",
        description="Run one image through the model and draw, for each conv and pool "
        "layer, the stack of activation maps it produces (one tile per filter), "
        "titled with the layer's volume, e.g. `conv1 24x24x20`.",
    )
    maps.add_argument("model", help="a .convkit model file")
    maps.add_argument("image", help="the input image (or recording, for an audio model)")
    maps.add_argument(
        "--layers",
        nargs="+",
        metavar="NAME",
        help="layers to draw (default: every conv/pool layer)",
    )
    maps.add_argument("--out", default="featuremaps", help="output folder (default: %(default)s)")
    maps.set_defaults(handler=run_featuremaps)

    filters = pictures.add_parser(
        "filters",
        help="the learned convolution kernels",
        description="Draw the learned filters: first-layer kernels as small images; "
        "deeper layers as a grid with one row per filter and one column per input channel.",
    )
    filters.add_argument("model", help="a .convkit model file")
    filters.add_argument(
        "--layers", nargs="+", metavar="NAME", help="conv layers to draw (default: the first)"
    )
    filters.add_argument("--out", default="filters", help="output folder (default: %(default)s)")
    filters.set_defaults(handler=run_filters)

    gradcam = pictures.add_parser(
        "gradcam",
        help="heat map of what drove the decision, over the image",
        description="Grad-CAM: weight a conv layer's maps by how much they raise one class's "
        "score and overlay the result on the image (red = drove the decision).",
    )
    gradcam.add_argument("model", help="a .convkit model file")
    gradcam.add_argument("image", help="the input image")
    gradcam.add_argument(
        "--class",
        dest="wanted_class",
        metavar="C",
        help="label name or index to explain (default: the predicted class)",
    )
    gradcam.add_argument("--layer", help="conv layer to read (default: the last conv layer)")
    gradcam.add_argument("--out", default="gradcam.png", help="output PNG (default: %(default)s)")
    gradcam.set_defaults(handler=run_gradcam)

    spectrogram = pictures.add_parser(
        "spectrogram",
        help="the log-mel spectrogram an audio model hears",
        description="Draw a recording's spectrogram — with --model, exactly the front end "
        "(sample rate, mel bands, hop) that model was trained with.",
    )
    spectrogram.add_argument("clip", help="a WAV recording")
    spectrogram.add_argument("--model", help="an audio .convkit model whose front end to use")
    spectrogram.add_argument(
        "--out", default="spectrogram.png", help="output PNG (default: %(default)s)"
    )
    spectrogram.set_defaults(handler=run_spectrogram)

    report = add_verb(subparsers, "report", REPORT_ABOUT, epilog=REPORT_EPILOG)
    report.add_argument("run_dir", help="a run folder written by `convkit train`")
    report.add_argument("--out", help="output HTML (default: RUN_DIR/report.html)")
    report.add_argument(
        "--worst",
        type=int,
        default=16,
        metavar="N",
        help="how many worst-classified validation examples to show (default: %(default)s; 0: none)",
    )
    report.set_defaults(handler=run_report)


def _missing_picture(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_featuremaps(args: argparse.Namespace) -> int:
    from convkit.viz.featuremaps import save_feature_maps
    from convkit.viz.model_view import ModelView

    view = ModelView.from_file(args.model)
    for path in save_feature_maps(view, args.image, args.out, args.layers):
        print(path)
    return 0


def run_filters(args: argparse.Namespace) -> int:
    from convkit.viz.filters import save_filters
    from convkit.viz.model_view import ModelView

    view = ModelView.from_file(args.model)
    for path in save_filters(view, args.out, args.layers):
        print(path)
    return 0


def run_gradcam(args: argparse.Namespace) -> int:
    from convkit.viz.gradcam import save_grad_cam
    from convkit.viz.model_view import ModelView

    view = ModelView.from_file(args.model)
    path, cam = save_grad_cam(view, args.image, args.out, args.wanted_class, args.layer)
    print(f"{path}  ({cam.title})")
    return 0


def run_spectrogram(args: argparse.Namespace) -> int:
    import convkit.audio as audio

    draw = getattr(audio, "spectrogram_figure", None)
    if draw is None:
        raise UsageError("this convkit build has no spectrogram drawing (convkit.audio)")
    if not Path(args.clip).is_file():
        raise UsageError(f"recording not found: {args.clip}")
    preprocessing = None
    if args.model:
        from convkit.viz.model_view import ModelView

        view = ModelView.from_file(args.model)
        if view.input_kind != "audio":
            raise UsageError(f"{args.model} is an {view.input_kind} model, not an audio model")
        preprocessing = view.preprocessing
    path = draw(args.clip, args.out, preprocessing)
    print(path or args.out)
    return 0


def run_report(args: argparse.Namespace) -> int:
    from convkit.viz.report import write_report

    print(write_report(args.run_dir, args.out, worst=args.worst))
    return 0
