"""From a case event to what the staff loop owes because of it, written in one transaction with the
mark that the event is applied (so each event's effects exist once, whichever process applied it):

    created / flagged (a case that needs staff)  → post its card; first-response SLA timer
    assigned                                     → update the card; takeover + a notice to the customer
    released                                     → update the card; the bot answers again
    closed                                       → update the card; closing message with feedback buttons
    reopened / resolved / rated                  → update the card

Events come from every writer of cases — the bot, the CLI in another process, the web console — so a
close reaches the customer's thread wherever it was made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage import staff as staff_store
from storage.models import Case, CaseEvent, Conversation, Message
from workflows import telemetry

from .cards import closing_text, needs_staff, rating_buttons, takeover_text

_log = logging.getLogger(__name__)

CHAT_PLATFORMS = ("slack", "discord")  # where cards and customer messages go (the shell has no staff channel)
UPDATING = ("assigned", "released", "closed", "reopened", "resolved", "rated", "flagged")


@dataclass(frozen=True)
class Policy:
    """The settings the effects depend on."""

    staff_channels: dict[str, str]  # platform → staff channel id (absent: no cards there)
    sla: timedelta
    takeover: bool
    rating_scale: str
    names: dict[str, str]  # "platform:user" → display name, learnt from their clicks (for the customer's notice)


async def customer_message(
    session: AsyncSession,
    case: Case | None,
    conversation: Conversation,
    *,
    key: str,
    text: str,
    buttons: list[dict[str, str]] | None = None,
    meta: dict[str, object] | None = None,
) -> None:
    """A message from the bot in the customer's thread: kept in the transcript (pending until posted)
    and owed through the outbox under `key`."""
    if await outbox.exists(session, key) is not None:
        return
    message = Message(
        conversation_id=conversation.id,
        platform=conversation.platform,
        platform_message_id=None,
        role="bot",
        author_id="bot",
        text=text,
        status="pending",
        meta={"staff_loop": key, **(meta or {})},
    )
    session.add(message)
    await session.flush()
    await outbox.enqueue(
        session,
        key=key,
        kind="message",
        platform=conversation.platform,
        case_id=case.id if case is not None else None,
        message_id=message.id,
        payload={
            "channel_id": conversation.channel_id,
            "thread_id": conversation.thread_id,
            "text": text,
            "buttons": buttons or [],
        },
    )


async def enqueue_card(session: AsyncSession, case: Case, policy: Policy, *, since: datetime) -> None:
    channel = policy.staff_channels.get(case.platform)
    if not channel:
        return
    if (
        await outbox.enqueue(
            session,
            key=f"card:{case.id}",
            kind="card",
            platform=case.platform,
            case_id=case.id,
            payload={"channel_id": channel},
        )
        is not None
    ):
        _log.info("case=%s needs staff: card queued for %s channel %s", case.ref, case.platform, channel)
    await outbox.schedule(session, kind="sla", subject_id=case.id, due_at=since + policy.sla)


async def enqueue_update(session: AsyncSession, case: Case, event_id: int) -> None:
    if await outbox.exists(session, f"card:{case.id}") is not None:
        await outbox.enqueue(
            session, key=f"update:{case.id}:{event_id}", kind="card_update", platform=case.platform, case_id=case.id
        )


async def apply_event(session: AsyncSession, event: staff_store.EventRow, policy: Policy, *, now: datetime) -> None:
    """Write the effects of one case event (the caller marked it applied in this transaction); `now` is
    the staff loop's clock, from which the first-response SLA runs."""
    case = await session.get(Case, event.case_id)
    if case is None or case.platform not in CHAT_PLATFORMS:
        return
    action = event.action
    if action in ("created", "flagged") and needs_staff(case):
        await enqueue_card(session, case, policy, since=now)
    if action in UPDATING:
        await enqueue_update(session, case, event.id)
    conversation = await session.get(Conversation, case.conversation_id)
    if conversation is None:
        return
    if action == "assigned":
        await _assigned(session, case, conversation, event, policy)
    elif action in ("released", "closed") and await staff_store.end_takeover(
        session, conversation.id, event_id=event.id
    ):
        _log.info("case=%s %s: the bot answers in conversation %s again", case.ref, action, conversation.id)
    if action == "closed":
        telemetry.CASE_CLOSE_SECONDS.observe(max(0.0, (event.created_at - case.created_at).total_seconds()))
        await customer_message(
            session,
            case,
            conversation,
            key=f"closing:{event.id}",
            text=closing_text(case.ref, conversation.language),
            buttons=[
                {"action": b.action, "label": b.label, "value": b.value}
                for b in rating_buttons(case.ref, policy.rating_scale)
            ],
            meta={"closing": case.ref},
        )


async def _assigned(
    session: AsyncSession, case: Case, conversation: Conversation, event: staff_store.EventRow, policy: Policy
) -> None:
    first = (
        await session.execute(
            select(func.count())
            .select_from(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.action == "assigned", CaseEvent.id <= event.id)
        )
    ).scalar_one() == 1
    if first and needs_staff(case):
        telemetry.STAFF_FIRST_RESPONSE_SECONDS.observe(max(0.0, (event.created_at - case.created_at).total_seconds()))
    if not policy.takeover or not case.assignee or case.status != "in_progress":  # applied late: moved on
        return
    episode = await staff_store.start_takeover(session, conversation.id, staff_id=case.assignee, event_id=event.id)
    if episode:
        telemetry.TAKEOVERS.labels("claim").inc()
        _log.info(
            "case=%s claimed by %s: the bot is quiet in conversation %s", case.ref, case.assignee, conversation.id
        )
        staff = policy.names.get(case.assignee, "")
        await customer_message(
            session,
            case,
            conversation,
            key=f"takeover:{conversation.id}:{episode}",
            text=takeover_text(case.ref, staff, conversation.language),
            meta={"takeover": case.ref},
        )
