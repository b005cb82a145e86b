"""Customer messages: `message` events (channels, private channels, DMs, group DMs) and `app_mention`
→ the core's `on_message`, in a background task so the event is acknowledged at once.

A message the bot is mentioned in arrives twice (`message` and `app_mention`, two event ids); Slack
redelivers events it thinks were missed (`X-Slack-Retry-Num`, Socket Mode `retry_attempt`). All of
them carry the same channel and ts, the inbox's deduplication key, so the database makes sure each
message is answered once — across restarts too. The in-process memory below only avoids a second
:eyes: for a message already being worked on.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest

from ..delivery import hand_over
from ..platform import Handlers, Inbound
from ..recent import Recent
from ..tasks import TaskGroup
from .events import PLATFORM, MessageEvent, in_existing_thread, is_new_text, split_message_key, to_inbound
from .feedback import Feedback, SetStatus

_log = logging.getLogger(__name__)

# The signals are worth a second, not the answer's time: a rate-limited or slow call is abandoned.
FEEDBACK_BUDGET_S = 2.0


def retry_number(request: AsyncBoltRequest) -> int:
    """Slack's redelivery count (HTTP header; bolt sets the same header from Socket Mode's retry_attempt)."""
    values = request.headers.get("x-slack-retry-num") or ["0"]
    try:
        return int(values[0])
    except (TypeError, ValueError):
        return 0


class Conversations:
    def __init__(self, handlers: Handlers, tasks: TaskGroup, feedback: Feedback) -> None:
        self.handlers = handlers
        self.tasks = tasks
        self.feedback = feedback
        self._recent: Recent[str, None] = Recent()

    def register(self, app: AsyncApp) -> None:
        app.event("message")(self.on_event)
        app.event("app_mention")(self.on_event)

    async def on_event(
        self,
        event: dict[str, Any],
        body: dict[str, Any],
        context: AsyncBoltContext,
        request: AsyncBoltRequest,
        set_status: SetStatus | None = None,
    ) -> None:
        """Bolt listener: decide quickly, hand the work to a background task, return."""
        message: MessageEvent = event  # type: ignore[assignment]
        event_id = str(body.get("event_id", ""))
        if not is_new_text(message):
            _log.debug(
                "event %s (%s/%s) is not new customer text; ignored",
                event_id,
                message.get("type"),
                message.get("subtype"),
            )
            return
        inbound = to_inbound(message, bot_user_id=context.bot_user_id, event_id=event_id)
        retry = retry_number(request)
        first = self._recent.first_sight(inbound.message_id, None)
        if in_existing_thread(message) and self.handlers.is_staff(PLATFORM, inbound.user_id, ()):
            self.tasks.spawn(self.handlers.on_staff_message(inbound), name=f"slack-staff-{inbound.message_id}")
            return
        # Feedback only on the first sight of a first delivery: a retry was most likely handled already.
        signal = first and retry == 0
        self.tasks.spawn(
            self._answer(inbound, set_status if signal else None, feedback=signal),
            name=f"slack-message-{inbound.message_id}",
        )
        if retry:
            _log.info("event %s for message %s is Slack's retry #%d", event_id, inbound.message_id, retry)

    async def _answer(self, inbound: Inbound, set_status: SetStatus | None, *, feedback: bool) -> None:
        channel, ts = split_message_key(inbound.message_id)
        # The signals go out alongside storing, not before it: Slack has its acknowledgement, so the
        # message must be in the inbox at once. The reply waits for them (SlackAdapter.deliver).
        signals = (
            self.feedback.begin(channel=channel, ts=ts, set_status=set_status, budget_s=FEEDBACK_BUDGET_S)
            if feedback
            else None
        )
        outcome = await hand_over(self.handlers, inbound)
        if outcome is not None and (outcome.duplicate or outcome.held) and signals is not None and await signals:
            await self.feedback.answered(channel=channel, ts=ts)
