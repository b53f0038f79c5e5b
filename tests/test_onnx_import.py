"""`convkit import model.onnx`: graphs from plain torch.onnx.export, and convkit round trips."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from convkit.cli import main
from reference_nets import reference


def export(module, path, size=64, dynamic_hw=False, channels=3):
    x = torch.randn(1, channels, size, size)
    axes = {"x": {0: "n", 2: "h", 3: "w"}} if dynamic_hw else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(), (x,), str(path), input_names=["x"], dynamic_axes=axes, dynamo=False
        )
    return path


@pytest.mark.parametrize(
    "name", ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0"]
)
def test_exported_reference_networks_import_with_equal_logits(name, tmp_path, capsys):
    from convkit.modelfile import load_model

    ref = reference(name)
    path = export(ref, tmp_path / f"{name}.onnx")
    out = tmp_path / f"{name}.convkit"
    assert main(["import", str(path), "--out", str(out), "--imagenet"]) == 0
    model = load_model(out)
    x = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert (model.net(x) - ref(x)).abs().max().item() <= 1e-5
    assert model.spec.layers[-1].type == "output" and model.preprocessing["resize"] == "center_crop"
    capsys.readouterr()
    assert main(["summary", str(out)]) == 0  # in the guide's notation, with torch's module names
    summary = capsys.readouterr().out
    assert "output           1000" in summary
    if name == "resnet18":
        assert "layer1_0_conv1" in summary and "layer4_1_conv2" in summary


class _Mixed(nn.Module):
    """An independent net touching every mapped op that the zoo families do not."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=2, dilation=2)
        self.b = nn.Conv2d(8, 8, 3, padding=1, groups=4)
        self.bn = nn.BatchNorm2d(8)
        self.c = nn.Conv2d(16, 6, 1)
        self.fc1 = nn.Linear(6 * 9 * 9, 20)
        self.fc2 = nn.Linear(20, 5)

    def forward(self, x):
        x = nn.functional.leaky_relu(self.a(x))
        y = self.bn(torch.tanh(self.b(x)))  # after tanh: the exporter cannot fold it away
        x = torch.cat([torch.sigmoid(x), y], 1)
        x = nn.functional.max_pool2d(x, 2)
        x = nn.functional.pad(x, (1, 0, 0, 1))
        x = nn.functional.avg_pool2d(x, 3, stride=1, padding=1)
        x = nn.functional.hardtanh(self.c(x), 0, 6)  # Clip(0, 6)
        x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        x = nn.functional.max_pool2d(x, 2)
        x = nn.functional.hardswish(x) * nn.functional.hardsigmoid(x)
        x = nn.functional.dropout(x.flatten(1), 0.5, training=self.training)
        return torch.softmax(self.fc2(torch.relu(self.fc1(x))), 1)


def test_a_mixed_graph_imports_exactly(tmp_path):
    from convkit.onnx_import.convert import build_imported

    torch.manual_seed(0)
    ref = _Mixed().eval()
    with torch.no_grad():
        ref.bn.running_mean.uniform_(-0.2, 0.2)
        ref.bn.running_var.uniform_(0.5, 1.5)
    net = build_imported(export(ref, tmp_path / "mixed.onnx", size=16))
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():  # convkit's output layer gives logits; the task applies the softmax
        assert (torch.softmax(net(x), 1) - ref(x)).abs().max().item() <= 1e-5
    types = {layer.type for layer in net.spec.layers}
    assert {
        "conv2d",
        "batch_norm",
        "concat",
        "zero_pad",
        "upsample",
        "multiply",
        "flatten",
    } <= types


def test_round_trip_convkit_onnx_convkit(tmp_path):
    from convkit.nn import build
    from convkit.onnx_import.convert import build_imported
    from convkit.zoo import get_spec

    torch.manual_seed(0)
    net = build(get_spec("mobilenet_v3_small", classes=7, input="64x64x3")).eval()
    again = build_imported(export(net, tmp_path / "rt.onnx"))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert (net(x) - again(x)).abs().max().item() <= 1e-5
    assert sum(p.numel() for p in again.parameters()) < sum(p.numel() for p in net.parameters())
    # (torch's exporter folds each batch norm into its convolution: fewer tensors, same outputs)


class _Abs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3 * 8 * 8, 2)

    def forward(self, x):
        return self.fc(torch.abs(x).flatten(1))


def test_an_unsupported_op_is_refused_naming_node_and_op(tmp_path, capsys):
    path = export(_Abs(), tmp_path / "abs.onnx", size=8)
    assert main(["import", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "(Abs): cannot import op Abs" in err


def test_dynamic_spatial_shapes_are_refused(tmp_path, capsys):
    path = export(
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)),
        tmp_path / "dyn.onnx",
        size=16,
        dynamic_hw=True,
    )
    assert main(["import", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "dynamic spatial shapes" in err


def test_a_file_that_is_not_onnx_is_one_line(tmp_path, capsys):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x00\x01not a protobuf" * 10)
    assert main(["import", str(path)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
