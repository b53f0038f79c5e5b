"""The fast prediction path keeps every check: torch-free start-up, overlap, listing, pools.

`convkit predict` on ONNX Runtime runs without importing torch, overlaps the
forward pass with preparing the next batch, lists folders from directory
entries and pads pools inside the pool. Each of those is a way to get a
different answer or to skip a check; these tests pin that none does.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from convkit.errors import DataError, ModelFileError
from inference_fixtures import EXAMPLES, GRAPH_SPEC, noise, save_untrained, write_png

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    root = tmp_path_factory.mktemp("fast")
    return save_untrained(EXAMPLES / "lenet.yaml", root / "lenet.convkit", sharpen=3.0)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    for i in range(150):  # more than two batches of 64, and a short last one
        write_png(folder / f"{i:03d}.png", noise((28, 28), seed=i))
    return folder


# -- the weights' digest without torch -------------------------------------------------------
def test_the_digest_of_the_file_bytes_is_the_digest_of_the_loaded_tensors(tmp_path):
    from convkit.model_tensors import tensor_entries, weights_digest_of_bytes
    from convkit.modelfile import load_model, read_document

    spec = GRAPH_SPEC.replace(
        "- {type: global_avg_pool", "- {type: batch_norm, name: bn}\n  - {type: global_avg_pool"
    )  # batch norm: float buffers and an int64 counter
    path = save_untrained(spec, tmp_path / "bn.convkit")
    data = path.read_bytes()
    entries = tensor_entries(data, path)
    document, tensors = read_document(path)
    assert {entry.dtype for entry in entries.values()} == {"F32", "I64"}
    assert set(entries) == set(tensors)
    assert weights_digest_of_bytes(data, entries) == document["weights_sha256"]
    assert load_model(path).weights_sha256 == document["weights_sha256"]


def test_opening_without_torch_refuses_an_edited_or_truncated_file(lenet, tmp_path):
    from convkit.modelfile import open_model_file

    data = bytearray(lenet.read_bytes())
    edited = tmp_path / "edited.convkit"
    data[-5] ^= 0xFF  # one weight byte
    edited.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="has been modified"):
        open_model_file(edited)
    truncated = tmp_path / "truncated.convkit"
    truncated.write_bytes(lenet.read_bytes()[:-100])
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        open_model_file(truncated)


def test_the_network_is_built_only_when_something_needs_it(lenet):
    from convkit.modelfile import open_model_file

    opened = open_model_file(lenet)
    assert opened._net is None and opened.labels == [str(i) for i in range(10)]
    net = opened.net  # pictures, the torch fallback or an export ask for it
    assert isinstance(net, torch.nn.Module) and opened.net is net


def test_predict_on_onnx_runtime_starts_without_importing_torch(lenet, digits, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "CONVKIT_CACHE_DIR": str(tmp_path)}
    image = str(digits / "000.png")
    warm = [sys.executable, "-m", "convkit", "predict", str(lenet), image, "--json"]
    subprocess.run(warm, check=True, env=env, capture_output=True)  # the export needs torch
    probe = (
        "import sys; from convkit.cli import main; code = main(sys.argv[1:]); "
        "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "predict", str(lenet), image, "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert json.loads(line)["path"] == image


# -- the overlapped stream gives the serial answers ------------------------------------------
def test_the_overlapped_stream_matches_one_batch_at_a_time(lenet, digits, tmp_path):
    from convkit.api import load

    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    paths = sorted(str(p) for p in digits.iterdir())
    paths.insert(70, str(bad))  # an error in the middle of the second batch
    model = load(lenet, runtime="onnx")
    streamed = list(model.predict_stream(paths, top_k=3, batch_size=64))
    assert [item for item, _, _ in streamed] == paths  # input order kept
    errors = [(item, error) for item, _, error in streamed if error is not None]
    assert errors == [(str(bad), errors[0][1])] and "bad.png" in errors[0][1]
    good = [p for p in paths if p != str(bad)]
    one_by_one = [model.predict([p], top_k=3)[0] for p in good]
    assert [prediction for _, prediction, error in streamed if error is None] == one_by_one


def test_a_failing_forward_pass_surfaces_in_the_callers_thread():
    from convkit.inference.stream import forward_ahead

    def forward(batch):
        if batch == [3]:
            raise DataError("batch 3 is bad")
        return sum(batch)

    seen = []
    with pytest.raises(DataError, match="batch 3"):
        for batch, output in forward_ahead(([i] for i in range(6)), forward):
            seen.append((batch, output))
    assert seen == [([0], 0), ([1], 1), ([2], 2)]
    serial = list(forward_ahead(([i] for i in range(3)), lambda b: b[0] * 2, overlap=False))
    assert serial == [([0], 0), ([1], 2), ([2], 4)]


def test_classify_decode_in_numpy_agrees_with_torch_softmax(lenet):
    from convkit.api import load

    task = load(lenet, runtime="torch").task
    scores = torch.randn(7, 10, generator=torch.Generator().manual_seed(0)) * 4
    decoded = task.decode(scores, top_k=3)
    reference = torch.softmax(scores, dim=1).topk(3, dim=1)
    for row, values, indices in zip(decoded, reference.values, reference.indices, strict=True):
        assert [t["index"] for t in row["top"]] == indices.tolist()
        assert np.allclose([t["probability"] for t in row["top"]], values.numpy(), atol=2e-6)
    assert task.decode(scores.numpy(), top_k=3) == decoded  # ONNX Runtime hands numpy


def test_json_lines_are_flushed_in_blocks_but_all_arrive_in_order():
    from convkit.cli.prediction_output import _Output

    class Counting(io.StringIO):
        flushes = 0

        def flush(self):
            Counting.flushes += 1

    stream = Counting()
    out = _Output(stream, interval=3600)
    for i in range(1000):
        out.write(f"line {i}")
    out.flush()
    assert stream.getvalue().splitlines() == [f"line {i}" for i in range(1000)]
    assert Counting.flushes == 1  # not one system call per line


# -- listing from directory entries: the same files, in the same order -----------------------
def test_listing_keeps_os_walk_order_and_reports_special_files(tmp_path):
    from convkit.data.listing import list_input_files, walk_files

    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ("b/2.png", "b/1.png", "a/z.png", "top.png", ".hidden/x.png", ".dot.png", "n.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "a" / "loop").symlink_to(tmp_path, target_is_directory=True)  # not followed
    (tmp_path / "broken.png").symlink_to(tmp_path / "missing.png")
    os.mkfifo(tmp_path / "pipe.png")

    reference = []
    for dirpath, dirnames, filenames in os.walk(tmp_path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        reference += [Path(dirpath) / f for f in sorted(filenames) if not f.startswith(".")]
    walked = list(walk_files(tmp_path))
    assert [p for p in walked if p.name != "loop"] == reference
    files, excluded = list_input_files(tmp_path, (".png",))
    names = [str(p.relative_to(tmp_path)) for p in files]
    assert names == ["top.png", "a/z.png", "b/1.png", "b/2.png"]
    reasons = {Path(path).name: why for path, why in excluded}
    assert "FIFO" in reasons["pipe.png"] and reasons["broken.png"] == "file not found"
    assert "not an input file type (.txt)" in reasons["n.txt"]


# -- pools pad inside the pool: the same numbers as an explicit pad ----------------------------
@pytest.mark.parametrize("kind", ["max_pool", "avg_pool"])
def test_a_pool_pads_itself_exactly_as_an_explicit_pad_would(kind):
    import torch.nn.functional as F

    from convkit.nn import build
    from convkit.spec import NetSpec

    spec = NetSpec.from_yaml(
        f"name: p\ninput: 9x9x2\nlayers:\n  - {{type: {kind}, name: pool, kernel: 3, "
        "stride: 2, padding: 1}\n  - {type: output, name: output, classes: 2}\n"
    )
    net = build(spec).eval()
    x = torch.randn(3, 2, 9, 9)
    value = float("-inf") if kind == "max_pool" else 0.0
    padded = F.pad(x, (1, 1, 1, 1), value=value)
    pool = F.max_pool2d if kind == "max_pool" else F.avg_pool2d
    with torch.no_grad():
        got = net.forward_layers(x, ["pool"])["pool"]
    assert net.layers["pool"].padder is None  # one op: no separate Pad in the export
    assert torch.allclose(got, pool(padded, 3, 2))
