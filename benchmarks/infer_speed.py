"""Inference speed: ONNX Runtime vs eager PyTorch, and `convkit predict` vs a hand-written loop.

Part 1 (forward pass, same module, same input, one run): convkit's torch
runtime (``ConvNet`` under ``inference_mode``, what every front end ran before
the ONNX runtime) against convkit's ONNX runtime (``OnnxRuntime.run``, with
the session it picks for the batch size) on the graph `convkit export` writes,
for LeNet at batch 1 and 64 and ResNet-18 224x224 at batch 1 and 64. Each
figure is the median of at least ``--repeats`` timed calls (and of enough
to fill half a second) after a warm-up; max |diff|
of the outputs is printed beside.

Part 2 (end to end): `convkit predict MODEL folder/ --json` on N MNIST PNGs in
a subprocess, for both runtimes, against the loop a user could write by hand
(``cv2.imread`` + normalise + ONNX Runtime at batch 64) in this process.
Start-up is measured as the same command on one image; images/s after
start-up = (N - 1) / (wall(N) - wall(1)). With ``--baseline-src`` the same is
measured for an older checkout's `convkit predict` (its own model file, in
its own format), so "today's" speed is taken in the same run:

    git worktree add /tmp/base 482dcb0               # convkit before the inference engine
    python benchmarks/infer_speed.py --baseline-src /tmp/base/src
    python benchmarks/infer_speed.py --images 2000 --repeats 5 --skip-resnet
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "data" / "mnist"


def save_random_model(spec_path: Path, out: Path, labels: list[str] | None = None) -> Path:
    """The spec built with random weights and its default preprocessing, saved as a model file."""
    import torch

    from convkit.modelfile import save_model

    try:
        from convkit.nn import build
    except ImportError:  # a checkout from before build/ was renamed nn/ (the baseline)
        from convkit.build import build
    from convkit.spec import load_spec
    from convkit.tasks import task_for_spec

    torch.manual_seed(0)
    spec = load_spec(spec_path)
    task = task_for_spec(spec)
    if labels is not None:
        task.labels = labels
    preprocessing = task.default_preprocessing(spec, None, {})
    save_model(out, build(spec).eval(), task=task, preprocessing=preprocessing.to_dict())
    return out


def median_seconds(function, repeats: int) -> float:
    """Median of at least ``repeats`` timed calls, and of enough to fill ~0.5 s."""
    function()  # warm-up: allocations, kernel choice
    started = time.perf_counter()
    function()
    once = time.perf_counter() - started
    times = []
    for _ in range(max(repeats, min(5000, int(0.5 / max(once, 1e-6))))):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def forward_pass(model_path: Path, batch: int, repeats: int) -> dict:
    import numpy as np
    import torch

    from convkit.inference.onnx_cache import cached_graph
    from convkit.inference.runtimes import OnnxRuntime
    from convkit.modelfile import load_model

    loaded = load_model(model_path)
    spec = loaded.spec.input
    x = np.random.default_rng(0).standard_normal(
        (batch, spec.channels, spec.height, spec.width), dtype=np.float32
    )
    # convkit's own ONNX runtime, with the sessions it picks per batch size (runtimes.py)
    runtime = OnnxRuntime(cached_graph(loaded), None)
    tensor = torch.from_numpy(x)

    def eager():
        with torch.inference_mode():
            return loaded.net(tensor)

    def onnx():
        return runtime.run(x)

    diff = float(np.abs(eager().numpy() - onnx()).max())
    eager_s, onnx_s = median_seconds(eager, repeats), median_seconds(onnx, repeats)
    return {
        "batch": batch,
        "eager_ms": round(eager_s * 1000, 3),
        "onnx_ms": round(onnx_s * 1000, 3),
        "ratio": round(onnx_s / eager_s, 3),
        "max_abs_diff": diff,
    }


def write_mnist_pngs(folder: Path, count: int) -> list[Path]:
    import cv2

    from convkit.data import open_image_dataset

    folder.mkdir(parents=True, exist_ok=True)
    dataset = open_image_dataset(str(MNIST))
    paths = []
    for i in range(count):
        image, _ = dataset.load(i % len(dataset))
        path = folder / f"{i:05d}.png"
        cv2.imwrite(str(path), image)
        paths.append(path)
    return paths


def predict_wall(model: Path, target: Path, runtime: str | None, src: Path = REPO / "src") -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, "-m", "convkit", "predict", str(model), str(target), "--json"]
    if runtime is not None:
        command += ["--runtime", runtime]
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def baseline_model(src: Path, out: Path) -> Path:
    """LeNet saved by the older checkout at ``src`` (its model-file format)."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
        "from infer_speed import save_random_model; "
        "save_random_model(Path(sys.argv[2]), Path(sys.argv[3]))"
    )
    env = {**os.environ, "PYTHONPATH": str(src)}
    lenet = REPO / "examples" / "lenet.yaml"
    command = [sys.executable, "-c", code, str(REPO / "benchmarks"), str(lenet), str(out)]
    subprocess.run(command, check=True, env=env)
    return out


