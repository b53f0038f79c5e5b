"""`convkit weights pull`: download a published file into the cache, then import it.

Above both halves it joins: the cache (where files live) and the importer
(which writes the model file into that cache).
"""

from __future__ import annotations

import urllib.error
from pathlib import Path

from convkit.errors import ModelFileError
from convkit.weights.cache import cache_dir, model_path
from convkit.weights.catalog import published
from convkit.weights.download import download
from convkit.weights.importer import import_weights


def pull(arch: str, url: str | None = None, progress=None, timeout: float = 30.0) -> Path:
    """Download ``arch``'s published weights into the cache (resumable, verified), then import.

    ``url`` replaces the published address (a mirror, or a local file:// copy).
    """
    entry = published(arch)
    local = cache_dir() / entry.filename
    source = url or entry.url
    try:
        download(source, local, entry.sha256, timeout=timeout, progress=progress)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise ModelFileError(
            f"cannot download {source} ({reason}); offline, fetch that file on another machine, "
            f"put it at {local} and run `convkit weights import {local} --arch {arch}`"
        ) from None
    import_weights(local, arch)
    return model_path(arch)
