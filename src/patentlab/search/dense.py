"""Dense retrieval: unit-length embeddings in a FAISS HNSW graph, searched by inner product.

Vector ``i`` belongs to the document with ``rowid == i`` in the document store, so the graph needs
no id map and incremental adds simply append. A filtered search that keeps few documents scores
them exactly (brute force over their vectors); a broad filter runs the graph with an id selector.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from patentlab.errors import PatentlabError
from patentlab.storage import atomic_path


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (so inner product is cosine similarity), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12))


@dataclass(frozen=True)
class HNSWParams:
    """HNSW graph settings: ``m`` links per node, beam widths at build and search time."""

    m: int = 32
    ef_construction: int = 80
    ef_search: int = 96


class DenseIndex:
    """Cosine-similarity search over document embeddings with a FAISS HNSW graph.

    Args:
        dim: embedding size.
        params: graph settings.
        exact_below: a filter keeping at most this many documents is searched exactly.
    """

    FILE = "vectors.faiss"

    def __init__(self, dim: int, params: HNSWParams | None = None, *, exact_below: int = 20_000) -> None:
        import faiss

        self.dim = dim
        self.params = params or HNSWParams()
        self.exact_below = exact_below
        self.index = faiss.IndexHNSWFlat(dim, self.params.m, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = self.params.ef_construction
        self.index.hnsw.efSearch = self.params.ef_search

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        """Append vectors; their ids continue from ``len(self)``."""
        vectors = normalize(vectors)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise PatentlabError(f"expected vectors of size {self.dim}, got shape {vectors.shape}")
        self.index.add(vectors)

    def vectors(self) -> np.ndarray:
        """A read-only ``(len, dim)`` view of every stored vector (no copy)."""
        import faiss

        storage = faiss.downcast_index(self.index.storage)
        flat = faiss.rev_swig_ptr(storage.get_xb(), len(self) * self.dim) if len(self) else np.zeros(0)
        view = np.asarray(flat, dtype=np.float32).reshape(len(self), self.dim)
        view.flags.writeable = False
        return view

    def vector(self, i: int) -> np.ndarray:
        return np.array(self.vectors()[i])

    def search(
        self, query: np.ndarray, k: int, *, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest (id, cosine) pairs to one query vector, among ``allowed`` ids if given."""
        import faiss

        if len(self) == 0 or k <= 0:
            return []
        q = normalize(np.asarray(query).reshape(1, -1))
        if allowed is not None:
            allowed = allowed[allowed < len(self)]
            if len(allowed) == 0:
                return []
            if len(allowed) <= self.exact_below:
                return self._exact(q[0], allowed, k)
            # A graph walk that may only return some ids needs a wider beam to find k of them.
            widen = len(self) / len(allowed)
            ef = int(min(max(self.params.ef_search, k) * widen, 4096))
            params = faiss.SearchParametersHNSW(sel=faiss.IDSelectorBatch(allowed), efSearch=ef)
            scores, ids = self.index.search(q, k, params=params)
        else:
            params = faiss.SearchParametersHNSW(efSearch=max(self.params.ef_search, k))
            scores, ids = self.index.search(q, k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _exact(self, q: np.ndarray, ids: np.ndarray, k: int) -> list[tuple[int, float]]:
        scores = self.vectors()[ids] @ q
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(ids[i]), float(scores[i])) for i in top]

    def exact_search(self, queries: np.ndarray, k: int, *, block: int = 65_536) -> np.ndarray:
        """Exact top-``k`` ids for each query by brute force (the reference for recall)."""
        q = normalize(queries)
        vectors = self.vectors()
        best_scores = np.full((len(q), 0), -np.inf, dtype=np.float32)
        best_ids = np.zeros((len(q), 0), dtype=np.int64)
        for start in range(0, len(vectors), block):
            scores = q @ vectors[start : start + block].T
            ids = np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)
            scores, ids = np.hstack([best_scores, scores]), np.hstack([best_ids, ids])
            top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
            best_scores = np.take_along_axis(scores, top, 1)
            best_ids = np.take_along_axis(ids, top, 1)
        order = np.argsort(-best_scores, axis=1, kind="stable")
        return np.take_along_axis(best_ids, order, 1)

    def save(self, directory: str | Path) -> None:
        import faiss

        with atomic_path(Path(directory) / self.FILE) as tmp:
            faiss.write_index(self.index, str(tmp))

    @classmethod
    def load(cls, directory: str | Path, params: HNSWParams, *, exact_below: int = 20_000) -> DenseIndex:
        import faiss

        path = Path(directory) / cls.FILE
        self = cls.__new__(cls)
        try:
            self.index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise PatentlabError(f"cannot read the vector index: {exc}", path=path) from None
        self.dim, self.params, self.exact_below = self.index.d, params, exact_below
        self.index.hnsw.efSearch = params.ef_search
        return self
