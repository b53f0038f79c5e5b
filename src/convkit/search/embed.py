"""Photos -> L2-normalised embedding vectors, through any convkit model file.

The default layer is the one before the network's last (classifier) layer:
the most abstract features the model learned, before they are squeezed into
one score per label. Any named layer can be chosen instead; a layer that
still has a spatial volume (N, C, H, W) is global-average-pooled to (N, C)
(``pooling="avg"``, what ``Model.embed`` does: the same content anywhere in
the picture), or flattened to (N, C*H*W) (``pooling="flatten"``: where things
are matters too — the better choice for near-duplicates, see docs/search.md).

Each file goes through the model's own stored preprocessing, so vectors made
on one machine match queries made on another. A file that cannot be decoded
is skipped and reported, never fatal for a whole folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from convkit.errors import ConvkitError, UsageError
from convkit.search.errors import NoImagesError
from convkit.search.index_file import ModelSource

DEFAULT_BATCH_SIZE = 128
POOLINGS = ("avg", "flatten")


def image_suffixes() -> tuple[str, ...]:
    from convkit.data.suffixes import IMAGE_SUFFIXES

    return IMAGE_SUFFIXES


def list_images(folder: str | os.PathLike) -> list[str]:
    """Every image file under ``folder`` (recursively), as sorted absolute paths."""
    folder = Path(folder)
    if not folder.exists():
        raise NoImagesError(f"folder not found: {folder}")
    if not folder.is_dir():
        raise NoImagesError(f"{folder} is not a folder; give the folder that holds the photos")
    suffixes = image_suffixes()
    paths = sorted(
        str(path.resolve())
        for path in folder.rglob("*")
        if path.suffix.lower() in suffixes and path.is_file() and not path.name.startswith(".")
    )
    if not paths:
        raise NoImagesError(
            f"{folder} holds no image files ({', '.join(suffixes)}); point at a folder of photos"
        )
    return paths


class ModelEmbedder:
    """Embeds image files with one model file and one of its layers.

    Built on ``convkit.inference.open_model`` (the shared inference engine): the model's
    stored preprocessing decodes each file and the engine's ``embed_arrays``
    pools and normalises, so an index agrees with ``Model.embed`` vector for
    vector, on either runtime (ONNX Runtime serves the default layer).
    """

    def __init__(
        self,
        model_path: str | os.PathLike,
        layer: str | None = None,
        device: str = "cpu",
        pooling: str = "avg",
        runtime: str = "auto",
    ):
        from convkit.inference import open_model

        self.model_path = str(Path(model_path).resolve())
        self.model = open_model(model_path, device=device, runtime=runtime)
        names = [item.name for item in self.model.spec.layers]
        if pooling not in POOLINGS:
            raise UsageError(f"pooling must be avg or flatten. Received: pooling={pooling!r}")
        self.pooling = pooling
        self.layer = layer or self.model.embedding_layer()
        if self.layer not in names:
            raise UsageError(
                f"the model has no layer named {self.layer!r}; its layers are {', '.join(names)}"
            )

    @property
    def source(self) -> ModelSource:
        return ModelSource(
            fingerprint(self.model, self.layer, self.pooling),
            self.model_path,
            self.layer,
            self.pooling,
        )

    def embed_arrays(self, batch: np.ndarray) -> np.ndarray:
        """(N, C, H, W) float32 preprocessed inputs -> (N, D) float32 unit vectors."""
        return self.model.embed_arrays(list(batch), self.layer, self.pooling, normalize=True)

    def embed_images(
        self, images, batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = False
    ) -> np.ndarray:
        """Decoded images in memory, each (H, W, C) uint8, -> (N, D) float32 unit vectors."""
        from tqdm import tqdm

        chunks = []
        for start in tqdm(
            range(0, len(images), batch_size),
            desc="embedding",
            unit="batch",
            disable=not progress,
            leave=False,
        ):
            batch = [self.model.prepare(image) for image in images[start : start + batch_size]]
            chunks.append(self.embed_arrays(np.stack(batch)))  # (B, C, H, W) in
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), np.float32)

    def embed_files(
        self,
        paths: list[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: bool = True,
        strict: bool = False,
    ) -> tuple[np.ndarray, list[str], list[tuple[str, str]]]:
        """Embed files in batches: (vectors (N, D), paths embedded, [(path, reason) skipped]).

        ``strict`` raises on the first unreadable file (for queries); otherwise
        it is skipped and listed.
        """
        from tqdm import tqdm

        if batch_size < 1:
            raise UsageError(f"batch size must be positive. Received: batch_size={batch_size}")
        vectors, kept, skipped, pending, pending_paths = [], [], [], [], []

        def flush():
            if pending:
                vectors.append(self.embed_arrays(np.stack(pending)))  # (B, C, H, W) in
                kept.extend(pending_paths)
                pending.clear()
                pending_paths.clear()

        for path in tqdm(paths, desc="embedding", unit="img", disable=not progress, leave=False):
            try:
                pending.append(self.model.prepare(path))  # (C, H, W) float32
                pending_paths.append(path)
            except ConvkitError as error:
                if strict:
                    raise
                skipped.append((path, str(error)))
            if len(pending) >= batch_size:
                flush()
        flush()
        if not vectors:
            return np.zeros((0, 0), np.float32), [], skipped
        return np.concatenate(vectors), kept, skipped


def fingerprint(model, layer: str, pooling: str = "avg") -> str:
    """SHA-256 of what decides the vectors: weights, layer, pooling and preprocessing."""
    digest = hashlib.sha256()
    digest.update(model.loaded.weights_sha256.encode())
    # "avg" adds nothing, so fingerprints of default indexes do not depend on this option.
    digest.update(f"|{layer}|".encode() + (b"flatten|" if pooling == "flatten" else b""))
    digest.update(json.dumps(model.loaded.preprocessing, sort_keys=True, default=str).encode())
    return digest.hexdigest()
