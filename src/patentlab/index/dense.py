"""Dense retrieval: unit-length embeddings in a FAISS index, searched by inner product (cosine).

Vector ``i`` belongs to the document with ``rowid == i`` in the document store, so no id map is
needed and incremental adds simply append. Three index kinds (:class:`DenseParams`):

- ``ivf`` (default): IVF-Flat. Vectors are grouped around ``nlist`` k-means centroids and a query
  scores every vector, exactly, in its ``nprobe`` closest groups. Until the index holds enough
  vectors to train the centroids (``train_min``) it stays a flat, exact index, so small indexes
  (the demo corpus, tests) are exact and need no training.
- ``flat``: exact search over every vector (the reference; linear in the index size).
- ``hnsw``: a FAISS HNSW graph (no training, but slower to build and, on near-duplicate-heavy
  data, lower recall at the same latency: ``docs/search.md``).

Filters pass an id selector into the search, so only allowed documents are scored; a narrow filter
widens the probe (IVF: more groups; HNSW: a wider beam) in proportion to how few documents it keeps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from patentlab.embed.encoder import unit_rows
from patentlab.errors import PatentlabError
from patentlab.storage import atomic_path

KINDS = ("ivf", "flat", "hnsw")


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (so inner product is cosine similarity), as contiguous float32
    (what FAISS reads)."""
    return np.ascontiguousarray(unit_rows(vectors))


@dataclass(frozen=True)
class DenseParams:
    """Which FAISS index holds the vectors, and its speed/recall settings.

    Attributes:
        kind: ``ivf``, ``flat`` or ``hnsw``.
        nlist: IVF groups (k-means centroids). ~1,000 suits 10^5-10^7 vectors.
        nprobe: IVF groups scanned per query; the recall/latency knob (``BENCHMARKS.md``).
        train_min: vectors needed before IVF trains (below it the index is flat and exact);
            FAISS wants ≥ 39 training points per centroid.
        train_max: at most this many vectors (a random sample) train the centroids.
        m, ef_construction, ef_search: HNSW links per node and beam widths.
    """

    kind: str = "ivf"
    nlist: int = 1024
    nprobe: int = 8
    train_min: int = 40_000
    train_max: int = 65_536
    m: int = 32
    ef_construction: int = 80
    ef_search: int = 96

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PatentlabError(f"dense index kind must be one of {', '.join(KINDS)}, not '{self.kind}'")
        if self.kind == "ivf" and self.train_min < self.nlist:
            raise PatentlabError("train_min must be at least nlist (one training vector per group)")


