"""Decompression bombs that fool a header parser must still be refused (issue 15, item 2).

The limit must hold for what OpenCV's decoder actually produces: each case
decodes in a fenced child process and reports its peak memory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hostile_helpers import run_fenced
from hostile_images import jpeg_bomb, tiff_bomb

PROBE = """\
import json, resource, sys
import convkit.data.decode as decode
from convkit.data import read_image
from convkit.data.image_header import ImageHeader, sniff_format
from convkit.errors import DataError
import cv2  # loaded before the baseline: only what decoding costs is measured
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def attempt(path, channels):
    try:
        return "decoded %s" % (read_image(path, channels=channels).shape,)
    except DataError as error:
        return "refused " + str(error)

results = {}
for blind in (False, True):
    if blind:  # blind the header parser: the decoder's own check must still hold the limit
        decode.read_header = lambda data: ImageHeader(sniff_format(data))
    for path in sys.argv[1:]:
        for channels in (1, 3):
            results["%s %s %s" % (path, channels, blind)] = attempt(path, channels)
results["grown_mib"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    files = {"jpeg": folder / "junk.jpg", "tiff": folder / "twotags.tif"}
    files["jpeg"].write_bytes(jpeg_bomb())
    files["tiff"].write_bytes(tiff_bomb())
    return files


def test_the_bombs_are_what_they_claim(bombs):
    from convkit.data.image_header import read_header

    assert len(bombs["jpeg"].read_bytes()) < 400
    assert len(bombs["tiff"].read_bytes()) < 200
    # the parser now reads them as the decoders do
    assert read_header(bombs["jpeg"].read_bytes()).width == 20000
    assert read_header(bombs["tiff"].read_bytes()).width == 12000


def test_decoder_refuses_bombs_whatever_the_parser_says(bombs, tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    outcome = run_fenced([str(probe), *map(str, bombs.values())], module=False, timeout=60)
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    results = json.loads(outcome.stdout)
    grown = results.pop("grown_mib")
    assert len(results) == 8
    for case, result in results.items():
        assert result.startswith("refused") and "too large" in result, (case, result)
    assert grown < 100, f"the bombs cost {grown} MiB before they were refused"
    assert "Invalid TIFF directory" not in outcome.stderr  # libtiff warnings silenced
    assert "Corrupt JPEG" not in outcome.stderr  # and libjpeg's, printed past OpenCV


def test_predict_refuses_bombs_in_one_line_each(bombs, tmp_path):
    # (training skips them, listed: tests/test_hostile_files.py trains on a folder with both)
    from test_viz_support import photo_file

    model = photo_file(tmp_path)
    outcome = run_fenced(["predict", str(model), *map(str, bombs.values())], timeout=60)
    assert outcome.returncode in (1, 2), outcome.stderr[-2000:]  # 1: predict skipped them
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 2 and all("too large" in line for line in lines), outcome.stderr


def test_bombs_are_refused_by_the_server(bombs, tmp_path):
    from fastapi.testclient import TestClient

    from convkit.serve.app import create_app
    from test_viz_support import photo_file

    with TestClient(create_app(photo_file(tmp_path))) as client:
        for path in bombs.values():
            answer = client.post("/predict", files={"file": (path.name, path.read_bytes())})
            assert answer.status_code in (400, 413), answer.text
            assert "too large" in answer.json()["detail"] or "pixels" in answer.json()["detail"]


THREADED_DECODES = """
import os, sys
from concurrent.futures import ThreadPoolExecutor
import cv2, numpy as np
from convkit.data import read_image
photo = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
good = cv2.imencode(".jpg", photo)[1].tobytes()
junk = good[:2] + b"\\xff\\xfe\\x00\\x03x" + good[2:]  # a comment segment libjpeg may warn about
bad = good[:-200] + b"\\x00" * 198 + good[-2:]  # damaged scan data: libjpeg warns
with ThreadPoolExecutor(8) as pool:
    shapes = set(pool.map(lambda data: read_image(data).shape, [good, junk, bad] * 40))
os.write(2, b"fd 2 is back\\n")
print(sorted(shapes))
"""


def test_jpeg_decodes_in_threads_stay_quiet_and_give_stderr_back(tmp_path):
    """Eight threads decode at once (no lock around the decode); fd 2 is restored after."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", THREADED_DECODES], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[(64, 64, 3)]"
    assert "fd 2 is back" in done.stderr
    assert "Corrupt JPEG" not in done.stderr and "Premature" not in done.stderr
