"""Detection speed on CPU: images/s at batch 1 and 16, and NMS time per image.

End to end means what `convkit detect` does per image: letterbox + normalise
(OpenCV), forward, decode, confidence filter, NMS, boxes mapped back to the
photo. "forward only" is the bare network on a ready tensor, the floor any
detector built on this network pays; the ratio shows the overhead of the rest.
NMS is timed twice: on a real model's output (after the confidence
threshold) and on a stress case of 1,000 random candidate boxes.

    nice python benchmarks/detect_speed.py --model /tmp/detect_quality/run/model.convkit
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def rate(function, items_per_call: int, seconds: float) -> float:
    """Items per second of ``function`` over about ``seconds`` (after one warm-up call)."""
    function()
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        function()
        calls += 1
    return calls * items_per_call / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model",
        help="a trained detector (default: examples/tinyyolo_scenes.yaml, random weights)",
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from convkit.detect.boxes import batched_nms
    from convkit.detect.scenes import make_scene
    from convkit.inference import Detector

    torch.set_num_threads(args.threads)
    model_path = args.model
    if model_path is None:
        from convkit.detect.preprocess import DetectPreprocessing
        from convkit.modelfile import save_model
        from convkit.nn import build
        from convkit.spec import load_spec
        from convkit.tasks import task_for_spec

        spec = load_spec(REPO / "examples" / "tinyyolo_scenes.yaml")
        model_path = Path("/tmp/detect_speed_random.convkit")
        save_model(
            model_path,
            build(spec),
            task=task_for_spec(spec),
            preprocessing=DetectPreprocessing.for_spec(spec).to_dict(),
        )
    detector = Detector(model_path)
    rng = np.random.default_rng(0)
    height = detector.preprocessing.height
    photos = [make_scene(rng, height, len(detector.labels))[0] for _ in range(16)]

    results = {
        "model": str(model_path),
        "input": f"{height}x{detector.preprocessing.width}",
        "threads": args.threads,
    }
    for batch in (1, 16):
        images = photos[:batch]
        results[f"end_to_end_img_per_s_batch{batch}"] = round(
            rate(lambda im=images: detector.detect(im), batch, args.seconds), 1
        )
        tensor = torch.from_numpy(np.stack([detector.preprocessing.apply(p) for p in images]))
        tensor = tensor.contiguous(memory_format=torch.channels_last)

        def forward(x=tensor):
            with torch.inference_mode():
                detector.net(x)

        results[f"forward_only_img_per_s_batch{batch}"] = round(
            rate(forward, batch, args.seconds), 1
        )

    # NMS on real output: decode + threshold + NMS per image
    tensor = torch.from_numpy(np.stack([detector.preprocessing.apply(p) for p in photos]))
    with torch.inference_mode():
        output = detector.net(tensor)
    per_image = 1 / rate(
        lambda: detector.task.detect(output, detector.conf, detector.iou), 16, args.seconds
    )
    results["decode_and_nms_ms_per_image"] = round(per_image * 1000, 3)
    corners = torch.rand(1000, 2) * 400
    boxes = torch.cat([corners, corners + 10 + torch.rand(1000, 2) * 60], dim=1)
    scores, labels = torch.rand(1000), torch.randint(0, 3, (1000,))
    stress = 1 / rate(lambda: batched_nms(boxes, scores, labels, 0.45), 1, args.seconds)
    results["nms_1000_boxes_ms"] = round(stress * 1000, 2)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
