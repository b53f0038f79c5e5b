"""/similar: the indexed photos most like an upload, through ``convkit.search``.

The index is opened once when the server starts and checked against the
served model (an index made by another model would give meaningless
neighbours, so that is refused up front). Result images are served by
their row in the index, never by a client-supplied path.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from convkit.errors import UsageError
from convkit.serve.uploads import UploadError
from convkit.viz.model_view import ModelView


class Searcher:
    """Answers /similar for one index and the model the server holds."""

    def __init__(self, index: Any, embedder: Any):
        self.index = index
        self.embedder = embedder
        self.rows = {path: row for row, path in enumerate(index.paths)}

    def __call__(self, data: bytes, k: int) -> list[dict]:
        import numpy as np

        from convkit.search import search_vectors

        x = np.asarray(self.embedder.model.prepare(data), dtype=np.float32)[None]  # (1, C, H, W)
        vectors = self.embedder.embed_arrays(x)  # (1, D)
        (result,) = search_vectors(self.index, vectors, ["upload"], top=k)
        return [
            {
                "name": Path(match.path).name,
                "path": match.path,
                "score": float(match.similarity),
                "image_url": f"/similar/{self.rows[match.path]}/image",
            }
            for match in result.matches
        ]

    def image(self, row: int) -> tuple[bytes, str]:
        """The bytes and media type of the indexed photo in this row."""
        if not 0 <= row < len(self.index.paths):
            raise UploadError(f"no photo {row} in the index (it has {len(self.index.paths)})", 404)
        path = Path(self.index.paths[row])
        if not path.is_file():
            raise UploadError(f"indexed photo {path.name} is no longer on the server's disk", 404)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return path.read_bytes(), media_type


def open_searcher(index_path: str | Path, view: ModelView) -> Searcher:
    """Open the index and an embedder for the served model; refuse a mismatched pair."""
    from convkit.search import SearchIndex
    from convkit.search.indexing import embedder_for

    if not Path(index_path).is_file():
        raise UsageError(f"index not found: {index_path} (make one with `convkit index`)")
    index = SearchIndex.load(index_path)
    embedder = embedder_for(view.source, index.source.layer)
    index.check_source(embedder.source)  # raises when another model made the index
    return Searcher(index, embedder)