def end_to_end(model: Path, folder: Path, first: Path, count: int, runtime, src) -> dict:
    predict_wall(model, first, runtime, src)  # the ONNX cache is made here, not timed
    one = min(predict_wall(model, first, runtime, src) for _ in range(3))
    many = min(predict_wall(model, folder, runtime, src) for _ in range(2))
    return {
        "startup_s": round(one, 3),
        "wall_s": round(many, 3),
        "img_per_s_after_startup": round((count - 1) / max(many - one, 1e-9), 1),
    }


def hand_written_loop(model: Path, paths: list[Path], batch: int = 64) -> float:
    """Images/s of cv2.imread + normalise + ONNX Runtime, the loop a user would write."""
    import cv2
    import numpy as np
    import onnxruntime as ort
    import torch

    from convkit.inference.onnx_cache import cached_graph
    from convkit.modelfile import load_model

    loaded = load_model(model)
    mean = np.float32(loaded.preprocessing["mean"][0])
    std = np.float32(loaded.preprocessing["std"][0])
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(
        str(cached_graph(loaded)), options, providers=["CPUExecutionProvider"]
    )
    started = time.perf_counter()
    labels = []
    for start in range(0, len(paths), batch):
        images = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in paths[start : start + batch]]
        x = (np.stack(images)[:, None].astype(np.float32) / 255.0 - mean) / std  # (N, 1, 28, 28)
        labels += session.run(["output"], {"input": x})[0].argmax(1).tolist()
    return len(paths) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per forward figure")
    parser.add_argument("--images", type=int, default=10000, help="MNIST PNGs for part 2")
    parser.add_argument("--skip-resnet", action="store_true", help="LeNet only in part 1")
    parser.add_argument("--skip-predict", action="store_true", help="part 1 only")
    parser.add_argument(
        "--baseline-src", type=Path, help="an older checkout's src/ to time as today's predict"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="infer_speed_") as tmp:
        root = Path(tmp)
        os.environ.setdefault("CONVKIT_CACHE_DIR", str(root / "cache"))
        lenet = save_random_model(REPO / "examples" / "lenet.yaml", root / "lenet.convkit")
        results: dict = {"forward": {"lenet": []}}
        for batch in (1, 64):
            results["forward"]["lenet"].append(forward_pass(lenet, batch, args.repeats))
        if not args.skip_resnet:
            resnet = save_random_model(
                REPO / "examples" / "resnet18.yaml", root / "resnet18.convkit"
            )
            results["forward"]["resnet18_224"] = [
                forward_pass(resnet, 1, args.repeats),
                forward_pass(resnet, 64, max(2, args.repeats // 4)),
            ]
        print(json.dumps(results, indent=2), flush=True)
        if args.skip_predict:
            return 0

        paths = write_mnist_pngs(root / "pngs", args.images)
        folder, count = root / "pngs", len(paths)
        result: dict = {"images": count}
        for runtime in ("torch", "onnx"):
            result[runtime] = end_to_end(lenet, folder, paths[0], count, runtime, REPO / "src")
        if args.baseline_src:
            old = baseline_model(args.baseline_src, root / "lenet_baseline.convkit")
            result["baseline"] = end_to_end(old, folder, paths[0], count, None, args.baseline_src)
        hand = max(hand_written_loop(lenet, paths) for _ in range(2))
        result["hand_written_cv2_ort_img_per_s"] = round(hand, 1)
        rate = result["onnx"]["img_per_s_after_startup"]
        result["onnx_vs_hand_written"] = round(hand / rate, 3)  # target <= 1.5
        result["onnx_vs_torch"] = round(rate / result["torch"]["img_per_s_after_startup"], 3)
        if args.baseline_src:
            base = result["baseline"]
            result["onnx_vs_baseline"] = round(rate / base["img_per_s_after_startup"], 3)
            result["startup_vs_baseline"] = round(
                result["onnx"]["startup_s"] / base["startup_s"], 3
            )
        end_to_end_result = result
        print(json.dumps({"predict": end_to_end_result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
