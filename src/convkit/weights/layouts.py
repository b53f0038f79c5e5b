"""Which tensor of a published state dict feeds which tensor of a convkit network.

Each zoo family records, while it writes its layers, the torchvision module
path of every weighted layer (``convkit.zoo.torchvision_layout``). This module
turns that table into tensor keys with one rule per layer type: what the
convkit builder calls the tensors inside the layer (``ConvLayer.conv``,
``DenseLayer.linear``, a bare ``BatchNorm2d``) and what torchvision calls them.
"""

from __future__ import annotations

from convkit.errors import UsageError

# layer type -> (tensor names in torchvision's module, prefix inside the convkit layer)
_TENSORS = {
    "conv2d": (("weight", "bias"), "conv."),
    "dense": (("weight", "bias"), "linear."),
    "output": (("weight", "bias"), "linear."),
    "batch_norm": (("weight", "bias", "running_mean", "running_var", "num_batches_tracked"), ""),
}

# tensors an older checkpoint may lack without changing what the network computes
OPTIONAL = ("num_batches_tracked",)

# timm names ResNet's tensors as torchvision does; its other families use their own names
SOURCES = {"torchvision": None, "timm": ("resnet18", "resnet34", "resnet50")}


def _has_tensor(spec_layer, tensor: str) -> bool:
    if tensor == "bias" and spec_layer.type != "batch_norm":
        return bool(spec_layer.params.get("bias", True))
    return True


def key_table(spec, paths: dict[str, str]) -> dict[str, str]:
    """convkit state-dict key (``layers.stem_conv.conv.weight``) -> source key (``conv1.weight``)."""
    table = {}
    for spec_layer in spec.layers:
        path = paths.get(spec_layer.name)
        if path is None:
            continue
        tensors, inner = _TENSORS[spec_layer.type]
        for tensor in tensors:
            if _has_tensor(spec_layer, tensor):
                table[f"layers.{spec_layer.name}.{inner}{tensor}"] = f"{path}.{tensor}"
    return table


def table_for(arch: str, source: str = "torchvision", classes: int = 1000) -> dict[str, str]:
    """The key table of zoo network ``arch`` for weights published by ``source``."""
    from convkit.zoo import get_spec, layout_names, torchvision_layout

    if source not in SOURCES:
        raise UsageError(f"--from must be one of {', '.join(SOURCES)}. Received: {source!r}")
    if arch not in layout_names():
        raise UsageError(
            f"no weight layout for {arch!r}; importable networks: {', '.join(layout_names())}"
        )
    allowed = SOURCES[source]
    if allowed is not None and arch not in allowed:
        raise UsageError(
            f"{source} names {arch}'s tensors differently from torchvision and convkit has no table "
            f"for it; {source} weights can be imported for {', '.join(allowed)}, or export the "
            f"model to ONNX and use `convkit import model.onnx`"
        )
    return key_table(get_spec(arch, classes=classes), torchvision_layout(arch, classes=classes))


def guess_arch(source_keys: set[str]) -> str | None:
    """The importable network whose torchvision keys are exactly ``source_keys``, if any."""
    from convkit.zoo import layout_names

    required = {key for key in source_keys if not key.endswith(OPTIONAL)}
    for arch in layout_names():
        table = table_for(arch)
        wanted = {key for key in table.values() if not key.endswith(OPTIONAL)}
        if wanted == required:
            return arch
    return None
