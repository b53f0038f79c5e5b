"""ConvNet: the torch module built from a NetSpec.

``forward`` is on the training hot path, so it does as little as possible: a
sequential spec runs a plain loop over its layers; a graph spec runs a
precomputed plan in topological order, dropping each tensor as soon as no later
layer needs it.
"""

from __future__ import annotations

from torch import nn

from convkit.errors import SpecError
from convkit.spec.netspec import INPUT_NAME


class ConvNet(nn.Module):
    """A network built from ``spec``; ``infos`` holds the inferred LayerInfo of every layer."""

    def __init__(self, spec, infos, modules: dict[str, nn.Module]):
        super().__init__()
        self.spec = spec
        self.infos = infos
        self.layers = nn.ModuleDict(modules)  # in the order of spec.layers
        self._names = [INPUT_NAME, *(layer.name for layer in spec.layers)]
        self._slot = {name: slot for slot, name in enumerate(self._names)}
        order = [spec.layers[index] for index in spec.order]
        # a plain list (not registered again): the straight loop of a sequential spec
        self._sequence = (
            [self.layers[layer.name] for layer in order] if spec.is_sequential else None
        )
        self._plan = self._make_plan(order)

    def _make_plan(self, order) -> list[tuple]:
        """(module, input slots, output slot, slots to drop after this step) per layer."""
        last_use: dict[int, int] = {}
        for step, spec_layer in enumerate(order):
            for source in spec_layer.inputs:
                last_use[self._slot[source]] = step
        plan = []
        for step, spec_layer in enumerate(order):
            sources = tuple(self._slot[source] for source in spec_layer.inputs)
            done = tuple(slot for slot in set(sources) if last_use[slot] == step)
            plan.append((self.layers[spec_layer.name], sources, self._slot[spec_layer.name], done))
        return plan

    def forward(self, x):  # (N, C, H, W) -> the output of the last layer, e.g. (N, classes)
        if self._sequence is not None:
            for layer in self._sequence:
                x = layer(x)
            return x
        values = [None] * len(self._names)
        values[0] = x
        for module, sources, target, done in self._plan:
            values[target] = module(*[values[slot] for slot in sources])
            for slot in done:
                values[slot] = None
        return values[-1]  # the last layer of the spec is the output

    def forward_layers(self, x, names) -> dict:
        """The outputs of the layers in ``names`` (a dict in that order), stopping after the last.

        ``"input"`` is accepted too. An unknown name is a ``SpecError`` listing the valid names.
        """
        if isinstance(names, str):
            names = [names]
        wanted = set()
        for name in names:
            if name not in self._slot:
                from convkit.spec.suggest import did_you_mean

                raise SpecError(
                    f"no layer named `{name}`{did_you_mean(name, self._names)} "
                    f"(layers: {', '.join(self._names)})"
                )
            wanted.add(self._slot[name])
        found = {0: x} if 0 in wanted else {}
        values = [None] * len(self._names)
        values[0] = x
        for module, sources, target, done in self._plan:
            if len(found) == len(wanted):
                break
            values[target] = module(*[values[slot] for slot in sources])
            if target in wanted:
                found[target] = values[target]
            for slot in done:
                values[slot] = None
        return {name: found[self._slot[name]] for name in names}

    def extra_repr(self) -> str:
        return f"spec={self.spec.name or 'network'!r}, input={self.spec.input}"
