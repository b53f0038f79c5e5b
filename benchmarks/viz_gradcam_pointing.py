"""Does Grad-CAM point at the object? A colour "photo" model and the pointing game.

Makes a small photo dataset offline — one coloured shape (circle, square or
triangle) at a random place on a noisy, coloured background, 32x32 RGB, in
class folders — trains a 3-channel CNN on it with `convkit.api.fit`, then
asks Grad-CAM for the predicted class on held-out photos and counts a hit
when the heat map's peak lies inside the shape's box (the "pointing game" of
Zhang et al., 2016). A heat map that ignored the image would hit about as
often as the box covers the picture, which is printed as the chance level.

    python benchmarks/viz_gradcam_pointing.py --out /tmp/photo-run

Bar: pointing accuracy >= 0.8 on 200 held-out photos. The run folder also
gets the feature maps, filters and Grad-CAM pictures of one photo, so the
viz commands can be seen working on a colour model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SHAPES = ("circle", "square", "triangle")
SIZE = 32
SPEC = """\
name: shapes
input: 32x32x3
layers:
  - conv2d: {filters: 16, kernel: 3, padding: same}
  - max_pool: {kernel: 2, stride: 2}
  - conv2d: {filters: 32, kernel: 3, padding: same}
  - max_pool: {kernel: 2, stride: 2}
  - conv2d: {filters: 32, kernel: 3, padding: same}
  - dense: {units: 64}
  - output: {classes: 3, activation: softmax}
"""


def draw_photo(
    rng: np.random.Generator, shape: str
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """(32, 32, 3) uint8 RGB photo and the shape's box (x1, y1, x2, y2), inclusive."""
    import cv2

    background = rng.integers(0, 256, 3)
    photo = np.clip(background + rng.normal(0, 30, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
    radius = int(rng.integers(6, 11))
    cx, cy = (int(v) for v in rng.integers(radius + 1, SIZE - radius - 1, 2))
    colour = tuple(int(v) for v in (255 - background + rng.integers(-40, 40, 3)) % 256)
    if shape == "circle":
        cv2.circle(photo, (cx, cy), radius, colour, -1)
    elif shape == "square":
        cv2.rectangle(photo, (cx - radius, cy - radius), (cx + radius, cy + radius), colour, -1)
    else:
        points = np.array(
            [[cx, cy - radius], [cx - radius, cy + radius], [cx + radius, cy + radius]]
        )
        cv2.fillPoly(photo, [points.astype(np.int32)], colour)
    return photo, (cx - radius, cy - radius, cx + radius, cy + radius)


def write_dataset(folder: Path, count: int, seed: int) -> list[tuple[Path, int, tuple]]:
    import cv2

    rng = np.random.default_rng(seed)
    examples = []
    for i in range(count):
        label = i % len(SHAPES)
        photo, box = draw_photo(rng, SHAPES[label])
        path = folder / SHAPES[label] / f"{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
        examples.append((path, label, box))
    return examples


def main() -> None:
    from convkit import api
    from convkit.spec import NetSpec
    from convkit.viz.featuremaps import save_feature_maps
    from convkit.viz.filters import save_filters
    from convkit.viz.gradcam import grad_cam, save_grad_cam
    from convkit.viz.model_view import ModelView

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/viz-photo", help="working folder")
    parser.add_argument("--train", type=int, default=1500, help="training photos")
    parser.add_argument("--test", type=int, default=200, help="held-out photos")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="training seed (the photos stay)")
    parser.add_argument("--no-amp", action="store_true", help="train in float32 throughout")
    args = parser.parse_args()

    out = Path(args.out)
    write_dataset(out / "photos", args.train, seed=0)
    held_out = write_dataset(out / "held-out", args.test, seed=1)
    report = api.fit(
        NetSpec.from_yaml(SPEC),
        out / "photos",
        run_dir=out / "run",
        epochs=args.epochs,
        batch_size=32,
        lr=2e-3,
        threads=1,  # one thread: small batches on a shared machine
        val_fraction=0.1,
        progress=False,
        seed=args.seed,
        amp=False if args.no_amp else None,
    )
    view = ModelView.from_file(report.model_path)

    conv_layers = [layer.name for layer in view.layers if "conv" in layer.type]
    hits = dict.fromkeys(conv_layers, 0)  # per Grad-CAM layer; the last conv is the default
    correct = 0
    box_share = []
    for path, label, (x1, y1, x2, y2) in held_out:
        x = view.prepare(path)
        predicted = int(view.scores(x)[0].argmax())
        correct += predicted == label
        for layer in conv_layers:
            heat = grad_cam(view, x, predicted, layer).heat  # (32, 32)
            row, col = np.unravel_index(int(heat.argmax()), heat.shape)
            # one pixel of tolerance around the shape's box
            hits[layer] += x1 - 1 <= col <= x2 + 1 and y1 - 1 <= row <= y2 + 1
        box_share.append(min((x2 - x1 + 3) * (y2 - y1 + 3), SIZE * SIZE) / (SIZE * SIZE))
    n = len(held_out)
    print(f"held-out accuracy        {correct / n:.3f}  ({n} photos)")
    for layer in reversed(conv_layers):
        default = " (default layer; bar 0.80)" if layer == view.last_conv_layer().name else ""
        print(f"Grad-CAM pointing game   {hits[layer] / n:.3f}  layer {layer}{default}")
    print(f"chance (box share)       {np.mean(box_share):.3f}")

    pictures = out / "pictures"
    example = held_out[0][0]
    save_feature_maps(view, example, pictures / "featuremaps")
    save_filters(view, pictures / "filters", ["conv1", "conv2"])
    save_grad_cam(view, example, pictures / "gradcam.png")
    print(f"pictures of {example.name} in {pictures}")


if __name__ == "__main__":
    main()
