"""How fast convkit's data loader delivers batches, next to what training consumes.

    python benchmarks/loader_speed.py                  # MNIST + 240 JPEG photos, 0/1/2 workers
    python benchmarks/loader_speed.py --photos 600 --repeats 3

Measurements (images per second, wall clock, best of --repeats passes):

  mnist in memory            60,000 MNIST digits, batch 64: index + normalise
  mnist in memory + augment  the same with crop/rotation/scale/brightness (batched warp)
  photos, W workers          a folder of JPEG photo crops (real photos: scikit-learn's
                             samples, random crops 256-px saved as JPEG), batch 32:
                             decode + resize to 224 + flip/crop/rotation + normalise
  lenet train step           forward + backward + Adam step of examples/lenet.yaml on
                             MNIST batches of 64: what MNIST training consumes
  resnet18 train step        the same for examples/resnet18.yaml on 224x224 batches of
                             16: what photo training consumes

The loader keeps up when its img/s is above its consumer's (MNIST rows are
compared with LeNet, photo rows with ResNet-18). Wall-clock
rates depend on how busy the machine is (the load average is printed with
them); images per CPU-second (this process + its worker processes) measure
the work per image and move much less with the neighbours.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (DataLoader workers)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def best_rate(run_epoch, repeats: int) -> tuple[float, float]:
    """Best (images per wall second, images per CPU second) over ``repeats`` passes.

    On a shared machine the wall rate depends on the neighbours; the CPU rate
    (work per image) much less, so both are printed.
    """
    best_wall = best_cpu = 0.0
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), cpu_seconds()
        count = run_epoch()
        wall, cpu = time.perf_counter() - start, cpu_seconds() - start_cpu
        best_wall = max(best_wall, count / wall)
        best_cpu = max(best_cpu, count / max(cpu, 1e-9))
    return best_wall, best_cpu


def count_images(source, epoch: int) -> int:
    return sum(len(y) for _, y in source.epoch(epoch))


def mnist_rates(repeats: int) -> dict[str, float]:
    from convkit.data import Augment, Preprocessing, make_batches, open_image_dataset

    train = open_image_dataset(MNIST, "train")
    pre = Preprocessing(28, 28, 1, mean="mnist", std="mnist")
    aug = Augment(crop_padding=2, rotation=10, scale=0.1, brightness=0.1)
    plain = make_batches(train, None, pre, None, batch_size=64, seed=0, progress=False)
    augmented = make_batches(train, None, pre, aug, batch_size=64, seed=0, progress=False)
    return {
        "mnist in memory": best_rate(lambda: count_images(plain, 0), repeats),
        "mnist in memory + augment": best_rate(lambda: count_images(augmented, 0), repeats),
    }


def photo_rates(count: int, repeats: int, workers_list: list[int]) -> dict[str, float]:
    from convkit.data import Augment, Preprocessing, make_batches, open_image_dataset
    from convkit.data.samples import make_photo_folder

    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_photo_folder(tmp, per_class=count // 2, size=256, seed=0)
        photos = open_image_dataset(folder)
        photos.scan(progress=False)
        pre = Preprocessing(224, 224, 3, resize="center_crop", mean="imagenet", std="imagenet")
        aug = Augment(crop_padding=16, flip=True, rotation=10)
        for workers in workers_list:
            source = make_batches(photos, None, pre, aug, batch_size=32, seed=0, workers=workers)
            rates[f"photos 224px + augment, {workers} workers"] = best_rate(
                lambda source=source: count_images(source, 0), repeats
            )
    return rates


def train_step_rate(spec_name: str, batches: list, repeats: int) -> tuple[float, float]:
    """Images/s of forward + backward + Adam steps of an example spec on given batches."""
    import torch

    from convkit.nn import build
    from convkit.spec import load_spec

    torch.manual_seed(0)
    net = build(load_spec(ROOT / "examples" / spec_name)).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    def run() -> int:
        seen = 0
        for x, y in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            optimizer.step()
            seen += len(y)
        return seen

    run()  # warm-up: first calls allocate and pick kernels
    return best_rate(run, repeats)


def lenet_batches(steps: int) -> list:
    from convkit.data import Preprocessing, make_batches, open_image_dataset

    test = open_image_dataset(MNIST, "test")
    pre = Preprocessing(28, 28, 1, mean="mnist", std="mnist")
    return list(make_batches(test, None, pre, None, batch_size=64, progress=False).epoch(0))[:steps]


def resnet_batches(steps: int) -> list:
    import torch

    generator = torch.Generator().manual_seed(0)
    return [
        (
            torch.randn(16, 3, 224, 224, generator=generator).contiguous(
                memory_format=torch.channels_last
            ),
            torch.randint(0, 1000, (16,), generator=generator),
        )
        for _ in range(steps)
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=240, help="JPEG photos in the folder")
    parser.add_argument("--workers", default="0,1,2", help="worker counts to try, comma-separated")
    parser.add_argument("--repeats", type=int, default=2, help="passes per measurement (best kept)")
    parser.add_argument("--train-steps", type=int, default=100, help="LeNet steps to time")
    parser.add_argument("--resnet-steps", type=int, default=3, help="ResNet-18 steps to time")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if not MNIST.is_dir():
        print(f"MNIST not found at {MNIST}", file=sys.stderr)
        return 2

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    rates = {}
    rates.update(mnist_rates(args.repeats))
    rates.update(photo_rates(args.photos, args.repeats, [int(w) for w in args.workers.split(",")]))
    lenet = train_step_rate("lenet.yaml", lenet_batches(args.train_steps), args.repeats)
    rates["lenet train step, batch 64 (consumer)"] = lenet
    resnet = train_step_rate("resnet18.yaml", resnet_batches(args.resnet_steps), 1)
    rates["resnet18 224px train step, batch 16 (consumer)"] = resnet
    width = max(len(name) for name in rates)
    print(f"{'':<{width}}  {'img/s':>10}  {'img/CPU-s':>10}  wall ratio to its consumer")
    for name, (wall, cpu) in rates.items():
        consumer = lenet if name.startswith("mnist") else resnet
        ratio = "" if "consumer" in name else f"{wall / consumer[0]:8.1f}x"
        print(f"{name:<{width}}  {wall:10,.0f}  {cpu:10,.0f}  {ratio}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
