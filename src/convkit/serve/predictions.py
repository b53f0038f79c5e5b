"""What /predict answers: the shared engine's prediction for the upload, plus its kind.

The server holds no logic of its own: the upload goes through the same
``convkit.inference.InferenceModel`` as `convkit predict`, so a classifier
answers ``label``/``probability``/``top``, a detector ``boxes`` in the photo's
own pixels (with its ``width``/``height``), a reader ``text``/``confidence``
— the field names every front end uses. The task shapes the answer
(``Task.server_answer``). Concurrent requests share forward passes
(``convkit.inference.batcher``).
"""

from __future__ import annotations

from convkit.serve.uploads import UploadError
from convkit.viz.model_view import ModelView


def predict(view: ModelView, data: bytes, k: int = 5) -> dict:
    """The JSON answer of /predict for one upload's bytes."""
    if not 1 <= k <= 100:
        raise UploadError(f"k must be between 1 and 100. Received: k={k}", status=422)
    if view.engine is None:
        raise UploadError("this server was built without a prediction engine", status=501)
    prediction = view.batcher().predict(data, top_k=k)  # batched with concurrent requests
    return view.task.server_answer(prediction)
