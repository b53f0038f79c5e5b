"""Special and oversized files in the places convkit reads from (issue 15, items 1, 7, 8, 9).

Every case runs in a fenced child process (memory limit + timeout, see
hostile_helpers): before the fix, a link to /dev/zero read until the kernel
killed the run and a FIFO hung it forever.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hostile_helpers import run_fenced

TINY_SPEC = """\
name: tiny
input: 16x16x3
layers:
  - conv2d: {filters: 4, kernel: 3, padding: 1}
  - global_avg_pool: {}
  - output: {classes: 2}
"""


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "tiny.yaml"
    path.write_text(TINY_SPEC)
    return path


def photo_folder(root: Path) -> Path:
    from convkit.data.samples import make_photo_folder

    return make_photo_folder(root, per_class=6, size=20)


def train_argv(spec_file, data, run_dir, *extra):
    return ["train", str(spec_file), "--data", str(data), "--run-dir", str(run_dir),
            "--epochs", "1", "--batch-size", "4", "--workers", "0", "--quiet",
            "--val-fraction", "0.25", "--device", "cpu", *extra]  # fmt: skip


def read_skipped(run_dir: Path) -> list[dict]:
    text = (run_dir / "skipped.txt").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_special_files_in_a_training_folder_are_skipped_and_listed(tmp_path, spec_file):
    photos = photo_folder(tmp_path / "photos")
    (photos / "china" / "zero.png").symlink_to("/dev/zero")
    os.mkfifo(photos / "china" / "pipe.png")
    (photos / "flower" / "broken.jpg").symlink_to(tmp_path / "nowhere.jpg")
    outcome = run_fenced(train_argv(spec_file, photos, tmp_path / "run"), timeout=90)
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    skipped = {
        Path(entry["path"]).name: entry["reason"] for entry in read_skipped(tmp_path / "run")
    }
    assert "character device" in skipped["zero.png"]
    assert "FIFO" in skipped["pipe.png"]
    assert "not found" in skipped["broken.jpg"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_the_one_reader_refuses_special_and_oversized_files(tmp_path):
    script = tmp_path / "probe.py"
    os.mkfifo(tmp_path / "pipe.png")
    (tmp_path / "zero.png").symlink_to("/dev/zero")
    (tmp_path / "big.png").write_bytes(b"\x89PNG" + bytes(5000))
    script.write_text(
        "import sys\n"
        "from convkit.data import read_image\n"
        "from convkit.audio.decode import read_audio\n"
        "from convkit.errors import ConvkitError\n"
        "for name in ['pipe.png', 'zero.png', 'big.png']:\n"
        "    for reader in (read_image, read_audio):\n"
        "        try:\n"
        "            reader(sys.argv[1] + '/' + name)\n"
        "        except ConvkitError as error:\n"
        "            print(error)\n"
    )
    outcome = run_fenced(
        [str(script), str(tmp_path)], module=False, timeout=30,
        env={"CONVKIT_MAX_FILE_BYTES": "4096"},
    )  # fmt: skip
    lines = outcome.stdout.splitlines()
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    assert len(lines) == 6, outcome.stdout
    assert all("FIFO" in line for line in lines[:2])
    assert all("character device" in line for line in lines[2:4])
    assert all("too large" in line and "CONVKIT_MAX_FILE_BYTES" in line for line in lines[4:])
