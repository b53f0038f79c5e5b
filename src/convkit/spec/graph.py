"""The graph of a spec: which layer feeds which, in what order they run, and its mistakes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from convkit.errors import SpecError
from convkit.spec.suggest import did_you_mean

if TYPE_CHECKING:
    from convkit.spec.netspec import LayerSpec

INPUT_NAME = "input"  # the name layers use for the network's input


def execution_order(layers: list[LayerSpec]) -> tuple[int, ...]:
    """Indices of ``layers`` in an order where each layer follows its inputs.

    Raises ``SpecError`` for an input that names no layer, a cycle, or a layer
    whose output never reaches the network's output (the last layer).
    """
    index_of = {spec_layer.name: index for index, spec_layer in enumerate(layers)}
    for index, spec_layer in enumerate(layers):
        for source in spec_layer.inputs:
            if source != INPUT_NAME and source not in index_of:
                hint = did_you_mean(source, [INPUT_NAME, *index_of])
                raise SpecError(
                    f"layer {index + 1} '{spec_layer.name}' ({spec_layer.type}): input `{source}` "
                    f"is not a layer{hint} (layers: {INPUT_NAME}, {', '.join(index_of)})"
                )
    if all(
        all(source == INPUT_NAME or index_of[source] < index for source in spec_layer.inputs)
        for index, spec_layer in enumerate(layers)
    ):
        order = tuple(range(len(layers)))  # already listed in a valid order
    else:
        order = _topological_order(layers, index_of)
    _check_all_reach_output(layers, index_of)
    return order


def _topological_order(layers: list[LayerSpec], index_of: dict[str, int]) -> tuple[int, ...]:
    waiting = {
        index: {index_of[s] for s in spec_layer.inputs if s != INPUT_NAME}
        for index, spec_layer in enumerate(layers)
    }
    order: list[int] = []
    done: set[int] = set()
    while len(order) < len(layers):
        ready = [i for i in range(len(layers)) if i not in done and waiting[i] <= done]
        if not ready:
            cycle = _find_cycle(layers, waiting, done)
            raise SpecError(
                f"the layers {' → '.join(cycle)} form a cycle; a layer cannot depend on its own output"
            )
        order.append(ready[0])  # the earliest listed: keeps the written order where possible
        done.add(ready[0])
    return tuple(order)


def _find_cycle(layers, waiting, done) -> list[str]:
    start = next(i for i in range(len(layers)) if i not in done)
    path, seen = [start], {start: 0}
    while True:
        following = next(i for i in sorted(waiting[path[-1]]) if i not in done)
        if following in seen:
            cycle = path[seen[following] :] + [following]
            return [layers[i].name for i in reversed(cycle)]
        seen[following] = len(path)
        path.append(following)


def _check_all_reach_output(layers: list[LayerSpec], index_of: dict[str, int]) -> None:
    needed = {len(layers) - 1}
    stack = [len(layers) - 1]
    while stack:
        for source in layers[stack.pop()].inputs:
            if source != INPUT_NAME and index_of[source] not in needed:
                needed.add(index_of[source])
                stack.append(index_of[source])
    for index, spec_layer in enumerate(layers):
        if index not in needed:
            raise SpecError(
                f"layer {index + 1} '{spec_layer.name}' ({spec_layer.type}) does not lead to the "
                f"output '{layers[-1].name}' (the last layer); use it as an input or remove it"
            )
