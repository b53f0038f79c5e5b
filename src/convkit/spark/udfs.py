"""Pandas UDF factories: a convkit model applied to a DataFrame column of image bytes.

    from convkit.spark import predict_udf
    df = spark.read.format("binaryFile").load("photos/")
    df = df.withColumn("pred", predict_udf("model.convkit", top_k=3)("content"))
    df.select("path", "pred.label", "pred.probability", "pred.error")

Each UDF is an iterator-of-batches pandas UDF: Spark hands it Arrow batches of
rows, and each batch goes through ``convkit.inference.InferenceModel`` — the
engine every other front end uses — so a row gets the same prediction as
`convkit predict` gives for the file. The output column is typed by the
model's task (``Task.spark_type``): classify ``label, probability, top``;
detect ``label, probability, boxes, width, height``; ocr ``text,
confidence``; every one ends in ``error``. The model is loaded once per
Python worker process and kept while Spark reuses that worker
(``spark.python.worker.reuse``, on by default), so a job over many partitions
loads it once per executor core, not once per batch.

A row whose bytes cannot be decoded gets nulls and a one-line ``error``; the
job goes on.
"""

# No `from __future__ import annotations` here: PySpark reads the UDFs' type
# hints (Iterator[pd.Series] -> Iterator[pd.DataFrame]) to pick the UDF kind,
# and they must be real objects, made inside the factories where pandas is imported.
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

EMBED_TYPE = "struct<embedding:array<float>, error:string>"

# Models loaded in this Python worker: (resolved path, mtime, runtime) -> InferenceModel.
_MODELS: dict[tuple[str, float, str], object] = {}
_MODELS_LOCK = threading.Lock()


def prediction_type(model_path) -> str:
    """The Spark SQL type of ``model_path``'s predictions (read on the driver)."""
    from convkit.modelfile import read_document
    from convkit.tasks import task_from_dict

    document, _ = read_document(resolve_model_path(str(model_path)))
    return task_from_dict(document["task"]).spark_type


