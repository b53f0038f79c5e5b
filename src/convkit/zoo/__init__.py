"""Named networks, each one short function that returns a NetSpec (pure Python).

from convkit.zoo import get_spec, zoo_names
spec = get_spec("resnet18", classes=10, input="64x64x3")
"""

from __future__ import annotations

from collections.abc import Callable

from convkit.errors import SpecError
from convkit.spec.suggest import unknown_name_message

_ZOO: dict[str, Callable] = {}


def register(name: str) -> Callable[[Callable], Callable]:
    def decorate(function: Callable) -> Callable:
        _ZOO[name] = function
        return function

    return decorate


def _load() -> None:
    from convkit.zoo import classic, resnet  # noqa: F401  (they register their networks)


def zoo_names() -> list[str]:
    _load()
    return sorted(_ZOO)


def get_spec(name: str, **options):
    """The NetSpec of the zoo network ``name`` (options: classes, input, …)."""
    _load()
    if name not in _ZOO:
        raise SpecError(unknown_name_message("zoo network", name, _ZOO))
    return _ZOO[name](**options)


__all__ = ["get_spec", "register", "zoo_names"]
