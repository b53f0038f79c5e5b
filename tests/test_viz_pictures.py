"""Feature maps, filters and Grad-CAM: the arrays behind the pictures, and the CLI."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from convkit.cli import main
from convkit.errors import DataError, UsageError
from convkit.viz.featuremaps import compute_feature_maps, save_feature_maps
from convkit.viz.filters import conv_weight, filter_image, save_filters
from convkit.viz.gradcam import grad_cam, layer_jump, place_on_input, save_grad_cam
from convkit.viz.model_view import ModelView
from test_viz_support import lenet_file, mnist_digits, photo_file, write_png


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("viz")


@pytest.fixture(scope="module")
def lenet_path(folder, mnist_dir):
    return lenet_file(folder, mnist_dir)


@pytest.fixture(scope="module")
def lenet(lenet_path):
    return ModelView.from_file(lenet_path)


@pytest.fixture(scope="module")
def digit(folder, mnist_dir):
    images, labels = mnist_digits(mnist_dir, 1)
    return write_png(folder / "digit.png", images[0]), int(labels[0]), images[0]


def read(path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, path
    return image


def test_feature_maps_are_the_layer_outputs(lenet, digit):
    x = lenet.prepare(digit[0])  # (1, 1, 28, 28)
    maps = compute_feature_maps(lenet, x, lenet.resolve_layers(["conv1", "pool2"]))
    with torch.inference_mode():
        expected = lenet.net.forward_layers(x, ["conv1", "pool2"])
    assert [m.maps.shape for m in maps] == [(20, 24, 24), (50, 4, 4)]
    assert np.allclose(maps[0].maps, expected["conv1"][0].numpy())
    assert np.allclose(maps[1].maps, expected["pool2"][0].numpy())


def test_save_feature_maps_writes_a_titled_grid_per_layer_and_a_page(lenet, digit, tmp_path):
    written = save_feature_maps(lenet, digit[0], tmp_path)
    names = [path.name for path in written]
    assert names == ["input.png", "conv1.png", "pool1.png", "conv2.png", "pool2.png", "index.html"]
    # conv1: 20 maps of 24x24 -> 48-pixel tiles, 5 columns x 4 rows, 2-pixel gaps, 28-pixel title
    assert read(tmp_path / "conv1.png").shape == (28 + 4 * 50 + 2, 5 * 50 + 2, 3)
    # pool2: 50 maps of 4x4 -> 48-pixel tiles, 8 columns x 7 rows
    assert read(tmp_path / "pool2.png").shape == (28 + 7 * 50 + 2, 8 * 50 + 2, 3)
    page = (tmp_path / "index.html").read_text()
    for title in ("conv1 24x24x20", "pool1 12x12x20", "conv2 8x8x50", "pool2 4x4x50"):
        assert title in page
    one = save_feature_maps(lenet, digit[0], tmp_path / "one", ["conv2"])
    assert [path.name for path in one] == ["input.png", "conv2.png"]  # one layer: no page


def test_unknown_and_flat_layers_list_the_valid_names(lenet):
    with pytest.raises(UsageError) as unknown:
        lenet.resolve_layers(["conv3"])
    assert str(unknown.value) == (
        "layer 'conv3' is not a layer of this network; choose from: conv1, pool1, conv2, pool2"
    )
    with pytest.raises(UsageError, match="'dense1' has a flat output, not maps"):
        lenet.resolve_layers(["dense1"])


def test_an_image_the_model_cannot_take(lenet, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not pixels")
    with pytest.raises(DataError):
        lenet.prepare(text)
    with pytest.raises(DataError, match="not found"):
        lenet.prepare(tmp_path / "missing.png")


def test_filters_are_the_conv_weights(lenet, tmp_path):
    weight = conv_weight(lenet, "conv1")
    assert weight.shape == (20, 1, 5, 5)
    # The kernel really is the one the network applies: a convolution of the
    # input with it (plus bias, before ReLU) is conv1's pre-activation.
    x = torch.rand(1, 1, 28, 28)
    bias = next(p for n, p in lenet.net.named_parameters() if n.endswith("bias"))
    expected = torch.relu(torch.nn.functional.conv2d(x, weight, bias.detach()))
    with torch.inference_mode():
        assert torch.allclose(lenet.net.forward_layers(x, ["conv1"])["conv1"], expected, atol=1e-5)
    written = save_filters(lenet, tmp_path, ["conv1", "conv2"])
    assert [path.name for path in written] == ["filters_conv1.png", "filters_conv2.png"]
    # conv2: one row per filter (50), one column per input channel (20), 25-pixel cells
    assert read(written[1]).shape == (28 + 50 * 27 + 2, 20 * 27 + 2, 3)
    with pytest.raises(UsageError, match="not a conv layer; choose from: conv1, conv2"):
        conv_weight(lenet, "pool1")


def test_first_layer_filters_of_a_colour_model_are_drawn_in_colour(tmp_path):
    view = ModelView.from_file(photo_file(tmp_path))
    weight = conv_weight(view, "conv1")  # (8, 3, 3, 3)
    image = filter_image(weight, "conv1")
    tiles = image[28:, :, :]
    assert weight.shape == (8, 3, 3, 3)
    # some tile pixel has different red/green/blue values (a grey picture has none)
    assert (np.ptp(tiles.astype(int), axis=2) > 0).any()


def test_grad_cam_heat_map(lenet, digit):
    x = lenet.prepare(digit[0])
    cam = grad_cam(lenet, x, digit[1])
    assert cam.layer == "conv2" and cam.label == str(digit[1])
    assert cam.heat.shape == (28, 28)
    assert cam.heat.min() >= 0 and 0.9 < cam.heat.max() <= 1  # peaks sit between pixel centres
    assert cam.overlay().shape == (224, 224, 3)
    other = grad_cam(lenet, x, (digit[1] + 1) % 10)
    assert not np.allclose(cam.heat, other.heat)  # another class, another explanation
    assert grad_cam(lenet, x, digit[1], layer="conv1").layer == "conv1"


def test_grad_cam_follows_the_receptive_field_geometry(lenet):
    assert layer_jump(lenet.net.spec, "conv1") == (1.0, 1.0)
    assert layer_jump(lenet.net.spec, "conv2") == (2.0, 2.0)
    # conv2's 8 positions are centred on input pixels 6.5, 8.5, ..., 20.5: a single hot
    # cell at position (0, 0) lights the input around pixel (6.5, 6.5), not the corner.
    cam = np.zeros((8, 8), np.float32)
    cam[0, 0] = 1
    heat = place_on_input(cam, 28, 28, (2.0, 2.0))
    assert heat[6, 6] == pytest.approx(1)
    assert heat[0, 0] == 0 and heat[2, 2] == 0  # faded out one jump past the centres
    assert heat[9:, :].max() == 0 and heat[:, 9:].max() == 0  # nothing near other cells
    plain_stretch = cv2.resize(cam, (28, 28), interpolation=cv2.INTER_LINEAR)
    assert plain_stretch[0, 0] == 1  # what a naive resize would have shown


def test_cli_featuremaps_filters_gradcam(lenet_path, digit, tmp_path, capsys):
    assert (
        main(["viz", "featuremaps", str(lenet_path), str(digit[0]), "--out", str(tmp_path / "m")])
        == 0
    )
    assert (tmp_path / "m" / "index.html").is_file()
    assert main(["viz", "filters", str(lenet_path), "--out", str(tmp_path / "f")]) == 0
    assert (tmp_path / "f" / "filters_conv1.png").is_file()
    out_png = tmp_path / "cam.png"
    assert (
        main(
            [
                "viz",
                "gradcam",
                str(lenet_path),
                str(digit[0]),
                "--class",
                "3",
                "--out",
                str(out_png),
            ]
        )
        == 0
    )
    assert read(out_png).shape == (28 + 224, 224, 3)
    assert "Grad-CAM conv2: 3" in capsys.readouterr().out


def test_cli_mistakes_exit_2_with_one_line(lenet_path, digit, tmp_path, capsys):
    code = main(["viz", "featuremaps", str(lenet_path), str(digit[0]), "--layers", "conv7"])
    assert code == 2
    assert "choose from: conv1, pool1, conv2, pool2" in capsys.readouterr().err
    fake = tmp_path / "fake.convkit"
    fake.write_bytes(b"\x00" * 64)
    assert main(["viz", "filters", str(fake)]) == 2
    assert capsys.readouterr().err.startswith("convkit: error:")
    assert main(["viz", "gradcam", str(lenet_path), str(digit[0]), "--class", "ten"]) == 2
    assert "neither a label nor an index" in capsys.readouterr().err


def test_grad_cam_on_a_colour_photo_model(tmp_path):
    view = ModelView.from_file(photo_file(tmp_path))
    photo = np.zeros((48, 64, 3), np.uint8)
    photo[10:30, 20:50] = (0, 200, 255)
    path, cam = save_grad_cam(
        view, write_png(tmp_path / "photo.png", photo), tmp_path / "cam.png", "dog"
    )
    assert cam.label == "dog" and cam.layer == "conv2"
    assert read(path).shape[0] == 28 + 224  # 32x32 input enlarged 7 times, under a title
