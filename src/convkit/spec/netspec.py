"""NetSpec and LayerSpec: a network as data, canonical and validated on construction.

A NetSpec is the input volume plus a list of layers. Each layer names its
inputs; a layer that names none takes the previous layer's output (the
sequential shorthand), and the first one takes ``input``. The last layer is the
network's output, and every other layer must feed it.

Construction canonicalises: parameters are validated and their defaults filled
in, unnamed layers are named ``conv1, pool1, …, output``, and omitted inputs are
made explicit, so that ``NetSpec.from_dict(spec.to_dict()) == spec``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from convkit.errors import SpecError
from convkit.spec.constraints import REQUIRED, check_keys, validate_params
from convkit.spec.document import check_document, short_repr
from convkit.spec.graph import INPUT_NAME, execution_order
from convkit.spec.registry import LayerType, get_layer_type
from convkit.spec.shapes import Volume

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class LayerSpec:
    """One layer: its type, unique name, the names of its inputs and its parameters.

    Inside a NetSpec, ``params`` are canonical: every parameter present, pairs
    as tuples. ``name=""`` and ``inputs=()`` mean "fill in" when a NetSpec is
    built from it.
    """

    type: str
    name: str = ""
    inputs: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, with_inputs: bool = True, minimal: bool = False) -> dict:
        """The flat form ``{type, name, inputs, **params}``, pairs written compactly.

        ``minimal`` leaves out parameters that equal their default (the spec
        reads the same, but a later change of a default would change it).
        """
        result: dict[str, Any] = {"type": self.type, "name": self.name}
        if with_inputs:
            result["inputs"] = list(self.inputs)
        defaults = get_layer_type(self.type).params if minimal else {}
        for key, value in self.params.items():
            if key in defaults and _same_value(defaults[key].default, value):
                continue
            result[key] = _compact(value)
        return result


def layer(
    type: str, name: str = "", inputs: tuple[str, ...] | list[str] = (), **params
) -> LayerSpec:
    """Shorthand for Python specs: ``layer("conv2d", filters=20, kernel=5)``."""
    return LayerSpec(type, name, tuple(inputs), dict(params))


def _compact(value: Any) -> Any:
    """(5, 5) -> 5; (1, 1, 2, 2) -> [1, 2]; other tuples -> lists (YAML-friendly)."""
    if not isinstance(value, tuple):
        return value
    if any(isinstance(item, tuple | list) for item in value):
        return _plain(value)  # nested (e.g. anchor boxes): lists, never shortened
    if all(item == value[0] for item in value):
        return value[0]
    if len(value) == 4 and value[0] == value[1] and value[2] == value[3]:
        return [value[0], value[2]]
    return list(value)


def _same_value(default: Any, value: Any) -> bool:
    return default is not REQUIRED and _compact(default) == _compact(value)


def _plain(value: Any) -> Any:
    return [_plain(item) for item in value] if isinstance(value, tuple | list) else value


@dataclass
class NetSpec:
    """A network: the input volume and its layers (see the module docstring)."""

    input: Volume
    layers: list[LayerSpec]
    name: str = ""
    order: tuple[int, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.input = parse_input(self.input)
        if not isinstance(self.name, str):
            raise SpecError(f"`name` must be a string. Received: name={short_repr(self.name)}")
        self.layers = canonical_layers(self.input, self.layers)
        self.order = execution_order(self.layers)

    # -- reading and writing -------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any) -> NetSpec:
        if not isinstance(data, Mapping):
            raise SpecError(
                f"a spec must be a mapping with `input` and `layers`, not {type(data).__name__}"
            )
        check_document(data)  # size, depth, number limits: also for dicts from Python or files
        check_keys(data, ("name", "input", "layers"), "the spec's top level")
        if "input" not in data:
            raise SpecError("the spec needs `input`, the input volume, e.g. `input: 28x28x1`")
        if "layers" not in data:
            raise SpecError(
                "the spec needs `layers`, a list such as `- conv2d: {filters: 20, kernel: 5}`"
            )
        raw_layers = data["layers"]
        if not isinstance(raw_layers, list):
            raise SpecError(f"`layers` must be a list. Received: layers={short_repr(raw_layers)}")
        layers = [parse_layer(entry, index) for index, entry in enumerate(raw_layers)]
        return cls(input=data["input"], layers=layers, name=data.get("name") or "")

    @classmethod
    def from_yaml(cls, text: str, source: str = "spec") -> NetSpec:
        from convkit.spec.document import parse_yaml

        return cls.from_dict(parse_yaml(text, source))

    def to_dict(self, minimal: bool = False) -> dict:
        """Plain data (for YAML/JSON); ``minimal`` leaves out default parameters."""
        result: dict[str, Any] = {"name": self.name} if self.name else {}
        result["input"] = self.input.to_dict()
        previous = INPUT_NAME
        entries = []
        for spec_layer in self.layers:
            with_inputs = spec_layer.inputs != (previous,)
            entries.append(spec_layer.to_dict(with_inputs=with_inputs, minimal=minimal))
            previous = spec_layer.name
        result["layers"] = entries
        return result

    def to_yaml(self, minimal: bool = False) -> str:
        import yaml

        data = self.to_dict(minimal=minimal)
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)

    # -- questions -----------------------------------------------------------

    @property
    def output_name(self) -> str:
        return self.layers[-1].name

    @property
    def is_sequential(self) -> bool:
        """True when each layer takes exactly the previous one's output."""
        previous = INPUT_NAME
        for spec_layer in self.layers:
            if spec_layer.inputs != (previous,):
                return False
            previous = spec_layer.name
        return True

    def layer_names(self) -> list[str]:
        return [spec_layer.name for spec_layer in self.layers]

    def infer(self):
        """Every layer's input and output shapes, parameters, FLOPs and receptive field.

        Returns ``list[LayerInfo]`` in the order of ``layers``; raises ``ShapeError``.
        """
        from convkit.spec.infer import infer

        return infer(self)


