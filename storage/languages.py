"""The customer's language per conversation (an ISO 639-1 code, as last detected)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Conversation


async def conversation_language(session: AsyncSession, conversation_id: int) -> str | None:
    return (await session.execute(select(Conversation.language).where(Conversation.id == conversation_id))).scalar()


async def set_conversation_language(session: AsyncSession, conversation_id: int, language: str) -> None:
    """Record the language; a no-op statement when it is already the one stored. A Core statement: the ORM's
    default synchronisation of loaded objects cost more than the write (no Conversation is loaded here)."""
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.language.is_distinct_from(language))
        .values(language=language)
        .execution_options(synchronize_session=False)
    )
