"""Platform-neutral message types the adapters translate to and from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Inbound:
    """A customer message as every adapter hands it to the bot."""

    platform: str  # slack | discord | shell
    channel_id: str
    thread_id: str  # the conversation's thread (Slack thread_ts, Discord thread id, shell thread)
    user_id: str
    text: str
    message_id: str  # unique per platform: the deduplication key
    user_name: str = ""
    is_dm: bool = False
    extras: dict[str, Any] = field(default_factory=dict)  # platform leftovers


@dataclass(frozen=True)
class Outbound:
    """A reply to post into a conversation's thread."""

    platform: str
    channel_id: str
    thread_id: str
    text: str
    reply_id: int  # our database id of the reply: an idempotency key for platforms that take one
    in_reply_to: str = ""  # platform id of the customer message answered
    customer_id: str = ""
    # An earlier attempt may have posted it before a crash: the adapter looks for it before posting again.
    maybe_posted: bool = False


# Posts a reply and returns the platform's id for the posted message.
Deliver = Callable[[Outbound], Awaitable[str]]