# -- parsing -------------------------------------------------------------------


def parse_input(value: Any) -> Volume:
    """``28x28x1``, ``[28, 28, 1]``, ``{height, width, channels}`` or a Volume -> Volume."""
    if isinstance(value, Volume):
        sizes = [value.height, value.width, value.channels]
    elif isinstance(value, str):
        sizes = value.lower().replace("×", "x").split("x")
        try:
            sizes = [int(size.strip()) for size in sizes]
        except ValueError:
            sizes = None
    elif isinstance(value, list | tuple):
        sizes = list(value)
    elif isinstance(value, Mapping) and set(value) == {"height", "width", "channels"}:
        sizes = [value["height"], value["width"], value["channels"]]
    else:
        sizes = None
    if (
        sizes is None
        or len(sizes) != 3
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes)
    ):
        raise SpecError(
            "`input` must be a volume of three positive integers, height x width x channels, "
            f"e.g. 28x28x1 or [28, 28, 1]. Received: input={short_repr(value)}"
        )
    return Volume(*sizes)


def parse_layer(entry: Any, index: int) -> LayerSpec:
    """One YAML/JSON layer entry -> a raw LayerSpec (parameters not yet validated).

    Accepted forms: ``flatten`` (a bare type), ``{conv2d: {filters: 20}}``,
    ``{dropout: 0.5}`` (the type's shorthand parameter) and the graph form
    ``{type: conv2d, name: c1, inputs: [x], filters: 20}``.
    """
    where = f"layer {index + 1}"
    if isinstance(entry, str):
        return LayerSpec(entry)
    if not isinstance(entry, Mapping) or not entry:
        raise SpecError(
            f"{where}: a layer must be `TYPE`, `{{TYPE: {{params}}}}` or `{{type: TYPE, …}}`. "
            f"Received: {short_repr(entry)}"
        )
    if "type" in entry:
        body = dict(entry)
        type_name = body.pop("type")
    elif len(entry) == 1:
        type_name, body = next(iter(entry.items()))
        if body is None:
            body = {}
        elif not isinstance(body, Mapping):
            layer_type = _lookup(type_name, where)
            if layer_type.shorthand is None:
                raise SpecError(
                    f"{where} ({type_name}): give its parameters as a mapping, "
                    f"e.g. `{{{type_name}: {{…}}}}`. Received: {short_repr(body)}"
                )
            body = {layer_type.shorthand: body}
        body = dict(body)
    else:
        keys = ", ".join(map(str, entry))
        raise SpecError(
            f"{where}: a layer with several keys needs `type` (keys: {keys}); "
            f"write `{{type: conv2d, filters: 20, …}}` or `{{conv2d: {{filters: 20, …}}}}`"
        )
    if not isinstance(type_name, str):
        raise SpecError(
            f"{where}: `type` must be a layer type name. Received: type={short_repr(type_name)}"
        )
    name = body.pop("name", "")
    inputs = body.pop("inputs", ())
    if isinstance(inputs, str):
        inputs = (inputs,)
    if not isinstance(name, str) or not isinstance(inputs, list | tuple):
        raise SpecError(f"{where}: `name` must be a string and `inputs` a list of layer names")
    return LayerSpec(type_name, name, tuple(inputs), body)


