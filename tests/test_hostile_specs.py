"""Specs that run away (issue 15, item 4), each in a fenced `convkit` process.

Before the fix a 348-byte YAML billion laughs hung `convkit summary`, deep
nesting ended in a 3,000-line RecursionError, a 5,000-digit integer in a
ValueError traceback, and messages quoted whole values (a 4.3 MB line).
"""

from __future__ import annotations

import json

import pytest

from hostile_helpers import assert_one_line_error, run_fenced


def billion_laughs(where: str) -> str:
    """A ~350-byte value holding nine levels of nine aliases (9^9 leaves), placed at ``where``."""
    levels = ["&l0 [" + ",".join(["lol"] * 9) + "]"]
    levels += [f"&l{n} [" + ",".join([f"*l{n - 1}"] * 9) + "]" for n in range(1, 9)]
    bomb = "[" + ",".join(levels) + "]"
    return {
        "input": f"input: {bomb}\nlayers: [{{output: {{classes: 2}}}}]",
        "kernel": f"input: 8x8x1\nlayers: [{{conv2d: {{filters: 2, kernel: {bomb}}}}}]",
        "name": f"name: {bomb}\ninput: 8x8x1\nlayers: [{{output: {{classes: 2}}}}]",
        "type": f"input: 8x8x1\nlayers: [{{type: {bomb}}}]",
    }[where]


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("where", ["input", "kernel", "name", "type"])
def test_billion_laughs_is_refused_quickly(tmp_path, where):
    text = billion_laughs(where)
    assert len(text) < 500
    outcome = run_fenced(["summary", str(write(tmp_path, "laughs.yaml", text))], timeout=30)
    assert_one_line_error(outcome, "expands to more than")


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_deep_nesting_is_one_line(tmp_path, suffix):
    depth = 5000
    value = "[" * depth + "]" * depth
    text = f'{{"input": {value}, "layers": []}}'  # JSON is YAML too
    outcome = run_fenced(["summary", str(write(tmp_path, "deep" + suffix, text))], timeout=30)
    assert_one_line_error(outcome, "nested more than")


@pytest.mark.parametrize("digits", [5000, 100])
def test_huge_integers_are_one_line(tmp_path, digits):
    text = f"input: 8x8x1\nlayers:\n  - conv2d: {{filters: {'9' * digits}, kernel: 3}}\n"
    outcome = run_fenced(["summary", str(write(tmp_path, "big.yaml", text))], timeout=30)
    line = assert_one_line_error(outcome)
    assert "too large" in line or "bad value" in line


def test_messages_quote_values_cut_short(tmp_path):
    text = json.dumps({"input": "x" * 900, "layers": [{"output": {"classes": 2}}]})
    outcome = run_fenced(["summary", str(write(tmp_path, "long.json", text))], timeout=30)
    assert_one_line_error(outcome)  # asserts the line is under 600 characters
    text = json.dumps({"input": "8x8x1", "layers": [{"output": {"classes": "y" * 3_000_000}}]})
    outcome = run_fenced(["summary", str(write(tmp_path, "huge.json", text))], timeout=30)
    assert_one_line_error(outcome, "longer than")
    text = json.dumps({"input": "8x8x1", "layers": [], "pad": "z" * 4_300_000})
    outcome = run_fenced(["summary", str(write(tmp_path, "huge.json", text))], timeout=30)
    assert_one_line_error(outcome, "too large", "limit 4 MiB")


def test_train_refuses_a_network_too_big_for_memory_before_allocating(tmp_path):
    spec = write(
        tmp_path,
        "huge.yaml",
        "input: 64x64x3\nlayers:\n  - conv2d: {filters: 1000000, kernel: 3}\n"
        "  - conv2d: {filters: 100000, kernel: 3}\n  - global_avg_pool: {}\n"
        "  - output: {classes: 2}\n",
    )
    outcome = run_fenced(
        [
            "train",
            str(spec),
            "--data",
            "sklearn-digits",
            "--run-dir",
            str(tmp_path / "run"),
            "--quiet",
            "--epochs",
            "1",
        ],
        timeout=60,
        memory=2 * 1024**3,
    )
    assert_one_line_error(outcome, "GB")
    assert not (tmp_path / "run" / "model.convkit").exists()
