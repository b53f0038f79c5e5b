"""Grad-CAM: which parts of the input drove the score of one class.

Selvaraju et al. (2017): take a conv layer's maps A (C, h, w) and the
gradient of the class score with respect to them; each map's weight is its
mean gradient, and the heat map is ReLU(sum_c weight_c * A_c), enlarged to
the input's size. The last conv layer is the default because it still has
a spatial layout and already sees whole digits/objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convkit.viz import grids
from convkit.viz.model_view import ModelView

# How much of the heat map shows over the image (0 = image only, 1 = heat only).
OVERLAY_ALPHA = 0.45


@dataclass
class GradCam:
    """A heat map for one class of one input."""

    layer: str
    class_index: int
    label: str
    score: float  # the class probability the network gave this input
    heat: Any  # (H, W) float32 in 0..1, the input's size
    image: Any  # (H, W, 3) uint8, the input as the network saw it

    def overlay(self, min_side: int = 224) -> Any:
        """The heat map blended over the input, enlarged for viewing: (H', W', 3) uint8."""
        import cv2
        import numpy as np

        height, width = self.heat.shape
        factor = max(1, round(min_side / max(1, min(height, width))))
        size = (width * factor, height * factor)
        image = cv2.resize(self.image, size, interpolation=cv2.INTER_NEAREST)
        heat = cv2.resize(self.heat, size, interpolation=cv2.INTER_LINEAR)
        colored = cv2.cvtColor(
            cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB
        )
        blended = (1 - OVERLAY_ALPHA) * image.astype(np.float32) + OVERLAY_ALPHA * colored
        return blended.round().clip(0, 255).astype(np.uint8)

    @property
    def title(self) -> str:
        return f"Grad-CAM {self.layer}: {self.label} ({self.score:.1%})"


def grad_cam(view: ModelView, x: Any, class_index: int, layer: str | None = None) -> GradCam:
    """Compute the Grad-CAM heat map of class_index for the batch x (1, C, H, W)."""
    import torch

    layer_name = view.resolve_layers([layer])[0].name if layer else view.last_conv_layer().name
    output_name = view.output_name
    x = x.detach().clone().requires_grad_(True)  # so the graph exists even if weights are frozen
    with torch.enable_grad():
        outputs = view.net.forward_layers(x, [layer_name, output_name])
        maps = outputs[layer_name]  # (1, C, h, w)
        logits = outputs[output_name]  # (1, classes)
        score = logits[0, class_index]
        (gradients,) = torch.autograd.grad(score, maps)  # (1, C, h, w)
    weights = gradients.mean(dim=(2, 3), keepdim=True)  # (1, C, 1, 1)
    cam = torch.relu((weights * maps).sum(dim=1))[0].detach().float().cpu().numpy()  # (h, w)
    if cam.max() > 0:
        cam = cam / cam.max()
    heat = place_on_input(cam, x.shape[2], x.shape[3], layer_jump(view.net.spec, layer_name))
    probability = float(torch.softmax(logits.detach().float(), dim=1)[0, class_index])
    labels = view.labels
    label = labels[class_index] if class_index < len(labels) else str(class_index)
    return GradCam(
        layer=layer_name,
        class_index=class_index,
        label=label,
        score=probability,
        heat=heat,
        image=view.display_image(x),
    )


def save_grad_cam(
    view: ModelView,
    source: str | Path | bytes,
    out_png: str | Path,
    wanted_class: str | int | None = None,
    layer: str | None = None,
) -> tuple[Path, GradCam]:
    """Write the titled overlay PNG for one input; returns its path and the GradCam."""
    x = view.prepare(source)  # (1, C, H, W)
    cam = grad_cam(view, x, view.class_index(wanted_class, x), layer)
    path = grids.save_png(grids.add_title(cam.overlay(), cam.title), out_png)
    return path, cam


def layer_jump(spec: Any, name: str) -> tuple[float, float] | None:
    """Input pixels between neighbouring positions of a layer's maps, from the spec.

    Follows each layer type's receptive-field rule (the same rule the summary
    uses); None when a layer sees the whole input or the type is unknown.
    """
    from convkit.errors import SpecError
    from convkit.spec.registry import get_layer_type

    fields: dict[str, Any] = {"input": (1.0, 1.0, 1.0, 1.0)}  # (h, w, jump_h, jump_w)
    for index in getattr(spec, "order", range(len(spec.layers))):
        layer = spec.layers[index]
        incoming = [fields.get(source) for source in layer.inputs]
        if any(field is None for field in incoming):
            merged = None
        else:
            merged = tuple(max(values) for values in zip(*incoming, strict=True))
        try:
            fields[layer.name] = get_layer_type(layer.type).receptive_field(merged, layer.params)
        except SpecError:
            return None
        if layer.name == name:
            field = fields[name]
            return None if field is None else (float(field[2]), float(field[3]))
    return None


def place_on_input(cam: Any, height: int, width: int, jump: tuple[float, float] | None) -> Any:
    """Map a (h, w) heat map onto the (height, width) input it came from.

    Position i of the map is centred on input pixel offset + i * jump. Without
    padding the centres do not reach the border (LeNet's conv2 spans pixels
    6.5..20.5 of 28), so a plain stretch to the input size would misplace the
    heat; the offset centres the span, which holds for valid and same padding.
    """
    import cv2
    import numpy as np

    map_h, map_w = cam.shape
    jump_h, jump_w = jump or (height / map_h, width / map_w)
    offset_y = (height - 1 - (map_h - 1) * jump_h) / 2
    offset_x = (width - 1 - (map_w - 1) * jump_w) / 2
    rows = (np.arange(height, dtype=np.float32) - offset_y) / jump_h  # input row -> map row
    cols = (np.arange(width, dtype=np.float32) - offset_x) / jump_w
    map_y, map_x = np.meshgrid(rows, cols, indexing="ij")  # (height, width) each
    # One replicated cell around the map, then zeros: the heat fades out over one
    # jump past the outermost centres instead of smearing to the image border.
    padded = cv2.copyMakeBorder(cam.astype(np.float32), 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    heat = cv2.remap(padded, map_x + 1, map_y + 1, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return np.clip(heat, 0.0, 1.0)  # (height, width)
