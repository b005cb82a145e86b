"""Conversations and their messages: the durable inbox, the reply outbox and the transcript.

Every inbound message is stored (deduplicated on its platform id) before it is processed; a worker
then claims it with a lease (`inbox_claims`) and finishes it here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Conversation, Message, utcnow
from .statements import PerDialect

# The message hot path uses Core statements on the tables, built once (see statements.py): no ORM
# objects are loaded or flushed for a message that is stored, claimed, answered and finished.
_conversations = cast(Table, Conversation.__table__)
_messages = cast(Table, Message.__table__)
_earlier = _messages.alias("earlier")

_NEW_CONVERSATION = PerDialect(
    lambda insert: insert(_conversations).on_conflict_do_nothing().returning(_conversations.c.id)
)
_FIND_CONVERSATION = select(_conversations.c.id).where(
    _conversations.c.platform == bindparam("b_platform"),
    _conversations.c.channel_id == bindparam("b_channel"),
    _conversations.c.thread_id == bindparam("b_thread"),
)
# Inbound messages (unique platform id) and replies (one per inbound message) alike: a conflict inserts nothing.
_NEW_MESSAGE = PerDialect(lambda insert: insert(_messages).on_conflict_do_nothing().returning(_messages.c.id))
_FIND_MESSAGE = select(_messages.c.id, _messages.c.conversation_id, _messages.c.status).where(
    _messages.c.platform == bindparam("b_platform"), _messages.c.platform_message_id == bindparam("b_pmid")
)
_LOAD_INBOUND_COLUMNS = select(
    _messages.c.id,
    _messages.c.conversation_id,
    _messages.c.platform,
    _messages.c.platform_message_id,
    _messages.c.text,
    _messages.c.meta,
    _messages.c.attempts,
    _conversations.c.channel_id,
    _conversations.c.thread_id,
    # The writer is the customer: in a thread several people write in, each is a customer of their own.
    _messages.c.author_id.label("customer_id"),
    exists()
    .where(
        _earlier.c.conversation_id == _messages.c.conversation_id,
        _earlier.c.id < _messages.c.id,
        _earlier.c.role == "customer",
        _earlier.c.author_id == _messages.c.author_id,
    )
    .label("has_history"),
).join(_conversations, _conversations.c.id == _messages.c.conversation_id)
_LOAD_INBOUND = _LOAD_INBOUND_COLUMNS.where(_messages.c.id == bindparam("b_id"))
_LOAD_INBOUND_MANY = _LOAD_INBOUND_COLUMNS.where(_messages.c.id.in_(bindparam("b_ids", expanding=True)))
_EARLIER_TEXTS = (
    select(_messages.c.text)
    .where(
        _messages.c.conversation_id == bindparam("b_conversation"),
        _messages.c.id < bindparam("b_before"),
        _messages.c.role == "customer",
        _messages.c.author_id == bindparam("b_author"),
    )
    .order_by(_messages.c.id.desc())
    .limit(bindparam("b_limit"))
)
_FINISH = (
    update(_messages)
    .where(_messages.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        error=bindparam("b_error"),
        claimed_by=None,
        claimed_until=None,
        updated_at=bindparam("b_now"),
    )
)
_SET_META = (
    update(_messages)
    .where(_messages.c.id == bindparam("b_id"))
    .values(meta=bindparam("b_meta"), updated_at=bindparam("b_now"))
)
_REPLY_SENT = (
    update(_messages)
    .where(_messages.c.id == bindparam("b_id"))
    .values(status="sent", platform_message_id=bindparam("b_pmid"), updated_at=bindparam("b_now"))
)


class InboundRef(Protocol):
    """What storing a reply needs of the inbound message (a `Message` or an `InboundRow`)."""

    @property
    def id(self) -> int: ...
    @property
    def conversation_id(self) -> int: ...
    @property
    def platform(self) -> str: ...


@dataclass(frozen=True)
class StoredInbound:
    """An inbound message as stored by `store_inbound`."""

    id: int
    conversation_id: int
    status: str
    created: bool  # False: a redelivery of a message stored before


@dataclass(frozen=True)
class InboundRow:
    """A customer message with its conversation's thread, as the pipeline reads it."""

    id: int
    conversation_id: int
    platform: str
    platform_message_id: str | None
    text: str
    meta: dict[str, Any]
    attempts: int
    channel_id: str
    thread_id: str
    customer_id: str
    has_history: bool  # earlier messages of this customer in the conversation


