"""How much does convkit's built ConvNet cost over a hand-written PyTorch module?

Both run the same LeNet (examples/lenet.yaml) with the same weights, in
channels_last, for the same training steps (forward, cross-entropy, backward,
SGD) on random MNIST-sized batches; then the inference forward alone. Reports
milliseconds per step and the ratio plain / convkit (>= 1 means convkit is as
fast or faster). Also times `convkit summary` on LeNet (spec only, no torch).

    nice -n 10 python benchmarks/build_forward_overhead.py --steps 200
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

from convkit.build import build
from convkit.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]


class PlainLeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.dense = nn.Linear(800, 500)
        self.out = nn.Linear(500, 10)

    def forward(self, x):  # (N, 1, 28, 28) -> (N, 10)
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.relu(self.dense(x.flatten(1)))
        return self.out(x)


def copy_weights(source: nn.Module, target: PlainLeNet) -> None:
    layers = source.layers
    pairs = [
        (layers["conv1"].conv, target.conv1),
        (layers["conv2"].conv, target.conv2),
        (layers["dense1"].linear, target.dense),
        (layers["output"].linear, target.out),
    ]
    with torch.no_grad():
        for a, b in pairs:
            b.weight.copy_(a.weight)
            b.bias.copy_(a.bias)


def time_training(net, batches, steps) -> float:
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    net.train()
    times = []
    for step in range(steps):
        x, y = batches[step % len(batches)]
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times[steps // 10 :]) * 1000  # skip warm-up


def time_inference(net, batches, steps) -> float:
    net.eval()
    times = []
    with torch.inference_mode():
        for step in range(steps):
            x, _ = batches[step % len(batches)]
            start = time.perf_counter()
            net(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times[steps // 10 :]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    convkit_net = build(load_spec(ROOT / "examples" / "lenet.yaml"))
    plain_net = PlainLeNet()
    copy_weights(convkit_net, plain_net)
    convkit_net = convkit_net.to(memory_format=torch.channels_last)
    plain_net = plain_net.to(memory_format=torch.channels_last)
    batches = [
        (
            torch.randn(args.batch_size, 1, 28, 28).contiguous(memory_format=torch.channels_last),
            torch.randint(0, 10, (args.batch_size,)),
        )
        for _ in range(8)
    ]
    with torch.no_grad():
        torch.testing.assert_close(convkit_net(batches[0][0]), plain_net(batches[0][0]))

    # alternate the two so that load on the shared machine hits both alike
    results = {"train": {"convkit": [], "plain": []}, "infer": {"convkit": [], "plain": []}}
    for _ in range(3):
        for name, net in (("convkit", convkit_net), ("plain", plain_net)):
            results["train"][name].append(time_training(net, batches, args.steps))
            results["infer"][name].append(time_inference(net, batches, args.steps))
    print(
        f"LeNet, batch {args.batch_size}, {args.threads} thread(s), channels_last, torch {torch.__version__}"
    )
    for kind, label in (("train", "training step"), ("infer", "inference forward")):
        convkit_ms = min(results[kind]["convkit"])
        plain_ms = min(results[kind]["plain"])
        print(
            f"{label:18s} convkit {convkit_ms:7.3f} ms   plain PyTorch {plain_ms:7.3f} ms   "
            f"plain/convkit = {plain_ms / convkit_ms:.3f}"
        )

    runs = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "convkit", "summary", "examples/lenet.yaml"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        runs.append(time.perf_counter() - start)
    print(
        f"`convkit summary examples/lenet.yaml` (whole process): best {min(runs):.3f} s, "
        f"median {statistics.median(runs):.3f} s"
    )


if __name__ == "__main__":
    main()
