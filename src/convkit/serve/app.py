"""The FastAPI application: a JSON API and the web page over one loaded model.

The model is loaded once, when the app is created, and shared by every
request. Endpoints are plain ``def`` functions, so FastAPI runs them in its
thread pool and serves requests concurrently; inference holds no state
between calls (no_grad forwards; Grad-CAM builds its own small graph).
"""

# No `from __future__ import annotations`: FastAPI reads the endpoint annotations at
# run time, and UploadFile is imported inside create_app.

import base64
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from convkit.errors import ConvkitError, DataError, ModelFileError, UsageError
from convkit.serve.budget import AdmissionControl, InflightGate, MemoryPool, unique_names
from convkit.serve.uploads import (
    UploadError,
    UploadLimits,
    check_read,
    check_upload,
    read_limited,
)
from convkit.viz.model_view import ModelView, shape_text

STATIC_DIR = Path(__file__).parent / "static"
# Multipart framing around the file; a body beyond limit + this is refused unread.
MULTIPART_OVERHEAD = 64 * 1024


class ServerBusy(UploadError):
    """No room in the in-flight memory pool within the wait: come back shortly (503)."""

    def __init__(self):
        super().__init__("server busy: too much image data in flight; retry shortly", status=503)


def error_status(error: ConvkitError) -> int:
    """The HTTP status that tells a client what went wrong with its request."""
    if isinstance(error, UploadError):
        return error.status
    if isinstance(error, UsageError):
        return 422
    if isinstance(error, DataError):
        return 400
    if isinstance(error, ModelFileError):
        return 500  # the server's own model, not the client's fault
    return 400