async def store_inbound(
    session: AsyncSession,
    *,
    platform: str,
    channel_id: str,
    thread_id: str,
    customer_id: str,
    platform_message_id: str,
    author_id: str,
    text: str,
    role: str = "customer",
    internal: bool = False,
    meta: dict[str, Any] | None = None,
) -> StoredInbound:
    """Store an inbound message once, creating its conversation if needed (2 statements when both
    are new). A redelivery returns the stored message's id and status with `created` False. Customer
    messages wait in the inbox (`received`); staff messages are transcript only (`stored`)."""
    conversation_id = (
        await session.execute(
            _NEW_CONVERSATION(session),
            {"platform": platform, "channel_id": channel_id, "thread_id": thread_id, "customer_id": customer_id},
        )
    ).scalar()
    if conversation_id is None:  # the thread's conversation exists (or another process just created it)
        conversation_id = (
            await session.execute(
                _FIND_CONVERSATION, {"b_platform": platform, "b_channel": channel_id, "b_thread": thread_id}
            )
        ).scalar_one()
    status = "received" if role == "customer" else "stored"
    message_id = (
        await session.execute(
            _NEW_MESSAGE(session),
            {
                "conversation_id": conversation_id,
                "platform": platform,
                "platform_message_id": platform_message_id,
                "role": role,
                "author_id": author_id,
                "text": text,
                "internal": internal,
                "status": status,
                "meta": meta or {},
            },
        )
    ).scalar()
    if message_id is not None:
        return StoredInbound(id=message_id, conversation_id=conversation_id, status=status, created=True)
    found = (await session.execute(_FIND_MESSAGE, {"b_platform": platform, "b_pmid": platform_message_id})).one()
    return StoredInbound(id=found.id, conversation_id=found.conversation_id, status=found.status, created=False)


async def load_inbound(session: AsyncSession, message_id: int) -> InboundRow | None:
    """The message, its thread and whether earlier customer messages exist, in one query."""
    row = (await session.execute(_LOAD_INBOUND, {"b_id": message_id})).one_or_none()
    return None if row is None else _inbound_row(row)


async def load_inbound_many(session: AsyncSession, message_ids: list[int]) -> dict[int, InboundRow]:
    """`load_inbound` for a batch of messages, in one query."""
    if not message_ids:
        return {}
    rows = await session.execute(_LOAD_INBOUND_MANY, {"b_ids": message_ids})
    return {row.id: _inbound_row(row) for row in rows}


def _inbound_row(row: Any) -> InboundRow:
    return InboundRow(
        id=row.id,
        conversation_id=row.conversation_id,
        platform=row.platform,
        platform_message_id=row.platform_message_id,
        text=row.text,
        meta=row.meta or {},
        attempts=row.attempts,
        channel_id=row.channel_id,
        thread_id=row.thread_id,
        customer_id=row.customer_id,
        has_history=bool(row.has_history),
    )


async def set_meta(session: AsyncSession, message_id: int, meta: dict[str, Any]) -> None:
    await session.execute(_SET_META, {"b_id": message_id, "b_meta": meta, "b_now": utcnow()})


async def finish_message(session: AsyncSession, message_id: int, *, status: str, error: str | None = None) -> None:
    await session.execute(_FINISH, {"b_id": message_id, "b_status": status, "b_error": error, "b_now": utcnow()})


