"""`convkit serve` under load: requests/s, p50 and p99 of /predict with 32 concurrent clients.

Starts the real server (`python -m convkit serve`, its own process, loopback
only, a free port) for each runtime in turn, warms it up, then lets
``--clients`` threads, each with its own keep-alive connection, post MNIST
test digits until ``--requests`` uploads are answered (bounded: the run
cannot grow). One-client latency (p50) is measured first. The server is
stopped by its PID after each measurement.

    python benchmarks/serve_load.py                      # LeNet, random weights
    python benchmarks/serve_load.py --model runs/lenet/model.convkit --requests 4000
    python benchmarks/serve_load.py --baseline-src /path/to/older/convkit/src   # today vs then

``--baseline-src`` adds a run of another convkit source tree (no --runtime
flag: what it does by default; without httptools and uvloop, which its
set-up did not install), so the ratio comes from one run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "data" / "mnist"


def digits(count: int) -> list[bytes]:
    import cv2

    with gzip.open(MNIST / "t10k-images-idx3-ubyte.gz") as stream:
        raw = stream.read()
    images = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:count]
    return [cv2.imencode(".png", image)[1].tobytes() for image in images]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The baseline tree's set-up installed neither httptools nor uvloop; uvicorn uses
# them whenever they import, so the baseline server is started with them hidden.
WITHOUT_HTTPTOOLS_AND_UVLOOP = (
    "import sys; sys.modules['uvloop'] = None; sys.modules['httptools'] = None; "
    "from convkit.cli import main; sys.exit(main(sys.argv[1:]))"
)


def start_server(model: Path, runtime: str, src: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(src)}
    if runtime == "baseline":  # as it was installed then: without uvicorn's C parser and loop
        command = [sys.executable, "-c", WITHOUT_HTTPTOOLS_AND_UVLOOP, "serve", str(model)]
    else:
        command = [sys.executable, "-m", "convkit", "serve", str(model), "--runtime", runtime]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the server did not start within 120 s")


RANDOM_LENET = """
import sys, torch
try:
    from convkit.nn import build
except ImportError:  # a checkout from before build/ was renamed nn/ (the baseline)
    from convkit.build import build
from convkit.data import Preprocessing
from convkit.modelfile import save_model
from convkit.spec import load_spec
from convkit.tasks import task_for_spec
torch.manual_seed(0)
spec = load_spec(sys.argv[1])
net = build(spec).eval()
pre = Preprocessing.for_spec(spec).to_dict()
save_model(sys.argv[2], net, task=task_for_spec(spec), preprocessing=pre)
"""


def random_lenet(src: Path, folder: Path) -> Path:
    """LeNet with seeded random weights, written by the convkit tree at ``src``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "lenet.convkit"
    env = {**os.environ, "PYTHONPATH": str(src)}
    spec = REPO / "examples" / "lenet.yaml"
    subprocess.run([sys.executable, "-c", RANDOM_LENET, str(spec), str(out)], env=env, check=True)
    return out


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def load(base: str, uploads: list[bytes], clients: int, requests: int) -> dict:
    import httpx

    sessions = [httpx.Client(base_url=base, timeout=60) for _ in range(clients)]
    for session in sessions:
        session.get("/health").raise_for_status()
    latencies: list[float] = []

    def user(number: int) -> list[float]:
        mine = []
        for i in range(number, requests, clients):
            data = uploads[i % len(uploads)]
            started = time.perf_counter()
            response = sessions[number].post(
                "/predict", files={"file": ("d.png", data, "image/png")}, data={"k": "1"}
            )
            mine.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
        return mine

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for mine in pool.map(user, range(clients)):
            latencies += mine
    elapsed = time.perf_counter() - started
    for session in sessions:
        session.close()
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "requests": len(ordered),
        "requests_per_s": round(len(ordered) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", help="a .convkit classifier (default: LeNet, random weights)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=2000, help="uploads per load run")
    parser.add_argument("--runtimes", default="torch,onnx", help="comma-separated")
    parser.add_argument("--baseline-src", help="another convkit src/ folder to measure first")
    args = parser.parse_args()
    if not 1 <= args.clients <= 256 or not 1 <= args.requests <= 100_000:
        parser.error("--clients must be in 1..256 and --requests in 1..100000")

    uploads = digits(500)
    with tempfile.TemporaryDirectory(prefix="serve_load_") as tmp:
        os.environ.setdefault("CONVKIT_CACHE_DIR", str(Path(tmp) / "cache"))
        results = {}
        runs = [(name, REPO / "src") for name in args.runtimes.split(",")]
        if args.baseline_src:
            runs.insert(0, ("baseline", Path(args.baseline_src)))
        for runtime, src in runs:
            # Each tree writes its own file (model formats differ between versions);
            # the same seed gives both the same weights.
            model = Path(args.model) if args.model else random_lenet(src, Path(tmp) / runtime)
            process, base = start_server(model, runtime, src)
            try:
                load(base, uploads, 1, 50)  # warm-up
                results[runtime] = {
                    "one_client": load(base, uploads, 1, min(300, args.requests)),
                    "concurrent": load(base, uploads, args.clients, args.requests),
                }
            finally:
                stop(process)
            print(json.dumps({runtime: results[runtime]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
