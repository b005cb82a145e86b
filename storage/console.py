"""The staff console's own tables and queries: one-time sign-in links, database-backed sessions, and
full-text search over cases (references and details) and their transcripts.

Tokens are stored as SHA-256 hashes, so a copy of the database does not let anyone sign in. Redeeming a
link is one conditional UPDATE (unused and unexpired), so a link works once even when two requests race.

Search uses the indexes of migration 0004: SQLite FTS5 tables kept by triggers (`case_fts`,
`message_fts`); on PostgreSQL, the stored `search_vector` columns (`to_tsvector('english', …)`) with
GIN indexes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    Table,
    column,
    delete,
    func,
    literal_column,
    select,
    table,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, Case, Message, utcnow


class ConsoleLink(Base):
    """A one-time sign-in link for a staff member."""

    __tablename__ = "console_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128))
    roles: Mapped[list[Any]] = mapped_column(JSON, default=list)  # Discord role ids known when it was made
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class ConsoleSession(Base):
    """A signed-in browser: the cookie holds the token, this row its hash."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_expires", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("console_links.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128))
    roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()


@dataclass(frozen=True)
class StaffIdentity:
    platform: str
    user_id: str
    roles: tuple[str, ...] = ()

    @property
    def actor(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class SessionRow:
    staff: StaffIdentity
    csrf_token: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_link(session: AsyncSession, staff: StaffIdentity, *, ttl: timedelta) -> str:
    """A new one-time link token (returned once; only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleLink(
            token_hash=_hash(token),
            platform=staff.platform,
            user_id=staff.user_id,
            roles=list(staff.roles),
            expires_at=utcnow() + ttl,
        )
    )
    await session.flush()
    return token


async def redeem_link(session: AsyncSession, token: str) -> tuple[int, StaffIdentity] | None:
    """Mark the link used if it is unused and unexpired; None otherwise (whatever the reason)."""
    if not token or len(token) > 100:
        return None
    now = utcnow()
    table = cast(Table, ConsoleLink.__table__)
    row = (
        await session.execute(
            update(table)
            .where(table.c.token_hash == _hash(token), table.c.used_at.is_(None), table.c.expires_at > now)
            .values(used_at=now)
            .returning(table.c.id, table.c.platform, table.c.user_id, table.c.roles)
        )
    ).first()
    if row is None:
        return None
    return row.id, StaffIdentity(row.platform, row.user_id, tuple(row.roles or ()))


async def create_session(
    session: AsyncSession, staff: StaffIdentity, *, ttl: timedelta, link_id: int | None = None
) -> tuple[str, str]:
    """A new session; returns (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=_hash(token),
            link_id=link_id,
            platform=staff.platform,
            user_id=staff.user_id,
            roles=list(staff.roles),
            csrf_token=csrf,
            expires_at=utcnow() + ttl,
        )
    )
    await session.flush()
    return token, csrf


async def load_session(session: AsyncSession, token: str) -> SessionRow | None:
    """The live session of this cookie token, or None (unknown, ended or expired)."""
    if not token or len(token) > 100:
        return None
    table = cast(Table, ConsoleSession.__table__)
    row = (
        await session.execute(
            select(
                table.c.platform,
                table.c.user_id,
                table.c.roles,
                table.c.csrf_token,
                table.c.expires_at,
                table.c.ended_at,
            ).where(table.c.token_hash == _hash(token))
        )
    ).first()
    if row is None or row.ended_at is not None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=utcnow().tzinfo)
    if expires <= utcnow():
        return None
    return SessionRow(StaffIdentity(row.platform, row.user_id, tuple(row.roles or ())), row.csrf_token, expires)


async def purge_expired(session: AsyncSession, *, older_than: timedelta = timedelta(days=1)) -> None:
    """Forget links and sessions that expired more than `older_than` ago (run at each sign-in)."""
    cutoff = utcnow() - older_than
    for model in (ConsoleSession, ConsoleLink):
        rows = cast(Table, model.__table__)
        await session.execute(delete(rows).where(rows.c.expires_at < cutoff))


async def end_session(session: AsyncSession, token: str) -> None:
    table = cast(Table, ConsoleSession.__table__)
    await session.execute(
        update(table).where(table.c.token_hash == _hash(token), table.c.ended_at.is_(None)).values(ended_at=utcnow())
    )


# --- full-text search -------------------------------------------------------------------------------

PG_DOCUMENT = "search_vector"  # stored to_tsvector('english', …) of messages.text and of cases.ref + details
_TERM = re.compile(r"[^\W_]+")
_CASE_FTS = table("case_fts", column("rowid"))
_MESSAGE_FTS = table("message_fts", column("rowid"))


def fts5_query(q: str) -> str:
    """The user's words as an FTS5 query: each word a quoted phrase of its tokens (so `RMA-7K3Q` is
    the two adjacent tokens), all required. No FTS5 operator can be injected."""
    phrases = []
    for word in q.split():
        tokens = _TERM.findall(word)
        if tokens:
            phrases.append('"' + " ".join(tokens) + '"')
    return " ".join(phrases[:20])


SEARCH_HITS = 1000  # newest matching messages (and cases) a search looks at


@dataclass(frozen=True)
class SearchHits:
    case_ids: list[int]
    capped: bool  # more messages or cases matched than SEARCH_HITS: the newest were kept


async def search_cases(session: AsyncSession, q: str, *, limit: int = SEARCH_HITS) -> SearchHits:
    """Ids of the cases whose reference, details or conversation match every word of `q`. A search
    that matches more than `limit` messages keeps the newest `limit` (message ids grow with time), so a
    common word costs the same as a rare one."""
    dialect = session.get_bind().dialect.name
    cases, messages = cast(Table, Case.__table__), cast(Table, Message.__table__)
    exact_ref = select(cases.c.id).where(cases.c.ref == q.strip().upper()[:32])
    if dialect == "sqlite":
        match = fts5_query(q)
        if not match:
            return SearchHits([], False)
        message_hits = (
            select(_MESSAGE_FTS.c.rowid)
            .where(literal_column("message_fts").op("MATCH")(match))
            .order_by(_MESSAGE_FTS.c.rowid.desc())
            .limit(limit + 1)
        )
        case_hits = (
            select(_CASE_FTS.c.rowid)
            .where(literal_column("case_fts").op("MATCH")(match))
            .order_by(_CASE_FTS.c.rowid.desc())
            .limit(limit + 1)
        )
    else:
        if not _TERM.search(q):
            return SearchHits([], False)
        tsq = func.websearch_to_tsquery(literal_column("'english'"), q[:500])
        message_hits = (
            select(messages.c.id)
            .where(literal_column(PG_DOCUMENT).op("@@")(tsq))
            .order_by(messages.c.id.desc())
            .limit(limit + 1)
        )
        case_hits = (
            select(cases.c.id)
            .where(literal_column(PG_DOCUMENT).op("@@")(tsq))
            .order_by(cases.c.id.desc())
            .limit(limit + 1)
        )
    message_ids = list((await session.execute(message_hits)).scalars())
    case_ids = list((await session.execute(case_hits)).scalars())
    capped = len(message_ids) > limit or len(case_ids) > limit
    found = set(case_ids[:limit]) | set((await session.execute(exact_ref)).scalars())
    if message_ids:
        conversations = select(messages.c.conversation_id).where(messages.c.id.in_(message_ids[:limit]))
        found.update(
            (await session.execute(select(cases.c.id).where(cases.c.conversation_id.in_(conversations)))).scalars()
        )
    return SearchHits(sorted(found), capped)