async def finish_replied(session: AsyncSession, done: Sequence[tuple[int, int | None, str | None]]) -> None:
    """Messages answered: for each (message id, reply id, the reply's platform id when it was just posted)
    the reply is marked sent and the message finished as replied — two executemany statements in all."""
    now = utcnow()
    sent = [{"b_id": reply, "b_pmid": posted, "b_now": now} for _, reply, posted in done if reply and posted]
    if sent:
        await session.execute(_REPLY_SENT, sent)
    if done:
        params = [{"b_id": message, "b_status": "replied", "b_error": None, "b_now": now} for message, _, _ in done]
        await session.execute(_FINISH, params)


async def record_notice(session: AsyncSession, message_id: int, *, text: str, platform_message_id: str) -> None:
    """Keep a notice the bot posted about a waiting message in the transcript (not its reply: a message
    still gets exactly one reply)."""
    waiting = await session.get(Message, message_id)
    if waiting is None:
        return
    session.add(
        Message(
            conversation_id=waiting.conversation_id,
            platform=waiting.platform,
            platform_message_id=platform_message_id,
            role="bot",
            author_id="bot",
            text=text,
            status="sent",
            meta={"notice": "queued", "about": message_id},
        )
    )


async def count_unfinished(session: AsyncSession) -> int:
    query = (
        select(func.count())
        .select_from(Message)
        .where(Message.role == "customer", Message.status.in_(("received", "processing")))
    )
    return int((await session.execute(query)).scalar_one())


async def get_message(session: AsyncSession, message_id: int) -> Message | None:
    return await session.get(Message, message_id)


async def get_conversation(session: AsyncSession, conversation_id: int) -> Conversation | None:
    return await session.get(Conversation, conversation_id)


async def earlier_customer_texts(
    session: AsyncSession, *, conversation_id: int, before_id: int, author_id: str, limit: int = 10
) -> list[str]:
    """The same customer's earlier messages in the thread (another writer's are not theirs to build on)."""
    rows = await session.execute(
        _EARLIER_TEXTS,
        {"b_conversation": conversation_id, "b_before": before_id, "b_author": author_id, "b_limit": limit},
    )
    return list(reversed(rows.scalars().all()))


async def transcript(session: AsyncSession, conversation_id: int, *, include_internal: bool) -> list[Message]:
    query = select(Message).where(Message.conversation_id == conversation_id).order_by(Message.created_at, Message.id)
    if not include_internal:
        query = query.where(Message.internal.is_(False))
    return list((await session.execute(query)).scalars())


# --- the reply outbox ---------------------------------------------------------------------------


async def reply_for(session: AsyncSession, inbound_id: int) -> Message | None:
    return (await session.execute(select(Message).where(Message.reply_to_id == inbound_id))).scalar_one_or_none()


async def add_reply(
    session: AsyncSession, *, inbound: InboundRef, text: str, meta: dict[str, Any] | None = None
) -> int | None:
    """Store the bot's reply to `inbound` before it is posted, unless it has one (one reply per inbound
    message, ever: uq_message_one_reply). Returns the new reply's id, or None if one was stored before."""
    return (
        await session.execute(
            _NEW_MESSAGE(session),
            {
                "conversation_id": inbound.conversation_id,
                "platform": inbound.platform,
                "platform_message_id": None,
                "role": "bot",
                "author_id": "bot",
                "text": text,
                "internal": False,
                "status": "pending",
                "reply_to_id": inbound.id,
                "meta": meta or {},
            },
        )
    ).scalar()


async def mark_reply_sent(session: AsyncSession, reply_id: int, *, platform_message_id: str) -> None:
    await session.execute(_REPLY_SENT, {"b_id": reply_id, "b_pmid": platform_message_id, "b_now": utcnow()})


async def messages_since(session: AsyncSession, since: datetime) -> list[Message]:
    query = select(Message).where(Message.created_at >= since).order_by(Message.id)
    return list((await session.execute(query)).scalars())
