"""Zoo networks: the parameter counts of the published architectures."""

from __future__ import annotations

import pytest

from convkit.errors import SpecError
from convkit.spec import Volume
from convkit.zoo import get_spec, zoo_names


@pytest.mark.parametrize(
    "name, params",
    [
        ("lenet", 431_080),
        ("alexnet", 61_100_840),  # torchvision.models.alexnet
        ("vgg11", 132_863_336),  # torchvision.models.vgg11
        ("vgg16", 138_357_544),  # torchvision.models.vgg16
        ("resnet18", 11_689_512),  # torchvision.models.resnet18
        ("resnet34", 21_797_672),  # torchvision.models.resnet34
    ],
)
def test_parameter_counts_match_the_reference_implementations(name, params):
    assert sum(info.params for info in get_spec(name).infer()) == params


def test_options_and_unknown_names():
    spec = get_spec("resnet18", classes=7, input="64x64x1")
    assert spec.input == Volume(64, 64, 1)
    assert str(spec.infer()[-1].output_shape) == "7"
    assert "resnet34" in zoo_names()
    with pytest.raises(
        SpecError, match=r"unknown zoo network `resnet19`; did you mean `resnet18`\?"
    ):
        get_spec("resnet19")
