"""The CUDA path end to end, on a machine with an NVIDIA GPU (it refuses to run without one).

1. train LeNet on MNIST for 2 epochs on CUDA (cuDNN autotune, mixed precision:
   what `convkit train --device cuda` does) and check the test accuracy;
2. predict on CUDA (torch runtime) and check it agrees with the CPU;
3. export to ONNX and run ONNX Runtime's CUDA provider when it is installed
   (`pip install onnxruntime-gpu`), checking it agrees with torch;
4. ResNet-50 (bottleneck blocks, built from a convkit spec) training images/s
   through convkit's Trainer ÷ a plain PyTorch AMP loop (channels-last,
   autocast, GradScaler for float16) on the same network, in the same run.

    python benchmarks/gpu_check.py                    # about 2-4 minutes on one GPU
    python benchmarks/gpu_check.py --resnet-steps 30 --batch 64

Prints one JSON object; exit 0 when every check passed, 1 when one failed,
2 when there is no CUDA GPU (nothing is run then).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "data" / "mnist"


def resnet50_spec(classes: int = 1000, size: int = 224) -> dict:
    """ResNet-50 (He et al. 2015, bottleneck v1.5: stride on the 3x3) as a convkit graph spec."""

    def conv(name, inputs, filters, kernel, stride=1):
        return {
            "type": "conv2d",
            "name": name,
            "inputs": [inputs],
            "filters": filters,
            "kernel": kernel,
            "stride": stride,
            "padding": kernel // 2,
            "bias": False,
            "activation": "identity",
        }

    def bn(name, inputs, relu=True):
        layers = [{"type": "batch_norm", "name": f"{name}_bn", "inputs": [inputs]}]
        if relu:
            layers.append({"type": "activation", "name": f"{name}_relu", "function": "relu"})
        return layers

    layers = [conv("stem", "input", 64, 7, 2), *bn("stem", "stem")]
    layers.append({"type": "max_pool", "name": "stem_pool", "kernel": 3, "stride": 2, "padding": 1})
    previous, channels = "stem_pool", 64
    for stage, (width, blocks, stride) in enumerate(
        [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)], start=1
    ):
        for block in range(blocks):
            name = f"s{stage}b{block}"
            step = stride if block == 0 else 1
            layers += [conv(f"{name}_a", previous, width, 1), *bn(f"{name}_a", f"{name}_a")]
            layers += [
                conv(f"{name}_b", f"{name}_a_relu", width, 3, step),
                *bn(f"{name}_b", f"{name}_b"),
            ]
            layers += [
                conv(f"{name}_c", f"{name}_b_relu", width * 4, 1),
                *bn(f"{name}_c", f"{name}_c", relu=False),
            ]
            shortcut = previous
            if block == 0 and (step != 1 or channels != width * 4):
                layers += [
                    conv(f"{name}_short", previous, width * 4, 1, step),
                    *bn(f"{name}_short", f"{name}_short", relu=False),
                ]
                shortcut = f"{name}_short_bn"
            layers.append(
                {"type": "add", "name": f"{name}_add", "inputs": [f"{name}_c_bn", shortcut]}
            )
            layers.append({"type": "activation", "name": f"{name}_out", "function": "relu"})
            previous, channels = f"{name}_out", width * 4
    layers.append({"type": "global_avg_pool", "name": "pool"})
    layers.append({"type": "output", "name": "output", "classes": classes})
    return {"name": "resnet50", "input": f"{size}x{size}x3", "layers": layers}


class SyntheticBatches:
    """A BatchSource of random (N, 3, H, W) images and labels, made once on the GPU."""

    def __init__(self, steps: int, batch: int, size: int, classes: int):
        import torch

        self.steps, self.num_examples, self.skipped = steps, steps * batch, []
        generator = torch.Generator(device="cuda").manual_seed(0)
        self.x = torch.randn(batch, 3, size, size, device="cuda", generator=generator)
        self.y = torch.randint(0, classes, (batch,), device="cuda", generator=generator)

    def __len__(self) -> int:
        return self.steps

    def epoch(self, epoch: int, start: int = 0):
        for _ in range(start, self.steps):
            yield self.x, self.y


def check_lenet(work: Path) -> dict:
    import numpy as np

    from convkit import api
    from convkit.train import TrainConfig

    started = time.perf_counter()
    report = api.fit(
        REPO / "examples" / "lenet.yaml",
        str(MNIST),
        run_dir=work / "lenet",
        config=TrainConfig(epochs=2, device="cuda", batch_size=128),
        progress=False,
    )
    seconds = time.perf_counter() - started
    probe = [str(p) for p in sorted((work / "pngs").glob("*.png"))]
    on_gpu = api.load(report.model_path, device="cuda", runtime="torch")
    on_cpu = api.load(report.model_path, device="cpu", runtime="torch")
    gpu, cpu = on_gpu.predict(probe), on_cpu.predict(probe)
    agree = float(np.mean([a["label"] == b["label"] for a, b in zip(gpu, cpu, strict=True)]))
    result = {
        "train_seconds_2_epochs": round(seconds, 1),
        "images_per_second": [row["images_per_second"] for row in report.history],
        "test_accuracy": report.test["accuracy"] if report.test else None,
        "gpu_cpu_label_agreement": agree,
        "ok": bool(report.test and report.test["accuracy"] > 0.97 and agree >= 0.99),
    }
    result.update(check_onnx_cuda(report.model_path, probe, gpu))
    return result


def check_onnx_cuda(model_path, probe: list[str], expected: list[dict]) -> dict:
    try:
        import onnxruntime as ort
    except ImportError:
        return {"onnx_cuda": "onnxruntime not installed"}
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return {"onnx_cuda": "no CUDAExecutionProvider (pip install onnxruntime-gpu)"}
    from convkit import api

    model = api.load(model_path, device="cuda", runtime="onnx")
    got = model.predict(probe)
    providers = model.runtime.session.get_providers()
    agree = sum(a["label"] == b["label"] for a, b in zip(got, expected, strict=True)) / len(got)
    return {"onnx_cuda_providers": providers, "onnx_cuda_label_agreement": agree}


def resnet50_ratio(steps: int, batch: int, size: int) -> dict:
    import torch

    from convkit.nn import build
    from convkit.spec import NetSpec
    from convkit.tasks import task_for_spec
    from convkit.train import TrainConfig, Trainer
    from convkit.train.environment import amp_dtype

    spec = NetSpec.from_dict(resnet50_spec(size=size))
    dtype = amp_dtype(torch.device("cuda"), None)

    def plain() -> float:
        torch.manual_seed(0)
        net = build(spec).cuda().to(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
        data = SyntheticBatches(steps, batch, size, 1000)
        for index, (x, y) in enumerate(data.epoch(0)):
            if index == 3:  # after cuDNN autotuning
                torch.cuda.synchronize()
                started = time.perf_counter()
            x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast("cuda", dtype=dtype):
                loss = torch.nn.functional.cross_entropy(net(x), y)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        torch.cuda.synchronize()
        return (steps - 3) * batch / (time.perf_counter() - started)

    def convkit() -> float:
        torch.manual_seed(0)
        config = TrainConfig(epochs=2, device="cuda", batch_size=batch)
        with tempfile.TemporaryDirectory() as run_dir:
            trainer = Trainer(
                build(spec),
                task_for_spec(spec),
                SyntheticBatches(steps, batch, size, 1000),
                None,
                config,
                run_dir,
                preprocessing={},
                progress=False,
            )
            result = trainer.fit()
        return result.history[-1]["images_per_second"]  # epoch 2: after autotuning

    torch.backends.cudnn.benchmark = True
    plain_rate, ours = plain(), convkit()
    return {
        "autocast_dtype": str(dtype),
        "plain_amp_img_per_s": round(plain_rate, 1),
        "convkit_img_per_s": round(ours, 1),
        "ratio": round(ours / plain_rate, 3),
    }


def write_probe_pngs(folder: Path, count: int = 256) -> None:
    import cv2

    from convkit.data import open_image_dataset

    folder.mkdir(parents=True, exist_ok=True)
    dataset = open_image_dataset(str(MNIST))
    for i in range(count):
        cv2.imwrite(str(folder / f"{i:04d}.png"), dataset.load(i)[0])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resnet-steps", type=int, default=40, help="ResNet-50 steps per epoch")
    parser.add_argument("--batch", type=int, default=64, help="ResNet-50 batch size")
    parser.add_argument("--size", type=int, default=224, help="ResNet-50 input size")
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        print(
            "gpu_check: error: no CUDA GPU is visible to PyTorch "
            f"(torch {torch.__version__}, CUDA build {torch.version.cuda}); "
            "run this on a machine with an NVIDIA GPU and a CUDA build of torch",
            file=sys.stderr,
        )
        return 2
    results = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        work = Path(tmp)
        os.environ.setdefault("CONVKIT_CACHE_DIR", str(work / "cache"))
        write_probe_pngs(work / "pngs")
        results["lenet"] = check_lenet(work)
        results["resnet50_training"] = resnet50_ratio(args.resnet_steps, args.batch, args.size)
    print(json.dumps(results, indent=2))
    return 0 if results["lenet"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
