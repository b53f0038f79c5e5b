"""Save a held-out digit as a PNG, then ask `convkit predict` about it in a fresh process.

    python examples/predict_a_digit.py runs/demo/model.convkit

The digit comes from the test split of the data the model was trained on
(MNIST's t10k files, or scikit-learn's digits), so the model never saw it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main(model_path: str) -> int:
    import cv2

    from convkit.data import open_image_dataset
    from convkit.modelfile import read_document

    document, _ = read_document(model_path)
    data = document["metadata"].get("data", "sklearn-digits")
    test_set = open_image_dataset(data, split="test", options={"channels": 1})
    image, label = test_set.load(7)
    png = Path(model_path).with_name("digit.png")
    cv2.imwrite(str(png), image[:, :, 0])
    print(f"\n{png}: a {test_set.classes[label]} from the test split of {data}")
    # a fresh process that knows only the model file
    return subprocess.call([sys.executable, "-m", "convkit", "predict", model_path, str(png), "--top", "3"])


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python examples/predict_a_digit.py MODEL.convkit")
    sys.exit(main(sys.argv[1]))
