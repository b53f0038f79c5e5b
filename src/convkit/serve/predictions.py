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

# An upload whose decoded image is at most this many bytes (a 256 x 256 RGB photo,
# a digit) is decoded on the event loop: that takes tens of microseconds, less
# than handing it to a thread and back. Larger ones decode in the thread pool,
# so a big photo never stalls the other requests.
INLINE_DECODE_BYTES = 256 * 1024


def predict(view: ModelView, data: bytes, k: int = 5) -> dict:
    """The JSON answer of /predict for one upload's bytes."""
    check_request(view, k)
    prediction = view.batcher().predict(data, top_k=k)  # batched with concurrent requests
    return view.task.server_answer(prediction)


async def predict_async(view: ModelView, data: bytes, k: int, decoded_bytes: int) -> dict:
    """``predict`` for the event loop: no thread held while the batch forms and runs."""
    import asyncio

    from starlette.concurrency import run_in_threadpool

    check_request(view, k)
    if decoded_bytes <= INLINE_DECODE_BYTES:
        prepared = view.engine.prepare_with_info(data)
    else:
        prepared = await run_in_threadpool(view.engine.prepare_with_info, data)
    prediction = await asyncio.wrap_future(view.batcher().submit(prepared, top_k=k))
    return view.task.server_answer(prediction)


def check_request(view: ModelView, k: int) -> None:
    if not 1 <= k <= 100:
        raise UploadError(f"k must be between 1 and 100. Received: k={k}", status=422)
    if view.engine is None:
        raise UploadError("this server was built without a prediction engine", status=501)
