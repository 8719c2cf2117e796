"""Prior-art search: a hybrid BM25 + dense index over the corpus and published inventions.

Names are imported lazily, so that ``patentlab --help`` does not import numpy, FAISS or tantivy.
"""

from __future__ import annotations

from patentlab._lazy import lazy_exports

_EXPORTS = {
    "DenseParams": "patentlab.search.dense",
    "SearchFilters": "patentlab.search.filters",
    "reciprocal_rank_fusion": "patentlab.search.fusion",
    **{
        name: "patentlab.search.index"
        for name in ("AddReport", "EncoderSettings", "SearchHit", "SearchIndex", "SearchResults")
    },
    **{name: "patentlab.search.records" for name in ("IndexDoc", "read_documents", "to_index_doc")},
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
