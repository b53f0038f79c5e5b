"""The one loaded-model object every front end predicts and embeds through.

    from convkit.inference import open_model
    model = open_model("runs/lenet/model.convkit", runtime="auto")
    model.predict(["digit.png"], top_k=3)

``InferenceModel`` (engine.py) turns inputs into predictions and embeddings;
the runtime under it (runtimes.py) is eager PyTorch or ONNX Runtime on an
exported graph (onnx_export.py, cached by onnx_cache.py). The CLI verbs, the
server, the Spark UDFs and ``convkit.api`` all call it, so they agree.
``Detector`` and ``TextReader`` (views.py) are its task-shaped views.
"""

from convkit.inference.engine import InferenceModel, open_model
from convkit.inference.views import Detector, TextReader

__all__ = ["Detector", "InferenceModel", "TextReader", "open_model"]
