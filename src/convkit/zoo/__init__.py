"""Named networks, each one short function that returns a NetSpec (pure Python).

from convkit.zoo import get_spec, zoo_names
spec = get_spec("resnet18", classes=10, input="64x64x3")
"""

from __future__ import annotations

from convkit.errors import SpecError
from convkit.spec.suggest import unknown_name_message
from convkit.zoo.registry import LAYOUTS, NETWORKS, register


def _load() -> None:
    # they register their networks
    from convkit.zoo import classic, efficientnet, mobilenet, resnet  # noqa: F401


def zoo_names() -> list[str]:
    _load()
    return sorted(NETWORKS)


def get_spec(name: str, **options):
    """The NetSpec of the zoo network ``name`` (options: classes, input, …)."""
    _load()
    if name not in NETWORKS:
        raise SpecError(unknown_name_message("zoo network", name, NETWORKS))
    return NETWORKS[name](**options)


def torchvision_layout(name: str, **options) -> dict[str, str]:
    """convkit layer name -> torchvision module path (e.g. ``stem_conv`` -> ``conv1``)."""
    _load()
    if name not in LAYOUTS:
        with_layout = ", ".join(sorted(LAYOUTS))
        raise SpecError(
            f"zoo network {name!r} has no published weight layout; these do: {with_layout}"
        )
    return LAYOUTS[name](**options)


def layout_names() -> list[str]:
    """The zoo networks whose published (torchvision) weights convkit can import."""
    _load()
    return sorted(LAYOUTS)


__all__ = ["get_spec", "layout_names", "register", "torchvision_layout", "zoo_names"]
