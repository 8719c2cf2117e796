"""The review store: reviewers, the claim queue, decisions with undo, and the audit log.

Every method is one short transaction, so many reviewers can work at once (through the web app)
against SQLite or PostgreSQL. A decision may carry a client ``request_id``: a retried request
(say, after a timeout or a server restart) is recognised and never recorded twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import and_, delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patentlab.errors import PatentlabError
from patentlab.review.db import WRITE, create_review_engine, normalize_url
from patentlab.review.passwords import (
    MAX_PASSWORD_CHARS,
    hash_password,
    new_token,
    token_digest,
    verify_password,
)
from patentlab.review.schema import ROLES, AuditEvent, Base, Claim, Decision, Reviewer, utcnow

MAX_NOTE_CHARS = 2000
MAX_ID_CHARS = 128
MAX_REQUEST_ID_CHARS = 64
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")

#: Queue columns and the names other steps use for them: the agents' ``labels.parquet`` /
#: ``human_queue.parquet`` (``agent_label``, ``p_green_baseline``, ``advocate_argument`` …), the
#: active-learning queue (``id, text, p_green, u, round``) and gold files (``hitl_gold_100.csv``).
QUEUE_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "doc_id", "patent_id"),
    "text": ("text", "claims"),
    "p_green": ("p_green", "p_green_baseline"),
    "u": ("u", "uncertainty"),
    "round": ("round",),
    "strategy": ("strategy",),
    "advocate": ("advocate", "advocate_argument", "advocate_arguments"),
    "skeptic": ("skeptic", "skeptic_argument", "skeptic_arguments"),
    "suggestion": ("agent_label", "judge_label", "suggestion", "llm_green_suggested"),
    "rationale": ("judge_rationale", "rationale", "llm_rationale"),
    "confidence": ("judge_confidence", "confidence", "llm_confidence"),
}


class NotFound(PatentlabError):
    """The claim or reviewer named does not exist."""


@dataclass(frozen=True)
class ReviewerInfo:
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class ClaimView:
    """A queued claim as a reviewer sees it."""

    id: str
    position: int
    text: str
    p_green: float | None
    u: float | None
    advocate: str | None
    skeptic: str | None
    suggestion: int | None
    rationale: str | None
    confidence: str | None
    round: int | None = None
    strategy: str | None = None


@dataclass(frozen=True)
class DecisionResult:
    event_id: int
    claim_id: str
    label: int | None
    #: True when this ``request_id`` had been recorded before: nothing new was written.
    duplicate: bool = False


@dataclass(frozen=True)
class ImportReport:
    added: int
    updated: int
    total: int


def _clean(value: object) -> object | None:
    """None for missing cells (NaN, None, empty strings); lists of arguments joined by newlines."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and not isinstance(value, str)):
        items = [str(v).strip() for v in list(value) if v is not None and str(v).strip()]
        return "\n".join(items) or None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _to_label(value: object, *, where: str) -> int | None:
    value = _clean(value)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() in ("green", "true", "yes"):
        return 1
    if isinstance(value, str) and value.strip().lower() in ("not green", "not_green", "false", "no"):
        return 0
    try:
        label = int(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        label = -1
    if label not in (0, 1):
        raise PatentlabError(f"suggested label must be 0/1 or green/not green, not {value!r}", field=where)
    return label


def _to_float(value: object) -> float | None:
    value = _clean(value)
    try:
        return None if value is None else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


class ReviewStore:
    """The review database at ``url`` (``sqlite:///file.db``, a plain path, or ``postgresql://…``).

    Tables are created on first use. Each method runs in its own transaction.
    """

    def __init__(self, url: str | Path, *, create: bool = True) -> None:
        self.url = normalize_url(url)
        self.engine = create_review_engine(self.url)
        self._write_engine = self.engine.execution_options(**{WRITE: True})
        if create:
            Base.metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _session(self, *, write: bool = False) -> Iterator[Session]:
        engine = self._write_engine if write else self.engine
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session

    # Reviewers ----------------------------------------------------------------------------

    def add_reviewer(
        self, name: str, *, role: str = "reviewer", password: str | None = None, token: bool = False
    ) -> str | None:
        """Create (or update) a reviewer; returns a fresh API token when ``token`` is true.

        Only the password's scrypt hash and the token's SHA-256 are stored.
        """
        if not NAME_PATTERN.match(name or ""):
            raise PatentlabError("a reviewer name is 1-64 letters, digits or _ . @ -", field="name")
        if role not in ROLES:
            raise PatentlabError(f"role must be one of {', '.join(ROLES)}", field="role")
        if password is not None and not 8 <= len(password) <= MAX_PASSWORD_CHARS:
            raise PatentlabError(f"a password is 8-{MAX_PASSWORD_CHARS} characters", field="password")
        if password is None and not token:
            raise PatentlabError("give a password, or ask for a token")
        plain_token = new_token() if token else None
        with self._session(write=True) as s:
            reviewer = s.get(Reviewer, name) or Reviewer(name=name)
            reviewer.role = role
            if password is not None:
                reviewer.password_hash = hash_password(password)
            if plain_token is not None:
                reviewer.token_hash = token_digest(plain_token)
            s.add(reviewer)
        return plain_token

    def reviewer(self, name: str) -> ReviewerInfo | None:
        with self._session() as s:
            r = s.get(Reviewer, name)
            return ReviewerInfo(r.name, r.role) if r else None

    def reviewers(self) -> list[ReviewerInfo]:
        with self._session() as s:
            return [ReviewerInfo(r.name, r.role) for r in s.scalars(select(Reviewer).order_by(Reviewer.name))]

    def authenticate(self, name: str, secret: str) -> ReviewerInfo | None:
        """The reviewer when ``secret`` is their password or their API token, else None."""
        if not name or not secret or len(name) > 64 or len(secret) > MAX_PASSWORD_CHARS:
            return None
        with self._session() as s:
            r = s.get(Reviewer, name)
            if r is None:
                return None
            if verify_password(secret, r.password_hash) or (
                r.token_hash is not None and r.token_hash == token_digest(secret)
            ):
                return ReviewerInfo(r.name, r.role)
        return None

    def reviewer_for_token(self, token: str) -> ReviewerInfo | None:
        """The reviewer holding API ``token``, else None."""
        if not token or len(token) > MAX_PASSWORD_CHARS:
            return None
        with self._session() as s:
            r = s.scalar(select(Reviewer).where(Reviewer.token_hash == token_digest(token)))
            return ReviewerInfo(r.name, r.role) if r else None

    # Queue -------------------------------------------------------------------------------

    def import_queue(
        self, source: str | Path | pd.DataFrame, *, wanted_reviews: int = 2, source_name: str | None = None
    ) -> ImportReport:
        """Add claims to the queue from a table (CSV, Parquet, JSONL or a DataFrame).

        Recognised columns are listed in ``QUEUE_COLUMNS`` (first match wins). A claim already
        queued keeps its place and its decisions; its agent fields are refreshed.
        """
        from patentlab.tables import claim_text, read_table

        if not 1 <= wanted_reviews <= 20:
            raise PatentlabError("wanted reviews per claim must be 1-20", field="wanted_reviews")
        frame = source if isinstance(source, pd.DataFrame) else read_table(source)
        name = source_name or (Path(source).name if not isinstance(source, pd.DataFrame) else "dataframe")
        columns = {
            key: next((c for c in names if c in frame.columns), None) for key, names in QUEUE_COLUMNS.items()
        }
        for required in ("id", "text"):
            if columns[required] is None:
                raise PatentlabError(
                    f"the queue needs a {required} column ({', '.join(QUEUE_COLUMNS[required])})", path=name
                )
        rows = []
        seen: set[str] = set()
        for i, record in enumerate(frame.to_dict("records"), start=1):
            claim_id = str(record[columns["id"]]).strip()
            if not claim_id or len(claim_id) > MAX_ID_CHARS:
                raise PatentlabError(f"id must be 1-{MAX_ID_CHARS} characters", path=name, row=i, field="id")
            if claim_id in seen:
                raise PatentlabError(f"id '{claim_id}' appears twice", path=name, row=i, field="id")
            seen.add(claim_id)
            text = claim_text(record[columns["text"]])
            if not text.strip():
                raise PatentlabError("empty claim text", path=name, row=i, field=columns["text"])
            row = {"id": claim_id, "text": text}
            for key in ("p_green", "u"):
                row[key] = _to_float(record[columns[key]]) if columns[key] else None
            round_number = _to_float(record[columns["round"]]) if columns["round"] else None
            row["round"] = int(round_number) if round_number is not None else None
            for key in ("strategy", "advocate", "skeptic", "rationale", "confidence"):
                value = _clean(record[columns[key]]) if columns[key] else None
                row[key] = None if value is None else str(value)
            if row["strategy"]:
                row["strategy"] = row["strategy"][:32]
            confidence = _to_float(record[columns["confidence"]]) if columns["confidence"] else None
            if confidence is not None:
                row["confidence"] = f"{confidence:.2f}"
            elif row["confidence"]:
                row["confidence"] = row["confidence"][:32]
            try:
                row["suggestion"] = (
                    _to_label(record[columns["suggestion"]], where=columns["suggestion"])
                    if columns["suggestion"]
                    else None
                )
            except PatentlabError as exc:
                raise PatentlabError(str(exc), path=name, row=i) from exc
            rows.append(row)
        added = updated = 0
        with self._session(write=True) as s:
            position = s.scalar(select(func.coalesce(func.max(Claim.position), 0))) or 0
            ids, existing = list(seen), {}
            for start in range(0, len(ids), 500):  # keep under the database's bound-parameter limit
                chunk = select(Claim).where(Claim.id.in_(ids[start : start + 500]))
                existing.update({c.id: c for c in s.scalars(chunk)})
            for row in rows:
                claim = existing.get(row["id"])
                if claim is None:
                    position += 1
                    s.add(Claim(**row, position=position, wanted_reviews=wanted_reviews, source=name[:256]))
                    added += 1
                else:
                    for key in (
                        "p_green",
                        "u",
                        "round",
                        "strategy",
                        "advocate",
                        "skeptic",
                        "suggestion",
                        "rationale",
                        "confidence",
                    ):
                        if row[key] is not None:
                            setattr(claim, key, row[key])
                    updated += 1
            total = s.scalar(select(func.count()).select_from(Claim)) or 0
        return ImportReport(added=added, updated=updated, total=total)

    def claim(self, claim_id: str) -> ClaimView:
        with self._session() as s:
            claim = s.get(Claim, claim_id)
            if claim is None:
                raise NotFound(f"no claim '{claim_id}' in the queue", field="claim_id")
            return _view(claim)

    def pending(self, reviewer: str, *, limit: int = 20, first: str | None = None) -> list[ClaimView]:
        """Claims ``reviewer`` has not labelled that still want reviews, in queue order.

        ``first`` (a claim id) is put at the top even when it is done (to revisit a conflict).
        """
        mine = exists().where(and_(Decision.claim_id == Claim.id, Decision.reviewer == reviewer))
        reviews = select(func.count()).where(Decision.claim_id == Claim.id).scalar_subquery()
        query = (
            select(Claim).where(~mine, reviews < Claim.wanted_reviews).order_by(Claim.position).limit(limit)
        )
        with self._session() as s:
            claims = list(s.scalars(query))
            if first is not None and all(c.id != first for c in claims):
                extra = s.get(Claim, first)
                if extra is not None:
                    claims = [extra, *claims[: max(limit - 1, 0)]]
            return [_view(c) for c in claims]

    def progress(self, reviewer: str) -> dict[str, int]:
        """How many claims ``reviewer`` labelled, how many await them, and the queue's totals."""
        mine = exists().where(and_(Decision.claim_id == Claim.id, Decision.reviewer == reviewer))
        reviews = select(func.count()).where(Decision.claim_id == Claim.id).scalar_subquery()
        with self._session() as s:
            done = s.scalar(select(func.count()).select_from(Decision).where(Decision.reviewer == reviewer))
            remaining = s.scalar(select(func.count()).where(~mine, reviews < Claim.wanted_reviews))
            total = s.scalar(select(func.count()).select_from(Claim))
            complete = s.scalar(select(func.count()).where(reviews >= Claim.wanted_reviews))
        return {
            "done": done or 0,
            "remaining": remaining or 0,
            "claims": total or 0,
            "complete": complete or 0,
        }

    # Decisions -----------------------------------------------------------------------------

    def decide(
        self, reviewer: str, claim_id: str, label: int, *, note: str = "", request_id: str | None = None
    ) -> DecisionResult:
        """Record ``reviewer``'s label (0 or 1) for a claim; a later call replaces it (undo restores)."""
        if label not in (0, 1) or isinstance(label, bool):
            raise PatentlabError("label must be 0 (not green) or 1 (green)", field="label")
        note = (note or "").strip()
        if len(note) > MAX_NOTE_CHARS:
            raise PatentlabError(f"a note is at most {MAX_NOTE_CHARS} characters", field="note")
        _check_request_id(request_id)
        return self._retry(lambda s: self._decide(s, reviewer, claim_id, label, note, request_id), request_id)

    def _decide(
        self, s: Session, reviewer: str, claim_id: str, label: int, note: str, request_id: str | None
    ):
        replay = _replay(s, request_id, reviewer, claim_id, "label")
        if replay is not None:
            return replay
        claim = s.get(Claim, claim_id)
        if claim is None:
            raise NotFound(f"no claim '{claim_id}' in the queue", field="claim_id")
        if s.get(Reviewer, reviewer) is None:
            raise NotFound(f"no reviewer '{reviewer}'", field="reviewer")
        current = s.get(Decision, (claim_id, reviewer))
        event = AuditEvent(
            at=utcnow(),
            reviewer=reviewer,
            action="label",
            claim_id=claim_id,
            label=label,
            note=note,
            previous_event_id=current.event_id if current else None,
            request_id=request_id,
            suggestion=claim.suggestion,
        )
        s.add(event)
        s.flush()
        if current is None:
            s.add(
                Decision(
                    claim_id=claim_id,
                    reviewer=reviewer,
                    label=label,
                    note=note,
                    decided_at=event.at,
                    event_id=event.id,
                )
            )
        else:
            current.label, current.note, current.decided_at, current.event_id = (
                label,
                note,
                event.at,
                event.id,
            )
        return DecisionResult(event.id, claim_id, label)

    def undo(
        self, reviewer: str, *, claim_id: str | None = None, request_id: str | None = None
    ) -> DecisionResult | None:
        """Take back ``reviewer``'s latest label still in effect (or the one on ``claim_id``).

        The claim returns to the label it had before (or to the queue). Repeated undos walk back
        through the reviewer's labels, newest first. None when there is nothing to undo.
        """
        _check_request_id(request_id)
        return self._retry(lambda s: self._undo(s, reviewer, claim_id, request_id), request_id)

    def _undo(self, s: Session, reviewer: str, claim_id: str | None, request_id: str | None):
        replay = _replay(s, request_id, reviewer, claim_id, "undo")
        if replay is not None:
            return replay
        query = select(Decision).where(Decision.reviewer == reviewer)
        if claim_id is not None:
            query = query.where(Decision.claim_id == claim_id)
        current = s.scalar(query.order_by(Decision.event_id.desc()).limit(1))
        if current is None:
            return None
        undone = s.get(AuditEvent, current.event_id)
        before = s.get(AuditEvent, undone.previous_event_id) if undone and undone.previous_event_id else None
        event = AuditEvent(
            at=utcnow(),
            reviewer=reviewer,
            action="undo",
            claim_id=current.claim_id,
            label=before.label if before else None,
            note=before.note if before else "",
            previous_event_id=current.event_id,
            request_id=request_id,
            suggestion=undone.suggestion if undone else None,
        )
        s.add(event)
        s.flush()
        if before is None:
            s.execute(
                delete(Decision).where(Decision.claim_id == current.claim_id, Decision.reviewer == reviewer)
            )
        else:
            current.label, current.note, current.decided_at, current.event_id = (
                before.label,
                before.note,
                before.at,
                before.id,
            )
        return DecisionResult(event.id, current.claim_id, before.label if before else None)

    def _retry(self, work, request_id: str | None):
        # Two requests can race on the same new row (PostgreSQL runs them in parallel); the loser
        # sees an IntegrityError and simply runs again, now finding the winner's row.
        for attempt in range(3):
            try:
                with self._session(write=True) as s:
                    return work(s)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # Reading it all ------------------------------------------------------------------------

    def decisions(self) -> pd.DataFrame:
        """Every current decision with the reviewer's role and the agents' suggestion."""
        query = (
            select(
                Decision.claim_id,
                Decision.reviewer,
                Reviewer.role,
                Decision.label,
                Decision.note,
                Decision.decided_at,
                Claim.suggestion,
            )
            .join(Reviewer, Reviewer.name == Decision.reviewer)
            .join(Claim, Claim.id == Decision.claim_id)
            .order_by(Decision.event_id)
        )
        with self._session() as s:
            rows = s.execute(query).all()
        columns = ["claim_id", "reviewer", "role", "label", "note", "decided_at", "suggestion"]
        return pd.DataFrame(rows, columns=columns)

    def claims(self) -> pd.DataFrame:
        """The whole queue in order, with the agents' fields."""
        with self._session() as s:
            rows = [_view(c).__dict__ for c in s.scalars(select(Claim).order_by(Claim.position))]
        return pd.DataFrame(rows, columns=list(ClaimView.__dataclass_fields__))

    def audit_log(self) -> pd.DataFrame:
        """The append-only log of every label and undo, oldest first."""
        columns = [
            "id",
            "at",
            "reviewer",
            "action",
            "claim_id",
            "label",
            "note",
            "previous_event_id",
            "request_id",
            "suggestion",
        ]
        with self._session() as s:
            rows = s.execute(select(*(getattr(AuditEvent, c) for c in columns)).order_by(AuditEvent.id)).all()
        return pd.DataFrame(rows, columns=columns)


def _view(c: Claim) -> ClaimView:
    return ClaimView(
        id=c.id,
        position=c.position,
        text=c.text,
        p_green=c.p_green,
        u=c.u,
        advocate=c.advocate,
        skeptic=c.skeptic,
        suggestion=c.suggestion,
        rationale=c.rationale,
        confidence=c.confidence,
        round=c.round,
        strategy=c.strategy,
    )


def _check_request_id(request_id: str | None) -> None:
    if request_id is not None and not 1 <= len(request_id) <= MAX_REQUEST_ID_CHARS:
        raise PatentlabError(f"request_id must be 1-{MAX_REQUEST_ID_CHARS} characters", field="request_id")


def _replay(
    s: Session, request_id: str | None, reviewer: str, claim_id: str | None, action: str
) -> DecisionResult | None:
    """The recorded result of an earlier request with this id (a client retry), else None."""
    if request_id is None:
        return None
    event = s.scalar(select(AuditEvent).where(AuditEvent.request_id == request_id))
    if event is None:
        return None
    if event.reviewer != reviewer or event.action != action or claim_id not in (None, event.claim_id):
        raise PatentlabError("this request_id was already used for another request", field="request_id")
    return DecisionResult(event.id, event.claim_id, event.label, duplicate=True)


def decided_at_iso(value: dt.datetime | None) -> str:
    """ISO 8601 in UTC (SQLite hands datetimes back without their zone)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")
