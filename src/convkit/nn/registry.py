"""Builders: one function per layer type that turns a LayerSpec into a torch module.

    @register_builder("conv2d")
    def build_conv2d(spec_layer: LayerSpec, info: LayerInfo) -> torch.nn.Module: ...

The module's ``forward`` takes the layer's inputs as positional tensors (one
for most layers, several for merge layers) and returns one tensor whose shape
is ``(N, *info.output_shape.tensor_shape())``. Builders live in
``convkit.nn.ops`` (one line per module in ``OP_MODULES``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from convkit.errors import SpecError
from convkit.spec.suggest import unknown_name_message

_BUILDERS: dict[str, Callable] = {}
_LOADED = False


def register_builder(type_name: str) -> Callable[[Callable], Callable]:
    def decorate(function: Callable) -> Callable:
        if type_name in _BUILDERS and _BUILDERS[type_name] is not function:
            raise ValueError(f"a builder for {type_name!r} is registered twice")
        _BUILDERS[type_name] = function
        return function

    return decorate


def get_builder(type_name: str) -> Callable:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        from convkit.nn.ops import OP_MODULES

        for module_name in OP_MODULES:
            importlib.import_module(module_name)
    if type_name not in _BUILDERS:
        raise SpecError(
            "no builder for " + unknown_name_message("layer type", type_name, _BUILDERS)
        )
    return _BUILDERS[type_name]
