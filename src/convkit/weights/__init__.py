"""Published weights into convkit model files.

    from convkit.weights import import_weights, pull, cached_model
    report = import_weights("resnet18-f37072fd.pth", "resnet18")   # -> user cache
    path = pull("resnet18")              # download (resumable, checksum-verified), then import
    path = cached_model("resnet18")      # the imported model file, or an error saying how to get it

- ``reader``: state dicts from ``.pth``/``.pt`` (``torch.load(weights_only=True)``,
  never a full unpickle) and ``.safetensors``.
- ``layouts``: per family, which source key feeds which convkit tensor.
- ``importer``: shape checks, missing/unmatched keys by name, the model file
  with ImageNet labels and the matching preprocessing.
- ``catalog`` + ``download``: the URL and SHA-256 of each published file,
  the resumable download; ``cache``: the user cache; ``pull``: the two joined.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name in ("import_weights", "ImportReport"):
        from convkit.weights import importer

        return getattr(importer, name)
    if name == "pull":
        from convkit.weights.pull import pull

        return pull
    if name in ("cached_model", "cache_dir", "model_path"):
        from convkit.weights import cache

        return getattr(cache, name)
    raise AttributeError(name)


__all__ = ["ImportReport", "cache_dir", "cached_model", "import_weights", "model_path", "pull"]