class DenseIndex:
    """Cosine-similarity search over document embeddings.

    Args:
        dim: embedding size.
        params: index kind and settings.
    """

    FILE = "vectors.faiss"
    #: An HNSW search whose filter keeps at most this many documents scores them exactly.
    exact_below = 20_000

    def __init__(self, dim: int, params: DenseParams | None = None) -> None:
        import faiss

        self.dim = dim
        self.params = params or DenseParams()
        if self.params.kind == "hnsw":
            self.index = faiss.IndexHNSWFlat(dim, self.params.m, faiss.METRIC_INNER_PRODUCT)
            self.index.hnsw.efConstruction = self.params.ef_construction
        else:  # ivf starts flat, and is trained once it holds train_min vectors
            self.index = faiss.IndexFlatIP(dim)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def trained_ivf(self) -> bool:
        """True once the vectors live in a trained IVF index (rather than a flat one)."""
        import faiss

        return isinstance(self.index, faiss.IndexIVF)

    # -- adding ---------------------------------------------------------------------------------

    def add(self, vectors: np.ndarray) -> None:
        """Append vectors; their ids continue from ``len(self)``."""
        vectors = normalize(vectors)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise PatentlabError(f"expected vectors of size {self.dim}, got shape {vectors.shape}")
        self.index.add(vectors)
        if self.params.kind == "ivf" and not self.trained_ivf and len(self) >= self.params.train_min:
            self._train_ivf()

    def _train_ivf(self, seed: int = 0) -> None:
        """Replace the flat index by an IVF-Flat one trained on (a sample of) its vectors."""
        import faiss

        vectors = self._flat_vectors()
        rng = np.random.default_rng(seed)
        sample = vectors
        if len(vectors) > self.params.train_max:
            sample = vectors[np.sort(rng.choice(len(vectors), self.params.train_max, replace=False))]
        quantizer = faiss.IndexFlatIP(self.dim)
        ivf = faiss.IndexIVFFlat(quantizer, self.dim, self.params.nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.cp.seed = seed
        ivf.cp.max_points_per_centroid = max(len(sample) // self.params.nlist + 1, 39)
        ivf.train(np.ascontiguousarray(sample))
        ivf.add(vectors)
        ivf.make_direct_map()  # so vector(i) can read any stored vector back
        ivf.nprobe = self.params.nprobe
        self.index = ivf  # FAISS's Python wrapper keeps the quantizer alive with it

    def _flat_vectors(self) -> np.ndarray:
        import faiss

        index = self.index if isinstance(self.index, faiss.IndexFlat) else self.index.storage
        flat = faiss.downcast_index(index)
        if len(self) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return faiss.rev_swig_ptr(flat.get_xb(), len(self) * self.dim).reshape(len(self), self.dim)

    # -- reading --------------------------------------------------------------------------------

    def vector(self, i: int) -> np.ndarray:
        """The stored (unit-length) vector of document ``i``."""
        return self.index.reconstruct(int(i))

    def vectors(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Stored vectors ``start:stop`` as a ``(n, dim)`` array (a copy for IVF)."""
        stop = len(self) if stop is None else min(stop, len(self))
        if stop <= start:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.trained_ivf:
            return self.index.reconstruct_n(start, stop - start)
        return np.array(self._flat_vectors()[start:stop])

    def search(
        self, query: np.ndarray, k: int, *, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest (id, cosine) pairs to one query vector, among ``allowed`` ids if given."""
        import faiss

        if len(self) == 0 or k <= 0:
            return []
        q = normalize(np.asarray(query).reshape(1, -1))
        selector, widen = None, 1.0
        if allowed is not None:
            allowed = allowed[allowed < len(self)]
            if len(allowed) == 0:
                return []
            if self.params.kind == "hnsw" and len(allowed) <= self.exact_below:
                # A graph walk may find too few allowed nodes near the query: score them all.
                scores = self.index.reconstruct_batch(allowed) @ q[0]
                top = np.argsort(-scores, kind="stable")[:k]
                return [(int(allowed[i]), float(scores[i])) for i in top]
            # A bitmap costs n/8 bytes to build and one bit test per scanned vector.
            mask = np.zeros(len(self), dtype=bool)
            mask[allowed] = True
            bitmap = np.packbits(mask, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(self), faiss.swig_ptr(bitmap))
            widen = len(self) / len(allowed)
        if self.trained_ivf:
            nprobe = min(self.params.nlist, math.ceil(max(self.params.nprobe, 1) * widen))
            params = faiss.SearchParametersIVF(nprobe=nprobe)
        elif self.params.kind == "hnsw":
            ef = int(min(max(self.params.ef_search, k) * widen, 4096))
            params = faiss.SearchParametersHNSW(efSearch=ef)
        else:
            params = faiss.SearchParameters()
        if selector is not None:
            params.sel = selector
        scores, ids = self.index.search(q, k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def exact_search(self, queries: np.ndarray, k: int, *, block: int = 65_536) -> np.ndarray:
        """Exact top-``k`` ids for each query by brute force (the reference for recall)."""
        q = normalize(queries)
        best_scores = np.full((len(q), 0), -np.inf, dtype=np.float32)
        best_ids = np.zeros((len(q), 0), dtype=np.int64)
        for start in range(0, len(self), block):
            scores = q @ self.vectors(start, start + block).T
            ids = np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)
            scores, ids = np.hstack([best_scores, scores]), np.hstack([best_ids, ids])
            top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
            best_scores = np.take_along_axis(scores, top, 1)
            best_ids = np.take_along_axis(ids, top, 1)
        order = np.argsort(-best_scores, axis=1, kind="stable")
        return np.take_along_axis(best_ids, order, 1)

    # -- persistence ----------------------------------------------------------------------------

    def save(self, directory: str | Path) -> None:
        import faiss

        with atomic_path(Path(directory) / self.FILE) as tmp:
            faiss.write_index(self.index, str(tmp))

    @classmethod
    def load(cls, directory: str | Path, params: DenseParams) -> DenseIndex:
        import faiss

        path = Path(directory) / cls.FILE
        self = cls.__new__(cls)
        try:
            self.index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise PatentlabError(f"cannot read the vector index: {exc}", path=path) from None
        self.dim, self.params = self.index.d, params
        if self.trained_ivf:
            self.index.make_direct_map()
            self.index.nprobe = params.nprobe
        return self
