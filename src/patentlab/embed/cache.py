"""An on-disk embedding cache keyed by model and text hash, so a second run re-encodes nothing.

Each encoder configuration (model, weights, max length, dtype, chunking) gets its own folder under
``cache_dir("embeddings")``. New vectors are appended as small ``.npz`` shards written atomically,
so an interrupted run keeps everything it finished and concurrent readers never see half a file.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from patentlab.cache import cache_dir
from patentlab.storage import atomic_path, write_json


def text_hash(text: str) -> str:
    """A stable 40-character key for one text (SHA-1 of its UTF-8 bytes)."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def config_key(settings: dict) -> str:
    """A short key for an encoder configuration (a hash of its JSON, sorted)."""
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


class EmbeddingCache:
    """Vectors for texts already encoded with one encoder configuration.

    Args:
        settings: everything that changes the vectors (model id and weights, max length, dtype…).
        root: the cache folder; ``$PATENTLAB_CACHE/embeddings`` by default.
    """

    def __init__(self, settings: dict, root: str | Path | None = None) -> None:
        base = Path(root) if root is not None else cache_dir("embeddings")
        self.path = base / config_key(settings)
        self.path.mkdir(parents=True, exist_ok=True)
        if not (self.path / "settings.json").exists():
            write_json(self.path / "settings.json", settings)
        self._vectors: dict[str, np.ndarray] = {}
        for shard in sorted(self.path.glob("shard-*.npz")):
            with np.load(shard) as data:
                self._vectors.update(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, key: str) -> bool:
        return key in self._vectors

    def get(self, key: str) -> np.ndarray | None:
        return self._vectors.get(key)

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors`` (one row per key) in memory and as a new shard on disk."""
        new = [(k, v) for k, v in zip(keys, vectors, strict=True) if k not in self._vectors]
        if not new:
            return
        keys_arr = np.array([k for k, _ in new])
        vec_arr = np.stack([v for _, v in new]).astype(np.float32)
        with atomic_path(self.path / f"shard-{uuid.uuid4().hex}.npz") as tmp, tmp.open("wb") as fh:
            np.savez(fh, keys=keys_arr, vectors=vec_arr)
        self._vectors.update(zip(keys_arr.tolist(), vec_arr, strict=True))
