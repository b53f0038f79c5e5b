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

from hostile_helpers import assert_one_line_error, run_fenced
from hostile_images import jpeg_bomb, tiff_bomb

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
    return [
        "train",
        str(spec_file),
        "--data",
        str(data),
        "--run-dir",
        str(run_dir),
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--workers",
        "0",
        "--quiet",
        "--val-fraction",
        "0.25",
        "--device",
        "cpu",
        *extra,
    ]


def read_skipped(run_dir: Path) -> list[dict]:
    text = (run_dir / "skipped.txt").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_special_files_in_a_training_folder_are_skipped_and_listed(tmp_path, spec_file):
    photos = photo_folder(tmp_path / "photos")
    (photos / "china" / "zero.png").symlink_to("/dev/zero")
    os.mkfifo(photos / "china" / "pipe.png")
    (photos / "flower" / "broken.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (photos / "flower" / "two\nlines.png").write_bytes(b"not a png")  # item 9: a newline
    (photos / "flower" / "junk.jpg").write_bytes(jpeg_bomb())  # item 2: bombs are skipped
    (photos / "flower" / "twotags.tif").write_bytes(tiff_bomb())
    outcome = run_fenced(train_argv(spec_file, photos, tmp_path / "run"), timeout=90)
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    skipped = {
        Path(entry["path"]).name: entry["reason"] for entry in read_skipped(tmp_path / "run")
    }
    assert "character device" in skipped["zero.png"]
    assert "FIFO" in skipped["pipe.png"]
    assert "not found" in skipped["broken.jpg"]
    assert "two\nlines.png" in skipped  # one JSON record, newline and all
    assert "too large" in skipped["junk.jpg"] and "too large" in skipped["twotags.tif"]


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
        "from convkit.data.idx import read_idx\n"
        "from convkit.errors import ConvkitError\n"
        "for name in ['pipe.png', 'zero.png', 'big.png']:\n"
        "    for reader in (read_image, read_audio, read_idx):\n"
        "        try:\n"
        "            reader(sys.argv[1] + '/' + name)\n"
        "        except ConvkitError as error:\n"
        "            print(error)\n"
    )
    outcome = run_fenced(
        [str(script), str(tmp_path)],
        module=False,
        timeout=30,
        env={"CONVKIT_MAX_FILE_BYTES": "4096"},
    )
    lines = outcome.stdout.splitlines()
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    assert len(lines) == 9, outcome.stdout
    assert all("FIFO" in line for line in lines[:3])
    assert all("character device" in line for line in lines[3:6])
    assert all("too large" in line and "CONVKIT_MAX_FILE_BYTES" in line for line in lines[6:])


def cli(argv, capsys) -> tuple[int, str]:
    from convkit.cli import main

    code = main([str(item) for item in argv])
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("convkit: error: "), err
    return lines[0]


@pytest.mark.parametrize("run_dir", ["/proc/convkit-x", "/dev/null", "FILE"])
def test_unwritable_run_dirs_fail_before_data_loading(tmp_path, spec_file, capsys, run_dir):
    if run_dir == "FILE":
        run_dir = tmp_path / "a-file"
        run_dir.write_text("x")
    # --data names a folder that does not exist: a data error would come second
    code, err = cli(train_argv(spec_file, tmp_path / "no-data", run_dir), capsys)
    assert code == 2
    assert "--run-dir" in one_line(err)
    assert not Path("/proc/convkit-x").exists()


def test_evaluate_out_and_data_paths_are_checked_first(tmp_path, capsys):
    model = tmp_path / "missing.convkit"  # not even read: the paths fail first
    code, err = cli(["evaluate", model, "--data", tmp_path, "--out", "/proc/convkit-x"], capsys)
    assert code == 2 and "--out /proc/convkit-x" in one_line(err)
    code, err = cli(["evaluate", model, "--data", ""], capsys)
    assert code == 2 and "--data is empty" in one_line(err)


