"""Block Kit buttons and modals → the core's `Interaction`, in HTTP and Socket Mode alike (bolt routes
both the same way).

Every listener acknowledges first (Slack wants it within 3 s). Claim, Release and feedback buttons
then run in a background task and answer privately through the payload's `response_url`. Close and
Note open a modal at once (`views.open`: the trigger_id expires 3 s after the click), except for
someone who is not staff, who gets the core's refusal instead. A submitted modal is validated — a note
needs text — and carried out before the acknowledgement when that is quick, so a refusal ("already
closed") shows in the modal, keyed by the input's block_id as Slack requires.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from ..platform import Interaction, InteractionReply
from .cards import INPUT_MAX, input_block, modal, submitted

_log = logging.getLogger(__name__)

PLATFORM = "slack"
SUBMIT_BUDGET_S = 2.0  # a submit answered within this shows refusals in the modal; later ones by message
OnInteraction = Callable[[Interaction], Awaitable[InteractionReply]]
IsStaff = Callable[[str, str, tuple[str, ...]], bool]
_BUTTONS = re.compile(r"^(case_claim|case_release|rate|clarify)$")
_MODAL_BUTTONS = re.compile(r"^(case_close|case_note)$")
_MODALS = re.compile(r"^(case_close|case_note)$")


def to_interaction(body: dict[str, Any], *, text: str = "") -> Interaction:
    action = (body.get("actions") or [{}])[0]
    container = body.get("container") or {}
    user = body.get("user") or {}
    return Interaction(
        platform=PLATFORM,
        user_id=str(user.get("id", "")),
        action=str(action.get("action_id", "")),
        value=str(action.get("value", "")),
        text=text,
        user_name=str(user.get("username") or user.get("name") or ""),
        channel_id=str(container.get("channel_id") or (body.get("channel") or {}).get("id") or ""),
        message_id=str(container.get("message_ts") or (body.get("message") or {}).get("ts") or ""),
    )


class Interactions:
    def __init__(
        self, client: AsyncWebClient, *, on_interaction: OnInteraction, is_staff: IsStaff, spawn: Callable[..., Any]
    ) -> None:
        self.client = client
        self.on_interaction = on_interaction
        self.is_staff = is_staff
        self.spawn = spawn

    def register(self, app: AsyncApp) -> None:
        app.action(_BUTTONS)(self.on_button)
        app.action(_MODAL_BUTTONS)(self.on_modal_button)
        app.view(_MODALS)(self.on_submit)

    async def on_button(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        interaction = to_interaction(body)
        self._later(self._carry_out(interaction, respond), name=f"slack-{interaction.action}-{interaction.value}")

    async def on_modal_button(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        interaction = to_interaction(body)
        if not self.is_staff(PLATFORM, interaction.user_id, ()):  # the core refuses and logs it
            self._later(self._carry_out(interaction, respond), name=f"slack-refuse-{interaction.value}")
            return
        view = modal(
            interaction.action, interaction.value, channel_id=interaction.channel_id, message_ts=interaction.message_id
        )
        try:
            await self.client.views_open(trigger_id=str(body.get("trigger_id", "")), view=view)
        except Exception as exc:  # an expired trigger: tell the clicker, privately
            _log.warning("could not open the %s modal for %s (%s)", interaction.action, interaction.value, exc)
            await respond(
                text="Sorry, that took too long. Please click the button again.",
                response_type="ephemeral",
                replace_original=False,
            )

    async def on_submit(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        action, ref, text = submitted(view)
        block = input_block(action)
        if action == "case_note" and not text:
            await ack(response_action="errors", errors={block: "Write the note first."})
            return
        if len(text) > INPUT_MAX:
            await ack(response_action="errors", errors={block: f"At most {INPUT_MAX} characters, please."})
            return
        user = str((body.get("user") or {}).get("id", ""))
        interaction = Interaction(platform=PLATFORM, user_id=user, action=action, value=ref, text=text)
        work = asyncio.ensure_future(self.on_interaction(interaction))
        try:
            reply = await asyncio.wait_for(asyncio.shield(work), SUBMIT_BUDGET_S)
        except TimeoutError:  # slow database: close the modal now, tell the clicker when done
            await ack()
            self._later(self._tell_when_done(work, user), name=f"slack-submit-{ref}")
            return
        if not reply.ok:
            await ack(response_action="errors", errors={block: reply.text[:150] or "Not possible."})
            return
        await ack()

    # --- after the acknowledgement --------------------------------------------------------------
    def _later(self, coro: Coroutine[Any, Any, Any], *, name: str) -> None:
        self.spawn(coro, name=name)

    async def _carry_out(self, interaction: Interaction, respond: AsyncRespond) -> None:
        reply = await self.on_interaction(interaction)
        if reply.text:
            try:
                await respond(text=reply.text, response_type="ephemeral", replace_original=False)
            except Exception as exc:  # no response_url: a private message in the channel instead
                _log.info("respond failed (%s); posting ephemerally", type(exc).__name__)
                await self.client.chat_postEphemeral(
                    channel=interaction.channel_id, user=interaction.user_id, text=reply.text
                )

    async def _tell_when_done(self, work: asyncio.Future[InteractionReply], user: str) -> None:
        reply = await work
        if reply.text:
            await self.client.chat_postMessage(channel=user, text=reply.text)
