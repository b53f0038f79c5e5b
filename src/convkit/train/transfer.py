"""Transfer learning: start a network from another model's weights, frozen at first.

A detector (or any network) whose first layers are written like a classifier's
— same layer names, same shapes — can start from that classifier's trained
weights: ``load_matching_weights`` copies every tensor whose name and shape
match, and ``FreezeCallback`` keeps those layers fixed for the first epochs so
the new head learns on stable features before everything is fine-tuned.
"""

from __future__ import annotations

from pathlib import Path

from convkit.errors import ModelFileError
from convkit.train.callbacks import Callback


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


class FreezeCallback(Callback):
    """Keep ``layer_names`` fixed until epoch ``unfreeze_epoch`` (0-based), then train them.

    Freezing is ``requires_grad = False``: the optimizer skips parameters
    without gradients, so a frozen layer keeps its copied weights exactly.
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
        self.frozen = frozen

    def on_epoch_start(self, trainer, epoch: int) -> None:
        # Decided per epoch (not once at fit start) so a resumed run lands in the right phase.
        self.set_frozen(trainer.net, epoch < self.unfreeze_epoch)

    def on_fit_end(self, trainer) -> None:
        self.set_frozen(trainer.net, False)  # the saved model is an ordinary, trainable one