def predict_udf(
    model_path: str | os.PathLike, top_k: int = 1, batch_size: int = 64, runtime: str = "auto"
):
    """A pandas UDF: image bytes -> the task's prediction struct (see ``Task.spark_type``).

    For a classifier ``top`` lists the ``top_k`` best labels with their index and
    probability. ``model_path`` must be readable where the executors run (a
    shared path), or shipped with ``spark.sparkContext.addFile(model_path)``.
    ``runtime``: auto (ONNX Runtime when the model exports), onnx or torch.
    """
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    from convkit.inference.engine import check_runtime

    path = str(model_path)
    _check_positive("top_k", top_k)
    _check_positive("batch_size", batch_size)
    check_runtime(runtime)

    @pandas_udf(prediction_type(path))
    def convkit_predict(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        for contents in batches:
            yield predict_frame(path, contents, top_k, batch_size, runtime)

    return convkit_predict


def embed_udf(
    model_path: str | os.PathLike,
    layer: str | None = None,
    batch_size: int = 64,
    normalize: bool = True,
    runtime: str = "auto",
):
    """A pandas UDF: image bytes -> struct(embedding array<float>, error).

    ``layer`` defaults to the model's embedding layer (the features that feed
    its last layer); feature maps are averaged over height and width. The
    vectors are L2-normalised unless ``normalize=False``.
    """
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    path = str(model_path)
    _check_positive("batch_size", batch_size)

    @pandas_udf(EMBED_TYPE)
    def convkit_embed(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        for contents in batches:
            yield embed_frame(path, contents, layer, batch_size, normalize, runtime)

    return convkit_embed


# -- what runs on the executors (plain functions: testable without Spark) ------------
def predict_frame(model_path: str, contents, top_k: int, batch_size: int, runtime: str = "auto"):
    """pandas Series of bytes -> DataFrame with the task's prediction fields, row for row."""
    import pandas as pd

    model = cached_model(model_path, runtime)
    task = model.task
    fields = task.spark_fields()
    prepared, errors = prepare_rows(model, contents)
    readable = [i for i, item in enumerate(prepared) if item is not None]
    empty = dict.fromkeys(fields)
    rows = [{**empty, "error": error} for error in errors]
    for start in range(0, len(readable), batch_size):
        chunk = readable[start : start + batch_size]
        decoded = model.predict_prepared([prepared[i] for i in chunk], top_k=top_k)
        for i, prediction in zip(chunk, decoded, strict=True):
            rows[i] = task.spark_row(prediction)
    return pd.DataFrame(rows, columns=fields)


def embed_frame(
    model_path: str, contents, layer, batch_size: int, normalize: bool, runtime: str = "auto"
):
    """pandas Series of bytes -> DataFrame(embedding, error), row for row."""
    import pandas as pd

    model = cached_model(model_path, runtime)
    prepared, errors = prepare_rows(model, contents)
    readable = [i for i, item in enumerate(prepared) if item is not None]
    embeddings: list = [None] * len(prepared)
    for start in range(0, len(readable), batch_size):
        chunk = readable[start : start + batch_size]
        arrays = [prepared[i][0] for i in chunk]
        vectors = model.embed_arrays(arrays, layer, normalize=normalize)  # (R, D)
        for i, vector in zip(chunk, vectors, strict=True):
            embeddings[i] = vector.tolist()
    return pd.DataFrame({"embedding": embeddings, "error": errors})


def prepare_rows(model, contents) -> tuple[list, list]:
    """Decode + preprocess each row: (array, info) pairs (None when unreadable) and errors."""
    from convkit.inference.stream import describe_error

    prepared, errors = [], []
    for content in contents:
        if content is None:
            prepared.append(None)
            errors.append("no image bytes (null content)")
            continue
        try:
            prepared.append(model.prepare_with_info(bytes(content)))  # ((C, H, W), info)
            errors.append(None)
        except Exception as error:  # a bad row (OpenCV on bytes it cannot parse…) is its own
            prepared.append(None)
            errors.append(describe_error(error))
    return prepared, errors


def cached_model(model_path: str, runtime: str = "auto"):
    """The model at ``model_path``, loaded once per Python worker process."""
    resolved = resolve_model_path(model_path)
    key = (str(resolved), resolved.stat().st_mtime, runtime)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            from convkit.inference import open_model

            _limit_threads_to_task()
            model = open_model(resolved, runtime=runtime)
            _MODELS.clear()  # one model per worker: a new version replaces the old
            _MODELS[key] = model
    return model


def resolve_model_path(model_path: str) -> Path:
    """The path as given, or the copy Spark shipped with ``addFile``."""
    from convkit.errors import ModelFileError

    path = Path(model_path)
    if path.is_file():
        return path
    try:
        from pyspark import SparkFiles

        shipped = Path(SparkFiles.get(path.name))
        if shipped.is_file():
            return shipped
    except Exception:  # not inside a Spark task, or addFile was not used
        pass
    raise ModelFileError(
        f"{model_path}: no such model file on this executor; put it on storage every "
        "executor can read, or ship it with spark.sparkContext.addFile(path)"
    )


def _limit_threads_to_task() -> None:
    """Use as many threads as the task was given cores (spark.task.cpus).

    Through OMP_NUM_THREADS, which ONNX Runtime's session (convkit.inference.
    runtimes) and torch, if it is ever imported, both read: the worker need not
    import torch (0.8 s of a cold start) to run a cached ONNX export.
    """
    try:
        from pyspark import TaskContext

        context = TaskContext.get()
        if context is None:
            return  # outside Spark: leave the defaults
        cores = str(max(1, int(context.cpus())))
    except Exception:
        return
    os.environ["OMP_NUM_THREADS"] = cores
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(cores))


def _check_positive(name: str, value: int) -> None:
    from convkit.errors import UsageError

    if not isinstance(value, int) or value < 1:
        raise UsageError(f"`{name}` must be a positive whole number. Received: {name}={value!r}")