def _lookup(type_name: Any, where: str) -> LayerType:
    try:
        return get_layer_type(type_name)
    except SpecError as error:
        raise SpecError(f"{where}: {error}") from None


def _next_name(layer_type: LayerType, counters: dict[str, int], taken: set[str]) -> str:
    prefix = layer_type.name_prefix
    if layer_type.single_name and counters.get(prefix, 0) == 0 and prefix not in taken:
        counters[prefix] = 1
        return prefix
    while True:
        counters[prefix] = counters.get(prefix, 0) + 1
        candidate = f"{prefix}{counters[prefix]}"
        if candidate not in taken:
            return candidate


def canonical_layers(volume: Volume, raw_layers: Any) -> list[LayerSpec]:
    """Validate every layer, fill in names, inputs and default parameters."""
    if not isinstance(raw_layers, list | tuple) or not raw_layers:
        raise SpecError("the spec has no layers; add at least `- output: {classes: 10}`")
    taken: set[str] = set()
    for index, raw in enumerate(raw_layers):
        if not isinstance(raw, LayerSpec):
            raise SpecError(f"layer {index + 1}: expected a LayerSpec. Received: {short_repr(raw)}")
        if raw.name:
            if not NAME_PATTERN.match(raw.name) or raw.name == INPUT_NAME:
                raise SpecError(
                    f"layer {index + 1}: `name` must be letters, digits and _ (not starting with "
                    f"a digit, and not `input`). Received: name={short_repr(raw.name)}"
                )
            if raw.name in taken:
                raise SpecError(f"layer {index + 1}: the name `{raw.name}` is used twice")
            taken.add(raw.name)
    counters: dict[str, int] = {}
    result: list[LayerSpec] = []
    previous = INPUT_NAME
    for index, raw in enumerate(raw_layers):
        layer_type = _lookup(raw.type, f"layer {index + 1}")
        name = raw.name or _next_name(layer_type, counters, taken)
        taken.add(name)
        where = f"layer {index + 1} '{name}' ({layer_type.name})"
        inputs = tuple(raw.inputs) or (previous,)
        if not all(isinstance(item, str) for item in inputs):
            raise SpecError(
                f"{where}: `inputs` must be layer names. Received: inputs={list(inputs)}"
            )
        _check_input_count(layer_type, inputs, where)
        params = _validated_params(layer_type, raw.params, where, volume, result, inputs)
        result.append(LayerSpec(layer_type.name, name, inputs, params))
        previous = name
    return result


def _check_input_count(layer_type: LayerType, inputs: tuple[str, ...], where: str) -> None:
    low, high = layer_type.min_inputs, layer_type.max_inputs
    if len(inputs) < low:
        raise SpecError(
            f"{where}: needs at least {low} inputs, got {len(inputs)}; "
            f"list them, e.g. `inputs: [conv1, conv2]`"
        )
    if high is not None and len(inputs) > high:
        listed = ", ".join(inputs)
        raise SpecError(
            f"{where}: takes {high} input{'s' if high > 1 else ''}, got {len(inputs)} ({listed}); "
            f"merge them first with an `add` or `concat` layer"
        )


def _validated_params(layer_type, raw_params, where, volume, done, inputs) -> dict:
    if not isinstance(raw_params, Mapping):
        raise SpecError(
            f"{where}: parameters must be a mapping. Received: {short_repr(raw_params)}"
        )
    try:
        params = validate_params(layer_type.name, layer_type.params, raw_params)
        if layer_type.finalise is not None:
            params = layer_type.finalise(params)
        return params
    except SpecError as error:
        raise SpecError(f"{_with_input(where, volume, done, inputs)}: {error}") from None


def _with_input(where: str, volume: Volume, done: list[LayerSpec], inputs) -> str:
    """Add the layer's input shape to ``where`` when the layers before it tell it."""
    from convkit.spec.infer import shapes_so_far

    shapes = shapes_so_far(volume, done)
    if not all(name in shapes for name in inputs):
        return where
    listed = " + ".join(str(shapes[name]) for name in inputs)
    return f"{where[:-1]}, input {listed})"
