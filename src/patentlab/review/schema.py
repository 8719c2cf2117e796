"""The review database: reviewers, the claim queue, current decisions and the audit log.

``decisions`` holds each reviewer's current label per claim (one row per claim and reviewer);
``audit_log`` holds every action that ever changed it, append-only. Triggers refuse UPDATE and
DELETE on the audit log in SQLite and PostgreSQL, so not even a bug in this package can rewrite
history.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    DDL,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("reviewer", "admin")
#: Actions recorded in the audit log.
ACTIONS = ("label", "undo")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class Reviewer(Base):
    __tablename__ = "reviewers"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), default="reviewer")
    #: ``scrypt$n$r$p$salt$hash`` (hex); empty for token-only reviewers.
    password_hash: Mapped[str | None] = mapped_column(String(256))
    #: SHA-256 of the reviewer's API token (tokens are 256-bit random, so no salt is needed).
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Claim(Base):
    """One queued claim with the agents' view of it."""

    __tablename__ = "claims"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, index=True)
    text: Mapped[str] = mapped_column(Text)
    p_green: Mapped[float | None] = mapped_column(Float)
    u: Mapped[float | None] = mapped_column(Float)
    round: Mapped[int | None] = mapped_column(Integer)
    strategy: Mapped[str | None] = mapped_column(String(32))
    advocate: Mapped[str | None] = mapped_column(Text)
    skeptic: Mapped[str | None] = mapped_column(Text)
    #: The judge's (or single LLM's) suggested label, 0 or 1.
    suggestion: Mapped[int | None] = mapped_column(SmallInteger)
    rationale: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[str | None] = mapped_column(String(32))
    #: How many reviewers should label this claim before it leaves the queue.
    wanted_reviews: Mapped[int] = mapped_column(SmallInteger, default=2)
    source: Mapped[str] = mapped_column(String(256), default="")
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Decision(Base):
    """A reviewer's current label for a claim (the audit log has how it got there)."""

    __tablename__ = "decisions"

    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id"), primary_key=True)
    reviewer: Mapped[str] = mapped_column(ForeignKey("reviewers.name"), primary_key=True)
    label: Mapped[int] = mapped_column(SmallInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: The audit event that set this label; undo walks back along ``previous_event_id``.
    event_id: Mapped[int] = mapped_column(Integer)


Index("ix_decisions_reviewer_event", Decision.reviewer, Decision.event_id)


class AuditEvent(Base):
    """One decision or undo, never changed after it is written."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reviewer: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(16))
    claim_id: Mapped[str] = mapped_column(String(128), index=True)
    #: The label in effect after this event (None: the reviewer's label was withdrawn).
    label: Mapped[int | None] = mapped_column(SmallInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    #: The event whose label was in effect before this one (None: no label before).
    previous_event_id: Mapped[int | None] = mapped_column(Integer)
    #: The client's idempotency key: a retried request is answered once, never recorded twice.
    request_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The agents' suggestion at the time, kept so the log stands on its own.
    suggestion: Mapped[int | None] = mapped_column(SmallInteger)


_SQLITE_APPEND_ONLY = [
    DDL(
        f"CREATE TRIGGER audit_log_no_{op.lower()} BEFORE {op} ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )
    for op in ("UPDATE", "DELETE")
]
_PG_APPEND_ONLY = [
    DDL(
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$ LANGUAGE plpgsql"
    ),
    DDL(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    ),
]
for _ddl in _SQLITE_APPEND_ONLY:
    event.listen(AuditEvent.__table__, "after_create", _ddl.execute_if(dialect="sqlite"))
for _ddl in _PG_APPEND_ONLY:
    event.listen(AuditEvent.__table__, "after_create", _ddl.execute_if(dialect="postgresql"))
