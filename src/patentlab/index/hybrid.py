"""The hybrid index: BM25 (tantivy) and dense vectors (FAISS IVF), fused by reciprocal rank.

On disk an index is one directory::

    index.json      settings (encoder, dense index parameters) and counts
    docs.sqlite     documents and metadata (the document store)
    keyword/        the tantivy BM25 index; each entry carries its document's rowid
    vectors.faiss   the vector index; vector i belongs to the document with rowid i

Adds are incremental: documents are committed to SQLite first, then indexed by tantivy, then
embedded and appended to the vector index. If a run stops in between, the next ``add`` (or ``open``
for writing) indexes and embeds the documents that are still missing; with the embedding cache,
work already done is not repeated.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from patentlab.embed.settings import EncoderSettings
from patentlab.errors import PatentlabError
from patentlab.index.dense import DenseIndex, DenseParams
from patentlab.index.filters import SearchFilters
from patentlab.index.fusion import RRF_K, reciprocal_rank_fusion
from patentlab.index.keyword import KeywordIndex, Snippet
from patentlab.index.records import IndexDoc, embedding_text, read_documents
from patentlab.index.store import DocStore
from patentlab.storage import atomic_dir, read_json, write_json

FORMAT_VERSION = 2
MANIFEST = "index.json"
DOCS_DB = "docs.sqlite"
KEYWORD_DIR = "keyword"
MODES = ("hybrid", "keyword", "dense")
#: Longest query text considered; whole claims fit, pasted documents are cut here.
MAX_QUERY_CHARS = 20_000
MAX_K = 100


_torch_threads_lock = threading.Lock()


@contextmanager
def _one_torch_thread():
    """Run torch on one thread for a moment (callers take turns).

    One query is a few dozen tokens: splitting such small matrix products over threads saves
    little on an idle CPU, and on a shared one the threads wait for each other (measured: MiniLM
    on one query, 21 ms on one thread vs 87 ms on two at load 11 on 2 cores).
    """
    import torch

    with _torch_threads_lock:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


@dataclass
class SearchHit:
    """One result. ``score`` is the fused RRF score; the per-retriever ranks explain it."""

    id: str
    rank: int
    score: float
    title: str | None
    snippet: str
    highlights: list[tuple[int, int]]
    doc_type: str
    green: bool | None
    p_green: float | None
    date: str | None
    y02: list[str]
    cpc: list[str]
    source: str
    keyword_rank: int | None = None
    keyword_score: float | None = None
    dense_rank: int | None = None
    dense_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["highlights"] = [list(span) for span in self.highlights]
        return out


@dataclass
class SearchResults:
    """The answer to one query: hits best first, the settings that produced them and timings."""

    query: str
    mode: str
    k: int
    filters: dict[str, Any]
    weights: dict[str, float]
    hits: list[SearchHit] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    like: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["hits"] = [h.to_dict() for h in self.hits]
        return out


@dataclass
class AddReport:
    """What an :meth:`SearchIndex.add` call did."""

    added: int = 0
    skipped_existing: int = 0
    embedded: int = 0
    total: int = 0


class SearchIndex:
    """A persistent hybrid prior-art index over corpus-schema documents.

    Create one with :meth:`create`, reopen it with :meth:`open`. Example::

        index = SearchIndex.create("runs/search")
        index.add_files(["runs/demo/corpus/corpus.parquet"])
        index.search("perovskite solar cell", k=5, filters=SearchFilters(green=True))
    """

    def __init__(
        self,
        path: Path,
        store: DocStore,
        keyword: KeywordIndex,
        dense: DenseIndex,
        encoder_settings: EncoderSettings,
        *,
        read_only: bool,
    ) -> None:
        self.path = path
        self.store = store
        self.keyword = keyword
        self.dense = dense
        self.encoder_settings = encoder_settings
        self.read_only = read_only
        self._encoder = None
        self._query_encoder = None
        self._encoder_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bm25")
        self._filter_cache: OrderedDict[tuple, np.ndarray] = OrderedDict()

    # -- lifecycle ------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path,
        *,
        encoder: EncoderSettings | None = None,
        dense: DenseParams | None = None,
        dim: int | None = None,
    ) -> SearchIndex:
        """Start an empty index in ``path`` (which must not hold an index already).

        ``dim`` defaults to the encoder's size (loading it once); pass it to skip that.
        """
        path = Path(path)
        if (path / MANIFEST).exists():
            raise PatentlabError("an index already exists here; open it to add documents", path=path)
        encoder = encoder or EncoderSettings()
        dense = dense or DenseParams()
        path.mkdir(parents=True, exist_ok=True)
        store, keyword = DocStore(path / DOCS_DB), KeywordIndex(path / KEYWORD_DIR)
        self = cls(path, store, keyword, DenseIndex(dim or 1, dense), encoder, read_only=False)
        if dim is None:
            self.dense = DenseIndex(self.encoder.dim, dense)
        self._save()
        return self

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = True) -> SearchIndex:
        """Reopen an index from disk, without rebuilding anything."""
        path = Path(path)
        manifest_path = path / MANIFEST
        if not manifest_path.exists():
            raise PatentlabError("no search index here (run 'patentlab search index' first)", path=path)
        manifest = read_json(manifest_path, "the index manifest")
        if manifest.get("format") != FORMAT_VERSION:
            raise PatentlabError(
                f"index format {manifest.get('format')} is not {FORMAT_VERSION}: rebuild it "
                "('patentlab search index --fresh')",
                path=path,
            )
        store = DocStore(path / DOCS_DB, read_only=read_only)
        keyword = KeywordIndex(path / KEYWORD_DIR, read_only=read_only)
        dense = DenseIndex.load(path, DenseParams(**manifest["dense"]))
        encoder = EncoderSettings.from_dict(manifest["encoder"])
        self = cls(path, store, keyword, dense, encoder, read_only=read_only)
        if not read_only:
            indexed, embedded = self._index_pending(), self._embed_pending()
            if indexed or embedded:
                self._save()
        return self

    @classmethod
    def build(
        cls,
        path: str | Path,
        sources: Iterable[str | Path],
        *,
        encoder: EncoderSettings | None = None,
        dense: DenseParams | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> tuple[SearchIndex, AddReport]:
        """Build a fresh index from corpus files in a staging folder, then swap it into ``path``."""
        with atomic_dir(path) as staging:
            index = cls.create(staging, encoder=encoder, dense=dense)
            report = index.add(read_documents(sources), progress=progress)
            index.close()
        return cls.open(path), report

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.keyword.close()
        self.store.close()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self.store)

    def _save(self) -> None:
        self.dense.save(self.path)
        write_json(
            self.path / MANIFEST,
            {
                "format": FORMAT_VERSION,
                "encoder": self.encoder_settings.to_dict(),
                "dim": self.dense.dim,
                "dense": asdict(self.dense.params),
                "documents": len(self.store),
                "vectors": len(self.dense),
                "updated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            },
        )

    # -- encoders -------------------------------------------------------------------------------

    @property
    def encoder(self):
        """The document encoder (loaded on first use; vectors go to the embedding cache)."""
        with self._encoder_lock:  # the web app's worker threads may all ask at once
            if self._encoder is None:
                self._encoder = self.encoder_settings.encoder()
        return self._encoder

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one query."""
        return self.encode_queries([text])[0]

    def encode_queries(self, texts: Sequence[str], *, batch_size: int = 1) -> np.ndarray:
        """Embed queries. They skip the on-disk cache: each new query would otherwise add a shard."""
        if self._query_encoder is None:
            from patentlab.embed.encoder import Encoder

            enc = self.encoder
            self._query_encoder = Encoder.from_modules(enc.tokenizer, enc.model, max_length=enc.max_length)
        if len(texts) > 1:
            self._query_encoder.batch_size = batch_size
            return self._query_encoder.encode(list(texts), show_progress=True)
        with _one_torch_thread():
            return self._query_encoder.encode(list(texts), show_progress=False)

    # -- adding ---------------------------------------------------------------------------------

    def add(
        self,
        docs: Iterable[IndexDoc],
        *,
        vectors: np.ndarray | None = None,
        batch_size: int = 4096,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> AddReport:
        """Add documents whose id is not in the index yet, and make them searchable.

        Args:
            docs: documents (see :func:`~patentlab.index.records.read_documents`).
            vectors: precomputed embeddings, one row per document in ``docs`` (skip the encoder).
            batch_size: documents committed per SQLite transaction.
            progress: called as ``progress(phase, done, total)``; ``total`` is 0 when unknown.
        """
        if self.read_only:
            raise PatentlabError("this index was opened read-only", path=self.path)
        report = AddReport()
        batch: list[IndexDoc] = []
        batch_vectors: list[np.ndarray] = []
        for i, doc in enumerate(docs):
            batch.append(doc)
            if vectors is not None:
                batch_vectors.append(vectors[i])
            if len(batch) >= batch_size:
                self._add_batch(batch, batch_vectors, report, progress)
                batch, batch_vectors = [], []
        if batch:
            self._add_batch(batch, batch_vectors, report, progress)
        self.keyword.commit()
        if vectors is None:
            report.embedded = self._embed_pending(progress)
        self._save()
        self._filter_cache.clear()
        report.total = len(self.store)
        return report

    def add_files(
        self, sources: Iterable[str | Path], progress: Callable[[str, int, int], None] | None = None
    ) -> AddReport:
        """Add every document of corpus-schema files (Parquet, JSONL, or any corpus source)."""
        return self.add(read_documents(sources), progress=progress)

    def _add_batch(
        self,
        batch: list[IndexDoc],
        batch_vectors: list[np.ndarray],
        report: AddReport,
        progress: Callable[[str, int, int], None] | None,
    ) -> None:
        existing = self.store.existing_ids([d.id for d in batch])
        seen: set[str] = set()
        keep = []
        for j, doc in enumerate(batch):
            if doc.id in existing or doc.id in seen:
                report.skipped_existing += 1
                continue
            seen.add(doc.id)
            keep.append(j)
        if not keep:
            return
        first = self.store.next_rowid()
        if batch_vectors and len(self.dense) != first:
            raise PatentlabError("the index has documents without vectors; add them with the encoder first")
        self.store.insert([batch[j] for j in keep], first)
        self.keyword.add([batch[j] for j in keep], first)
        if batch_vectors:
            self.dense.add(np.stack([batch_vectors[j] for j in keep]))
        report.added += len(keep)
        if progress:
            progress("store", report.added, 0)

    def _index_pending(self, chunk: int = 4096) -> int:
        """Give the keyword index documents that are stored but not indexed (left by a stopped run)."""
        start, end = len(self.keyword), self.store.next_rowid()
        for lo in range(start, end, chunk):
            self.keyword.add(self.store.get_docs(range(lo, min(lo + chunk, end))), lo)
        if start < end:
            self.keyword.commit()
        return max(end - start, 0)

    def _embed_pending(
        self, progress: Callable[[str, int, int], None] | None = None, chunk: int = 1024
    ) -> int:
        """Embed documents that are stored but have no vector yet (new, or left by a stopped run)."""
        start, end = len(self.dense), self.store.next_rowid()
        if start >= end:
            return 0
        done = 0
        for lo in range(start, end, chunk):
            rows = self.store.get_many(range(lo, min(lo + chunk, end)))
            texts = [embedding_text(r["title"], r["abstract"], r["claims"]) for _, r in sorted(rows.items())]
            self.dense.add(self.encoder.encode(texts, show_progress=progress is None, description="embed"))
            done += len(texts)
            if progress:
                progress("embed", done, end - start)
        return done

    # -- searching ------------------------------------------------------------------------------

    def _allowed(self, filters: SearchFilters | None) -> np.ndarray | None:
        if filters is None or not filters.active:
            return None
        key = filters.key()
        if key not in self._filter_cache:
            self._filter_cache[key] = self.store.matching_rowids(filters)
            while len(self._filter_cache) > 64:
                self._filter_cache.popitem(last=False)
        return self._filter_cache[key]

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        mode: str = "hybrid",
        filters: SearchFilters | None = None,
        weights: Mapping[str, float] | None = None,
        depth: int = 100,
        rrf_k: int = RRF_K,
        query_vector: np.ndarray | None = None,
        keyword_max_df: float = 0.5,
        exclude: Sequence[int] = (),
        like: str | None = None,
    ) -> SearchResults:
        """Find the ``k`` documents that best match ``query`` (a few words or a whole claim).

        Args:
            mode: ``hybrid`` (BM25 and dense fused by RRF), ``keyword`` or ``dense``.
            filters: restrict by source, green, Y02, CPC prefix and date.
            weights: RRF weight of each list, ``{"keyword": 1.0, "dense": 1.0}`` by default.
            depth: how many candidates each retriever contributes to the fusion.
            rrf_k: the RRF rank offset.
            query_vector: a precomputed query embedding (skips the encoder).
            keyword_max_df: BM25 ignores query words found in more than this share of documents
                (see :meth:`KeywordIndex.query_terms`); lower is faster on large indexes.
        """
        t0 = time.perf_counter()
        if mode not in MODES:
            raise PatentlabError(f"mode must be one of {', '.join(MODES)}, not '{mode}'", field="mode")
        if not 1 <= k <= MAX_K:
            raise PatentlabError(f"k must be between 1 and {MAX_K}, not {k}", field="k")
        weights = {"keyword": 1.0, "dense": 1.0, **(weights or {})}
        if any(w < 0 for w in weights.values()):
            raise PatentlabError("weights must not be negative", field="weights")
        query = " ".join((query or "")[:MAX_QUERY_CHARS].split())
        filters = filters or SearchFilters()
        results = SearchResults(query, mode, k, filters.to_dict(), weights, like=like)
        if not query and query_vector is None:
            return results
        depth = max(depth, k + len(exclude))
        timings: dict[str, float] = {}

        results.terms = self.keyword.query_terms(query, max_df=keyword_max_df)

        def keyword() -> list[tuple[int, float]]:
            t = time.perf_counter()
            hits = self.keyword.search(results.terms, k=depth, filters=filters)
            timings["keyword"] = (time.perf_counter() - t) * 1000
            return hits

        want_keyword = mode in ("hybrid", "keyword") and weights["keyword"] > 0
        want_dense = mode in ("hybrid", "dense") and weights["dense"] > 0
        # tantivy, torch and FAISS all release the GIL, so BM25 runs while the query is embedded.
        pending = self._pool.submit(keyword) if want_keyword else None
        dense_hits: list[tuple[int, float]] = []
        if want_dense:
            t = time.perf_counter()
            vector = query_vector if query_vector is not None else self.encode_query(query)
            timings["encode"] = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            dense_hits = self.dense.search(vector, depth, allowed=self._allowed(filters))
            timings["dense"] = (time.perf_counter() - t) * 1000
        keyword_hits = pending.result() if pending else []
        skip = set(exclude)
        rankings = {
            "keyword": [r for r, _ in keyword_hits if r not in skip],
            "dense": [r for r, _ in dense_hits if r not in skip],
        }
        fused = reciprocal_rank_fusion(rankings, weights, k=rrf_k)[:k]
        t = time.perf_counter()
        results.hits = self._hits(fused, keyword_hits, dense_hits, results.terms)
        timings["hits"] = (time.perf_counter() - t) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        results.timings_ms = {name: round(ms, 2) for name, ms in timings.items()}
        return results

    def similar(self, doc_id: str, *, k: int = 10, mode: str = "hybrid", **options: Any) -> SearchResults:
        """ "More like this": documents close to ``doc_id`` (by its vector and its rarest words)."""
        rowid = self.store.rowid_of(doc_id)
        if rowid is None:
            raise PatentlabError(f"no document with id '{doc_id}' in this index", field="id")
        doc = self.store.get(rowid)
        text = " ".join(x for x in (doc["title"], doc["abstract"], *doc["claims"][:1]) if x)
        vector = self.dense.vector(rowid) if rowid < len(self.dense) else None
        return self.search(text, k=k, mode=mode, query_vector=vector, exclude=[rowid], like=doc_id, **options)

    def get(self, doc_id: str) -> dict[str, Any] | None:
        """The stored document with this id (all claims, metadata, extras), or None."""
        rowid = self.store.rowid_of(doc_id)
        return None if rowid is None else self.store.get(rowid)

    def _hits(
        self,
        fused: list[tuple[int, float]],
        keyword_hits: list[tuple[int, float]],
        dense_hits: list[tuple[int, float]],
        terms: list[str],
    ) -> list[SearchHit]:
        rowids = [r for r, _ in fused]
        docs = self.store.get_many(rowids)
        snippets = self.keyword.snippets(terms, docs)
        kw = {r: (rank, s) for rank, (r, s) in enumerate(keyword_hits, start=1)}
        dn = {r: (rank, s) for rank, (r, s) in enumerate(dense_hits, start=1)}
        hits = []
        for rank, (rowid, score) in enumerate(fused, start=1):
            doc = docs[rowid]
            snippet = snippets.get(rowid) or lead_snippet(doc)
            hits.append(
                SearchHit(
                    id=doc["id"],
                    rank=rank,
                    score=round(score, 6),
                    title=doc["title"],
                    snippet=snippet.text,
                    highlights=list(snippet.highlights),
                    doc_type=doc["doc_type"],
                    green=None if doc["green"] is None else bool(doc["green"]),
                    p_green=doc["p_green"],
                    date=doc["date"],
                    y02=doc["y02"],
                    cpc=doc["cpc"],
                    source=doc["source"] or "",
                    keyword_rank=kw[rowid][0] if rowid in kw else None,
                    keyword_score=round(kw[rowid][1], 4) if rowid in kw else None,
                    dense_rank=dn[rowid][0] if rowid in dn else None,
                    dense_score=round(dn[rowid][1], 4) if rowid in dn else None,
                )
            )
        return hits


def lead_snippet(doc: Mapping[str, Any], words: int = 40) -> Snippet:
    """The start of claim 1 (or the abstract) when no query word occurs in a document."""
    text = (doc["claims"][0] if doc["claims"] else None) or doc["abstract"] or doc["title"] or ""
    parts = text.split()
    return Snippet(" ".join(parts[:words]) + (" …" if len(parts) > words else ""))


def is_current(path: str | Path) -> bool:
    """True when an index on disk has this version's format (an older or damaged one is rebuilt)."""
    from patentlab.errors import PatentlabError
    from patentlab.storage import read_json

    manifest = Path(path) / MANIFEST
    if not manifest.is_file():  # no index yet: a first run builds it
        return False
    try:
        return read_json(manifest).get("format") == FORMAT_VERSION
    except (PatentlabError, OSError):  # an unreadable or damaged one
        return False