def create_app(
    model: str | Path | ModelView,
    index: str | Path | None = None,
    limits: UploadLimits | None = None,
    runtime: str = "auto",
):
    """Build the app for one model file (or an already loaded ModelView).

    ``runtime`` (auto, onnx, torch) runs /predict; pictures always use torch."""
    from fastapi import FastAPI, File, Form, Request, UploadFile
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles

    view = model if isinstance(model, ModelView) else ModelView.from_file(model, runtime)
    limits = limits or UploadLimits()
    searcher = None
    if index is not None:
        from convkit.serve.similar import open_searcher

        searcher = open_searcher(index, view)

    offline_docs = _swagger_assets()
    app = FastAPI(
        docs_url=None if offline_docs else "/docs",  # our own /docs below when offline
        title="convkit",
        summary="Predictions, feature maps and Grad-CAM from a convkit model.",
        description=(
            f"Serving `{Path(view.source).name or 'model'}` ({view.kind}, input "
            f"{shape_text(view.input_shape)}). Upload an image as multipart field `file`."
        ),
        version=_version(),
    )
    app.state.view = view
    app.state.limits = limits

    @app.exception_handler(ConvkitError)
    def convkit_error(request: Request, error: ConvkitError) -> JSONResponse:
        status = error_status(error)
        headers = (
            {"Retry-After": str(max(1, round(limits.queue_seconds)))} if status == 503 else None
        )
        return JSONResponse({"detail": str(error)}, status_code=status, headers=headers)

    app.state.gate = InflightGate(limits.max_requests, limits.queue_seconds)
    app.add_middleware(
        AdmissionControl,
        gate=app.state.gate,
        max_body=limits.max_bytes + MULTIPART_OVERHEAD,
        max_body_text=f"upload is larger than the server's limit of {limits.max_bytes // 2**20} MiB",
    )
    app.state.memory = MemoryPool(
        limits.max_inflight * limits.max_decoded_bytes, limits.queue_seconds
    )

    @contextmanager
    def upload_in_budget(upload: UploadFile):
        """The checked upload's bytes, its decoded cost held in the pool until the answer."""
        data = read_limited(upload.file, limits)
        cost = check_upload(data, view.input_kind, limits)
        if not app.state.memory.reserve(cost):
            raise ServerBusy()
        try:
            yield data
        finally:
            app.state.memory.release(cost)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if offline_docs:
        _add_offline_docs(app, offline_docs)

    @app.get("/health", summary="Is the server up, and what model does it serve")
    def health() -> dict:
        return {
            "status": "ok",
            "model": Path(view.source).name,
            "kind": view.kind,
            "input": shape_text(view.input_shape),
            "input_kind": view.input_kind,
            "labels": view.labels if view.kind == "classify" else [],
            "layers": [
                {"name": layer.name, "type": layer.type, "shape": shape_text(layer.shape)}
                for layer in view.layers
            ],
            "map_layers": [layer.name for layer in view.default_map_layers()],
            "similar": searcher is not None,
            "max_upload_bytes": limits.max_bytes,
        }

    @asynccontextmanager
    async def upload_in_budget_async(upload: UploadFile):
        """``upload_in_budget`` on the event loop: the read and the checks cost no thread."""
        from starlette.concurrency import run_in_threadpool

        data = await upload.read(limits.max_bytes + 1)
        check_read(data, limits)
        cost = check_upload(data, view.input_kind, limits)
        memory = app.state.memory
        if not (memory.reserve(cost, wait=False) or await run_in_threadpool(memory.reserve, cost)):
            raise ServerBusy()
        try:
            yield data, cost
        finally:
            memory.release(cost)

    @app.post(
        "/predict",
        summary="Top-k labels (classify), boxes (detect) or text (ocr)",
        response_class=JSONResponse,
    )
    async def predict(file: UploadFile = File(...), k: int = Form(5)) -> JSONResponse:
        # async, and a JSONResponse rather than a dict for FastAPI to validate: at
        # hundreds of small requests a second those hops were most of the cost.
        from convkit.serve.predictions import predict_async

        async with upload_in_budget_async(file) as (data, cost):
            return JSONResponse(await predict_async(view, data, k, cost))

    @app.post("/featuremaps", summary="Activation-map grids per conv/pool layer, as base64 PNGs")
    def featuremaps(file: UploadFile = File(...), layers: str = Form("")) -> dict:
        from convkit.viz import grids
        from convkit.viz.featuremaps import compute_feature_maps

        names = unique_names(layers, limit=len(view.layers))  # 15,000 x "conv1" is one conv1
        chosen = view.resolve_layers(names or None)
        with upload_in_budget(file) as data:
            x = view.prepare(data)  # (1, C, H, W)
            return {
                "input": _png_base64(grids.enlarge(view.display_image(x), 112)),
                "layers": [
                    {
                        "name": maps.layer.name,
                        "shape": shape_text(maps.layer.shape),
                        "title": maps.layer.title,
                        "png": _png_base64(maps.image()),
                    }
                    for maps in compute_feature_maps(view, x, chosen)
                ],
            }

    @app.post(
        "/gradcam",
        summary="Grad-CAM heat map over the input; JSON with base64 PNG, or format=png",
        responses={200: {"content": {"image/png": {}}}},
    )
    def gradcam(
        file: UploadFile = File(...),
        target: str = Form("", description="label or index to explain; empty: predicted class"),
        layer: str = Form("", description="conv layer; empty: the last conv layer"),
        format: str = Form("json", description="json or png"),
    ):
        from convkit.viz import grids
        from convkit.viz.gradcam import grad_cam

        if format not in ("json", "png"):
            raise UsageError(f"format must be json or png. Received: format={format!r}")
        if view.kind != "classify":
            raise UploadError(f"Grad-CAM explains class scores; this model is {view.kind!r}", 422)
        with upload_in_budget(file) as data:
            x = view.prepare(data)  # (1, C, H, W)
            cam = grad_cam(view, x, view.class_index(target or None, x), layer or None)
            png = grids.png_bytes(cam.overlay())
        if format == "png":
            return Response(png, media_type="image/png")
        return {
            "layer": cam.layer,
            "class_index": cam.class_index,
            "label": cam.label,
            "score": cam.score,
            "png": base64.b64encode(png).decode("ascii"),
        }

    @app.post("/similar", summary="The indexed photos most like the upload (needs --index)")
    def similar(file: UploadFile = File(...), k: int = Form(8)) -> dict:
        if searcher is None:
            raise UploadError("this server has no index: start it with `--index INDEX`", 404)
        if not 1 <= k <= 100:
            raise UsageError(f"k must be between 1 and 100. Received: k={k}")
        with upload_in_budget(file) as data:
            return {"results": searcher(data, k)}

    @app.get("/similar/{position}/image", include_in_schema=False)
    def similar_image(position: int) -> Response:
        if searcher is None:
            raise UploadError("this server has no index: start it with `--index INDEX`", 404)
        data, media_type = searcher.image(position)
        return Response(data, media_type=media_type)

    return app


def _swagger_assets() -> Path | None:
    """Swagger UI's files from the swagger-ui-bundle package, if installed.

    FastAPI's default /docs page loads Swagger UI from a CDN, which a machine
    without internet cannot reach; with the bundle the page is served locally.
    """
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    return Path(swagger_ui_path)


def _add_offline_docs(app, assets: Path) -> None:
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} — API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


def _png_base64(image: Any) -> str:
    from convkit.viz import grids

    return base64.b64encode(grids.png_bytes(image)).decode("ascii")


def _version() -> str:
    from convkit import __version__

    return __version__
