"""Bringing a conversation to staff: flag a case, or open a hand-off case for a conversation that has
none. Both write a case event in the caller's transaction; the staff loop turns it into a card."""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import case_open
from storage.cases import OPEN_STATUSES
from storage.models import Case, CaseEvent, Conversation, Message, utcnow

_log = logging.getLogger(__name__)


async def flag_case(session: AsyncSession, case: Case, *, reason: str, actor: str = "bot") -> None:
    """Mark an existing case as needing staff, with the reason (a `flagged` case event)."""
    await session.execute(
        update(Case)
        .where(Case.id == case.id)
        .values(needs_staff=True, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.add(CaseEvent(case_id=case.id, action="flagged", actor=actor, note=reason[:500]))
    await session.flush()
    _log.info("case=%s flagged for staff: %s", case.ref, reason)


async def needs_staff(session: AsyncSession, *, message_id: int, reason: str, actor: str = "bot") -> str:
    """The conversation of `message_id` needs a person (e.g. the message was given up after failures, or
    a task waited past its reminder). Flags the conversation's open hand-off case, or opens one. Call it
    in your own write transaction. Returns the case's reference."""
    message = await session.get(Message, message_id)
    if message is None:
        raise LookupError(f"message {message_id} not found")
    subject = f"conversation:{message.conversation_id}"
    case = (
        await session.execute(
            select(Case)
            .where(
                Case.conversation_id == message.conversation_id,
                Case.kind == "human",
                Case.subject_key == subject,
                Case.status.in_(OPEN_STATUSES),
            )
            .order_by(Case.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if case is not None:
        await flag_case(session, case, reason=reason, actor=actor)
        return case.ref
    conversation = await session.get(Conversation, message.conversation_id)
    customer = conversation.customer_id if conversation is not None else message.author_id
    [(opened, _created)] = await case_open.open_cases(
        session,
        [
            case_open.CaseSpec(
                kind="human",
                task_key=f"staff:{message.id}",
                details={"reason": reason[:500]},
                subject_key=subject,
                needs_staff=True,
            )
        ],
        platform=message.platform,
        customer_id=customer,
        conversation_id=message.conversation_id,
        message_id=message.id,
        actor=actor,
    )
    _log.info("case=%s opened for staff (conversation %s): %s", opened.ref, message.conversation_id, reason)
    return opened.ref
