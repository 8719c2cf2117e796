"""Prior-art search: a hybrid BM25 + dense index over the corpus and published inventions."""

from patentlab.search.dense import HNSWParams
from patentlab.search.filters import SearchFilters
from patentlab.search.fusion import reciprocal_rank_fusion
from patentlab.search.index import AddReport, EncoderSettings, SearchHit, SearchIndex, SearchResults
from patentlab.search.records import IndexDoc, read_documents, to_index_doc

__all__ = [
    "AddReport",
    "EncoderSettings",
    "HNSWParams",
    "IndexDoc",
    "SearchFilters",
    "SearchHit",
    "SearchIndex",
    "SearchResults",
    "read_documents",
    "reciprocal_rank_fusion",
    "to_index_doc",
]
