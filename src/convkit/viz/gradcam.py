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
    import cv2
    import numpy as np
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
    height, width = x.shape[2], x.shape[3]
    heat = cv2.resize(cam.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    probability = float(torch.softmax(logits.detach().float(), dim=1)[0, class_index])
    labels = view.labels
    label = labels[class_index] if class_index < len(labels) else str(class_index)
    return GradCam(
        layer=layer_name,
        class_index=class_index,
        label=label,
        score=probability,
        heat=np.clip(heat, 0.0, 1.0),
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
