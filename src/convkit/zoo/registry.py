"""The zoo's registry: each family module adds its networks with ``@register(name)``.

Apart from the package's ``__init__`` so that a family imports this, never
the package that imports the families.
"""

from __future__ import annotations

from collections.abc import Callable

NETWORKS: dict[str, Callable] = {}
LAYOUTS: dict[str, Callable] = {}


def register(name: str, layout: Callable | None = None) -> Callable[[Callable], Callable]:
    """Add a zoo network; ``layout(classes=…)`` gives its torchvision key table, if it has one."""

    def decorate(function: Callable) -> Callable:
        NETWORKS[name] = function
        if layout is not None:
            LAYOUTS[name] = layout
        return function

    return decorate
