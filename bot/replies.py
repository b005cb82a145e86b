"""The reply to a customer message as stored, the outbound message that delivers it, and the write that
marks it sent."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.platform import Outbound
from storage import inbox
from storage.group_commit import Together
from storage.models import Message
from workflows.pipeline import Answer

from .clarify import clarify_buttons


@dataclass(frozen=True)
class StoredReply:
    """The reply as stored, and what delivering it needs to know (kept here, not on the answer)."""

    id: int
    answer: Answer
    sent: bool  # marked sent by an earlier attempt
    maybe_posted: bool  # an earlier attempt may have posted it before a crash


def stored_reply(reply: Message) -> StoredReply:
    """A reply an earlier attempt stored: the answer is already decided."""
    return StoredReply(
        id=reply.id,
        answer=Answer.from_json(reply.text, reply.meta or {}),
        sent=reply.status == "sent",
        maybe_posted=True,
    )


def outbound(message: inbox.InboundRow, reply: StoredReply) -> Outbound:
    """The reply in the message's thread, with the clarifying buttons when the answer asks."""
    buttons = (
        clarify_buttons(language=reply.answer.language, customer_id=message.customer_id, thread_id=message.thread_id)
        if reply.answer.clarify
        else ()
    )
    return Outbound(
        platform=message.platform,
        channel_id=message.channel_id,
        thread_id=message.thread_id,
        text=reply.answer.reply,
        reply_id=reply.id,
        in_reply_to=message.platform_message_id or "",
        customer_id=message.customer_id,
        maybe_posted=reply.maybe_posted,
        buttons=buttons,
    )


async def _finish_replied(session: AsyncSession, done: list[tuple[int, int, str | None]]) -> list[None]:
    await inbox.finish_replied(session, done)
    return [None] * len(done)


# (message id, reply id, the reply's platform id when just posted): the reply marked sent and the message
# finished, for every message of a group commit at once.
FINISH_REPLIED: Together[tuple[int, int, str | None], None] = Together("finish", _finish_replied)
