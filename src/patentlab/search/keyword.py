"""The document store and BM25 keyword search: one SQLite file with an FTS5 full-text index.

Documents live in a plain table (``docs``) whose integer ``rowid`` is also the document's position
in the vector index. The FTS5 table indexes title, abstract and claims with the Porter stemmer and
reads its text from ``docs`` (external content), so each text is stored once.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from patentlab.errors import PatentlabError
from patentlab.search.filters import SearchFilters
from patentlab.search.records import IndexDoc

TOKENIZER = "porter unicode61 remove_diacritics 2"
#: Column weights of bm25(): a title term counts double.
COLUMN_WEIGHTS = (2.0, 1.0, 1.0)
#: Words that carry no meaning in a patent query, dropped before they reach FTS5.
_STOPWORDS = """a an and any are as at be been being by each for from has have having in including into
is it its of on or said such than that the their thereof therein these this those to which wherein
whereby with comprising comprises comprise claim claims according least"""
STOPWORDS = frozenset(_STOPWORDS.split())
_WORD = re.compile(r"\w+", re.UNICODE)
#: Sentinels FTS5 puts around matched terms in snippets; they never occur in indexed text.
OPEN, CLOSE = "\x02", "\x03"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS docs (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT, abstract TEXT, claims TEXT,
    date TEXT, doc_type TEXT NOT NULL, source TEXT, green INTEGER, p_green REAL,
    cpc TEXT, y02 TEXT, extra TEXT
);
CREATE INDEX IF NOT EXISTS docs_doc_type ON docs(doc_type);
CREATE INDEX IF NOT EXISTS docs_green ON docs(green);
CREATE INDEX IF NOT EXISTS docs_date ON docs(date);
CREATE TABLE IF NOT EXISTS doc_codes (code TEXT NOT NULL, rowid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS doc_codes_code ON doc_codes(code, rowid);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(
    title, abstract, claims, content='docs', content_rowid='rowid', tokenize='{TOKENIZER}'
);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_vocab USING fts5vocab(docs_fts, 'row');
"""


@dataclass(frozen=True)
class Snippet:
    """A short passage of a document with the character spans that matched the query."""

    text: str
    highlights: tuple[tuple[int, int], ...] = ()


def parse_marked(marked: str) -> Snippet:
    """Split FTS5 snippet output with :data:`OPEN`/:data:`CLOSE` sentinels into text and spans."""
    text, spans, start = [], [], None
    length = 0
    for piece in re.split(f"([{OPEN}{CLOSE}])", marked):
        if piece == OPEN:
            start = length
        elif piece == CLOSE:
            if start is not None and length > start:
                spans.append((start, length))
            start = None
        else:
            text.append(piece)
            length += len(piece)
    return Snippet("".join(text), tuple(spans))


