"""Property tests of the window arithmetic: inference agrees with PyTorch's formula,
and every fix a strict-mode error offers really fits, with the size it promises."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convkit.errors import ShapeError
from convkit.spec import NetSpec, Volume

sizes = st.integers(1, 40)
kernels = st.integers(1, 7)
strides = st.integers(1, 5)
paddings = st.integers(0, 3)
dilations = st.integers(1, 3)


def conv_spec(size, kernel, stride, padding, dilation=1, mode="truncate") -> NetSpec:
    params = {"filters": 2, "kernel": kernel, "stride": stride, "dilation": dilation, "mode": mode}
    if padding is not None:
        params["padding"] = padding
    return NetSpec.from_dict({"input": [size, size + 1, 1], "layers": [{"conv2d": params}]})


@settings(max_examples=300, deadline=None)
@given(sizes, kernels, strides, paddings, dilations)
def test_truncate_matches_pytorch_formula(size, kernel, stride, padding, dilation):
    spec = conv_spec(size, kernel, stride, padding, dilation)
    effective = dilation * (kernel - 1) + 1

    def torch_size(n):  # the formula of torch.nn.Conv2d's documentation
        return math.floor((n + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1)

    if effective > size + 2 * padding:
        with pytest.raises(ShapeError, match="are larger than the padded input"):
            spec.infer()
    else:
        assert spec.infer()[0].output_shape == Volume(torch_size(size), torch_size(size + 1), 2)


@settings(max_examples=300, deadline=None)
@given(sizes, kernels, strides, paddings)
def test_same_mode_is_ceil_of_size_over_stride(size, kernel, stride, padding):
    spec = conv_spec(size, kernel, stride, None, mode="same")
    out = spec.infer()[0].output_shape
    assert (out.height, out.width) == (math.ceil(size / stride), math.ceil((size + 1) / stride))


@settings(max_examples=300, deadline=None)
@given(sizes, kernels, strides, paddings)
def test_every_strict_suggestion_fits(size, kernel, stride, padding):
    try:
        conv_spec(size, kernel, stride, padding, mode="strict").infer()
        return  # it tiled exactly: nothing to suggest
    except ShapeError as error:
        text = str(error)
    if "larger than the padded input" in text:
        return
    listed = re.search(
        r"`padding: \[(\d+), (\d+), (\d+), (\d+)\]` \(→ (\d+)x(\d+)|"
        r"padding (\d+) \(→ (\d+)x(\d+)\)|padding \[(\d+), (\d+)\] \(→ (\d+)x(\d+)\)",
        text,
    )
    assert listed, text
    groups = [int(g) if g else None for g in listed.groups()]
    if groups[0] is not None:
        fix, promised = groups[0:4], groups[4:6]
    elif groups[6] is not None:
        fix, promised = groups[6], groups[7:9]
    else:
        fix, promised = groups[9:11], groups[11:13]
    fitted = conv_spec(size, kernel, stride, fix, mode="strict").infer()[0].output_shape
    assert [fitted.height, fitted.width] == promised
    truncate = re.search(r"mode truncate \(→ (\d+)x(\d+)", text).groups()
    fitted = conv_spec(size, kernel, stride, padding).infer()[0].output_shape
    assert (fitted.height, fitted.width) == tuple(map(int, truncate))
    same = re.search(r"mode same \(→ (\d+)x(\d+)\)", text).groups()
    fitted = conv_spec(size, kernel, stride, None, mode="same").infer()[0].output_shape
    assert (fitted.height, fitted.width) == tuple(map(int, same))
