"""FAQ storage: fetched pages (the extraction reused while a page is unchanged), FAQ sets (who asked,
where, when, for which links) and their items, and the stored items a general question is matched against.

Storage knows nothing of the FAQ pipeline's types: the bot adapts these rows to the pipeline's
`PageCache` protocol and its `FaqResult`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import FaqItem, FaqSet, Page, utcnow
from .statements import dialect_of, insert_of

MAX_URL_CHARS = 2048  # the pages.url column; a longer link is simply not cached


def _text(value: str) -> str:
    return value.replace("\x00", "")  # PostgreSQL text cannot hold NUL


# --- pages --------------------------------------------------------------------------------------


async def get_page(session: AsyncSession, url: str) -> Page | None:
    return (await session.execute(select(Page).where(Page.url == url))).scalar_one_or_none()


async def save_page(session: AsyncSession, *, url: str, title: str, text: str, content_hash: str) -> None:
    """Insert or replace the stored extraction of `url` (one statement: safe when two FAQs race)."""
    if len(url) > MAX_URL_CHARS:
        return
    values = {
        "url": url,
        "title": _text(title),
        "text": _text(text),
        "content_hash": content_hash,
        "fetched_at": utcnow(),
    }
    insert = insert_of(dialect_of(session))
    statement = insert(Page).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[Page.url],
        set_={k: statement.excluded[k] for k in ("title", "text", "content_hash", "fetched_at")},
    )
    await session.execute(statement)


# --- FAQ sets and items -------------------------------------------------------------------------


@dataclass(frozen=True)
class NewFaqItem:
    question: str
    answer: str
    sources: list[dict[str, str]] = field(default_factory=list)  # [{"title", "url", "quote"}]


@dataclass(frozen=True)
class StoredFaqItem:
    set_id: int
    position: int
    question: str
    answer: str
    sources: list[dict[str, Any]]
    created_at: datetime


async def save_faq_set(
    session: AsyncSession,
    *,
    requested_by: str,
    platform: str,
    channel_id: str,
    urls: Sequence[str],
    chain: str,
    llm_calls: int,
    failed_pages: Sequence[dict[str, str]],
    items: Sequence[NewFaqItem],
) -> FaqSet:
    """Store one FAQ as built (its items in order); returns the set with its id."""
    faq_set = FaqSet(
        requested_by=requested_by[:160],
        platform=platform[:16],
        channel_id=channel_id[:128],
        urls=list(urls),
        chain=chain[:16],
        llm_calls=llm_calls,
        failed_pages=list(failed_pages),
    )
    session.add(faq_set)
    await session.flush()
    session.add_all(
        FaqItem(
            faq_set_id=faq_set.id,
            position=i,
            question=_text(item.question),
            answer=_text(item.answer),
            sources=list(item.sources),
        )
        for i, item in enumerate(items)
    )
    await session.flush()
    return faq_set


async def latest_faq_set_id(session: AsyncSession) -> int | None:
    """The newest set's id: one indexed lookup, so a reader can tell cheaply whether anything changed."""
    return (await session.execute(select(func.max(FaqSet.id)))).scalar_one_or_none()


async def recent_faq_items(session: AsyncSession, *, limit: int = 5000) -> list[StoredFaqItem]:
    """Stored FAQ items, newest set first and in their order within a set."""
    rows = await session.execute(
        select(
            FaqItem.faq_set_id, FaqItem.position, FaqItem.question, FaqItem.answer, FaqItem.sources, FaqSet.created_at
        )
        .join(FaqSet, FaqSet.id == FaqItem.faq_set_id)
        .order_by(FaqSet.id.desc(), FaqItem.position)
        .limit(limit)
    )
    return [
        StoredFaqItem(set_id=r[0], position=r[1], question=r[2], answer=r[3], sources=list(r[4] or []), created_at=r[5])
        for r in rows
    ]


async def get_faq_set(session: AsyncSession, set_id: int) -> tuple[FaqSet, list[FaqItem]] | None:
    faq_set = await session.get(FaqSet, set_id)
    if faq_set is None:
        return None
    items = (
        await session.execute(select(FaqItem).where(FaqItem.faq_set_id == set_id).order_by(FaqItem.position))
    ).scalars()
    return faq_set, list(items)


async def list_faq_sets(session: AsyncSession, *, limit: int = 20) -> list[FaqSet]:
    """FAQ sets, newest first."""
    return list((await session.execute(select(FaqSet).order_by(FaqSet.id.desc()).limit(limit))).scalars())
