"""Speed: fine-tuning a pretrained-layout zoo network, convkit's Trainer next to a plain loop.

Both run on the same ConvNet module (weights as imported; here random, since no
download happens), the same synthetic 224x224 batches, AdamW, channels-last,
and the same mixed precision (autocast: bf16 on CPUs with native bf16, fp16 +
GradScaler on CUDA, as the Trainer chooses). Three numbers, in training images/s:

  trainer frozen     convkit Trainer, --freeze-epochs: backbone (and its BN) frozen, head learns
  trainer full       convkit Trainer, everything trains (backbone at lr x 0.1)
  plain loop         a hand-written PyTorch loop (zero_grad, autocast, backward, step)

The Trainer's number is its own per-epoch img/s (train steps only, no validation
or checkpoint); each phase runs --warmup steps untimed first.

    nice python benchmarks/finetune_speed.py                                  # CPU, ResNet-18 at 112
    python benchmarks/finetune_speed.py --arch resnet50 --size 224 --device cuda --batch-size 64
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time


class SyntheticBatches:
    """A BatchSource of fixed random batches (what the Trainer consumes)."""

    def __init__(self, steps: int, batch_size: int, size: int, classes: int):
        import torch

        generator = torch.Generator().manual_seed(0)
        self.batches = [
            (
                torch.randn(batch_size, 3, size, size, generator=generator).contiguous(
                    memory_format=torch.channels_last
                ),
                torch.randint(0, classes, (batch_size,), generator=generator),
            )
            for _ in range(min(steps, 4))
        ]
        self.steps = steps
        self.num_examples = steps * batch_size
        self.skipped = []

    def __len__(self):
        return self.steps

    def epoch(self, epoch, start=0):
        for step in range(start, self.steps):
            yield self.batches[step % len(self.batches)]


def trainer_rate(arch, args, frozen: bool) -> float:
    from convkit.classify.task import ClassifyTask
    from convkit.nn import build
    from convkit.train import TrainConfig, Trainer
    from convkit.train.transfer import FreezeCallback
    from convkit.zoo import get_spec

    net = build(get_spec(arch, classes=args.classes, input=f"{args.size}x{args.size}x3"))
    backbone = [layer.name for layer in net.spec.layers if layer.name != "output"]
    net.backbone_layers = backbone
    config = TrainConfig(
        epochs=2,
        batch_size=args.batch_size,
        optimizer="adamw",
        lr=1e-3,
        schedule="none",
        device=args.device,
        backbone_lr_scale=0.1,
        threads=args.threads,
    )
    callbacks = [FreezeCallback(backbone, unfreeze_epoch=2 if frozen else 0)]
    batches = SyntheticBatches(args.steps, args.batch_size, args.size, args.classes)
    with tempfile.TemporaryDirectory() as run_dir:
        task = ClassifyTask(num_classes=args.classes)
        pre = {"kind": "image", "height": args.size, "width": args.size, "channels": 3}
        trainer = Trainer(
            net,
            task,
            batches,
            None,
            config,
            run_dir,
            preprocessing=pre,
            callbacks=callbacks,
            progress=False,
        )
        result = trainer.fit()
    return result.history[-1]["images_per_second"]  # epoch 2: warm


def plain_rate(arch, args) -> float:
    import torch

    from convkit.nn import build
    from convkit.train.environment import amp_dtype, choose_device
    from convkit.zoo import get_spec

    device = choose_device(args.device)
    net = build(get_spec(arch, classes=args.classes, input=f"{args.size}x{args.size}x3"))
    net = net.to(device, memory_format=torch.channels_last).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    dtype = amp_dtype(device, None)
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    batches = SyntheticBatches(args.steps, args.batch_size, args.size, args.classes)

    def step(x, y):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = torch.nn.functional.cross_entropy(net(x), y)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()

    for x, y in list(batches.epoch(0))[: args.warmup]:
        step(x, y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for x, y in batches.epoch(0):
        step(x, y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return round(batches.num_examples / (time.perf_counter() - started), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    results = {
        "arch": args.arch,
        "size": args.size,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "trainer_frozen_img_s": trainer_rate(args.arch, args, frozen=True),
        "trainer_full_img_s": trainer_rate(args.arch, args, frozen=False),
        "plain_loop_img_s": plain_rate(args.arch, args),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
