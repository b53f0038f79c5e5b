"""The layer types the pretrained families need: multiply gates, relu6, hard swish/sigmoid."""

from __future__ import annotations

import pytest
import torch

from convkit.errors import ShapeError
from convkit.nn import build
from convkit.spec import NetSpec


def _se_spec(gate_channels: int = 8) -> NetSpec:
    return NetSpec.from_dict(
        {
            "input": "6x6x8",
            "layers": [
                {
                    "type": "conv2d",
                    "name": "c",
                    "inputs": ["input"],
                    "filters": 8,
                    "kernel": 1,
                    "activation": "hardswish",
                },
                {"type": "global_avg_pool", "name": "p", "inputs": ["c"], "keep_dims": True},
                {
                    "type": "conv2d",
                    "name": "g",
                    "inputs": ["p"],
                    "filters": gate_channels,
                    "kernel": 1,
                    "activation": "hardsigmoid",
                },
                {"type": "multiply", "name": "m", "inputs": ["c", "g"]},
                {"type": "activation", "name": "r", "inputs": ["m"], "function": "relu6"},
                {"type": "global_avg_pool", "name": "q", "inputs": ["r"]},
                {"type": "output", "name": "output", "inputs": ["q"], "classes": 3},
            ],
        }
    )


def test_multiply_gates_each_map_and_counts_flops():
    spec = _se_spec()
    infos = {info.name: info for info in spec.infer()}
    assert str(infos["m"].output_shape) == "6x6x8"
    assert infos["m"].flops == 6 * 6 * 8 and infos["m"].params == 0
    net = build(spec).eval()
    x = torch.randn(2, 8, 6, 6)
    maps = net.forward_layers(x, ["c", "g", "m"])
    assert torch.allclose(maps["m"], maps["c"] * maps["g"])
    gates = maps["g"]
    assert gates.min() >= 0 and gates.max() <= 1  # hard sigmoid


def test_multiply_refuses_a_gate_of_the_wrong_width():
    with pytest.raises(ShapeError, match="1x1xC gates"):
        _se_spec(gate_channels=4).infer()


def test_activations_match_torch():
    x = torch.linspace(-8, 8, 33).reshape(1, 33)
    for name, function in [
        ("relu6", torch.nn.functional.relu6),
        ("hardswish", torch.nn.functional.hardswish),
        ("hardsigmoid", torch.nn.functional.hardsigmoid),
    ]:
        spec = NetSpec.from_dict(
            {"input": "1x1x33", "layers": [{"activation": name}, {"output": 2}]}
        )
        module = build(spec).layers["act1"]
        assert torch.equal(module(x), function(x))
