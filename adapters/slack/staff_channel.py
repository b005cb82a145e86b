"""The Slack half of the staff loop's `Platform` methods: post a case card (`chat.postMessage` with
message metadata naming the outbox key), update it in place (`chat.update`), post a notice, and link
to a customer's thread (`chat.getPermalink`, a GET in slack_sdk).

A card whose first attempt may have been posted before a crash is looked for in the staff channel's
recent history by its metadata before it is posted again, so a case keeps exactly one card.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ..platform import Button, Card
from .cards import CARD_EVENT, button_row, card_blocks, card_metadata, fallback_text

_log = logging.getLogger(__name__)

HISTORY_LIMIT = 100  # staff-channel messages read when looking for a card posted before a crash


class StaffChannel:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post_card(self, card: Card, *, channel_id: str, key: int) -> str:
        found = await self._find_card(channel_id, key)
        if found:
            _log.info(
                "case=%s card (outbox %s) already in %s as %s; not posted again", card.ref, key, channel_id, found
            )
            return found
        response = await self.client.chat_postMessage(
            channel=channel_id,
            text=fallback_text(card),
            blocks=card_blocks(card),
            metadata=card_metadata(key, card.ref),
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response["ts"])

    async def update_card(self, card: Card, *, channel_id: str, message_id: str) -> None:
        await self.client.chat_update(
            channel=channel_id, ts=message_id, text=fallback_text(card), blocks=card_blocks(card)
        )

    async def notify(self, text: str, *, channel_id: str, thread_id: str = "", key: int = 0) -> str:
        response = await self.client.chat_postMessage(
            channel=channel_id,
            thread_ts=thread_id or None,
            text=text,
            reply_broadcast=bool(thread_id),
            unfurl_links=False,
        )
        return str(response["ts"])

    async def permalink(self, channel_id: str, thread_id: str) -> str:
        response = await self.client.chat_getPermalink(channel=channel_id, message_ts=thread_id)
        return str(response.get("permalink") or "")

    async def _find_card(self, channel_id: str, key: int) -> str:
        try:
            response = await self.client.conversations_history(
                channel=channel_id, limit=HISTORY_LIMIT, include_all_metadata=True
            )
        except Exception as exc:  # not readable (scope, a channel the bot left): post rather than never
            reason = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
            _log.info("could not look for card %s in %s (%s); posting it", key, channel_id, reason)
            return ""
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == CARD_EVENT and str(
                (metadata.get("event_payload") or {}).get("key")
            ) == str(key):
                return str(message["ts"])
        return ""


def with_buttons(text: str, buttons: tuple[Button, ...], *, block_id: str) -> list[dict[str, Any]]:
    """A message's text (already mrkdwn) and a row of buttons under it (feedback on a closing message)."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text or " "}},
        button_row(buttons, block_id=block_id),
    ]
