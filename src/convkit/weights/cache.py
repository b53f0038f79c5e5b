"""The user's weights cache: where pulled files and imported model files live.

``$CONVKIT_WEIGHTS`` if set, else ``~/.cache/convkit/weights``::

    resnet18-f37072fd.pth      the published file (pull downloads it here)
    resnet18.convkit           the imported model file (--init-from resnet18 reads it)
"""

from __future__ import annotations

import os
from pathlib import Path

from convkit.errors import ModelFileError
from convkit.weights.download import file_sha256

__all__ = ["cache_dir", "cached_model", "file_sha256", "model_path"]


def cache_dir() -> Path:
    env = os.environ.get("CONVKIT_WEIGHTS")
    return Path(env) if env else Path(os.path.expanduser("~")) / ".cache" / "convkit" / "weights"


def model_path(arch: str) -> Path:
    return cache_dir() / f"{arch}.convkit"


def how_to_get(arch: str) -> str:
    """The exact commands that put ``arch``'s weights into the cache, online or not."""
    from convkit.weights.catalog import CATALOG

    entry = CATALOG.get(arch)
    if entry is None:
        return f"import weights for it with `convkit weights import FILE --arch {arch}`"
    local = cache_dir() / entry.filename
    return (
        f"run `convkit weights pull {arch}`, or offline download {entry.url} to {local} "
        f"and run `convkit weights import {local} --arch {arch}`"
    )


def cached_model(arch: str) -> Path:
    """The imported model file of zoo network ``arch``; ModelFileError saying how to get it."""
    path = model_path(arch)
    if not path.is_file():
        raise ModelFileError(
            f"no imported weights for {arch} (looked for {path}): {how_to_get(arch)}"
        )
    return path


# the layer a zoo network's photo embeddings come from: the globally pooled last stage
ZOO_EMBEDDING_LAYER = "pool"


def model_or_zoo(text: str) -> tuple[str, str | None]:
    """(model file, default embedding layer) for a model file path or a zoo name.

    A path that exists is returned as is (layer None: the model's own default);
    a zoo name becomes its imported model file in the cache and the pooled
    features of its last stage.
    """
    from convkit.zoo import layout_names

    if Path(text).exists() or text not in layout_names():
        return text, None
    return str(cached_model(text)), ZOO_EMBEDDING_LAYER
