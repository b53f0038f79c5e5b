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

from convkit.nn import build
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


def training_step(net, optimizer, loss_fn, x, y) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss_fn(net(x), y).backward()
    optimizer.step()


def interleaved_times(nets, batches, steps, train: bool) -> dict[str, list[float]]:
    """CPU seconds per step of each net, the nets taking turns step by step.

    Taking turns and counting this thread's CPU time (not wall time) keeps the
    comparison fair on a machine shared with other jobs.
    """
    loss_fn = nn.CrossEntropyLoss()
    optimizers = {
        name: torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9) for name, net in nets.items()
    }
    times: dict[str, list[float]] = {name: [] for name in nets}
    for net in nets.values():
        net.train(train)
    with torch.inference_mode(not train):
        for step in range(steps):
            x, y = batches[step % len(batches)]
            order = list(nets.items()) if step % 2 == 0 else list(nets.items())[::-1]
            for name, net in order:
                start = time.thread_time()
                if train:
                    training_step(net, optimizers[name], loss_fn, x, y)
                else:
                    net(x)
                times[name].append(time.thread_time() - start)
    return {name: values[steps // 10 :] for name, values in times.items()}  # skip warm-up


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

    nets = {"convkit": convkit_net, "plain": plain_net}
    print(
        f"LeNet, batch {args.batch_size}, {args.threads} thread(s), channels_last, "
        f"torch {torch.__version__}; median CPU ms per step over {args.steps} steps"
    )
    for train, label in ((True, "training step"), (False, "inference forward")):
        times = interleaved_times(nets, batches, args.steps, train)
        convkit_ms = statistics.median(times["convkit"]) * 1000
        plain_ms = statistics.median(times["plain"]) * 1000
        print(
            f"{label:18s} convkit {convkit_ms:7.3f} ms   plain PyTorch {plain_ms:7.3f} ms   "
            f"plain/convkit = {plain_ms / convkit_ms:.3f}"
        )

    # `convkit summary`: the whole command, and the spec layer's own part in a fresh process
    own_code = (
        "import time; start = time.perf_counter()\n"
        "from convkit.cli.summary import load_spec_or_zoo\n"
        "from convkit.spec.summary import format_summary, summarize\n"
        "format_summary(summarize(load_spec_or_zoo('examples/lenet.yaml')))\n"
        "print(time.perf_counter() - start)"
    )
    whole, own = [], []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "convkit", "summary", "examples/lenet.yaml"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        whole.append(time.perf_counter() - start)
        result = subprocess.run(
            [sys.executable, "-c", own_code], cwd=ROOT, check=True, capture_output=True, text=True
        )
        own.append(float(result.stdout))
    print(
        f"`convkit summary examples/lenet.yaml`: whole process median {statistics.median(whole):.3f} s; "
        f"imports + parse + infer + format median {statistics.median(own):.3f} s"
    )


if __name__ == "__main__":
    main()
