"""Weight import: published layouts -> convkit model files, numerically equal to the reference.

Each reference network (tests/reference_nets.py) is plain PyTorch with torchvision's key
layout and random weights; its state dict is saved as .pth and .safetensors, imported
through `convkit weights import`, and the model file's logits must equal the reference's.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from convkit.cli import main
from reference_nets import reference

PUBLISHED_PARAMS = {  # torchvision's published totals
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "mobilenet_v2": 3_504_872,
    "mobilenet_v3_small": 2_542_856,
    "mobilenet_v3_large": 5_483_032,
    "efficientnet_b0": 5_288_548,
    "vgg16": 138_357_544,
    "vgg16_bn": 138_365_992,
}


@pytest.fixture(autouse=True)
def weights_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVKIT_WEIGHTS", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_zoo_parameter_counts_equal_the_published_ones(name):
    from convkit.zoo import get_spec

    infos = get_spec(name).infer()
    assert sum(info.params for info in infos) == PUBLISHED_PARAMS[name]


def test_summary_of_resnet50_shows_every_volume(capsys):
    assert main(["summary", "resnet50"]) == 0
    out = capsys.readouterr().out
    assert "stage4_block3_c_conv" in out and "7x7x2048" in out and "25,557,032" in out


@pytest.mark.parametrize(
    "name",
    [
        "resnet18",
        "resnet50",
        "mobilenet_v2",
        "mobilenet_v3_small",
        "mobilenet_v3_large",
        "efficientnet_b0",
    ],
)
@pytest.mark.parametrize("fmt", ["pth", "safetensors"])
def test_import_gives_the_reference_logits(name, fmt, tmp_path, capsys):
    from safetensors.torch import save_file

    from convkit.modelfile import load_model

    ref = reference(name)
    assert sum(p.numel() for p in ref.parameters()) == PUBLISHED_PARAMS[name]
    path = tmp_path / f"{name}.{fmt}"
    state = ref.state_dict()
    if fmt == "pth":
        torch.save(state, path)
    else:
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    out = tmp_path / f"{name}.convkit"
    assert main(["weights", "import", str(path), "--arch", name, "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    model = load_model(out)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert (model.net(x) - ref(x)).abs().max().item() <= 1e-5
    assert model.task.labels[0] == "tench" and len(model.task.labels) == 1000
    pre = model.preprocessing
    assert pre["resize"] == "center_crop" and pre["crop"] == 224 / 256
    assert pre["mean"] == pytest.approx([0.485, 0.456, 0.406])


def test_import_writes_into_the_cache_by_default(weights_cache, tmp_path):
    path = tmp_path / "r18.pth"
    torch.save(reference("resnet18").state_dict(), path)
    assert main(["weights", "import", str(path), "--arch", "resnet18"]) == 0
    assert (weights_cache / "resnet18.convkit").is_file()


def test_another_architecture_is_refused_with_names_and_a_guess(tmp_path, capsys):
    path = tmp_path / "r50.pth"
    torch.save(reference("resnet50").state_dict(), path)
    assert main(["weights", "import", str(path), "--arch", "resnet18"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "do not fit resnet18" in err and "layer1.0.conv3.weight" in err
    assert "use --arch resnet50" in err


def test_a_wrong_shape_is_named(tmp_path, capsys):
    state = reference("resnet18").state_dict()
    state["fc.weight"] = torch.zeros(10, 512)
    state["fc.bias"] = torch.zeros(10)
    path = tmp_path / "r18-10.pth"
    torch.save(state, path)
    assert main(["weights", "import", str(path), "--arch", "resnet18"]) == 2
    err = capsys.readouterr().err
    assert "fc.weight is (10, 512), needs (1000, 512)" in err


def test_a_truncated_pth_is_refused(tmp_path, capsys):
    path = tmp_path / "r18.pth"
    torch.save(reference("resnet18").state_dict(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert main(["weights", "import", str(path), "--arch", "resnet18"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a readable PyTorch weights file" in err


def test_a_truncated_safetensors_file_is_refused(tmp_path, capsys):
    from safetensors.torch import save_file

    path = tmp_path / "r18.safetensors"
    save_file(reference("resnet18").state_dict(), str(path))
    path.write_bytes(path.read_bytes()[:5000])
    assert main(["weights", "import", str(path), "--arch", "resnet18"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a readable safetensors file" in err


def test_a_checkpoint_wrapping_its_state_dict_imports(tmp_path):
    from convkit.weights.importer import import_weights

    state = {f"module.{k}": v for k, v in reference("resnet18").state_dict().items()}
    path = tmp_path / "ckpt.pth"
    torch.save({"state_dict": state, "epoch": 90}, path)  # DataParallel names, a training script
    report = import_weights(path, "resnet18", out=tmp_path / "r.convkit")
    assert report.parameters == PUBLISHED_PARAMS["resnet18"]


class _Payload:
    """Unpickling this would create a file: proof that nothing runs."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path, capsys):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"fc.weight": torch.zeros(1), "x": _Payload(marker)}, path)
    assert main(["weights", "import", str(path), "--arch", "resnet18"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "refused" in err
    assert not marker.exists()
    # and the same payload as a bare pickle
    raw = tmp_path / "evil.pt"
    raw.write_bytes(pickle.dumps(_Payload(marker)))
    assert main(["weights", "import", str(raw), "--arch", "resnet18"]) == 2
    assert not marker.exists()


def test_unknown_arch_and_source_are_one_line(tmp_path, capsys):
    path = tmp_path / "x.pth"
    torch.save({"a": torch.zeros(1)}, path)
    assert main(["weights", "import", str(path), "--arch", "lenet"]) == 2
    assert "no weight layout for 'lenet'" in capsys.readouterr().err
    assert main(["weights", "import", str(path), "--arch", "mobilenet_v2", "--from", "timm"]) == 2
    assert "timm names" in capsys.readouterr().err


def test_timm_resnet_names_import_like_torchvision(tmp_path):
    from convkit.weights.importer import import_weights

    path = tmp_path / "timm.safetensors"
    from safetensors.torch import save_file

    save_file(reference("resnet18").state_dict(), str(path))
    report = import_weights(path, "resnet18", source="timm", out=tmp_path / "t.convkit")
    assert report.parameters == PUBLISHED_PARAMS["resnet18"]


def _vgg_keys(indices, bn: bool) -> set[str]:
    keys = set()
    for index in indices:
        keys |= {f"features.{index}.weight", f"features.{index}.bias"}
        if bn:
            keys |= {
                f"features.{index + 1}.{t}"
                for t in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
            }
    return keys | {f"classifier.{i}.{t}" for i in (0, 3, 6) for t in ("weight", "bias")}


def test_vgg_key_tables_are_torchvisions():
    from convkit.weights.layouts import table_for

    plain = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]  # conv, relu, …, pool
    with_bn = [0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40]  # conv, bn, relu, …, pool
    assert set(table_for("vgg16").values()) == _vgg_keys(plain, bn=False)
    assert set(table_for("vgg16_bn").values()) == _vgg_keys(with_bn, bn=True)


@pytest.mark.parametrize("name", ["vgg16", "vgg16_bn"])
def test_vgg_import_gives_the_reference_logits(name, tmp_path):
    """VGG's input is fixed (224x224: 7x7x512 feeds the first dense layer), so one image."""
    from convkit.modelfile import load_model

    ref = reference(name)
    assert sum(p.numel() for p in ref.parameters()) == PUBLISHED_PARAMS[name]
    path = tmp_path / f"{name}.pth"
    torch.save(ref.state_dict(), path)
    out = tmp_path / f"{name}.convkit"
    assert main(["weights", "import", str(path), "--arch", name, "--out", str(out)]) == 0
    path.unlink()  # 550 MB: do not keep two copies on disk
    model = load_model(out)
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert (model.net(x) - ref(x)).abs().max().item() <= 1e-5
    reference_nets_cache_clear(name)


def reference_nets_cache_clear(name: str) -> None:
    """Let the 138 M-parameter reference go once tested (memory for the rest of the suite)."""
    import reference_nets

    reference_nets._BUILT.pop((name, 0), None)


def test_imagenet_preprocessing_is_resize_256_then_centre_224():
    import numpy as np

    from convkit.data import Preprocessing

    pre = Preprocessing(height=224, width=224, resize="center_crop", crop=224 / 256)
    image = np.random.default_rng(0).integers(0, 255, (256, 320, 3), dtype=np.uint8)
    # the shorter side is already 256: no resize, just the central 224x224
    assert np.array_equal(pre.fit(image), image[16:240, 48:272])
    assert Preprocessing.from_dict(pre.to_dict()) == pre
    assert "crop" not in Preprocessing(height=8, width=8).to_dict()  # old files unchanged
