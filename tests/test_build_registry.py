"""The layer-type and builder registries: complete, extensible, and strict about names."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from convkit.errors import SpecError
from convkit.nn import build
from convkit.nn.registry import get_builder, register_builder
from convkit.spec import NetSpec, Volume, layer_types, register_layer_type
from convkit.spec.constraints import Interval, Param
from convkit.spec.registry import LayerType


def test_every_registered_layer_type_has_a_builder():
    for name in layer_types():
        assert callable(get_builder(name)), name


def test_unknown_builder_is_a_spec_error():
    with pytest.raises(SpecError, match=r"no builder for unknown layer type `conv3d`"):
        get_builder("conv3d")


def test_a_feature_can_add_a_layer_type_without_touching_the_core():
    register_layer_type(
        LayerType(
            name="test_space_to_depth",
            params={"block": Param([Interval(int, 1, None)], default=2)},
            accepts=(Volume,),
            output_shape=lambda inputs, p: Volume(
                inputs[0].height // p["block"],
                inputs[0].width // p["block"],
                inputs[0].channels * p["block"] ** 2,
            ),
            name_prefix="s2d",
            shorthand="block",
        )
    )

    @register_builder("test_space_to_depth")
    def build_space_to_depth(spec_layer, info):
        return nn.PixelUnshuffle(spec_layer.params["block"])

    spec = NetSpec.from_dict(
        {"input": "8x8x3", "layers": [{"test_space_to_depth": 4}, {"output": 2}]}
    )
    assert spec.layers[0].name == "s2d1"
    assert spec.infer()[0].output_shape == Volume(2, 2, 48)
    assert build(spec).forward_layers(torch.randn(1, 3, 8, 8), ["s2d1"])["s2d1"].shape == (
        1,
        48,
        2,
        2,
    )
    with pytest.raises(SpecError, match=r"`block` must be a positive integer. Received: block=0"):
        NetSpec.from_dict({"input": "8x8x3", "layers": [{"test_space_to_depth": 0}]})


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        register_layer_type(
            LayerType(name="conv2d", params={}, output_shape=lambda inputs, p: inputs[0])
        )