def test_empty_data_does_not_mean_the_current_folder(tmp_path, spec_file, capsys):
    code, err = cli(train_argv(spec_file, "", tmp_path / "run"), capsys)
    assert code == 2 and "--data is empty" in one_line(err)


def test_a_device_as_data_is_refused_in_one_line(tmp_path, spec_file):
    outcome = run_fenced(train_argv(spec_file, "/dev/zero", tmp_path / "run"), timeout=60)
    assert_one_line_error(outcome, "character device")


def test_a_finished_or_killed_run_is_not_overwritten(tmp_path, spec_file, capsys):
    photos = photo_folder(tmp_path / "photos")
    run_dir = tmp_path / "run"
    code, err = cli(train_argv(spec_file, photos, run_dir), capsys)
    assert code == 0, err
    model = (run_dir / "model.convkit").read_bytes()
    code, err = cli(train_argv(spec_file, photos, run_dir), capsys)
    assert code == 2 and "--resume" in one_line(err) and "--overwrite" in err
    assert (run_dir / "model.convkit").read_bytes() == model  # untouched
    # A killed run: checkpoints but no model yet
    (run_dir / "model.convkit").unlink()
    checkpoint = (run_dir / "checkpoints" / "last.ckpt").read_bytes()
    code, err = cli(train_argv(spec_file, photos, run_dir), capsys)
    assert code == 2 and "stopped run" in one_line(err)
    assert (run_dir / "checkpoints" / "last.ckpt").read_bytes() == checkpoint
    code, err = cli(train_argv(spec_file, photos, run_dir, "--overwrite"), capsys)
    assert code == 0, err
    assert (run_dir / "model.convkit").exists()
    assert not (run_dir / "checkpoints" / "previous.ckpt").exists()  # one epoch, fresh run


def test_predict_lists_folders_by_the_training_rule(tmp_path):
    from convkit.cli.predict import expand_inputs

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.png").write_bytes(b"x")
    (tmp_path / ".b.png").write_bytes(b"x")  # hidden: train skips it, so does predict
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "c.png").write_bytes(b"x")
    assert list(expand_inputs([str(tmp_path)])) == [str(tmp_path / "sub" / "a.png")]


def test_detect_and_ocr_list_folders_by_the_training_rule(tmp_path):
    from convkit.detect.inputs import list_images
    from convkit.ocr.inputs import image_files

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.png").write_bytes(b"x")
    (tmp_path / ".b.png").write_bytes(b"x")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "c.png").write_bytes(b"x")
    os.mkfifo(tmp_path / "fifo.png")  # would hang a reader: left out
    assert list_images(tmp_path) == [tmp_path / "sub" / "a.png"]
    assert list(image_files([str(tmp_path)])) == [str(tmp_path / "sub" / "a.png")]


def test_gif_is_refused_alike_by_training_and_the_server(tmp_path):
    from fastapi.testclient import TestClient

    from convkit.data import read_image
    from convkit.errors import DataError
    from convkit.serve.app import create_app
    from test_viz_support import photo_file

    gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01"
    gif += b"\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    with pytest.raises(DataError, match="GIF images are not supported"):
        read_image(gif)
    with TestClient(create_app(photo_file(tmp_path))) as client:
        answer = client.post("/predict", files={"file": ("x.gif", gif)})
    assert answer.status_code == 415


def test_evaluate_on_mismatched_classes_gives_advice_that_applies(tmp_path):
    from convkit import api
    from convkit.errors import DataError
    from test_viz_support import PHOTO_YAML, save_model_file

    photos = photo_folder(tmp_path / "photos")  # 2 classes; the model has 3, unnamed
    model = save_model_file(tmp_path / "m.convkit", PHOTO_YAML, ["0", "1", "2"])
    with pytest.raises(DataError) as caught:
        api.evaluate(model, photos, progress=False)
    message = str(caught.value)
    assert "set `classes" not in message and "trained on" in message
