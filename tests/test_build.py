"""build(spec): parameter counts, inferred volumes, forward_layers, channels_last, logits."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from convkit.errors import SpecError
from convkit.nn import build
from convkit.spec import NetSpec, load_spec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def count(net) -> int:
    return sum(p.numel() for p in net.parameters())


def assert_layers_match_inference(net, x):
    names = net.spec.layer_names()
    outputs = net.forward_layers(x, names)
    for info in net.infos:
        expected = (x.shape[0], *info.output_shape.tensor_shape())
        assert tuple(outputs[info.name].shape) == expected, info.name


def test_lenet_builds_with_431080_parameters():
    net = build(load_spec(EXAMPLES / "lenet.yaml"))
    assert count(net) == 431_080
    x = torch.randn(3, 1, 28, 28)
    assert net(x).shape == (3, 10)
    assert_layers_match_inference(net, x)


def test_resnet18_graph_frees_tensors_it_no_longer_needs():
    # shapes and counts: test_every_example_builds_as_inferred; here the graph plan
    spec = load_spec(EXAMPLES / "resnet18.yaml")
    net = build(NetSpec.from_dict({**spec.to_dict(), "input": "32x32x3"})).eval()
    assert count(net) == 11_689_512
    assert net._sequence is None  # a graph: runs its plan
    live, most = 1, 1
    for _module, _sources, _target, done in net._plan:
        live += 1 - len(done)
        most = max(most, live)
    assert most <= 4  # block input, shortcut, branch, new output: never the whole network
    with torch.no_grad():
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, 1000)


def test_output_layer_returns_logits_and_flatten_is_chw():
    spec = NetSpec.from_dict(
        {"input": "2x3x4", "layers": [{"output": {"classes": 5, "activation": "softmax"}}]}
    )
    net = build(spec)
    x = torch.randn(2, 4, 2, 3)
    logits = net(x)
    linear = net.layers["output"].linear
    # the documented flatten order: feature index = c * H * W + h * W + w (PyTorch's C, H, W)
    manual = x.reshape(2, 24) @ linear.weight.T + linear.bias
    torch.testing.assert_close(logits, manual)
    assert not torch.allclose(logits.sum(dim=1), torch.ones(2))  # not softmaxed
    channels_last = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(net(channels_last), manual)


def test_forward_layers_stops_early_and_rejects_unknown_names():
    net = build(load_spec(EXAMPLES / "lenet.yaml"))
    calls = []
    net.layers["dense1"].register_forward_hook(lambda *args: calls.append("dense1"))
    maps = net.forward_layers(torch.randn(1, 1, 28, 28), ["pool2", "conv1"])
    assert list(maps) == ["pool2", "conv1"]
    assert maps["conv1"].shape == (1, 20, 24, 24)
    assert calls == []  # stopped after pool2
    with pytest.raises(SpecError) as caught:
        net.forward_layers(torch.randn(1, 1, 28, 28), ["conv3"])
    assert str(caught.value) == (
        "no layer named `conv3`; did you mean `conv2`? "
        "(layers: input, conv1, pool1, conv2, pool2, dense1, output)"
    )


def test_channels_last_gives_the_same_result():
    spec = load_spec(EXAMPLES / "seed_volume.yaml")
    torch.manual_seed(0)
    net = build(spec).eval()
    x = torch.randn(2, 3, 30, 30)
    with torch.no_grad():
        expected = net(x)
        net = net.to(memory_format=torch.channels_last)
        got = net(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_same_mode_and_uneven_padding_match_inference():
    spec = NetSpec.from_dict(
        {
            "input": "11x10x2",
            "layers": [
                {"conv2d": {"filters": 3, "kernel": 3, "stride": 2, "mode": "same"}},
                {"max_pool": {"kernel": 3, "stride": 2, "mode": "same"}},
                {"conv2d": {"filters": 4, "kernel": [2, 3], "padding": [0, 1, 2, 0]}},
                {"avg_pool": {"kernel": 2, "padding": [1, 0, 0, 1]}},
                {"output": 2},
            ],
        }
    )
    net = build(spec)
    assert_layers_match_inference(net, torch.randn(2, 2, 11, 10))


def test_max_pool_padding_never_wins():
    spec = NetSpec.from_dict(
        {
            "input": "2x2x1",
            "layers": [{"max_pool": {"kernel": 2, "stride": 1, "padding": 1}}, "flatten"],
        }
    )
    out = build(spec)(-torch.ones(1, 1, 2, 2))  # all negative: zero padding would win
    assert torch.equal(out, -torch.ones(1, 9))


def test_residual_add_and_concat_compute_what_they_say():
    spec = NetSpec.from_dict(
        {
            "input": "4x4x2",
            "layers": [
                {"type": "activation", "name": "a", "function": "identity"},
                {"type": "activation", "name": "b", "inputs": ["input"], "function": "relu"},
                {"type": "add", "name": "sum", "inputs": ["a", "b"]},
                {"type": "concat", "name": "both", "inputs": ["sum", "input"]},
                {"type": "flatten"},
            ],
        }
    )
    net = build(spec)
    x = torch.randn(1, 2, 4, 4)
    expected = torch.cat([x + x.relu(), x], dim=1).flatten(1)
    torch.testing.assert_close(net(x), expected)


def test_lenet_forward_and_gradients_equal_plain_torch():
    # the layers apply their activation in place on their own fresh output; autograd must agree
    torch.manual_seed(0)
    net = build(load_spec(EXAMPLES / "lenet.yaml"))
    x = torch.randn(4, 1, 28, 28)
    target = torch.tensor([1, 2, 3, 4])
    layers = net.layers
    functional = torch.nn.functional

    def plain(x):
        x = functional.max_pool2d(torch.relu(layers["conv1"].conv(x)), 2)
        x = functional.max_pool2d(torch.relu(layers["conv2"].conv(x)), 2)
        x = torch.relu(layers["dense1"].linear(x.flatten(1)))
        return layers["output"].linear(x)

    expected = functional.cross_entropy(plain(x), target)
    expected_grads = torch.autograd.grad(expected, list(net.parameters()))
    got = functional.cross_entropy(net(x), target)
    got_grads = torch.autograd.grad(got, list(net.parameters()))
    torch.testing.assert_close(got, expected)
    for a, b in zip(got_grads, expected_grads, strict=True):
        torch.testing.assert_close(a, b)


def test_same_mode_follows_the_runtime_size():
    # inferred at 16 pixels wide, run at 23: mode same still gives ceil(size / stride)
    spec = NetSpec.from_dict(
        {
            "input": "8x16x1",
            "layers": [
                {"conv2d": {"filters": 2, "kernel": 3, "stride": 2, "mode": "same"}},
                {"max_pool": {"kernel": 2, "stride": [1, 2], "mode": "same"}},
                {"conv2d": {"filters": 2, "kernel": 4, "mode": "same"}},
            ],
        }
    )
    net = build(spec)
    assert net(torch.randn(1, 1, 8, 16)).shape == (1, 2, 4, 4)
    assert net(torch.randn(1, 1, 9, 23)).shape == (1, 2, 5, 6)


@pytest.mark.parametrize("name", sorted(path.name for path in EXAMPLES.glob("*.yaml")))
def test_every_example_builds_as_inferred(name):
    # every feature's example (OCR, detection, audio, …) goes through the same contract
    spec = load_spec(EXAMPLES / name)
    if spec.input.numel() > 64 * 64 * 3:  # e.g. 224x224 or 416x416: too slow here, so run smaller
        spec = NetSpec.from_dict({**spec.to_dict(), "input": [64, 64, spec.input.channels]})
    net = build(spec).eval()
    assert sum(p.numel() for p in net.parameters()) == sum(info.params for info in net.infos)
    with torch.no_grad():
        assert_layers_match_inference(net, torch.randn(2, *net.spec.input.tensor_shape()))
