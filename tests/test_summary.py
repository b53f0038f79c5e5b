"""`convkit summary`: volumes, counts and totals of the examples, JSON, errors and speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from convkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(["summary", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_lenet_volumes_and_parameter_count(capsys):
    code, out, _ = run_cli(capsys, EXAMPLES / "lenet.yaml")
    assert code == 0
    rows = [line.split() for line in out.splitlines() if line[:1].isdigit()]
    assert [row[3] for row in rows] == ["24x24x20", "12x12x20", "8x8x50", "4x4x50", "500", "10"]
    assert [row[4] for row in rows] == ["520", "0", "25,050", "0", "400,500", "5,010"]
    assert [row[6] for row in rows] == ["5x5", "6x6", "14x14", "16x16", "all", "all"]
    assert "parameters: 431,080 (1.72 MB as float32)" in out


def test_seed_volume_explained(capsys):
    code, out, _ = run_cli(capsys, EXAMPLES / "seed_volume.yaml", "--explain")
    assert code == 0
    assert "30x30x3 → 3x3 filters, stride 3, 96 of them → 10x10x96: (30 − 3) / 3 + 1 = 10" in out
    assert "10x10x96 → 2x2 max pooling, stride 2 → 5x5x96" in out


def test_json_totals_and_batch_size(capsys):
    code, out, _ = run_cli(capsys, EXAMPLES / "lenet.yaml", "--json", "--batch-size", "32")
    assert code == 0
    data = json.loads(out)
    assert data["totals"]["params"] == 431_080
    macs = 24 * 24 * 20 * 25 + 8 * 8 * 50 * 25 * 20 + 800 * 500 + 500 * 10
    pool_reads = 4 * (12 * 12 * 20 + 4 * 4 * 50)
    assert data["totals"]["flops"] == 2 * macs + pool_reads
    values = 28 * 28 + 24 * 24 * 20 + 12 * 12 * 20 + 8 * 8 * 50 + 4 * 4 * 50 + 500 + 10
    assert data["totals"]["activation_mb"] == pytest.approx(values * 32 * 4 / 1e6)
    assert data["layers"][0]["output_tensor"] == [32, 20, 24, 24]


def test_resnet18_graph_example(capsys):
    code, out, _ = run_cli(capsys, EXAMPLES / "resnet18.yaml", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["totals"]["params"] == 11_689_512  # as torchvision's resnet18
    by_name = {row["name"]: row for row in data["layers"]}
    assert by_name["stage4_block2_out"]["output"] == "7x7x512"
    assert by_name["stage4_block2_out"]["receptive_field"] == "435x435"
    assert by_name["stage2_block1_add"]["inputs"] == [
        "stage2_block1_b_bn",
        "stage2_block1_short_bn",
    ]


def test_strict_example_exits_2_with_one_line(tmp_path, capsys):
    spec = tmp_path / "strict.yaml"
    spec.write_text(
        "input: 32x32x3\nlayers:\n  - conv2d: {filters: 8, kernel: 3, stride: 3, mode: strict}\n"
        "  - output: {classes: 2}\n"
    )
    code, out, err = run_cli(capsys, spec)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("convkit: error: ")
    assert "(32 − 3) / 3 + 1 = 10.67" in err
    assert "padding 1 (→ 11x11" in err
    assert "mode truncate (→ 10x10" in err
    assert "mode same (→ 11x11)" in err


@pytest.mark.parametrize(
    "text, expected",
    [
        ("input: 8x8x1\nlayers: [{conv2d: {filters: -1, kernel: 3}}, {output: 2}]\n", "`filters`"),
        ("input: 8x8x1\nlayers: [{convv2d: {filters: 1}}]\n", "did you mean `conv2d`"),
        ("input: 8x8x1\nlayers: [{output: {classes: 2, activation: softmx}}]\n", "softmax"),
        ("input: 8x8x1\nlayers: [{output: 2\n", "bad YAML"),
    ],
)
def test_bad_specs_exit_2(tmp_path, capsys, text, expected):
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    code, _, err = run_cli(capsys, spec)
    assert code == 2
    assert expected in err
    assert "Traceback" not in err


def test_zoo_name_and_bad_batch_size(capsys):
    code, out, _ = run_cli(capsys, "resnet18")
    assert code == 0 and "11,689,512" in out
    code, _, err = run_cli(capsys, EXAMPLES / "lenet.yaml", "--batch-size", "0")
    assert code == 2 and "--batch-size must be a positive integer" in err


def test_summary_is_fast_and_does_not_import_torch():
    # In a fresh interpreter: the summary's own work (import, parse, infer, format),
    # then the whole command, which must not pull torch in either.
    code = (
        "import sys, time, io, contextlib\n"
        "start = time.perf_counter()\n"
        "from convkit.cli.summary import load_spec_or_zoo\n"
        "from convkit.spec.summary import format_summary, summarize\n"
        "format_summary(summarize(load_spec_or_zoo('examples/lenet.yaml')))\n"
        "own = time.perf_counter() - start\n"
        "from convkit.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['summary', 'examples/lenet.yaml'])\n"
        "print(own, 'torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    elapsed, torch_loaded = result.stdout.split()
    assert torch_loaded == "False"  # summary never builds the network
    # typically ~0.1 s; the bound leaves room for a loaded CI machine (torch alone takes ~2 s)
    assert float(elapsed) < 1.0, f"the summary of LeNet took {elapsed} s"
