"""Named networks, each one short function that returns a NetSpec (pure Python).

from convkit.zoo import get_spec, zoo_names
spec = get_spec("resnet18", classes=10, input="64x64x3")
"""

from __future__ import annotations

from collections.abc import Callable

from convkit.errors import SpecError
from convkit.spec.suggest import unknown_name_message

_ZOO: dict[str, Callable] = {}
_LAYOUTS: dict[str, Callable] = {}


def register(name: str, layout: Callable | None = None) -> Callable[[Callable], Callable]:
    """Add a zoo network; ``layout(classes=…)`` gives its torchvision key table, if it has one."""

    def decorate(function: Callable) -> Callable:
        _ZOO[name] = function
        if layout is not None:
            _LAYOUTS[name] = layout
        return function

    return decorate


def _load() -> None:
    # they register their networks
    from convkit.zoo import classic, efficientnet, mobilenet, resnet  # noqa: F401


def zoo_names() -> list[str]:
    _load()
    return sorted(_ZOO)


def get_spec(name: str, **options):
    """The NetSpec of the zoo network ``name`` (options: classes, input, …)."""
    _load()
    if name not in _ZOO:
        raise SpecError(unknown_name_message("zoo network", name, _ZOO))
    return _ZOO[name](**options)


def torchvision_layout(name: str, **options) -> dict[str, str]:
    """convkit layer name -> torchvision module path (e.g. ``stem_conv`` -> ``conv1``)."""
    _load()
    if name not in _LAYOUTS:
        with_layout = ", ".join(sorted(_LAYOUTS))
        raise SpecError(
            f"zoo network {name!r} has no published weight layout; these do: {with_layout}"
        )
    return _LAYOUTS[name](**options)


def layout_names() -> list[str]:
    """The zoo networks whose published (torchvision) weights convkit can import."""
    _load()
    return sorted(_LAYOUTS)


__all__ = ["get_spec", "layout_names", "register", "torchvision_layout", "zoo_names"]
