"""A real Spark job over a reader and a detector: typed columns from the task."""

from __future__ import annotations

import pytest

from inference_fixtures import model_zoo

pytest.importorskip("pyspark")
pytestmark = pytest.mark.slow

# the loopback session of test_spark_local (its JVMs are ended by PID)
from test_spark_local import spark  # noqa: E402, F401


@pytest.mark.parametrize("kind,columns", [("ocr", ["text", "confidence"]), ("detect", ["boxes"])])
def test_spark_predictions_match_the_api_for_every_task(spark, tmp_path_factory, kind, columns):  # noqa: F811
    import pandas as pd

    from convkit import api
    from convkit.spark.dataframe import predict_dataframe

    root = tmp_path_factory.mktemp(f"spark-{kind}")
    model, inputs = model_zoo(root)[kind]
    folder = root / "in"
    folder.mkdir()
    for path in inputs:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n but not really")
    out = root / "out.parquet"
    summary = predict_dataframe(model, str(folder), out_parquet=out, session=spark, progress=False)
    assert summary["rows"] == len(inputs) + 1 and summary["errors"] == 1
    frame = pd.read_parquet(out).sort_values("path").reset_index(drop=True)
    assert set(columns) <= set(frame.columns) and "error" in frame.columns
    good = frame[frame.error.isna()]
    expected = api.load(model).predict(list(good.path.str.replace("file:", "")), top_k=1)
    for (_, row), prediction in zip(good.iterrows(), expected, strict=True):
        if kind == "ocr":
            assert row.text == prediction["text"]
            assert row.confidence == pytest.approx(prediction["confidence"], abs=1e-6)
        else:
            assert [b["box"].tolist() for b in row.boxes] == [b["box"] for b in prediction["boxes"]]
