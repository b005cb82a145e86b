"""Cases as the pipeline stores them, seeded directly: a conversation, the customer's message, the case."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from storage import case_open, inbox
from storage import cases as case_store
from storage.case_open import CaseSpec
from storage.db import Database
from storage.models import Case, CaseEvent


async def seed_case(db: Database, **fields: Any) -> Case:
    """One case as the pipeline stores it, in a transaction of its own (`fields`: those of `seed_in`)."""
    async with db.write() as s:
        return await seed_in(s, **fields)


async def seed_in(
    s: Any,
    *,
    customer: str = "u1",
    platform: str = "shell",
    kind: str = "return",
    details: dict[str, Any] | None = None,
    thread: str | None = None,
    created_at: datetime | None = None,
    text: str = "I need help",
) -> Case:
    """One case as the pipeline stores it: a conversation, the customer's message, the case."""
    message = await inbox.store_inbound(
        s,
        platform=platform,
        channel_id="C-support",
        thread_id=thread or uuid.uuid4().hex,
        customer_id=customer,
        platform_message_id=uuid.uuid4().hex,
        author_id=customer,
        text=text,
    )
    [(opened, created)] = await case_open.open_cases(
        s,
        [CaseSpec(kind=kind, task_key=f"0:{kind}", details=details or {"product_name": "Widget"})],
        platform=platform,
        customer_id=customer,
        conversation_id=message.conversation_id,
        message_id=message.id,
    )
    assert created
    case = await case_store.get_case(s, opened.ref)
    assert case is not None
    if created_at is not None:
        case.created_at = created_at
        await s.flush()
    return case


async def events_of(db: Database, ref: str) -> list[CaseEvent]:
    async with db.session() as s:
        case = await case_store.get_case(s, ref)
        assert case is not None
        return await case_store.case_events(s, case.id)


async def status_of(db: Database, ref: str) -> str:
    async with db.session() as s:
        case = await case_store.get_case(s, ref)
        assert case is not None
        return case.status
