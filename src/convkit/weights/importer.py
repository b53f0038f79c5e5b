"""Published weights -> a convkit model file, every tensor accounted for.

Nothing is left at random initialisation silently: a key the network needs
and the file lacks, a key the file has and the network does not use, or a
tensor of the wrong shape stops the import, named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from convkit.errors import ModelFileError
from convkit.weights.layouts import OPTIONAL, guess_arch, table_for


@dataclass
class ImportReport:
    arch: str
    source: str
    path: Path  # the model file written
    tensors: int  # tensors copied
    parameters: int
    defaulted: list[str] = field(default_factory=list)  # optional buffers the file lacked


def _names(keys, limit: int = 6) -> str:
    keys = sorted(keys)
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def match_tensors(state: dict, table: dict[str, str], arch: str, origin) -> tuple[dict, list]:
    """convkit key -> tensor from ``state``; ModelFileError naming what does not fit."""
    missing = [src for src in table.values() if src not in state and not src.endswith(OPTIONAL)]
    unmatched = set(state) - set(table.values())
    if missing or unmatched:
        guess = guess_arch(set(state))
        hint = f"; they look like {guess} weights: use --arch {guess}" if guess else ""
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing ({_names(missing)})")
        if unmatched:
            parts.append(f"{len(unmatched)} not used by {arch} ({_names(unmatched)})")
        raise ModelFileError(f"{origin}: these weights do not fit {arch}: {'; '.join(parts)}{hint}")
    found = {key: state[src] for key, src in table.items() if src in state}
    defaulted = [src for key, src in table.items() if src not in state]
    return found, defaulted


def load_into(net, found: dict, table: dict[str, str], origin) -> None:
    """Copy ``found`` into ``net``; ModelFileError listing every shape that differs."""
    import torch

    target = net.state_dict()
    unknown = set(found) - set(target)
    if unknown:  # a table that names tensors the builder does not make is a convkit bug
        raise RuntimeError(f"key table names tensors the network lacks: {_names(unknown)}")
    wrong = [
        f"{table[key]} is {tuple(tensor.shape)}, needs {tuple(target[key].shape)}"
        for key, tensor in found.items()
        if tuple(tensor.shape) != tuple(target[key].shape)
    ]
    if wrong:
        raise ModelFileError(
            f"{origin}: {len(wrong)} tensors have the wrong shape: {_names(wrong, 3)}"
        )
    with torch.no_grad():
        for key, tensor in found.items():
            target[key].copy_(tensor.to(target[key].dtype))


def imagenet_preprocessing(spec) -> dict:
    """torchvision's evaluation transform for ImageNet weights, at the spec's input size."""
    from convkit.data import Preprocessing
    from convkit.weights.catalog import CROP, IMAGENET_MEAN, IMAGENET_STD, RESIZE_SHORTER

    return Preprocessing.for_spec(
        spec, resize="center_crop", mean=IMAGENET_MEAN, std=IMAGENET_STD, crop=CROP / RESIZE_SHORTER
    ).to_dict()


def import_state_dict(state: dict, arch: str, source: str = "torchvision", origin="weights"):
    """The built network of ``arch`` holding ``state``; also returns the optional keys it lacked."""
    from convkit.nn import build
    from convkit.zoo import get_spec

    spec = get_spec(arch)
    table = table_for(arch, source)
    found, defaulted = match_tensors(state, table, arch, origin)
    net = build(spec)
    load_into(net, found, table, origin)
    return net.eval(), defaulted


def import_weights(
    path: str | Path,
    arch: str,
    source: str = "torchvision",
    out: str | Path | None = None,
) -> ImportReport:
    """Read ``path`` (.pth/.pt/.safetensors), map it onto zoo network ``arch``, write a model file.

    ``out`` defaults to the user cache (``convkit.weights.cache.model_path(arch)``),
    where ``--init-from ARCH`` and ``convkit index ARCH`` look for it.
    """
    from convkit.classify.task import ClassifyTask
    from convkit.modelfile import save_model
    from convkit.weights.cache import file_sha256, model_path
    from convkit.weights.catalog import imagenet_labels
    from convkit.weights.reader import read_state_dict

    path = Path(path)
    table_for(arch, source)  # a bad --arch or --from fails before the file is read
    state = read_state_dict(path)
    net, defaulted = import_state_dict(state, arch, source, origin=path)
    out = Path(out) if out else model_path(arch)
    out.parent.mkdir(parents=True, exist_ok=True)
    labels = imagenet_labels()
    if net.spec.layers[-1].params["classes"] != len(labels):  # pragma: no cover - zoo default
        labels = None
    task = ClassifyTask(num_classes=net.spec.layers[-1].params["classes"], labels=labels)
    save_model(
        out,
        net,
        task=task,
        preprocessing=imagenet_preprocessing(net.spec),
        metadata={
            "weights": {
                "arch": arch,
                "source": source,
                "file": path.name,
                "sha256": file_sha256(path),
                "dataset": "ImageNet-1k",
            }
        },
    )
    return ImportReport(
        arch=arch,
        source=source,
        path=out,
        tensors=len(table_for(arch, source)) - len(defaulted),
        parameters=sum(p.numel() for p in net.parameters()),
        defaulted=defaulted,
    )
