"""Conversations and their messages: the durable inbox, the reply outbox and the transcript.

Every inbound message is stored (deduplicated on its platform id) before it is processed; a worker
claims it with a lease, so two processes never work on the same message at once, and a message whose
worker died is claimed again when its lease runs out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Conversation, Message, utcnow


async def get_or_create_conversation(session: AsyncSession, *, platform: str, channel_id: str, thread_id: str,
                                     customer_id: str) -> Conversation:
    query = select(Conversation).where(Conversation.platform == platform, Conversation.channel_id == channel_id,
                                       Conversation.thread_id == thread_id)
    found = (await session.execute(query)).scalar_one_or_none()
    if found is not None:
        return found
    conversation = Conversation(platform=platform, channel_id=channel_id, thread_id=thread_id,
                                customer_id=customer_id)
    try:
        async with session.begin_nested():
            session.add(conversation)
    except IntegrityError:  # another process created it first
        return (await session.execute(query)).scalar_one()
    return conversation


async def receive_message(session: AsyncSession, *, conversation: Conversation, platform_message_id: str,
                          author_id: str, text: str, role: str = "customer", internal: bool = False,
                          meta: dict[str, Any] | None = None) -> tuple[Message, bool]:
    """Store an inbound message once. Returns (message, created); a redelivery returns the stored row."""
    query = select(Message).where(Message.platform == conversation.platform,
                                  Message.platform_message_id == platform_message_id)
    found = (await session.execute(query)).scalar_one_or_none()
    if found is not None:
        return found, False
    message = Message(conversation_id=conversation.id, platform=conversation.platform,
                      platform_message_id=platform_message_id, role=role, author_id=author_id, text=text,
                      internal=internal, status="received" if role == "customer" else "stored",
                      meta=meta or {})
    try:
        async with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return (await session.execute(query)).scalar_one(), False
    return message, True


async def claim_message(session: AsyncSession, message_id: int, *, worker: str, lease_s: float) -> bool:
    """Atomically take a message for processing; False if someone else holds it or it is done."""
    now = utcnow()
    result = await session.execute(
        update(Message)
        .where(Message.id == message_id,
               or_(Message.status == "received",
                   (Message.status == "processing") & (Message.claimed_until < now)))
        .values(status="processing", claimed_by=worker, claimed_until=now + timedelta(seconds=lease_s),
                attempts=Message.attempts + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def extend_claim(session: AsyncSession, message_id: int, *, worker: str, lease_s: float) -> bool:
    result = await session.execute(
        update(Message).where(Message.id == message_id, Message.claimed_by == worker,
                              Message.status == "processing")
        .values(claimed_until=utcnow() + timedelta(seconds=lease_s))
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


async def finish_message(session: AsyncSession, message_id: int, *, status: str, error: str | None = None) -> None:
    await session.execute(
        update(Message).where(Message.id == message_id)
        .values(status=status, error=error, claimed_by=None, claimed_until=None, updated_at=utcnow())
        .execution_options(synchronize_session=False))


async def release_message(session: AsyncSession, message_id: int, *, error: str | None = None) -> None:
    """Give a claimed message back to the inbox (it will be retried)."""
    await session.execute(
        update(Message).where(Message.id == message_id, Message.status == "processing")
        .values(status="received", error=error, claimed_by=None, claimed_until=None, updated_at=utcnow())
        .execution_options(synchronize_session=False))


async def unfinished_messages(session: AsyncSession, *, limit: int = 500,
                              platforms: tuple[str, ...] | None = None) -> list[Message]:
    """Customer messages not yet answered: never claimed, or claimed by a worker whose lease expired."""
    now = utcnow()
    query = (select(Message).where(Message.role == "customer",
                                   or_(Message.status == "received",
                                       (Message.status == "processing") & (Message.claimed_until < now)))
             .order_by(Message.id).limit(limit))
    if platforms:
        query = query.where(Message.platform.in_(platforms))
    return list((await session.execute(query)).scalars())


async def count_unfinished(session: AsyncSession) -> int:
    from sqlalchemy import func

    query = select(func.count()).select_from(Message).where(
        Message.role == "customer", Message.status.in_(("received", "processing")))
    return int((await session.execute(query)).scalar_one())


async def get_message(session: AsyncSession, message_id: int) -> Message | None:
    return await session.get(Message, message_id)


async def get_conversation(session: AsyncSession, conversation_id: int) -> Conversation | None:
    return await session.get(Conversation, conversation_id)


async def earlier_customer_texts(session: AsyncSession, *, conversation_id: int, before_id: int,
                                 limit: int = 10) -> list[str]:
    query = (select(Message.text).where(Message.conversation_id == conversation_id, Message.id < before_id,
                                        Message.role == "customer")
             .order_by(Message.id.desc()).limit(limit))
    return list(reversed((await session.execute(query)).scalars().all()))


async def transcript(session: AsyncSession, conversation_id: int, *, include_internal: bool) -> list[Message]:
    query = select(Message).where(Message.conversation_id == conversation_id).order_by(Message.created_at,
                                                                                       Message.id)
    if not include_internal:
        query = query.where(Message.internal.is_(False))
    return list((await session.execute(query)).scalars())


# --- the reply outbox ---------------------------------------------------------------------------

async def reply_for(session: AsyncSession, inbound_id: int) -> Message | None:
    return (await session.execute(select(Message).where(Message.reply_to_id == inbound_id))).scalar_one_or_none()


async def store_reply(session: AsyncSession, *, inbound: Message, text: str,
                      meta: dict[str, Any] | None = None) -> Message:
    """Store the bot's reply to `inbound` before it is posted (one reply per inbound message, ever)."""
    existing = await reply_for(session, inbound.id)
    if existing is not None:
        return existing
    reply = Message(conversation_id=inbound.conversation_id, platform=inbound.platform, platform_message_id=None,
                    role="bot", author_id="bot", text=text, status="pending", reply_to_id=inbound.id,
                    meta=meta or {})
    try:
        async with session.begin_nested():
            session.add(reply)
    except IntegrityError:
        found = await reply_for(session, inbound.id)
        assert found is not None
        return found
    return reply


async def mark_reply_sent(session: AsyncSession, reply_id: int, *, platform_message_id: str) -> None:
    await session.execute(
        update(Message).where(Message.id == reply_id)
        .values(status="sent", platform_message_id=platform_message_id, updated_at=utcnow())
        .execution_options(synchronize_session=False))


async def messages_since(session: AsyncSession, since: datetime) -> list[Message]:
    query = select(Message).where(Message.created_at >= since).order_by(Message.id)
    return list((await session.execute(query)).scalars())
