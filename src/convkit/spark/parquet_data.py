"""``images_to_parquet``: a class folder as a Parquet image dataset, written by Spark.

The result is what ``convkit.data.parquet.ParquetImageDataset`` reads, so
``convkit train --data photos.parquet`` and ``fit_distributed`` train on it.
"""

from __future__ import annotations

from convkit.data.parquet import LABEL_COLUMN


def images_to_parquet(folder, out_parquet, master: str = "local[2]", session=None) -> int:
    """Write a class folder (``folder/<label>/*.png``) as a Parquet image dataset; returns rows.

    The label is the name of each file's parent folder. Spark reads the files
    (``binaryFile``), so ``folder`` may be any path Spark can read.
    """
    from pyspark.sql import functions as F

    from convkit.spark.dataframe import IMAGE_EXTENSIONS, _source_path, read_files
    from convkit.spark.session import session_scope

    source = _source_path(folder)
    with session_scope(master, session, "convkit images to parquet") as session:
        frame = read_files(session, [source], IMAGE_EXTENSIONS)
        label = F.element_at(F.split(F.col("path"), "/"), -2)  # .../<label>/<file>
        frame = frame.select("path", "content", label.alias(LABEL_COLUMN))
        frame.write.mode("overwrite").parquet(str(out_parquet))
        return session.read.parquet(str(out_parquet)).count()
