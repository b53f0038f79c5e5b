"""Make, grow and shrink an index of a photo folder (what `convkit index` runs)."""

from __future__ import annotations

import os
from pathlib import Path

from convkit.errors import UsageError
from convkit.search.embed import DEFAULT_BATCH_SIZE, ModelEmbedder, list_images
from convkit.search.engine import APPROXIMATE_ABOVE, EngineSettings
from convkit.search.errors import NoImagesError
from convkit.search.index_file import SearchIndex


def embedder_for(model, layer: str | None = None, pooling: str = "avg"):
    """A model path becomes a ModelEmbedder; an embedder object is used as it is."""
    if isinstance(model, str | os.PathLike):
        return ModelEmbedder(model, layer=layer, pooling=pooling)
    if layer is not None and layer != model.layer:
        raise UsageError(f"the embedder embeds layer {model.layer!r}, not {layer!r}")
    return model


def embedder_for_index(index: SearchIndex, model=None):
    """The embedder that matches ``index``: ``model`` if given, else the one it was built with.

    Raises ModelMismatchError when ``model`` makes other vectors than the index holds.
    """
    if model is None:
        model = index.source.model_path
        if not Path(model).is_file():
            raise UsageError(
                f"the index was built with {model}, which is not there any more; "
                "point at the model file with --model PATH"
            )
    embedder = embedder_for(model, index.source.layer, index.source.pooling)
    index.check_source(embedder.source)
    return embedder


def build_index(
    model,
    folder: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    layer: str | None = None,
    pooling: str = "avg",
    batch_size: int = DEFAULT_BATCH_SIZE,
    engine: str = "auto",
    approximate_above: int = APPROXIMATE_ABOVE,
    settings: EngineSettings | None = None,
    progress: bool = True,
) -> SearchIndex:
    """Embed every image under ``folder`` with ``model`` and index them (saved to ``out``).

    ``model`` is a model file path (or an embedder with ``.source`` and
    ``.embed_files``). Unreadable files are skipped and listed in ``.skipped``.
    ``pooling="flatten"`` keeps the layout of a feature-map layer (see ModelEmbedder).
    """
    embedder = embedder_for(model, layer, pooling)
    paths = list_images(folder)
    vectors, kept, skipped = embedder.embed_files(paths, batch_size=batch_size, progress=progress)
    if not kept:
        raise NoImagesError(
            f"none of the {len(paths)} images under {folder} could be read "
            f"(first: {skipped[0][0]}: {skipped[0][1]})"
        )
    index = SearchIndex.create(
        vectors,
        kept,
        embedder.source,
        engine=engine,
        approximate_above=approximate_above,
        settings=settings,
        progress=progress,
    )
    index.skipped = skipped
    if out is not None:
        index.save(out)
    return index


def open_index(path: str | os.PathLike) -> SearchIndex:
    return SearchIndex.load(path)


def add_to_index(
    index_path: str | os.PathLike,
    folder: str | os.PathLike,
    model=None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
) -> tuple[SearchIndex, int]:
    """Embed the images under ``folder`` not yet in the index and add them (saved in place).

    Returns the index and how many photos were added. The model defaults to
    the one stored in the index; another model is refused (its vectors would
    not be comparable).
    """
    index = SearchIndex.load(index_path)
    embedder = embedder_for_index(index, model)
    known = set(index.paths)
    new_paths = [path for path in list_images(folder) if path not in known]
    vectors, kept, skipped = embedder.embed_files(
        new_paths, batch_size=batch_size, progress=progress
    )
    index.skipped = skipped
    if kept:
        index.add(vectors, kept, progress=progress)
    index.save(index_path)
    return index, len(kept)


def remove_from_index(
    index_path: str | os.PathLike, paths: list[str | os.PathLike]
) -> tuple[SearchIndex, list[str]]:
    """Remove photos (files, or folders meaning every photo under them); saved in place.

    Returns the index and the given paths that matched nothing.
    """
    index = SearchIndex.load(index_path)
    targets, unmatched = [], []
    for given in paths:
        resolved = str(Path(given).resolve())
        prefix = resolved.rstrip(os.sep) + os.sep
        matched = [path for path in index.paths if path == resolved or path.startswith(prefix)]
        if matched:
            targets.extend(matched)
        else:
            unmatched.append(str(given))
    index.remove(targets)
    index.skipped = []
    index.save(index_path)
    return index, unmatched
