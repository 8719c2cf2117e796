"""Engines for the review store: SQLite (WAL, durable commits) by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from patentlab.errors import PatentlabError

#: Execution option that marks a write transaction (SQLite then takes the write lock up front).
WRITE = "patentlab_write"


def normalize_url(url: str | Path) -> str:
    """A SQLAlchemy URL from a URL or a plain file path; ``postgresql://`` uses psycopg 3."""
    text = str(url)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser()}"
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def create_review_engine(url: str | Path) -> Engine:
    """An engine for ``url``, tuned for many short transactions from concurrent reviewers."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise PatentlabError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if backend == "postgresql":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    raise PatentlabError(f"unsupported database '{backend}' (use sqlite:///FILE or postgresql://…)")


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=8,
        max_overflow=24,
        pool_timeout=60,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN, not the sqlite3 module's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged decision survives a crash
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        # A write takes the lock when it starts, so two writers never deadlock upgrading a read lock.
        immediate = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
