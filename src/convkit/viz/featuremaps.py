"""Activation maps: what each conv/pool layer makes of one input.

A conv layer with 20 filters turns the image into a stack of 20 maps; this
module draws that stack as a grid titled with the layer's volume, one PNG
per layer, plus an HTML page that shows the input and every layer in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convkit.viz import grids
from convkit.viz.html import escape, figure, write_page
from convkit.viz.model_view import LayerView, ModelView, shape_text


@dataclass
class LayerMaps:
    """One layer's activation maps for one input."""

    layer: LayerView
    maps: Any  # (C, H, W) float32 numpy array

    def image(self) -> Any:
        """The titled grid, (H, W, 3) RGB uint8."""
        return grids.map_grid(self.maps, self.layer.title)


def compute_feature_maps(view: ModelView, x: Any, layers: list[LayerView]) -> list[LayerMaps]:
    """Run x (1, C, H, W) through the network once and keep each chosen layer's maps."""
    outputs = view.layer_outputs(x, [layer.name for layer in layers])
    return [
        LayerMaps(layer, outputs[layer.name][0].detach().float().cpu().numpy())  # (C, H, W)
        for layer in layers
    ]


def save_feature_maps(
    view: ModelView,
    source: str | Path | bytes,
    out_dir: str | Path,
    layer_names: list[str] | None = None,
) -> list[Path]:
    """Write ``input.png``, one ``<layer>.png`` per layer and ``index.html`` to out_dir.

    Returns the written files, the HTML page last (only written when more
    than one layer is drawn: a single PNG needs no page).
    """
    from tqdm import tqdm

    layers = view.resolve_layers(layer_names)
    x = view.prepare(source)  # (1, C, H, W)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    input_png = grids.save_png(grids.enlarge(view.display_image(x), 112), out_dir / "input.png")
    written = [input_png]
    all_maps = compute_feature_maps(view, x, layers)
    for layer_maps in tqdm(all_maps, desc="feature maps", unit="layer", leave=False):
        written.append(grids.save_png(layer_maps.image(), out_dir / f"{layer_maps.layer.name}.png"))
    if len(all_maps) > 1:
        written.append(_write_index(view, source, out_dir, all_maps))
    return written


def _write_index(view: ModelView, source: Any, out_dir: Path, all_maps: list[LayerMaps]) -> Path:
    name = Path(source).name if isinstance(source, str | Path) else "uploaded input"
    body = [
        f"<p>Model <code>{escape(view.source)}</code>, input <code>{escape(name)}</code> "
        f"seen as {escape(shape_text(view.input_shape))}. Each tile is one activation map, "
        "scaled to its own range (yellow = strongest).</p>",
        figure("input.png", f"input {shape_text(view.input_shape)}"),
    ]
    for layer_maps in all_maps:
        body.append(f"<h2>{escape(layer_maps.layer.title)}</h2>")
        body.append(figure(f"{layer_maps.layer.name}.png", layer_maps.layer.title))
    return write_page(out_dir / "index.html", "Feature maps", "\n".join(body))
