"""The document store: one SQLite file with every document, its metadata and the filter columns.

Each document's integer ``rowid`` is also its position in the keyword and vector indexes, so a hit
from either engine is fetched here by primary key. Rowids are consecutive from 0 and documents are
never deleted, which lets the engines catch up after a stopped run by rowid range alone.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from patentlab.errors import PatentlabError
from patentlab.index.filters import SearchFilters
from patentlab.index.records import IndexDoc

_SCHEMA = """
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
"""


class DocStore:
    """Documents and metadata in SQLite; one connection per thread (the web app is threaded)."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        if not read_only:
            con = self._connection()
            con.executescript(_SCHEMA)
            con.commit()
        elif not self.path.exists():
            raise PatentlabError("no document store here", path=self.path)

    def _connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            uri = f"file:{self.path}?mode={'ro' if self.read_only else 'rwc'}"
            con = sqlite3.connect(uri, uri=True, check_same_thread=False)
            if not self.read_only:
                con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA cache_size=-65536")  # 64 MB page cache per connection
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
        # Rowids run 0..n-1 with no gaps, so this is a primary-key lookup, not a table scan.
        return self.next_rowid()

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

    # -- reading --------------------------------------------------------------------------------

    def rowid_of(self, doc_id: str) -> int | None:
        row = self._connection().execute("SELECT rowid FROM docs WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else row[0]

    def get(self, rowid: int) -> dict | None:
        """The full stored document at ``rowid`` as a dict, or None."""
        return self.get_many([rowid]).get(rowid)

    def get_many(self, rowids: Iterable[int]) -> dict[int, dict]:
        """Documents by rowid, in one primary-key query."""
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

    def get_docs(self, rowids: Iterable[int]) -> list[IndexDoc]:
        """Stored documents back as :class:`IndexDoc` (to re-index them), in rowid order."""
        import datetime as dt

        out = []
        for _, r in sorted(self.get_many(rowids).items()):
            date = dt.date.fromisoformat(r["date"]) if r["date"] else None
            out.append(IndexDoc(**{**r, "date": date, "source": r["source"] or ""}))
        return out

    def matching_rowids(self, filters: SearchFilters) -> np.ndarray:
        """Sorted rowids of every document that passes ``filters``."""
        where, params = filters.to_sql("d")
        sql = f"SELECT d.rowid FROM docs d WHERE {where} ORDER BY d.rowid"
        rows = self._connection().execute(sql, params).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
