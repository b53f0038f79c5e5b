"""NetSpec parsing, canonical form, YAML/JSON round trips and the messages of bad specs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from convkit.errors import ShapeError, SpecError
from convkit.spec import LayerSpec, NetSpec, Vector, Volume, layer, load_spec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def spec_of(*layers, input="32x32x3"):
    return NetSpec.from_dict({"input": input, "layers": list(layers)})


def test_spec_import_never_imports_torch():
    code = (
        "import sys, convkit.spec, convkit.spec.summary, convkit.zoo, convkit.cli.summary\n"
        "from convkit.spec import load_spec\n"
        "load_spec('examples/resnet18.yaml').infer()\n"
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=EXAMPLES.parent,
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_unnamed_layers_get_guide_names_and_defaults():
    spec = load_spec(EXAMPLES / "lenet.yaml")
    assert spec.layer_names() == ["conv1", "pool1", "conv2", "pool2", "dense1", "output"]
    conv = spec.layers[0]
    assert conv.inputs == ("input",)
    assert conv.params["kernel"] == (5, 5)
    assert conv.params["stride"] == (1, 1)
    assert conv.params["padding"] == (0, 0, 0, 0)
    assert conv.params["activation"] == "relu"
    assert conv.params["mode"] == "truncate"
    assert spec.layers[1].params["stride"] == (2, 2)
    assert spec.layers[-1].params == {
        "classes": 10,
        "activation": "softmax",
        "loss": "cross_entropy",
        "bias": True,
    }
    assert spec.is_sequential


@pytest.mark.parametrize("name", ["lenet.yaml", "seed_volume.yaml", "resnet18.yaml"])
def test_examples_round_trip_through_yaml_and_json(name):
    spec = load_spec(EXAMPLES / name)
    assert NetSpec.from_yaml(spec.to_yaml()) == spec
    assert NetSpec.from_yaml(spec.to_yaml(minimal=True)) == spec
    assert NetSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_python_objects_equal_the_yaml_spec():
    from_python = NetSpec(
        input=Volume(28, 28, 1),
        name="lenet",
        layers=[
            layer("conv2d", filters=20, kernel=5),
            layer("max_pool", kernel=2, stride=2),
            LayerSpec("conv2d", params={"filters": 50, "kernel": [5, 5]}),
            layer("max_pool", kernel=2, stride=2),
            layer("dense", units=500, activation="relu"),
            layer("output", classes=10),
        ],
    )
    assert from_python == load_spec(EXAMPLES / "lenet.yaml")


def test_shorthand_forms():
    spec = spec_of("flatten", {"dropout": 0.25}, {"dense": 8}, {"output": 3})
    assert [lay.type for lay in spec.layers] == ["flatten", "dropout", "dense", "output"]
    assert spec.layers[1].params["rate"] == 0.25
    assert spec.layers[2].params["units"] == 8
    assert spec.infer()[0].output_shape == Vector(3072)


def test_padding_forms_and_same():
    spec = spec_of(
        {"conv2d": {"filters": 4, "kernel": 3, "padding": [1, 2]}},
        {"conv2d": {"filters": 4, "kernel": 3, "padding": "same", "stride": 2}},
        {"output": 2},
    )
    assert spec.layers[0].params["padding"] == (1, 1, 2, 2)
    assert spec.layers[1].params["padding"] == (0, 0, 0, 0)
    assert spec.layers[1].params["mode"] == "same"
    infos = spec.infer()
    assert infos[0].output_shape == Volume(32, 34, 4)
    assert infos[1].output_shape == Volume(16, 17, 4)


def test_graph_form_with_forward_reference_is_ordered():
    spec = spec_of(
        {"type": "conv2d", "name": "left", "inputs": ["stem"], "filters": 4, "kernel": 1},
        {"type": "conv2d", "name": "stem", "inputs": ["input"], "filters": 4, "kernel": 3},
        {"type": "add", "name": "sum", "inputs": ["left", "stem"]},
        {"output": 2},
    )
    assert [spec.layers[i].name for i in spec.order] == ["stem", "left", "sum", "output"]
    assert not spec.is_sequential
    assert spec.infer()[2].output_shape == Volume(30, 30, 4)
    assert NetSpec.from_yaml(spec.to_yaml()) == spec


# -- messages of bad specs (pinned exactly) -------------------------------------------


def message(*layers, input="32x32x3", error=SpecError) -> str:
    with pytest.raises(error) as caught:
        spec_of(*layers, input=input).infer()
    return str(caught.value)


def test_strict_mode_shows_arithmetic_and_offers_fits():
    text = message(
        {"conv2d": {"filters": 8, "kernel": 3, "stride": 3, "mode": "strict"}},
        {"output": 2},
        error=ShapeError,
    )
    assert text == (
        "layer 1 'conv1' (conv2d, input 32x32x3): mode strict needs the 3x3 filters at stride 3 "
        "to tile the 32x32 input exactly, but (32 − 3) / 3 + 1 = 10.67; try padding 1 (→ 11x11, "
        "at the bottom/right: `padding: [0, 1, 0, 1]`), mode truncate (→ 10x10, the last 2 rows "
        "and 2 columns unused) or mode same (→ 11x11)"
    )
    # and each offer really fits
    for fix in ({"padding": [0, 1, 0, 1]}, {"mode": "truncate"}, {"mode": "same"}):
        params = {"filters": 8, "kernel": 3, "stride": 3, "mode": "strict", **fix}
        infos = spec_of({"conv2d": params}, {"output": 2}).infer()
        size = infos[0].output_shape.height
        assert size == (10 if fix.get("mode") == "truncate" else 11)


def test_bad_parameter_value_is_keras_style_with_location():
    text = message({"conv2d": {"filters": 8, "kernel": 3, "stride": 0}}, {"output": 2})
    assert text == (
        "layer 1 'conv1' (conv2d, input 32x32x3): `stride` must be a positive integer or a "
        "list [height, width] of them. Received: stride=0"
    )


def test_negative_and_wrongly_typed_sizes():
    assert message({"output": -2}) == (
        "layer 1 'output' (output, input 32x32x3): `classes` must be a positive integer. "
        "Received: classes=-2"
    )
    assert "`filters` must be a positive integer. Received: filters='8'" in message(
        {"conv2d": {"filters": "8", "kernel": 3}}, {"output": 2}
    )
    assert "`bias` must be true or false. Received: bias=1" in message(
        {"conv2d": {"filters": 8, "kernel": 3, "bias": 1}}, {"output": 2}
    )


def test_unknown_key_type_and_activation_suggest_a_fix():
    assert message(
        {"conv2d": {"filters": 8, "kernel": 3}},
        {"conv2d": {"filters": 8, "kernel": 3, "strides": 2}},
        {"output": 2},
    ) == (
        "layer 2 'conv2' (conv2d, input 30x30x8): unknown parameter `strides` for conv2d; "
        "did you mean `stride`? (valid: filters, kernel, stride, padding, dilation, groups, "
        "bias, activation, mode)"
    )
    assert message({"conv2dd": {"filters": 8}}, {"output": 2}).startswith(
        "layer 1: unknown layer type `conv2dd`; did you mean `conv2d`? (valid: activation, add,"
    )
    assert message(
        {"conv2d": {"filters": 8, "kernel": 3, "activation": "rleu"}}, {"output": 2}
    ) == (
        "layer 1 'conv1' (conv2d, input 32x32x3): `activation` must be one of 'elu', 'gelu', "
        "'hardsigmoid', 'hardswish', 'identity', 'leaky_relu', 'relu', 'relu6', 'sigmoid', "
        "'silu', 'softmax', 'tanh'. "
        "Received: activation='rleu'; did you mean `relu`?"
    )
    with pytest.raises(SpecError) as caught:
        NetSpec.from_dict({"input": "8x8x1", "layrs": []})
    assert str(caught.value) == (
        "unknown key `layrs` in the spec's top level; did you mean `layers`? "
        "(valid: name, input, layers)"
    )


def test_kernel_larger_than_padded_input():
    assert message({"conv2d": {"filters": 8, "kernel": 5}}, {"output": 2}, input="4x4x3") == (
        "layer 1 'conv1' (conv2d, input 4x4x3): the 5x5 filters are larger than the padded "
        "input 4x4: (4 − 5) / 1 + 1 = 0; use filters of at most 4x4, more padding, or mode "
        "same (→ 4x4)"
    )


def test_graph_mistakes():
    conv = {"filters": 4, "kernel": 3}
    assert message(
        {"type": "conv2d", "name": "a", **conv},
        {"type": "conv2d", "name": "b", "inputs": ["input"], "filters": 8, "kernel": 3},
        {"type": "add", "inputs": ["a", "b"]},
        {"output": 2},
        input="8x8x3",
    ) == (
        "layer 3 'add1' (add, inputs 6x6x4 + 6x6x8): add needs inputs of one shape, but got "
        "6x6x4, 6x6x8; the channels differ: give the shortcut a 1x1 conv2d with as many filters"
    )
    assert message(
        {"type": "conv2d", "name": "a", **conv},
        {"type": "conv2d", "name": "b", "inputs": ["input"], "filters": 4, "kernel": 1},
        {"type": "concat", "inputs": ["a", "b"]},
        {"output": 2},
        input="8x8x3",
    ) == (
        "layer 3 'concat1' (concat, inputs 6x6x4 + 8x8x4): concat stacks volumes along the "
        "channels, so their height x width must match, but got 6x6x4, 8x8x4; pad, crop, or "
        "change a stride so they agree"
    )
    assert (
        message(
            {"type": "conv2d", "name": "a", "inputs": ["b"], **conv},
            {"type": "conv2d", "name": "b", "inputs": ["a"], **conv},
            {"output": 2},
        )
        == "the layers a → b → a form a cycle; a layer cannot depend on its own output"
    )
    assert message(
        {"type": "conv2d", "name": "a", "inputs": ["bb"], **conv},
        {"type": "conv2d", "name": "b", **conv},
        {"output": 2},
    ) == (
        "layer 1 'a' (conv2d): input `bb` is not a layer; did you mean `b`? "
        "(layers: input, a, b, output)"
    )
    assert message(
        {"type": "conv2d", "name": "a", **conv},
        {"type": "conv2d", "name": "b", "inputs": ["input"], **conv},
        {"output": 2},
    ) == (
        "layer 1 'a' (conv2d) does not lead to the output 'output' (the last layer); "
        "use it as an input or remove it"
    )
    assert "needs at least 2 inputs, got 1" in message({"add": {}}, {"output": 2})
    assert "the name `a` is used twice" in message(
        {"type": "conv2d", "name": "a", **conv}, {"type": "conv2d", "name": "a", **conv}
    )


def test_wrong_shape_kind_is_explained():
    assert message({"dense": 8}, {"conv2d": {"filters": 8, "kernel": 1}}, {"output": 2}) == (
        "layer 2 'conv1' (conv2d, input 8): conv2d needs a volume, but `dense1` gives a vector "
        "of 8; spatial layers (convolution, pooling) must come before flattening ones"
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("input: 8x8x1\nlayers: [{output: 2}\n", "bad YAML at line 3, column 1"),
        ("", "the spec is empty"),
        ("- conv2d: {}\n", "a spec must be a mapping with `input` and `layers`, not list"),
        ("input: 8x8\nlayers: [{output: 2}]\n", "`input` must be a volume of three positive"),
        ("input: 8x8x1\nlayers: []\n", "the spec has no layers"),
        ("input: 8x8x1\nlayers: [{conv2d: 3}]\n", "give its parameters as a mapping"),
    ],
)
def test_bad_yaml_and_structure(text, expected):
    with pytest.raises(SpecError) as caught:
        NetSpec.from_yaml(text)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_load_spec_errors_name_the_file(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text('{"input": "8x8x1", "layers": [}')
    with pytest.raises(SpecError, match=r"bad\.json: bad JSON at line 1, column 31"):
        load_spec(bad)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("input: 8x8x1\nlayers: [{output: 0}]\n")
    with pytest.raises(SpecError, match=r"^.*wrong\.yaml: layer 1 'output'"):
        load_spec(wrong)
