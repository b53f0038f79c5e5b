"""Speed: clips/s of the audio front end next to what a training step consumes, on CPU.

Stages, each timed on the same FSDD clips:

  decode        soundfile -> float32 mono
  resample      8 kHz -> 16 kHz (polyphase), as for a model trained at 16 kHz
  spectrogram   batched torch log-mel + normalisation + fixed length (one torch thread)
  augment       SpecAugment masks
  front end     make_audio_batches().epoch(): all of the above, cold (decoding) and warm
                (waveforms cached in memory, the steady state from epoch 2 on)
  train step    forward + backward + AdamW on examples/spoken_digits.yaml

The front end must outrun the train step, or training waits on it.

    nice python benchmarks/audio_frontend_speed.py                 # the recorded run
    nice python benchmarks/audio_frontend_speed.py --clips 256 --threads 1 2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FSDD = REPO.parent / "shared" / "data" / "fsdd" / "recordings"


def rate(count: int, seconds: float) -> float:
    return round(count / max(seconds, 1e-9), 1)


def timed(function, repeat: int = 3) -> float:
    """Best of ``repeat`` wall times: the machine is shared, the minimum is the least disturbed."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def train_step_seconds(spec, inputs, targets, threads: int, count: int) -> float:
    """Best wall time of ``count`` forward + backward + AdamW steps on one batch."""
    import torch

    from convkit.nn import build

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = build(spec).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)

    def steps(how_many: int) -> None:
        for _ in range(how_many):
            loss = torch.nn.functional.cross_entropy(net(inputs), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    steps(2)  # warm-up: first calls allocate and pick kernels
    return timed(lambda: steps(count))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(FSDD))
    parser.add_argument("--clips", type=int, default=512, help="clips per measurement")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="train-step threads")
    args = parser.parse_args()

    import numpy as np
    import torch

    from convkit.audio import (
        AudioPreprocessing,
        SpecAugment,
        make_audio_batches,
        open_audio_dataset,
        read_audio,
        resample,
    )
    from convkit.spec import load_spec

    spec = load_spec(REPO / "examples" / "spoken_digits.yaml")
    dataset = open_audio_dataset(args.data, "train", {"quiet": True})
    n = min(args.clips, len(dataset))
    paths = dataset.paths[:n]
    pre = AudioPreprocessing.for_spec(spec, sample_rate=8000)
    results: dict = {"clips": n, "batch_size": args.batch_size, "clips_per_second": {}}
    speeds = results["clips_per_second"]

    waveforms = [read_audio(p)[0] for p in paths]  # warm the page cache first
    speeds["decode"] = rate(n, timed(lambda: [read_audio(p) for p in paths]))
    speeds["resample_8k_to_16k"] = rate(
        n, timed(lambda: [resample(w, 8000, 16000) for w in waveforms])
    )

    def spectrograms():
        torch.set_num_threads(1)
        for start in range(0, n, args.batch_size):
            pre.apply_batch(waveforms[start : start + args.batch_size])

    speeds["spectrogram"] = rate(n, timed(spectrograms))
    volumes = [pre.apply(w)[0] for w in waveforms[:n]]
    augment = SpecAugment()
    speeds["augment"] = rate(
        n,
        timed(
            lambda: [augment.mask(v.copy(), augment.rng(0, 0, i)) for i, v in enumerate(volumes)]
        ),
    )

    source = make_audio_batches(dataset, range(n), pre, augment, args.batch_size, shuffle=True)
    started = time.perf_counter()
    for _ in source.epoch(0):
        pass
    speeds["front_end_cold"] = rate(n, time.perf_counter() - started)
    speeds["front_end_warm"] = rate(n, timed(lambda: [None for _ in source.epoch(1)]))

    inputs, targets = next(iter(source.epoch(0)))  # (N, 1, 40, 100), (N,)
    count = max(1, n // args.batch_size)
    for threads in args.threads:
        seconds = train_step_seconds(spec, inputs, targets, threads, count)
        speeds[f"train_step_{threads}_threads"] = rate(count * args.batch_size, seconds)
    fastest_step = max(v for k, v in speeds.items() if k.startswith("train_step"))
    results["front_end_warm_over_train_step"] = round(speeds["front_end_warm"] / fastest_step, 1)
    results["front_end_cold_over_train_step"] = round(speeds["front_end_cold"] / fastest_step, 1)
    results["torch"] = torch.__version__
    results["numpy"] = np.__version__
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