class DocStore:
    """Documents, their metadata and a BM25 index in one SQLite file.

    Reads may come from many threads (each gets its own connection); writes come from one.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        if not read_only:
            con = self._connection()
            con.executescript(_SCHEMA)
            con.commit()
        elif not self.path.exists():
            raise PatentlabError("no document store here", path=self.path)

    # -- connections ----------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            uri = f"file:{self.path}?mode={'ro' if self.read_only else 'rwc'}"
            con = sqlite3.connect(uri, uri=True, check_same_thread=False)
            if not self.read_only:
                con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA cache_size=-65536")  # 64 MB page cache per connection
            # A scratch FTS5 table with the same tokenizer tells us how FTS5 stems a query's words.
            con.execute(f"CREATE VIRTUAL TABLE temp.query_words USING fts5(word, tokenize='{TOKENIZER}')")
            con.execute(
                "CREATE VIRTUAL TABLE temp.query_stems USING fts5vocab(temp, query_words, 'instance')"
            )
            self._local.con = con
            with self._lock:
                self._connections.append(con)
        return con

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            for con in self._connections:
                con.close()
            self._connections.clear()
        self._local = threading.local()

    # -- writing --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._connection().execute("SELECT count(*) FROM docs").fetchone()[0]

    def next_rowid(self) -> int:
        value = self._connection().execute("SELECT max(rowid) FROM docs").fetchone()[0]
        return 0 if value is None else value + 1

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        con, found = self._connection(), set()
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            marks = ", ".join("?" * len(part))
            found.update(r[0] for r in con.execute(f"SELECT id FROM docs WHERE id IN ({marks})", part))
        return found

    def insert(self, docs: Sequence[IndexDoc], first_rowid: int) -> None:
        """Insert ``docs`` with consecutive rowids from ``first_rowid`` in one transaction."""
        rows, codes = [], []
        for offset, doc in enumerate(docs):
            rowid = first_rowid + offset
            rows.append(
                (
                    rowid, doc.id, doc.title, doc.abstract, "\n".join(doc.claims),
                    doc.date.isoformat() if doc.date else None, doc.doc_type, doc.source, doc.green,
                    doc.p_green, json.dumps(doc.cpc), json.dumps(doc.y02), json.dumps(doc.extra),
                )
            )  # fmt: skip
            codes.extend((code, rowid) for code in dict.fromkeys([*doc.y02, *doc.cpc]))
        con = self._connection()
        with con:
            con.executemany(f"INSERT INTO docs VALUES ({', '.join('?' * 13)})", rows)
            con.executemany("INSERT INTO doc_codes VALUES (?, ?)", codes)
            con.executemany(
                "INSERT INTO docs_fts(rowid, title, abstract, claims) VALUES (?, ?, ?, ?)",
                [(r[0], r[2], r[3], r[4]) for r in rows],
            )

    def optimize(self) -> None:
        """Merge FTS5's index segments (faster queries after many small adds)."""
        con = self._connection()
        with con:
            con.execute("INSERT INTO docs_fts(docs_fts) VALUES ('optimize')")

    # -- reading --------------------------------------------------------------------------------

    def rowid_of(self, doc_id: str) -> int | None:
        row = self._connection().execute("SELECT rowid FROM docs WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else row[0]

    def get(self, rowid: int) -> dict | None:
        """The full stored document at ``rowid`` as a dict, or None."""
        return self.get_many([rowid]).get(rowid)

    def get_many(self, rowids: Iterable[int]) -> dict[int, dict]:
        rowids = [int(r) for r in rowids]
        if not rowids:
            return {}
        con = self._connection()
        con.row_factory = sqlite3.Row
        try:
            marks = ", ".join("?" * len(rowids))
            rows = con.execute(f"SELECT * FROM docs WHERE rowid IN ({marks})", rowids).fetchall()
        finally:
            con.row_factory = None
        out = {}
        for row in rows:
            doc = dict(row)
            doc["claims"] = doc["claims"].split("\n") if doc["claims"] else []
            for key in ("cpc", "y02", "extra"):
                doc[key] = json.loads(doc[key]) if doc[key] else ([] if key != "extra" else {})
            out[doc.pop("rowid")] = doc
        return out

    def matching_rowids(self, filters: SearchFilters) -> np.ndarray:
        """Sorted rowids of every document that passes ``filters``."""
        where, params = filters.to_sql("d")
        rows = self._connection().execute(f"SELECT d.rowid FROM docs d WHERE {where}", params).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    # -- keyword search -------------------------------------------------------------------------

    def query_terms(self, query: str, *, max_terms: int = 32, max_df: float = 0.5) -> list[str]:
        """The query's words worth sending to FTS5, rarest first.

        Stopwords go first. Then a word is dropped when more than ``max_df`` of all documents
        contain it: FTS5's BM25 gives such a word an IDF of ~0, so it would not change the ranking,
        but it would make FTS5 score most of the corpus. Whole claims as queries keep their
        ``max_terms`` rarest words.
        """
        words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))
        words = [w for w in words if w not in STOPWORDS and len(w) < 64][:256]
        if not words:
            return []
        con = self._connection()
        with con:
            con.execute("DELETE FROM temp.query_words")
            con.executemany("INSERT INTO temp.query_words(rowid, word) VALUES (?, ?)", enumerate(words))
            stems = dict(con.execute("SELECT doc, term FROM temp.query_stems"))
        by_stem: dict[str, str] = {}
        for i, word in enumerate(words):
            if i in stems:
                by_stem.setdefault(stems[i], word)
        if not by_stem:
            return []
        marks = ", ".join("?" * len(by_stem))
        df = dict(con.execute(f"SELECT term, doc FROM docs_vocab WHERE term IN ({marks})", list(by_stem)))
        total = max(len(self), 1)
        kept = sorted((df[s], w) for s, w in by_stem.items() if s in df and df[s] <= max_df * total)
        return [w for _, w in kept[:max_terms]]

    @staticmethod
    def match_expression(terms: Sequence[str]) -> str:
        """An FTS5 query matching any of ``terms`` (each quoted, so no word acts as an operator)."""
        return " OR ".join(f'"{t}"' for t in terms)

    def bm25(
        self, terms: Sequence[str], *, k: int = 100, filters: SearchFilters | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best (rowid, BM25 score) pairs for ``terms``; higher scores are better."""
        if not terms:
            return []
        weights = ", ".join(str(w) for w in COLUMN_WEIGHTS)
        params: list = [self.match_expression(terms)]
        if filters is not None and filters.active:
            where, extra = filters.to_sql("d")
            sql = (
                f"SELECT f.rowid, bm25(docs_fts, {weights}) AS s FROM docs_fts f "
                f"JOIN docs d ON d.rowid = f.rowid WHERE docs_fts MATCH ? AND {where} ORDER BY s LIMIT ?"
            )
            params += [*extra, k]
        else:
            sql = (
                f"SELECT rowid, bm25(docs_fts, {weights}) AS s FROM docs_fts "
                "WHERE docs_fts MATCH ? ORDER BY s LIMIT ?"
            )
            params.append(k)
        # FTS5's bm25() is negative (lower is better); flip it so every score here grows with relevance.
        return [(r, -s) for r, s in self._connection().execute(sql, params)]

    def snippets(self, terms: Sequence[str], rowids: Sequence[int], *, words: int = 40) -> dict[int, Snippet]:
        """Best-matching passages of ``rowids`` with the query's terms marked (documents that match)."""
        if not terms or not rowids:
            return {}
        marks = ", ".join("?" * len(rowids))
        sql = (
            f"SELECT rowid, snippet(docs_fts, -1, '{OPEN}', '{CLOSE}', '…', {int(words)}) FROM docs_fts "
            f"WHERE docs_fts MATCH ? AND rowid IN ({marks})"
        )
        rows = self._connection().execute(sql, [self.match_expression(terms), *rowids])
        return {rowid: parse_marked(text) for rowid, text in rows}
