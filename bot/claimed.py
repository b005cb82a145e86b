"""A claimed message as its path reads it, in the claim's transaction: the message, a reply an earlier
attempt stored, the thread's history, the pending tasks waiting for this customer, and the language."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage import inbox
from storage import languages as language_store
from storage import pending as pending_store
from storage.models import Message, PendingTask


@dataclass(frozen=True)
class Loaded:
    """A claimed message, read in the claim's transaction."""

    message: inbox.InboundRow
    existing: Message | None  # its stored reply (only a retry can have one)
    history: list[str]  # earlier customer texts of the thread
    open_pending: list[PendingTask]  # tasks of earlier messages waiting for this customer
    language: str | None = None  # the conversation's language so far
    held: bool = False  # its thread is taken over by staff: finished in the claim's transaction, not answered


async def load_claimed(session: AsyncSession, message_id: int, message: inbox.InboundRow | None = None) -> Loaded:
    message = message or await inbox.load_inbound(session, message_id)
    if message is None:
        raise LookupError(f"message {message_id} not found")
    # A first attempt (the claim counted it) cannot have a stored reply yet; a retry may.
    existing = await inbox.reply_for(session, message.id) if message.attempts != 1 else None
    # History and pending tasks come from earlier customer messages of the thread: none without them.
    history = (
        await inbox.earlier_customer_texts(
            session, conversation_id=message.conversation_id, before_id=message.id, author_id=message.customer_id
        )
        if message.has_history
        else []
    )
    open_pending = (
        await pending_store.open_pending(
            session, message.conversation_id, before_message_id=message.id, author_id=message.customer_id
        )
        if history
        else []
    )
    language = await language_store.conversation_language(session, message.conversation_id) if history else None
    return Loaded(message=message, existing=existing, history=history, open_pending=open_pending, language=language)
