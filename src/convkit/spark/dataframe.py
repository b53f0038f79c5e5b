"""``predict_dataframe``: a folder or glob of files -> Parquet of predictions, on Spark.

Spark's ``binaryFile`` source reads the files (path, bytes), the pandas UDFs
of ``convkit.spark.udfs`` run the model next to the data, and Spark writes
one Parquet dataset with a row per file:

    path  label  probability  [top]  [embedding]  error
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from convkit.data.suffixes import AUDIO_SUFFIXES, IMAGE_SUFFIXES, extensions
from convkit.errors import DataError

# What a folder's files are filtered by (no dots, any case): convkit.data.suffixes' lists.
IMAGE_EXTENSIONS = extensions(IMAGE_SUFFIXES)
AUDIO_EXTENSIONS = extensions(AUDIO_SUFFIXES)
GLOB_CHARACTERS = set("*?[{")


def predict_dataframe(
    model_path: str | os.PathLike,
    glob_or_folder: str | os.PathLike | list,
    master: str = "local[2]",
    out_parquet: str | os.PathLike = "predictions.parquet",
    embeddings: bool = False,
    *,
    top_k: int = 1,
    layer: str | None = None,
    batch_size: int = 64,
    session=None,
    spark_conf: dict[str, str] | None = None,
    progress: bool = True,
    runtime: str = "auto",
) -> dict:
    """Predict every file under ``glob_or_folder`` and write ``out_parquet``.

    ``glob_or_folder`` may also be a list of folders, files and globs. A folder is searched recursively for the files the model reads (images,
    or recordings for an audio model); a glob (``photos/*/*.jpg``, also
    ``hdfs://…`` or ``s3a://…`` paths) is taken as given. Columns: ``path``,
    ``label``, ``probability``, ``top`` (when ``top_k`` > 1), ``embedding``
    (when ``embeddings``), and ``error`` (null, or why a file was unreadable:
    its other columns are then null). ``out_parquet`` is overwritten.

    Returns a summary: rows, errors, seconds, images_per_second, out.
    """
    from pyspark.sql import functions as F

    from convkit.api import load
    from convkit.spark.session import is_local_master, session_scope
    from convkit.spark.udfs import embed_udf, predict_udf

    model = load(model_path, runtime="torch")  # a bad model file fails here, before Spark starts
    kind = model.loaded.preprocessing.get("kind", "image")
    extensions = AUDIO_EXTENSIONS if kind == "audio" else IMAGE_EXTENSIONS
    items = glob_or_folder if isinstance(glob_or_folder, list | tuple) else [glob_or_folder]
    if not items:
        raise DataError("no input given: pass a folder, a file or a glob")
    sources = [_source_path(item) for item in items]
    out = str(out_parquet)

    with session_scope(master, session, "convkit predict", spark_conf) as session:
        model_ref = str(Path(model_path).absolute())
        if not is_local_master(session.sparkContext.master):
            # Executors may not see the driver's disk: ship the file; the UDF
            # falls back to SparkFiles.get(name) when the path is not there.
            session.sparkContext.addFile(model_ref)
        started = time.perf_counter()
        frame = read_files(session, sources, extensions)
        frame = frame.withColumn(
            "_pred", predict_udf(model_ref, top_k, batch_size, runtime)("content")
        )
        # The task's own fields (label/probability/top, boxes, text/confidence…).
        shown = [f for f in model.task.spark_fields() if f != "error" and (f != "top" or top_k > 1)]
        columns = [F.col("path"), *(F.col(f"_pred.{name}").alias(name) for name in shown)]
        if embeddings:
            frame = frame.withColumn(
                "_embed",
                embed_udf(model_ref, layer=layer, batch_size=batch_size, runtime=runtime)(
                    "content"
                ),
            )
            columns.append(F.col("_embed.embedding").alias("embedding"))
        columns.append(F.col("_pred.error").alias("error"))
        frame.select(*columns).write.mode("overwrite").parquet(out)
        seconds = time.perf_counter() - started

        written = session.read.parquet(out)
        counts = written.agg(
            F.count("*").alias("rows"), F.count("error").alias("errors")
        ).collect()[0]
        summary = {
            "rows": int(counts["rows"]),
            "errors": int(counts["errors"]),
            "seconds": round(seconds, 3),
            "images_per_second": round(counts["rows"] / max(seconds, 1e-9), 1),
            "out": out,
        }
        if progress:
            print(
                f"predicted {summary['rows']} files ({summary['errors']} unreadable) in "
                f"{seconds:.1f}s, {summary['images_per_second']:.0f} files/s -> {out}",
                file=sys.stderr,
                flush=True,
            )
        return summary


def read_files(session, sources: list[str], extensions: tuple[str, ...]):
    """A DataFrame (path, content) of the files at ``sources``.

    Folders are read recursively and their files filtered by extension (any
    case); files and globs are read as given. ``binaryFile`` also yields
    modificationTime and length, which are dropped.
    """
    from convkit.data.packed import open_part
    from convkit.data.packed_layout import has_manifest, read_layout

    frames = []
    packs = [s for s in sources if has_manifest(s)]
    for pack in packs:
        open_part(read_layout(pack), 0)  # a wrong schema is one line here, not a Java trace
    if packs:
        # A packed dataset: its rows already hold path and bytes; Spark reads
        # the part files in parallel (the manifest is not a Parquet file).
        frame = session.read.parquet(*[_parts_glob(s) for s in packs])
        frames.append(frame.select("path", "content"))
        sources = [s for s in sources if s not in packs]
    folders = [s for s in sources if not _is_glob(s) and Path(s).is_dir()]
    if folders:
        pattern = "(?i)\\.(" + "|".join(extensions) + ")$"
        frame = session.read.format("binaryFile").option("recursiveFileLookup", "true")
        frame = frame.load(folders)
        frames.append(frame.where(frame.path.rlike(pattern)))
    others = [s for s in sources if s not in folders]
    if others:
        frames.append(session.read.format("binaryFile").load(others))
    frame = frames[0]
    for other in frames[1:]:
        frame = frame.unionByName(other)
    return frame.select("path", "content")


def _parts_glob(location: str) -> str:
    return f"{location.rstrip('/')}/part-*.parquet"


def _source_path(glob_or_folder) -> str:
    """Validate a local folder or glob early; remote URIs are left to Spark."""
    text = str(glob_or_folder)
    if "://" in text:
        return text
    if _is_glob(text):
        import glob

        # Python's glob has no {a,b}; leave those patterns to Spark.
        if "{" not in text and not glob.glob(text, recursive=True):
            raise DataError(f"{text}: no file matches this pattern")
        return os.path.abspath(text)
    path = Path(text)
    if not path.exists():
        raise DataError(f"{text}: no such file or folder")
    return str(path.absolute())


def _is_glob(text: str) -> bool:
    return any(character in GLOB_CHARACTERS for character in text)
