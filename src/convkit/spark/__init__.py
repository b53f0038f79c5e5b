"""Spark for convkit: distributed training and inference over DataFrames.

Needs the optional ``spark`` extra (``pip install 'convkit[spark]'``) and Java
17+. Importing this package does not import pyspark or torch; each function
imports them when called.

    fit_distributed(spec_path, data, config, run_dir, master, workers)
    predict_udf(model_path, top_k=1) / embed_udf(model_path, layer=None)
    predict_dataframe(model_path, glob_or_folder, master, out_parquet)
"""

from __future__ import annotations

import importlib

# Public name -> module that defines it; resolved on first use (PEP 562).
_EXPORTS = {
    "get_session": "convkit.spark.session",
    "stop_session": "convkit.spark.session",
    "check_slots": "convkit.spark.session",
    "run_on_workers": "convkit.spark.launch",
    "WorkerError": "convkit.spark.launch",
    "WorkerLostError": "convkit.spark.launch",
    "LocalCluster": "convkit.spark.local_cluster",
    "fit_distributed": "convkit.spark.training",
    "predict_udf": "convkit.spark.udfs",
    "embed_udf": "convkit.spark.udfs",
    "predict_dataframe": "convkit.spark.dataframe",
    "images_to_parquet": "convkit.spark.parquet_data",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'convkit.spark' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
