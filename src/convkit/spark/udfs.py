"""Pandas UDF factories: a convkit model applied to a DataFrame column of image bytes.

    from convkit.spark import predict_udf
    df = spark.read.format("binaryFile").load("photos/")
    df = df.withColumn("pred", predict_udf("model.convkit", top_k=3)("content"))
    df.select("path", "pred.label", "pred.probability", "pred.error")

Each UDF is an iterator-of-batches pandas UDF: Spark hands it Arrow batches of
rows, it decodes and preprocesses each image with the model's own
preprocessing, and runs the network on stacks of ``batch_size`` images. The
model is loaded once per Python worker process and kept while Spark reuses
that worker (``spark.python.worker.reuse``, on by default), so a job over many
partitions loads it once per executor core, not once per batch.

A row whose bytes cannot be decoded gets nulls and a one-line ``error``; the
job goes on.
"""

# No `from __future__ import annotations` here: PySpark reads the UDFs' type
# hints (Iterator[pd.Series] -> Iterator[pd.DataFrame]) to pick the UDF kind,
# and they must be real objects, made inside the factories where pandas is imported.
import os
import threading
from collections.abc import Iterator
from pathlib import Path

PREDICT_TYPE = (
    "struct<label:string, probability:double, "
    "top:array<struct<label:string, index:int, probability:double>>, error:string>"
)
EMBED_TYPE = "struct<embedding:array<float>, error:string>"

# Models loaded in this Python worker: (resolved path, mtime) -> convkit.api.Model.
_MODELS: dict[tuple[str, float], object] = {}
_MODELS_LOCK = threading.Lock()


def predict_udf(model_path: str | os.PathLike, top_k: int = 1, batch_size: int = 64):
    """A pandas UDF: image bytes -> struct(label, probability, top, error).

    ``top`` lists the ``top_k`` best labels with their index and probability.
    ``model_path`` must be readable where the executors run (a shared path),
    or shipped with ``spark.sparkContext.addFile(model_path)``.
    """
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    path = str(model_path)
    _check_positive("top_k", top_k)
    _check_positive("batch_size", batch_size)

    @pandas_udf(PREDICT_TYPE)
    def convkit_predict(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        for contents in batches:
            yield predict_frame(path, contents, top_k, batch_size)

    return convkit_predict


def embed_udf(
    model_path: str | os.PathLike,
    layer: str | None = None,
    batch_size: int = 64,
    normalize: bool = True,
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
            yield embed_frame(path, contents, layer, batch_size, normalize)

    return convkit_embed


# -- what runs on the executors (plain functions: testable without Spark) ------------
def predict_frame(model_path: str, contents, top_k: int, batch_size: int):
    """pandas Series of bytes -> DataFrame with the PREDICT_TYPE fields, row for row."""
    import pandas as pd

    model = cached_model(model_path)
    arrays, errors = prepare_rows(model, contents)
    readable = [i for i, array in enumerate(arrays) if array is not None]
    rows = [{"label": None, "probability": None, "top": None, "error": e} for e in errors]
    for start in range(0, len(readable), batch_size):
        chunk = readable[start : start + batch_size]
        decoded = model.task.decode(model._forward([arrays[i] for i in chunk]), top_k=top_k)
        for i, prediction in zip(chunk, decoded, strict=True):
            rows[i] = {
                "label": prediction["label"],
                "probability": float(prediction["probability"]),
                "top": [
                    {"label": t["label"], "index": int(t["index"]), "probability": t["probability"]}
                    for t in prediction["top"]
                ],
                "error": None,
            }
    return pd.DataFrame(rows, columns=["label", "probability", "top", "error"])


def embed_frame(model_path: str, contents, layer, batch_size: int, normalize: bool):
    """pandas Series of bytes -> DataFrame(embedding, error), row for row."""
    import pandas as pd

    model = cached_model(model_path)
    arrays, errors = prepare_rows(model, contents)
    readable = [i for i, array in enumerate(arrays) if array is not None]
    embeddings: list = [None] * len(arrays)
    layer = layer or model.embedding_layer()
    for start in range(0, len(readable), batch_size):
        chunk = readable[start : start + batch_size]
        vectors = embed_prepared(model, [arrays[i] for i in chunk], layer, normalize)
        for i, vector in zip(chunk, vectors, strict=True):
            embeddings[i] = vector.tolist()
    return pd.DataFrame({"embedding": embeddings, "error": errors})


def embed_prepared(model, arrays: list, layer: str, normalize: bool):
    """(R, D) float32 embeddings of already-preprocessed (C, H, W) arrays.

    The same reduction as ``convkit.api.Model.embed`` (which starts from files
    or raw images): feature maps are averaged over H and W, then L2-normalised.
    """
    import torch

    features = model._forward(arrays, layer).float()  # (R, C, H, W) or (R, D)
    if features.dim() == 4:
        features = features.mean(dim=(2, 3))
    features = features.flatten(1)
    if normalize:
        features = torch.nn.functional.normalize(features, dim=1)
    return features.cpu().numpy()


def prepare_rows(model, contents) -> tuple[list, list]:
    """Decode + preprocess each row: (C, H, W) arrays (None when unreadable) and errors."""
    from convkit.errors import ConvkitError

    arrays, errors = [], []
    for content in contents:
        if content is None:
            arrays.append(None)
            errors.append("no image bytes (null content)")
            continue
        try:
            arrays.append(model.prepare(bytes(content)))  # (C, H, W) float32
            errors.append(None)
        except ConvkitError as error:
            arrays.append(None)
            errors.append(str(error).splitlines()[0])
        except Exception as error:  # OpenCV on bytes it cannot parse, or a bad array
            arrays.append(None)
            errors.append(f"unreadable image: {type(error).__name__}: {error}".splitlines()[0])
    return arrays, errors


def cached_model(model_path: str):
    """The model at ``model_path``, loaded once per Python worker process."""
    resolved = resolve_model_path(model_path)
    key = (str(resolved), resolved.stat().st_mtime)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            from convkit.api import load

            _limit_threads_to_task()
            model = load(resolved)
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
    """Use as many torch threads as the task was given cores (spark.task.cpus)."""
    try:
        from pyspark import TaskContext

        context = TaskContext.get()
        if context is not None:
            import torch

            torch.set_num_threads(max(1, int(context.cpus())))
    except Exception:  # outside Spark: leave torch's default
        pass


def _check_positive(name: str, value: int) -> None:
    from convkit.errors import UsageError

    if not isinstance(value, int) or value < 1:
        raise UsageError(f"`{name}` must be a positive whole number. Received: {name}={value!r}")
