"""A customer's data: export (right of access), erasure (right to erasure) and transcript retention.

One implementation for the CLI (`supportbot customers …`), the staff command (`/customer-erase`) and the
daily retention run. The rows and what erasing keeps are `storage.customers`' business; wiping the old
text out of the database file is `storage.maintenance`'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from storage import customers as customer_store
from storage import jobs, maintenance
from storage.db import Database

_log = logging.getLogger(__name__)

PLATFORMS = ("slack", "discord", "shell")
RETENTION_INTERVAL_S = 24 * 3600.0  # once a day
RETENTION_CHECK_S = 900.0  # how often a running bot looks whether the day's run is due
RETENTION_ACTOR = "retention"
RETENTION_JOB = "retention"


@dataclass(frozen=True)
class CustomerId:
    platform: str
    user_id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.user_id}"

    @classmethod
    def parse(cls, value: str) -> CustomerId:
        """`slack:U0123ABCD`, `discord:123456789` or `shell:local`; ValueError says what is wrong."""
        platform, sep, user_id = (value or "").strip().partition(":")
        platform, user_id = platform.lower(), user_id.strip()
        if (
            not sep
            or platform not in PLATFORMS
            or not user_id
            or len(user_id) > 128
            or any(c.isspace() for c in user_id)
        ):
            raise ValueError(f"{value.strip()[:60]!r} is not PLATFORM:ID (e.g. slack:U0123ABCD, discord:1234567890)")
        return cls(platform, user_id)


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


async def export_customer(db: Database, who: CustomerId) -> dict[str, Any]:
    """Everything stored about `who`, JSON-ready: conversations, messages (internal staff notes marked),
    cases with their events, pending tasks and ratings."""
    async with db.session() as s:
        data = await customer_store.load_customer(s, platform=who.platform, customer_id=who.user_id)
    return {
        "customer": {"platform": who.platform, "id": who.user_id},
        "exported_at": datetime.now(UTC).isoformat(),
        "conversations": [
            {"id": c.id, "channel_id": c.channel_id, "thread_id": c.thread_id, "created_at": _at(c.created_at)}
            for c in data.conversations
        ],
        "messages": [
            {
                "id": m.id,
                "conversation_id": m.conversation_id,
                "role": m.role,
                "author": m.author_id,
                "text": m.text,
                "internal": m.internal,
                "status": m.status,
                "name": (m.meta or {}).get("user_name") or None,
                "at": _at(m.created_at),
            }
            for m in data.messages
        ],
        "cases": [
            {
                "ref": c.ref,
                "kind": c.kind,
                "status": c.status,
                "conversation_id": c.conversation_id,
                "assignee": c.assignee,
                "needs_staff": c.needs_staff,
                "details": c.details,
                "created_at": _at(c.created_at),
                "updated_at": _at(c.updated_at),
                "events": [
                    {"action": e.action, "actor": e.actor, "note": e.note, "at": _at(e.created_at)}
                    for e in data.events.get(c.id, [])
                ],
            }
            for c in data.cases
        ],
        "pending_tasks": [
            {
                "kind": p.kind,
                "status": p.status,
                "params": p.params,
                "missing": p.missing,
                "created_at": _at(p.created_at),
            }
            for p in data.pending
        ],
        "ratings": [{k: _plain(v) for k, v in r.items()} for r in data.ratings],
    }


async def erase_customer(db: Database, who: CustomerId, *, actor: str) -> customer_store.Erased:
    """Erase `who`'s texts and names, record `erased` by `actor` on their cases, and rebuild the storage
    so the old text is gone from the database file too."""
    async with maintenance.erasing(db) as s:
        erased = await customer_store.erase_customer(s, platform=who.platform, customer_id=who.user_id, actor=actor)
    await maintenance.reclaim(db)
    _log.warning("customer %s erased by %s: %d message(s), %d case(s)", who, actor, erased.messages, erased.cases)
    return erased


async def erasure_preview(db: Database, who: CustomerId) -> tuple[int, int]:
    """(messages, cases) an erasure of `who` would touch."""
    async with db.session() as s:
        data = await customer_store.load_customer(s, platform=who.platform, customer_id=who.user_id)
    return len(data.messages), len(data.cases)


async def apply_retention(db: Database, *, days: int, now: datetime | None = None) -> int:
    """Erase the transcripts of conversations whose cases were all closed more than `days` ago.
    Returns how many messages were erased."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    total = 0
    while True:
        async with maintenance.erasing(db) as s:
            ids = await customer_store.expired_conversations(s, closed_before=cutoff)
            total += await customer_store.erase_transcripts(
                s, ids, actor=RETENTION_ACTOR, note=f"transcript erased: closed more than {days} days ago"
            )
        if not ids:
            break
    if total:
        await maintenance.reclaim(db)
        _log.info("retention: erased %d message(s) of cases closed before %s", total, cutoff.date())
    return total


async def retention_if_due(db: Database, *, days: int, now: datetime) -> int | None:
    """The daily retention run, if it is due (its schedule is in the database, so one process runs it
    once a day however many run or restart). Returns how many messages it erased; None: not due."""
    async with db.write() as s:
        if not await jobs.take_if_due(s, RETENTION_JOB, now=now, every=timedelta(seconds=RETENTION_INTERVAL_S)):
            return None
    erased = await apply_retention(db, days=days, now=now)
    async with db.write() as s:
        await jobs.record_result(s, RETENTION_JOB, f"erased {erased} message(s)")
    return erased


async def retention_forever(
    db: Database,
    *,
    days: int,
    stop: asyncio.Event,
    check_every_s: float = RETENTION_CHECK_S,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Check every `check_every_s` whether the daily retention run is due, until `stop` is set."""
    while not stop.is_set():
        try:
            await retention_if_due(db, days=days, now=clock())
        except Exception:
            _log.exception("retention run failed; will try again in %.0f s", check_every_s)
        try:
            await asyncio.wait_for(stop.wait(), check_every_s)
        except TimeoutError:
            pass
