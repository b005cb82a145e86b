"""Slack `message` / `app_mention` events → the core's `Inbound`, and which events are new customer
text at all. Pure functions over the wire payload."""

from __future__ import annotations

from typing import Any, TypedDict

from ..platform import Inbound
from .mrkdwn import from_slack

PLATFORM = "slack"
# Subtypes that carry new text from a person; edits, deletions, joins, topic changes and bot posts do not.
ANSWERED_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})


class MessageEvent(TypedDict, total=False):
    """The fields of a `message` or `app_mention` event this adapter reads."""

    type: str
    subtype: str
    channel: str
    channel_type: str  # channel | group | im | mpim (absent on app_mention)
    user: str
    text: str
    ts: str
    thread_ts: str
    bot_id: str
    hidden: bool
    team: str
    user_profile: dict[str, Any]


def message_key(channel: str, ts: str) -> str:
    """The inbox's deduplication key: a message and its `app_mention` twin share it."""
    return f"{channel}:{ts}"


def split_message_key(key: str) -> tuple[str, str]:
    channel, _, ts = key.partition(":")
    return channel, ts


def is_new_text(event: MessageEvent) -> bool:
    """A person wrote something new (not a bot, not an edit/deletion/join, not empty). A malformed
    payload (a field of the wrong type) is not."""
    subtype = event.get("subtype")
    if (
        event.get("bot_id")
        or event.get("hidden")
        or not isinstance(subtype, (str, type(None)))
        or subtype not in ANSWERED_SUBTYPES
    ):
        return False
    fields = [event.get(name) for name in ("user", "channel", "ts", "text")]
    thread_ts = event.get("thread_ts")
    return all(isinstance(v, str) and v.strip() for v in fields) and (thread_ts is None or isinstance(thread_ts, str))


def in_existing_thread(event: MessageEvent) -> bool:
    thread_ts = event.get("thread_ts")
    return bool(thread_ts) and thread_ts != event.get("ts")


def to_inbound(event: MessageEvent, *, bot_user_id: str | None = None, event_id: str = "") -> Inbound:
    channel, ts = event["channel"], event["ts"]
    profile = event.get("user_profile")
    profile = profile if isinstance(profile, dict) else {}
    return Inbound(
        platform=PLATFORM,
        channel_id=channel,
        thread_id=event.get("thread_ts") or ts,
        user_id=event["user"],
        text=from_slack(event.get("text") or "", bot_user_id=bot_user_id),
        message_id=message_key(channel, ts),
        user_name=str(profile.get("display_name") or profile.get("real_name") or ""),
        is_dm=event.get("channel_type") == "im",
        extras={
            "event_id": event_id,
            "event_type": str(event.get("type", "")),
            "team": str(event.get("team") or ""),
            "channel_type": str(event.get("channel_type") or ""),
        },
    )
