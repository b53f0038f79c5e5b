"""How fast `convkit serve` answers, and how long the viz pictures take.

Starts the real server (uvicorn, 127.0.0.1, a free port) on a model file and
measures, with real MNIST test digits as uploads:

- latency of POST /predict, /gradcam and /featuremaps, one request at a time
  (median and 90th percentile, milliseconds);
- throughput of /predict with several concurrent clients (requests/s), to
  show concurrent requests are served and what they cost;
- the time of the three viz pictures (feature maps, filters, Grad-CAM) as
  the CLI makes them, without process start-up.

    python benchmarks/viz_serve_latency.py runs/lenet/model.convkit --data ../shared/data/mnist

Targets (an interactive page must feel instant): /predict median < 50 ms and
/featuremaps + /gradcam median < 250 ms for LeNet on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import gzip
import socket
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np


def digits(mnist_dir: Path, count: int) -> list[bytes]:
    import cv2

    with gzip.open(mnist_dir / "t10k-images-idx3-ubyte.gz") as stream:
        raw = stream.read()
    images = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:count]
    return [cv2.imencode(".png", image)[1].tobytes() for image in images]


def start_server(model: str):
    import uvicorn

    from convkit.serve import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(model), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def timed_posts(client, url: str, uploads: list[bytes]) -> list[float]:
    times = []
    for data in uploads:
        start = time.perf_counter()
        response = client.post(url, files={"file": ("d.png", data, "image/png")})
        times.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return times


def throughput(base: str, uploads: list[bytes], count: int) -> tuple[float, float]:
    """Requests per second when ``count`` users post the uploads at the same time."""
    import httpx

    # One client (one keep-alive connection) per user: making an httpx.Client
    # builds an SSL context, which would cost more than a request.
    clients = [httpx.Client(base_url=base, timeout=60) for _ in range(count)]
    for client in clients:  # open each connection before the clock starts
        client.get("/health").raise_for_status()

    def user(number: int) -> None:
        for data in uploads[number::count]:
            response = clients[number].post(
                "/predict", files={"file": ("d.png", data, "image/png")}
            )
            response.raise_for_status()

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        list(pool.map(user, range(count)))
    elapsed = time.perf_counter() - start
    for client in clients:
        client.close()
    return len(uploads) / elapsed, elapsed


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"median {statistics.median(ordered):7.1f} ms   p90 {p90:7.1f} ms   (n={len(ordered)})"


def main() -> None:
    import httpx

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a .convkit model file (an MNIST classifier)")
    parser.add_argument("--data", default="../shared/data/mnist", help="MNIST IDX folder")
    parser.add_argument("--requests", type=int, default=100, help="uploads per measurement")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    args = parser.parse_args()

    uploads = digits(Path(args.data), args.requests)
    server, thread, base = start_server(args.model)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            timed_posts(client, "/predict", uploads[:5])  # warm-up
            print(f"/predict      {summary(timed_posts(client, '/predict', uploads))}")
            print(f"/gradcam      {summary(timed_posts(client, '/gradcam', uploads[:30]))}")
            print(f"/featuremaps  {summary(timed_posts(client, '/featuremaps', uploads[:30]))}")

        for count in sorted({1, args.clients}):
            rate, elapsed = throughput(base, uploads, count)
            print(
                f"/predict with {count} concurrent client(s): {rate:6.1f} requests/s "
                f"({len(uploads)} requests in {elapsed:.2f} s)"
            )
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    from convkit.viz.featuremaps import save_feature_maps
    from convkit.viz.filters import save_filters
    from convkit.viz.gradcam import save_grad_cam
    from convkit.viz.model_view import ModelView

    view = ModelView.from_file(args.model)
    with tempfile.TemporaryDirectory() as folder:
        digit = Path(folder) / "digit.png"
        digit.write_bytes(uploads[0])
        for name, make in (
            ("featuremaps", lambda: save_feature_maps(view, digit, Path(folder) / "maps")),
            ("filters", lambda: save_filters(view, Path(folder) / "filters", ["conv1", "conv2"])),
            ("gradcam", lambda: save_grad_cam(view, digit, Path(folder) / "cam.png")),
        ):
            make()  # warm-up
            times = []
            for _ in range(10):
                start = time.perf_counter()
                make()
                times.append((time.perf_counter() - start) * 1000)
            print(f"viz {name:12s} {summary(times)}")


if __name__ == "__main__":
    main()
