"""The retrieval index: a hybrid BM25 + dense index over any corpus-schema records.

Shared machinery below the steps (``DESIGN.md``: "Shared machinery lives below the steps"): vet
uses it for novelty and the obviousness map against the whole corpus, search for the examiners'
pages and API. Names are imported lazily, so that ``patentlab --help`` imports neither numpy,
FAISS nor tantivy.
"""

from __future__ import annotations

from patentlab._lazy import lazy_exports

_EXPORTS = {
    "DenseParams": "patentlab.index.dense",
    "EncoderSettings": "patentlab.embed.settings",
    "SearchFilters": "patentlab.index.filters",
    "reciprocal_rank_fusion": "patentlab.index.fusion",
    **{name: "patentlab.index.hybrid" for name in ("AddReport", "SearchHit", "SearchIndex", "SearchResults")},
    **{name: "patentlab.index.records" for name in ("IndexDoc", "read_documents", "to_index_doc")},
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
