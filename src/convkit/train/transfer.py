"""Transfer learning: start a network from another model's weights, frozen at first.

A detector (or any network) whose first layers are written like a classifier's
— same layer names, same shapes — can start from that classifier's trained
weights: ``load_matching_weights`` copies every tensor whose name and shape
match, and ``FreezeCallback`` keeps those layers fixed for the first epochs so
the new head learns on stable features before everything is fine-tuned.

The source may be a model file or a zoo name whose published weights were
imported into the user cache (``convkit weights pull resnet18``). The head is
rebuilt for the data's classes (``rebuild_head``), the pretrained
preprocessing is kept (``pretrained_preprocessing``), and once unfrozen the
copied layers learn at ``lr x backbone_lr_scale`` (``parameter_groups``).
"""

from __future__ import annotations

import types
from pathlib import Path

from convkit.errors import ModelFileError
from convkit.train.callbacks import Callback


def resolve_init_from(source: str | Path) -> Path:
    """A model file, or the cached imported weights of a zoo name (error: how to get them)."""
    path = Path(source)
    if path.exists():
        return path
    from convkit.zoo import layout_names

    if str(source) in layout_names():
        from convkit.weights.cache import cached_model

        return cached_model(str(source))
    raise ModelFileError(
        f"--init-from {source}: no such model file, and not a zoo network with published "
        f"weights ({', '.join(layout_names())})"
    )


def rebuild_head(spec, classes: int):
    """``spec`` with its ``output`` layer sized for ``classes`` (the same spec if it already is)."""
    from convkit.spec import NetSpec

    last = spec.layers[-1]
    if last.type != "output" or last.params["classes"] == classes:
        return spec
    data = spec.to_dict()
    entry = data["layers"][-1]
    body = entry if "type" in entry else next(iter(entry.values()))
    if not isinstance(body, dict):  # shorthand `{output: 1000}`
        data["layers"][-1] = {"output": classes}
    else:
        body["classes"] = classes
    return NetSpec.from_dict(data)


def image_classes(spec, data, options: dict) -> int | None:
    """How many classes the image data at ``data`` holds (None when it is not image classes)."""
    from convkit.data import open_image_dataset
    from convkit.errors import ConvkitError

    try:
        dataset = open_image_dataset(
            str(data), split="train", options={"channels": spec.input.channels}
        )
    except ConvkitError:
        return None
    return len(dataset.classes)


def head_for_data(spec, data, options: dict | None = None):
    """``spec`` with its ``output`` layer sized for the image classes at ``data``.

    For networks made for other data (a zoo network's 1000 ImageNet classes,
    the source of ``--init-from``); a spec that is not a classifier, or data
    that are not image classes, come back unchanged.
    """
    if spec.layers[-1].type != "output":
        return spec
    classes = image_classes(spec, data, options or {})
    return rebuild_head(spec, classes) if classes else spec


def pretrained_preprocessing(model_path: str | Path, spec):
    """The source model's image preprocessing (resize, crop, mean/std) at ``spec``'s input size."""
    from convkit.data import Preprocessing
    from convkit.modelfile import read_document

    document, _ = read_document(model_path)
    source = document.get("preprocessing") or {}
    if source.get("kind", "image") != "image" or source.get("channels") != spec.input.channels:
        return None
    volume = spec.input
    return Preprocessing.from_dict({**source, "height": volume.height, "width": volume.width})


def parameter_groups(net, trainable, config):
    """The optimizer's groups: copied (backbone) layers at lr x backbone_lr_scale, the rest at lr.

    A net without ``backbone_layers`` (set by ``api.fit`` for ``--init-from``),
    or a scale of 1, gets one group, as before.
    """
    backbone = set(getattr(_unwrap(net), "backbone_layers", ()) or ())
    if not backbone or config.backbone_lr_scale == 1:
        return trainable
    wanted = {id(p) for p in trainable}
    head, body = [], []
    for name, parameter in _unwrap(net).named_parameters():
        if id(parameter) in wanted:
            (body if layer_of(name) in backbone else head).append(parameter)
    groups = [{"params": head}] if head else []  # first: the lr the history logs
    if body:
        groups.append({"params": body, "lr": config.lr * config.backbone_lr_scale})
    return groups


def _unwrap(net):
    """The ConvNet inside a DistributedDataParallel (or similar) wrapper."""
    return getattr(net, "module", net)


def load_matching_weights(net, model_path: str | Path) -> list[str]:
    """Copy into ``net`` each tensor of ``model_path`` with the same name and shape.

    Returns the names copied (state-dict keys such as ``layers.conv1.weight``).
    Raises ModelFileError when nothing matches, since training would then
    silently start from scratch.
    """
    import torch

    from convkit.modelfile import load_model

    source = load_model(model_path).net.state_dict()
    target = _unwrap(net).state_dict()
    copied, mismatched = [], []
    for name, tensor in target.items():
        if name not in source:
            continue
        if source[name].shape != tensor.shape:
            mismatched.append(f"{name} {tuple(source[name].shape)} vs {tuple(tensor.shape)}")
            continue
        copied.append(name)
    if not copied:
        hint = f"; same names, other shapes: {', '.join(mismatched[:3])}" if mismatched else ""
        raise ModelFileError(
            f"{model_path}: no layer matches this network by name and shape, so nothing can be "
            f"copied; name the backbone layers as in that model (see `convkit summary`){hint}"
        )
    with torch.no_grad():
        for name in copied:
            target[name].copy_(source[name].to(target[name].device, target[name].dtype))
    return copied


def layer_of(parameter_name: str) -> str:
    """``layers.conv1.weight`` -> ``conv1`` (the spec's layer name)."""
    parts = parameter_name.split(".")
    return parts[1] if parts[0] == "layers" and len(parts) > 1 else parts[0]


def _hold_eval(module) -> None:
    """Keep ``module`` in eval mode even when the trainer calls ``net.train()``."""
    module.train = types.MethodType(lambda self, mode=True: type(self).train(self, False), module)
    module.eval()


def _release(module) -> None:
    module.__dict__.pop("train", None)


class FreezeCallback(Callback):
    """Keep ``layer_names`` fixed until epoch ``unfreeze_epoch`` (0-based), then train them.

    Freezing is ``requires_grad = False``: the optimizer skips parameters
    without gradients, so a frozen layer keeps its copied weights exactly.
    Frozen batch norms also stay in eval mode: they normalise with their
    pretrained running statistics and do not update them from the small
    new data set (which would shift every feature the head learns on).
    """

    def __init__(self, layer_names, unfreeze_epoch: int):
        self.layer_names = set(layer_names)
        self.unfreeze_epoch = int(unfreeze_epoch)
        self.frozen = False

    def _parameters(self, net):
        for name, parameter in _unwrap(net).named_parameters():
            if layer_of(name) in self.layer_names:
                yield parameter

    def set_frozen(self, net, frozen: bool) -> None:
        for parameter in self._parameters(net):
            parameter.requires_grad_(not frozen)
        from torch import nn

        layers = getattr(_unwrap(net), "layers", {})
        for name in self.layer_names:
            module = layers[name] if name in layers else None
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                if frozen:
                    _hold_eval(module)
                else:
                    _release(module)
        self.frozen = frozen

    def on_epoch_start(self, trainer, epoch: int) -> None:
        # Decided per epoch (not once at fit start) so a resumed run lands in the right phase.
        self.set_frozen(trainer.net, epoch < self.unfreeze_epoch)

    def on_fit_end(self, trainer) -> None:
        self.set_frozen(trainer.net, False)  # the saved model is an ordinary, trainable one
