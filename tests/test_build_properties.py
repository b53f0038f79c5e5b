"""Property tests: for random valid specs, the built network agrees with shape inference.

Hypothesis draws small networks (sequential stacks, residual adds, concats);
for each one, the parameter count of the torch module equals the summary's and
every layer's output has exactly the inferred shape, also in channels_last.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convkit.errors import ShapeError
from convkit.nn import build
from convkit.spec import NetSpec
from convkit.spec.summary import summarize

SMALL = st.integers(1, 4)
MODES = st.sampled_from(["truncate", "same"])
ACTIVATIONS = st.sampled_from(
    ["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "softmax", "identity"]
)
PADDING = st.one_of(st.integers(0, 1), st.lists(st.integers(0, 2), min_size=4, max_size=4))


def spatial_layer() -> st.SearchStrategy[dict]:
    """One layer that keeps a volume a volume (it may still not fit: the caller checks)."""
    conv_common = {
        "kernel": st.one_of(st.integers(1, 3), st.lists(st.integers(1, 3), min_size=2, max_size=2)),
        "stride": st.integers(1, 2),
        "dilation": st.integers(1, 2),
        "bias": st.booleans(),
        "activation": ACTIVATIONS,
    }
    branches = [
        st.fixed_dictionaries(
            {"filters": SMALL, "padding": PADDING, "mode": st.just("truncate"), **conv_common}
        ).map(lambda p: {"conv2d": p}),
        st.fixed_dictionaries({"filters": SMALL, "mode": MODES, **conv_common}).map(
            lambda p: {"conv2d": p}
        ),
        st.fixed_dictionaries({"multiplier": st.integers(1, 2), "mode": MODES, **conv_common}).map(
            lambda p: {"depthwise_conv2d": p}
        ),
        st.fixed_dictionaries(
            {"filters": SMALL, "multiplier": st.integers(1, 2), **conv_common}
        ).map(lambda p: {"separable_conv2d": p}),
        st.fixed_dictionaries(
            {"filters": SMALL, "kernel": st.integers(1, 3), "stride": st.integers(1, 2)}
        ).map(lambda p: {"conv2d_transpose": p}),
        st.fixed_dictionaries(
            {"kernel": st.integers(1, 3), "stride": st.integers(1, 2), "mode": MODES}
        ).flatmap(lambda p: st.sampled_from([{"max_pool": p}, {"avg_pool": p}])),
        st.just({"batch_norm": {}}),
        st.just({"local_response_norm": {"size": 3}}),
        ACTIVATIONS.map(lambda f: {"activation": f}),
        st.just({"dropout": 0.3}),
        st.just({"upsample": 2}),
        PADDING.map(lambda p: {"zero_pad": p}),
        st.just({"crop": 1}),
    ]
    # pick the kind uniformly first (one_of would favour the first, richest branches)
    return st.sampled_from(branches).flatmap(lambda branch: branch)


def head() -> st.SearchStrategy[list]:
    return st.sampled_from(
        [
            [{"output": 3}],
            [{"dense": {"units": 5, "activation": "tanh"}}, {"output": 2}],
            ["global_avg_pool", {"dense": 4}, {"output": 2}],
            [{"global_max_pool": {"keep_dims": True}}, {"output": 2}],
            ["flatten", {"batch_norm": {}}, {"dropout": 0.1}, {"output": 2}],
        ]
    )


def _fits(input_text: str, layers: list) -> bool:
    try:
        NetSpec.from_dict({"input": input_text, "layers": layers}).infer()
        return True
    except ShapeError:
        return False


@st.composite
def sequential_specs(draw) -> NetSpec:
    input_text = f"{draw(st.integers(4, 10))}x{draw(st.integers(4, 10))}x{draw(SMALL)}"
    layers: list = []
    for candidate in draw(st.lists(spatial_layer(), min_size=1, max_size=5)):
        # keep a layer only if the stack still fits (and stays small)
        if _fits(input_text, [*layers, candidate, "flatten"]):
            layers.append(candidate)
    layers += draw(head())
    return NetSpec.from_dict({"input": input_text, "layers": layers})


@st.composite
def graph_specs(draw) -> NetSpec:
    """A stem, then blocks that add a same-shape branch back, or concat two branches."""
    channels = draw(SMALL)
    layers: list = [
        {"type": "conv2d", "name": "stem", "filters": channels, "kernel": 3, "mode": "same"}
    ]
    source = "stem"
    for block in range(draw(st.integers(1, 3))):
        name = f"b{block}"
        if draw(st.booleans()):  # residual: conv (same) -> bn, added to the block input
            layers += [
                {
                    "type": "conv2d",
                    "name": f"{name}_conv",
                    "inputs": [source],
                    "filters": channels,
                    "kernel": draw(st.integers(1, 3)),
                    "mode": "same",
                    "activation": draw(ACTIVATIONS),
                },
                {"type": "batch_norm", "name": f"{name}_bn"},
                {"type": "add", "name": f"{name}_add", "inputs": [f"{name}_bn", source]},
            ]
        else:  # inception-like: two convolutions of different widths, stacked
            widths = (draw(SMALL), draw(SMALL))
            layers += [
                {
                    "type": "conv2d",
                    "name": f"{name}_x",
                    "inputs": [source],
                    "filters": widths[0],
                    "kernel": 1,
                },
                {
                    "type": "conv2d",
                    "name": f"{name}_y",
                    "inputs": [source],
                    "filters": widths[1],
                    "kernel": 3,
                    "mode": "same",
                },
                {
                    "type": "max_pool",
                    "name": f"{name}_z",
                    "inputs": [source],
                    "kernel": 3,
                    "stride": 1,
                    "padding": 1,
                },
                {
                    "type": "concat",
                    "name": f"{name}_cat",
                    "inputs": [f"{name}_x", f"{name}_y", f"{name}_z"],
                },
            ]
            channels = sum(widths) + channels
        source = layers[-1]["name"]
    layers.append({"type": "output", "name": "output", "inputs": [source], "classes": 2})
    size = draw(st.integers(3, 8))
    return NetSpec.from_dict({"input": f"{size}x{size}x{draw(SMALL)}", "layers": layers})


def check_against_inference(spec: NetSpec) -> None:
    assert NetSpec.from_yaml(spec.to_yaml()) == spec
    net = build(spec).eval()
    assert sum(p.numel() for p in net.parameters()) == summarize(spec)["totals"]["params"]
    x = torch.randn(2, *spec.input.tensor_shape())
    names = spec.layer_names()
    with torch.no_grad():
        plain = net.forward_layers(x, names)
        final = net(x)
        net = net.to(memory_format=torch.channels_last)
        last = net.forward_layers(x.contiguous(memory_format=torch.channels_last), names)
    for info in net.infos:
        expected = (2, *info.output_shape.tensor_shape())
        assert tuple(plain[info.name].shape) == expected, info.name
        assert tuple(last[info.name].shape) == expected, info.name
    torch.testing.assert_close(plain[names[-1]], final)
    torch.testing.assert_close(last[names[-1]], final, rtol=1e-3, atol=1e-4)


SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only cost time on a shared CPU
    yield
    torch.set_num_threads(threads)


@SETTINGS
@given(sequential_specs())
def test_random_sequential_specs_build_as_inferred(spec):
    check_against_inference(spec)


@SETTINGS
@given(graph_specs())
def test_random_graph_specs_build_as_inferred(spec):
    assert not spec.is_sequential or len(spec.layers) == 2
    check_against_inference(spec)
