"""Storing a message as it arrives: a customer's (the first step of its path, `bot.service`), or a staff
member's in a support thread (kept in the transcript, never answered)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from adapters.platform import Inbound
from storage import inbox
from workflows.text import storable

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.db import Database

_log = logging.getLogger(__name__)


async def store(
    session: AsyncSession, inbound: Inbound, *, role: str = "customer", meta: dict[str, Any] | None = None
) -> inbox.StoredInbound:
    """The message once, in its conversation (a redelivery finds the stored one: `created` is False)."""
    return await inbox.store_inbound(
        session,
        platform=inbound.platform,
        channel_id=inbound.channel_id,
        thread_id=inbound.thread_id,
        customer_id=inbound.user_id,
        platform_message_id=inbound.message_id,
        author_id=inbound.user_id,
        text=storable(inbound.text),
        role=role,
        meta=meta,
    )


async def record_staff_message(
    db: Database, inbound: Inbound, *, staff_wrote: Callable[[int, str], Awaitable[None]] | None
) -> bool:
    """A staff member wrote in a support thread: keep it in the transcript, do not answer it; then
    `staff_wrote(conversation id, "platform:user")` (the staff loop's takeover).

    Returns whether it was stored now (False: seen before, or the database failed — logged)."""
    try:
        async with db.write() as s:
            stored = await store(s, inbound, role="staff")
        created = stored.created
        if created and staff_wrote is not None:
            await staff_wrote(stored.conversation_id, f"{inbound.platform}:{inbound.user_id}")
    except Exception:  # a transcript line, not a customer request: nothing waits on it
        _log.exception("could not record staff message %s", inbound.message_id)
        return False
    _log.info(
        "staff message %s by %s in thread %s recorded%s",
        inbound.message_id,
        inbound.user_id,
        inbound.thread_id,
        "" if created else " (seen before)",
    )
    return created
