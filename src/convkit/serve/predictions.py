"""What /predict answers, by the model's task kind.

The server holds no logic of its own; each kind is answered by the code the
CLI uses for it: classify -> top-k labels (the task's ``decode``), detect ->
boxes in the photo's own pixels (``convkit.detect.predict.Detector``), ocr ->
the text of a line (``convkit.ocr.reader.TextReader``). A kind this build
cannot answer is a 501 with a message, not a crash.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from convkit.serve.uploads import UploadError
from convkit.viz.model_view import ModelView


def _decode(view: ModelView, x: Any, **options: Any) -> dict:
    decode = getattr(view.task, "decode", None)
    if decode is None:
        raise UploadError(f"this server cannot decode {view.kind!r} models", status=501)
    return dict(decode(view.scores(x), **options)[0])


def predict_classify(view: ModelView, x: Any, k: int, data: bytes) -> dict:
    result = _decode(view, x, top_k=k)
    top = result.get("top") or [result]
    return {
        "kind": "classify",
        "label": result.get("label"),
        "top": [
            {
                "label": str(entry["label"]),
                "index": int(entry.get("index", -1)),
                "score": float(entry.get("probability", entry.get("score", 0.0))),
            }
            for entry in top
        ],
    }


def predict_detect(view: ModelView, x: Any, k: int, data: bytes) -> dict:
    """Boxes in the uploaded photo's own pixels, through the detect engineer's Detector."""
    from convkit.data import read_image

    detector = _helper("convkit.detect.predict", "Detector", view.source)
    channels = int(getattr(detector.preprocessing, "channels", 3) or 3)
    image = read_image(data, channels=channels)  # (H, W, C) uint8
    boxes = detector.detect([image])[0]
    return {"kind": "detect", "boxes": boxes, "width": image.shape[1], "height": image.shape[0]}


def predict_ocr(view: ModelView, x: Any, k: int, data: bytes) -> dict:
    """The text of one line, through the OCR engineer's TextReader."""
    reader = _helper("convkit.ocr.reader", "TextReader", view.source)
    (result,) = reader.read_arrays([x[0].numpy()])  # one (C, H, W) line
    return {"kind": "ocr", **result}


@lru_cache(maxsize=8)
def _helper(module_name: str, class_name: str, model_path: str) -> Any:
    """The task's own predictor, built once per model (it loads the model file)."""
    try:
        module = importlib.import_module(module_name)
        helper = getattr(module, class_name)
    except (ImportError, AttributeError) as error:
        raise UploadError(
            f"this convkit build cannot answer for this model ({module_name}.{class_name} "
            "is missing)",
            status=501,
        ) from error
    return helper(model_path)


PREDICTORS: dict[str, Callable[[ModelView, Any, int, bytes], dict]] = {
    "classify": predict_classify,
    "detect": predict_detect,
    "ocr": predict_ocr,
}


def predict(view: ModelView, data: bytes, x: Any, k: int = 5) -> dict:
    """The JSON answer of /predict for one upload: its bytes and prepared input x (1, C, H, W)."""
    if not 1 <= k <= 100:
        raise UploadError(f"k must be between 1 and 100. Received: k={k}", status=422)
    predictor = PREDICTORS.get(view.kind)
    if predictor is None:
        known = ", ".join(PREDICTORS)
        raise UploadError(
            f"this server has no predictions for {view.kind!r} models (it knows {known})", 501
        )
    return predictor(view, x, k, data)
