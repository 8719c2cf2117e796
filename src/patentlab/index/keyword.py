"""BM25 keyword search with tantivy: block-max WAND top-k, filters inside the engine, snippets.

The index holds one text field, title + abstract + claims (stemmed, term frequencies, no
positions, no stored text: the text lives in the document store), and the filter fields. Each
document carries its store ``rowid`` as a fast field, so a hit maps back to the store without
reading a stored document. Documents are only ever appended, in rowid order, so ``len(index)`` is
also the next rowid the index is missing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patentlab.errors import PatentlabError
from patentlab.index.filters import SearchFilters
from patentlab.index.records import IndexDoc

#: Name the patent analyzer is registered under in the tantivy index.
TOKENIZER = "patent"
#: The one BM25 field. One field, not one per part: per-field IDFs would make a word rare in
#: titles (most records have none) outweigh the same word in claims, and each query term would
#: cost one scorer per field.
TEXT = "text"
#: Words that carry no meaning in a patent query, dropped before they reach the engine.
_STOPWORDS = """a an and any are as at be been being by each for from has have having in including into
is it its of on or said such than that the their thereof therein these this those to which wherein
whereby with comprising comprises comprise claim claims according least"""
STOPWORDS = frozenset(_STOPWORDS.split())
WORD = re.compile(r"\w+", re.UNICODE)
_EPOCH = dt.date(1970, 1, 1)
#: Longest snippet, in characters (about 40 words of claim text).
SNIPPET_CHARS = 280


@dataclass(frozen=True)
class Snippet:
    """A short passage of a document with the character spans that matched the query."""

    text: str
    highlights: tuple[tuple[int, int], ...] = ()


def analyzer():
    """Words split on non-alphanumerics, lowercased, accents folded, Snowball English stems."""
    import tantivy

    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _schema():
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field(TEXT, tokenizer_name=TOKENIZER, index_option="freq")
    builder.add_integer_field("rowid", fast=True)
    builder.add_text_field("doc_type", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("green", indexed=True)
    builder.add_integer_field("date", indexed=True, fast=True)  # days since 1970-01-01
    # Y02 categories and CPC codes, matched by prefix (a regex over the term dictionary).
    builder.add_text_field("codes", tokenizer_name="raw", index_option="basic")
    return builder.build()


def _days(date: dt.date) -> int:
    return (date - _EPOCH).days


class KeywordIndex:
    """A tantivy BM25 index in a directory, appended to in rowid order.

    Args:
        path: the index directory (created when missing, unless ``read_only``).
        read_only: open an existing index for searching only.
        writer_heap: memory the writer buffers before it flushes a segment.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False, writer_heap: int = 256_000_000) -> None:
        import tantivy

        self.path = Path(path)
        self.read_only = read_only
        self.writer_heap = writer_heap
        if self.path.is_dir() and tantivy.Index.exists(str(self.path)):
            try:
                self.index = tantivy.Index.open(str(self.path))
            except ValueError as exc:
                raise PatentlabError(f"cannot open the keyword index: {exc}", path=self.path) from None
        elif read_only:
            raise PatentlabError("no keyword index here", path=self.path)
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            self.index = tantivy.Index(_schema(), path=str(self.path))
        self.index.register_tokenizer(TOKENIZER, analyzer())
        self.schema = self.index.schema
        self._analyzer = analyzer()
        self._writer = None

    def __len__(self) -> int:
        return int(self.index.searcher().num_docs)

    # -- writing --------------------------------------------------------------------------------

    def add(self, docs: Sequence[IndexDoc], first_rowid: int) -> None:
        """Buffer ``docs`` with rowids from ``first_rowid``; they are searchable after :meth:`commit`."""
        import tantivy

        if self.read_only:
            raise PatentlabError("this index was opened read-only", path=self.path)
        if self._writer is None:
            self._writer = self.index.writer(self.writer_heap)
        for offset, doc in enumerate(docs):
            # The title goes in twice: a title word counts double, as a column weight of 2 would.
            parts = [doc.title, doc.title, doc.abstract, *doc.claims]
            fields: dict[str, Any] = {
                "rowid": first_rowid + offset,
                "doc_type": doc.doc_type,
                TEXT: "\n".join(p for p in parts if p),
            }
            if doc.green is not None:
                fields["green"] = int(doc.green)
            if doc.date:
                fields["date"] = _days(doc.date)
            codes = list(dict.fromkeys([*doc.y02, *doc.cpc]))
            if codes:
                fields["codes"] = codes
            self._writer.add_document(tantivy.Document(**fields))

    def commit(self) -> None:
        """Make buffered documents durable and visible to searches."""
        if self._writer is not None:
            self._writer.commit()
            self.index.reload()

    def close(self) -> None:
        """Commit, and let background segment merges finish (they hold the writer's lock)."""
        if self._writer is not None:
            self.commit()
            self._writer.wait_merging_threads()
            self._writer = None

    # -- searching ------------------------------------------------------------------------------

    def query_terms(self, query: str, *, max_terms: int = 32, max_df: float = 0.5) -> list[str]:
        """The query's stemmed terms worth searching for, rarest first.

        Stopwords go first, then terms no document holds, then terms held by more than ``max_df``
        of all documents (their IDF is near 0: they barely move the ranking but cost postings).
        A whole claim as the query keeps its ``max_terms`` rarest terms.
        """
        words = [w for w in dict.fromkeys(w.lower() for w in WORD.findall(query)) if w not in STOPWORDS]
        if not words:
            return []
        stems = list(dict.fromkeys(self._analyzer.analyze(" ".join(words[:256]))))
        searcher = self.index.searcher()
        total = max(int(searcher.num_docs), 1)
        kept = []
        for stem in stems:
            df = searcher.doc_freq(TEXT, stem)
            if 0 < df <= max_df * total:
                kept.append((df, stem))
        return [stem for _, stem in sorted(kept)[:max_terms]]

    def _terms_query(self, terms: Sequence[str]):
        import tantivy

        Q, should = tantivy.Query, tantivy.Occur.Should
        return Q.boolean_query(
            [(should, Q.term_query(self.schema, TEXT, t, index_option="freq")) for t in terms]
        )

    def filter_query(self, filters: SearchFilters):
        """``filters`` as a tantivy query that matches the allowed documents with score 0."""
        import tantivy

        Q, must, should = tantivy.Query, tantivy.Occur.Must, tantivy.Occur.Should
        parts = []
        if filters.doc_types:
            parts.append(
                Q.boolean_query(
                    [(should, Q.term_query(self.schema, "doc_type", t)) for t in filters.doc_types]
                )
            )
        if filters.green is not None:
            parts.append(Q.term_query(self.schema, "green", int(filters.green)))
        if filters.date_from or filters.date_to:
            low = _days(filters.date_from) if filters.date_from else None
            high = _days(filters.date_to) if filters.date_to else None
            parts.append(Q.range_query(self.schema, "date", tantivy.FieldType.Integer, low, high))
        for prefix in (filters.y02, filters.cpc_prefix):
            if prefix:  # validated by SearchFilters: letters, digits and '/' only, no regex syntax
                parts.append(Q.regex_query(self.schema, "codes", re.escape(prefix) + ".*"))
        return Q.const_score_query(Q.boolean_query([(must, p) for p in parts]), 0.0)

    def search(
        self, terms: Sequence[str], *, k: int = 100, filters: SearchFilters | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best (rowid, BM25 score) pairs for ``terms`` among documents passing ``filters``."""
        import tantivy

        if not terms or k <= 0:
            return []
        query = self._terms_query(terms)
        if filters is not None and filters.active:
            must = tantivy.Occur.Must
            query = tantivy.Query.boolean_query([(must, query), (must, self.filter_query(filters))])
        searcher = self.index.searcher()
        hits = searcher.search(query, k, count=False).hits
        rowids = searcher.fast_field_values("rowid", [address for _, address in hits])
        return [(int(r), float(score)) for r, (score, _) in zip(rowids, hits, strict=True)]

    def snippets(
        self, terms: Sequence[str], docs: Mapping[int, Mapping[str, Any]], *, chars: int = SNIPPET_CHARS
    ) -> dict[int, Snippet]:
        """The best passage of each document's claims (else abstract, else title) with terms marked.

        ``docs`` are store rows (``claims``, ``abstract``, ``title``); documents in which no term
        occurs are left out, so the caller can fall back to a lead passage.
        """
        import tantivy

        if not terms or not docs:
            return {}
        searcher = self.index.searcher()
        # One generator scores passages by the query's terms; any text can be fed to it.
        generator = tantivy.SnippetGenerator.create(searcher, self._terms_query(terms), self.schema, TEXT)
        generator.set_max_num_chars(chars)
        out = {}
        for rowid, doc in docs.items():
            for text in ("\n".join(doc["claims"]), doc["abstract"], doc["title"]):
                found = generator.snippet_from_doc(tantivy.Document(**{TEXT: text})) if text else None
                if found is not None and (snippet := _snippet(found, text)):
                    out[rowid] = snippet
                    break
        return out


def _snippet(found, source: str) -> Snippet | None:
    """tantivy's snippet of ``source`` (UTF-8 byte offsets) as text with character spans, or None."""
    spans = found.highlighted()
    if not spans:
        return None
    raw = found.fragment().encode("utf-8")

    def chars(offset: int) -> int:
        return len(raw[:offset].decode("utf-8", errors="ignore"))

    where = found.fragment_range()
    lead = "… " if where.start > 0 else ""
    text = " ".join(raw.decode("utf-8").split("\n"))
    highlights = tuple((len(lead) + chars(s.start), len(lead) + chars(s.end)) for s in spans)
    tail = " …" if where.end < len(source.strip().encode("utf-8")) else ""
    return Snippet(lead + text + tail, highlights)
