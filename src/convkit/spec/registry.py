"""The registry of layer types: what each type accepts, produces, costs and sees.

A layer type is data plus small pure functions (no torch here)::

    register_layer_type(LayerType(
        name="dense",
        params={"units": Param([Interval(int, 1, None)]), ...},
        accepts=(Volume, Vector),
        output_shape=lambda inputs, p: Vector(p["units"]),
        count_params=lambda inputs, out, p: inputs[0].numel() * p["units"] + p["units"],
    ))

The built-in types live in ``convkit.spec.layer_types``; a feature adds its own
by adding a module there (and its line in ``LAYER_TYPE_MODULES``). Modules are
imported on the first lookup, so ``import convkit.spec`` stays instant.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from convkit.errors import SpecError
from convkit.spec.constraints import Param
from convkit.spec.shapes import Shape
from convkit.spec.suggest import unknown_name_message

# The receptive field as it travels through the network: (height, width,
# jump_h, jump_w), where jump is the distance in input pixels between two
# neighbouring positions of the current layer. ``None`` means "the whole input".
Field = tuple[float, float, float, float] | None


def _no_params(inputs, output, params) -> int:
    return 0


def _one_flop_per_output(inputs, output, params) -> int:
    return output.numel()


def _same_field(field_in: Field, params: dict) -> Field:
    return field_in


@dataclass(frozen=True)
class LayerType:
    """Everything the spec layer knows about one type of layer.

    - ``params``: name -> Param (constraints as data, default, doc).
    - ``accepts``: the shape kinds an input may be (e.g. ``(Volume,)``).
    - ``output_shape(inputs, params) -> Shape``: raises ``ShapeError`` (without
      the layer's location, which the caller adds) when the inputs do not fit.
    - ``count_params(inputs, output, params)`` and ``count_flops(...)``: per image.
    - ``receptive_field(field, params) -> field``: see ``Field``.
    - ``finalise(params) -> params``: cross-parameter rules after validation.
    - ``explain(inputs, output, params) -> str``: the arithmetic in words.
    - ``name_prefix``: unnamed layers are called prefix1, prefix2, … ;
      ``single_name`` names the first one just ``prefix`` (``output``).
    - ``shorthand``: the parameter a scalar fills, e.g. ``{dropout: 0.5}``.
    """

    name: str
    params: Mapping[str, Param]
    output_shape: Callable[[tuple[Shape, ...], dict], Shape]
    accepts: tuple[type, ...] = (Shape,)
    count_params: Callable[[tuple[Shape, ...], Shape, dict], int] = _no_params
    count_flops: Callable[[tuple[Shape, ...], Shape, dict], int] = _one_flop_per_output
    receptive_field: Callable[[Field, dict], Field] = _same_field
    finalise: Callable[[dict], dict] | None = None
    explain: Callable[[tuple[Shape, ...], Shape, dict], str] | None = None
    name_prefix: str = "layer"
    single_name: bool = False
    shorthand: str | None = None
    min_inputs: int = 1
    max_inputs: int | None = 1
    doc: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_TYPES: dict[str, LayerType] = {}
_LOADED = False


def register_layer_type(layer_type: LayerType) -> LayerType:
    """Add a layer type; a second registration of the same name is a programming error."""
    if layer_type.name in _TYPES and _TYPES[layer_type.name] is not layer_type:
        raise ValueError(f"layer type {layer_type.name!r} is registered twice")
    reserved = {"type", "name", "inputs"} & set(layer_type.params)
    if reserved:  # these keys describe the layer itself in the YAML form
        raise ValueError(f"layer type {layer_type.name!r} uses reserved parameter names {reserved}")
    _TYPES[layer_type.name] = layer_type
    return layer_type


def _load_builtin_types() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    from convkit.spec.layer_types import LAYER_TYPE_MODULES

    for module_name in LAYER_TYPE_MODULES:
        importlib.import_module(module_name)


def layer_types() -> dict[str, LayerType]:
    """Every registered layer type, by name."""
    _load_builtin_types()
    return dict(_TYPES)


def get_layer_type(name: Any) -> LayerType:
    """The layer type called ``name``; ``SpecError`` with a suggestion if there is none."""
    _load_builtin_types()
    if isinstance(name, str) and name in _TYPES:
        return _TYPES[name]
    raise SpecError(unknown_name_message("layer type", name, _TYPES))
