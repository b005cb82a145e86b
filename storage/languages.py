"""The customer's language per conversation (an ISO 639-1 code, as last detected)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Conversation

_conversations = cast(Table, Conversation.__table__)
# Built once (a statement built per call cost more to build than to run): the language, unless it is
# already the one stored.
_SET_LANGUAGE = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("b_id"), _conversations.c.language.is_distinct_from(bindparam("b_lang")))
    .values(language=bindparam("b_lang"))
)


async def conversation_language(session: AsyncSession, conversation_id: int) -> str | None:
    return (await session.execute(select(Conversation.language).where(Conversation.id == conversation_id))).scalar()


async def set_conversation_language(session: AsyncSession, conversation_id: int, language: str) -> None:
    """Record the language; a no-op statement when it is already the one stored. A Core statement: the ORM's
    default synchronisation of loaded objects cost more than the write (no Conversation is loaded here)."""
    await session.execute(_SET_LANGUAGE, {"b_id": conversation_id, "b_lang": language})
