"""Learned convolution filters as pictures.

First-layer filters look straight at pixels, so each is drawn as a small
image (in colour when the input has 3 channels). A deeper filter has one
kernel per input map; those are drawn as a grid, one row per filter and
one column per input channel ("per-channel grids").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from convkit.errors import UsageError
from convkit.viz import grids
from convkit.viz.model_view import ModelView

# Cap the per-channel grid so a 256x256 layer stays a picture, not a poster.
MAX_FILTER_ROWS = 64
MAX_CHANNEL_COLUMNS = 32
KERNEL_TILE = 24  # pixels per kernel in the per-channel grids of deeper layers
PIXEL_FILTER_TILE = 64  # first-layer filters are pictures: show them larger


def conv_layer_names(view: ModelView) -> list[str]:
    return [layer.name for layer in view.layers if "conv" in layer.type.lower()]


def conv_weight(view: ModelView, layer_name: str) -> Any:
    """The (F, C_in, k, k) kernel tensor of a conv layer, found by its name.

    The builder owns how modules are named, so look for a 4-D weight under a
    module path that contains the layer name; failing that, match the n-th
    conv layer of the spec with the n-th 4-D weight of the network.
    """
    names = conv_layer_names(view)
    if layer_name not in names:
        raise UsageError(
            f"layer {layer_name!r} is not a conv layer; choose from: {', '.join(names) or '(none)'}"
        )
    weights = [
        (qualified, parameter)
        for qualified, parameter in view.net.named_parameters()
        if qualified.endswith("weight") and parameter.ndim == 4
    ]
    for qualified, parameter in weights:
        if layer_name in qualified.split(".")[:-1]:
            return parameter.detach().float().cpu()
    position = names.index(layer_name)
    if len(weights) == len(names):
        return weights[position][1].detach().float().cpu()
    raise UsageError(f"cannot find the weights of layer {layer_name!r} in this network")


def filter_image(weight: Any, title: str) -> Any:
    """Kernels (F, C_in, k, k) -> titled grid image (H, W, 3) uint8."""
    import numpy as np

    weight = weight.numpy()
    filters, channels = weight.shape[:2]
    if channels in (1, 3):
        # Pixels in, so each filter is itself a small picture (scaled on its own).
        tiles = []
        for kernel in weight:  # (C_in, k, k)
            tile = grids.normalise(kernel).transpose(1, 2, 0)  # (k, k, C_in)
            if channels == 1:
                tile = np.repeat(tile, 3, axis=2)
            tiles.append(grids.enlarge(tile, PIXEL_FILTER_TILE))
        return grids.add_title(grids.tile_grid(tiles), title)
    rows, columns = min(filters, MAX_FILTER_ROWS), min(channels, MAX_CHANNEL_COLUMNS)
    shown = weight[:rows, :columns]  # (rows, columns, k, k)
    # One shared scale per layer, so strong and weak kernels can be compared.
    scaled = grids.normalise(shown).reshape(
        rows * columns, *shown.shape[2:]
    )  # (rows*columns, k, k)
    note = ""
    if (rows, columns) != (filters, channels):
        note = f" (first {rows} filters x {columns} channels)"
    grid = grids.colour_grid(scaled, columns=columns, min_side=KERNEL_TILE)
    return grids.add_title(grid, title + note)


def save_filters(
    view: ModelView, out_dir: str | Path, layer_names: list[str] | None = None
) -> list[Path]:
    """Write ``filters_<layer>.png`` for the first conv layer (or the named ones)."""
    names = conv_layer_names(view)
    if not names:
        raise UsageError("this network has no conv layer, so it has no filters to draw")
    chosen = layer_names or names[:1]
    out_dir = Path(out_dir)
    written = []
    for name in chosen:
        weight = conv_weight(view, name)  # (F, C_in, k, k)
        filters, channels, kh, kw = weight.shape
        title = f"{name} filters {filters} x {kh}x{kw}x{channels}"
        written.append(grids.save_png(filter_image(weight, title), out_dir / f"filters_{name}.png"))
    return written
