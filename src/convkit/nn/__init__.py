"""NetSpec -> torch module. The one place that maps a spec onto PyTorch.

from convkit.nn import build
net = build(spec)                  # ConvNet(torch.nn.Module)
logits = net(x)                    # x (N, C, H, W) float
maps = net.forward_layers(x, ["conv1", "pool2"])
"""

from __future__ import annotations


def build(spec):
    """Build the ConvNet of ``spec`` (a NetSpec); raises ShapeError if its volumes do not fit."""
    from convkit.nn.convnet import ConvNet
    from convkit.nn.registry import get_builder

    infos = spec.infer()
    modules = {}
    for spec_layer, info in zip(spec.layers, infos, strict=True):
        modules[spec_layer.name] = get_builder(spec_layer.type)(spec_layer, info)
    return ConvNet(spec, infos, modules)


def __getattr__(name: str):
    if name == "ConvNet":  # lazily, so `import convkit.nn` does not import torch
        from convkit.nn.convnet import ConvNet

        return ConvNet
    raise AttributeError(name)


__all__ = ["ConvNet", "build"]
