"""What /predict answers, by the model's task kind.

Each kind's answer comes from the task's own ``decode`` (the same function
`convkit predict` uses), so the server holds no logic of its own:
classify -> top-k labels, detect -> boxes, ocr -> text. A kind this build
cannot decode is a 501 with a message, not a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from convkit.serve.uploads import UploadError
from convkit.viz.model_view import ModelView


def _decode(view: ModelView, x: Any, **options: Any) -> dict:
    decode = getattr(view.task, "decode", None)
    if decode is None:
        raise UploadError(f"this server cannot decode {view.kind!r} models", status=501)
    return dict(decode(view.scores(x), **options)[0])


def predict_classify(view: ModelView, x: Any, k: int) -> dict:
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


def predict_detect(view: ModelView, x: Any, k: int) -> dict:
    result = _decode(view, x)
    # Boxes are in the coordinates of the network's input (what the page draws on).
    return {"kind": "detect", **result}


def predict_ocr(view: ModelView, x: Any, k: int) -> dict:
    result = _decode(view, x)
    return {"kind": "ocr", **result}


PREDICTORS: dict[str, Callable[[ModelView, Any, int], dict]] = {
    "classify": predict_classify,
    "detect": predict_detect,
    "ocr": predict_ocr,
}


def predict(view: ModelView, x: Any, k: int = 5) -> dict:
    """The JSON answer of /predict for one prepared input x (1, C, H, W)."""
    if not 1 <= k <= 100:
        raise UploadError(f"k must be between 1 and 100. Received: k={k}", status=422)
    predictor = PREDICTORS.get(view.kind)
    if predictor is None:
        known = ", ".join(PREDICTORS)
        raise UploadError(
            f"this server has no predictions for {view.kind!r} models (it knows {known})", 501
        )
    return predictor(view, x, k)
