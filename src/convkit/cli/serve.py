"""`convkit serve MODEL`: the JSON API and the web page, with uvicorn."""

from __future__ import annotations

import argparse
import gc

from convkit.cli.common import add_verb
from convkit.errors import UsageError

EPILOG = """\
examples:
  convkit serve runs/lenet/model.convkit                 then open http://127.0.0.1:8000/
  convkit serve runs/photos/model.convkit --index photos.index --port 8080
  curl -F file=@digit.png http://127.0.0.1:8000/predict
  curl -F file=@digit.png -F format=png http://127.0.0.1:8000/gradcam -o cam.png

The API is described at /docs (OpenAPI: /openapi.json). The server listens on
127.0.0.1 only unless --host says otherwise (e.g. --host 0.0.0.0 for a LAN).
"""


SERVE_ABOUT = """\
serve a model over HTTP: JSON API and a web page

Load a model once and serve predictions, Grad-CAM and feature maps as a JSON
API, with a web page at / to drop images on.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_verb(subparsers, "serve", SERVE_ABOUT, epilog=EPILOG)
    parser.add_argument("model", help="a .convkit model file")
    parser.add_argument(
        "--index", help="a photo index (from `convkit index`) to answer /similar with"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    parser.add_argument(
        "--max-upload-mb",
        type=float,
        default=10.0,
        metavar="MB",
        help="largest upload accepted, in MiB (default: %(default)s)",
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=40_000_000,
        help="largest image accepted, in declared pixels (default: %(default)s)",
    )
    parser.add_argument(
        "--runtime",
        choices=("auto", "onnx", "torch"),
        default="auto",
        help="what runs /predict: auto (default, ONNX Runtime when the model exports), onnx, torch",
    )
    parser.add_argument(
        "--max-decode-mb",
        type=float,
        default=160.0,
        metavar="MB",
        help="memory budget per request: the decoded image, width x height x channels x "
        "bytes per sample, in MiB (default: %(default)s)",
    )
    parser.add_argument(
        "--max-inflight",
        type=int,
        default=2,
        metavar="N",
        help="decoded image memory all requests in flight may hold together, in units of "
        "--max-decode-mb (default: %(default)s); small images share it, each charged at least "
        "1 MiB. A request that finds no room within 2 s gets 503 + Retry-After",
    )
    parser.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from convkit.limits import configure_opencv

    # Before anything loads OpenCV: its decoders then refuse uploads over --max-pixels
    # by their own reading of the size, whatever the header parser made of it.
    if args.max_pixels > 0:
        configure_opencv(args.max_pixels)
    try:
        import uvicorn

        from convkit.serve import UploadLimits, create_app
    except ImportError as error:
        raise UsageError(
            f"serving needs the serve extra ({error.name} is missing): pip install 'convkit[serve]'"
        ) from error
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535. Received: {args.port}")
    if args.max_upload_mb <= 0 or args.max_pixels <= 0:
        raise UsageError("--max-upload-mb and --max-pixels must be positive")
    if args.max_decode_mb <= 0 or args.max_inflight < 1:
        raise UsageError("--max-decode-mb must be positive and --max-inflight at least 1")
    limits = UploadLimits(
        max_bytes=int(args.max_upload_mb * 2**20),
        max_pixels=args.max_pixels,
        max_decoded_bytes=int(args.max_decode_mb * 2**20),
        max_inflight=args.max_inflight,
    )
    # loads the model once, now
    app = create_app(args.model, index=args.index, limits=limits, runtime=args.runtime)
    print(f"convkit: serving {args.model} on http://{args.host}:{args.port}/ (Ctrl-C stops)")
    # What loading left behind (torch, the model, FastAPI: ~200,000 objects with
    # LeNet) lives as long as the server. Frozen out of the collector's sight, a
    # full collection walks only what requests allocate: it took 65 ms, a pause
    # every in-flight request felt (the p99 under load), and now takes microseconds.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
